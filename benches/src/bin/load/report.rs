//! The printed report: one table row per scenario, with the ceilings.

use super::ceilings::{Ceiling, Ceilings, server_argon2};
use super::scenarios::Outcome;
use super::{Args, Scenario};

pub(super) fn print_report(
    args: &Args,
    redis: bool,
    c: &Ceilings,
    idle_rss_kib: u64,
    results: &[(String, Scenario, Outcome, u64, Ceiling)],
) {
    println!();
    println!(
        "idp load benchmark: store {:?}{}, {} connections, {:.1} s per scenario{}",
        args.store,
        if redis { " + Redis" } else { "" },
        args.connections,
        args.duration.as_secs_f64(),
        if args.smoke { " (smoke)" } else { "" }
    );
    let a = server_argon2();
    println!(
        "ceilings on the server's core: argon2id verify {:.1}/s (m={} KiB, t={}, p={}), ES256 sign {:.0}/s",
        c.argon2_verify_per_s, a.m_cost, a.t_cost, a.p_cost, c.es256_sign_per_s
    );
    println!("server idle RSS: {:.1} MB", idle_rss_kib as f64 / 1024.0);
    println!();
    println!(
        "| scenario | requests/s | p50 ms | p99 ms | errors | peak RSS MB | vs argon2 ceiling |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
    for (label, s, o, peak, ceiling) in results {
        let c = ceiling.per_s();
        let measured = match ceiling {
            Ceiling::Bracketed { before, after } => {
                format!("{c:.1}/s (mean of {before:.1} just before and {after:.1} just after)")
            }
            Ceiling::Start(_) => format!("{c:.1}/s"),
        };
        let ratio = match s.argon2_ops() {
            0 => String::new(),
            n => format!(
                "{:.0}% of {measured} ({} argon2/op: {:.0}% of hashing capacity)",
                100.0 * o.rate() / c,
                n,
                100.0 * o.rate() * f64::from(n) / c
            ),
        };
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {:.1} | {} |",
            label,
            o.rate(),
            o.percentile_ms(0.50),
            o.percentile_ms(0.99),
            o.errors,
            *peak as f64 / 1024.0,
            ratio
        );
    }
}
