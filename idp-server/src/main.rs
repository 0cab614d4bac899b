//! `idp-server`: `serve` (the default) runs the identity provider; the other subcommands
//! administer the same database without a running server. See `idp-server --help`.

use std::process::ExitCode;

use clap::Parser;
use idp_server::cli::Cli;
use idp_server::output::{Format, wants_json};

#[tokio::main]
async fn main() -> ExitCode {
    return_large_buffers_to_the_os();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version are not errors; usage errors exit 2, as clap's own do.
        Err(e) if !e.use_stderr() || !wants_json(std::env::args_os()) => e.exit(),
        Err(e) => {
            Format::Json.fail("usage", &summary(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    let format = cli.format();
    match idp_server::cli::run(cli).await {
        Ok(Some(report)) => {
            format.print(&report);
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            format.fail_with(&e);
            ExitCode::FAILURE
        }
    }
}

/// clap's message on one line, without its `error:` tag and its usage block.
fn summary(s: &str) -> String {
    let s = s.trim_start_matches("error: ");
    let first = s.split("\n\n").next().unwrap_or(s);
    first.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// glibc raises its mmap threshold after the first large buffer is freed, after which buffers
/// of that size come from the heap and stay resident when freed. The argon2 threads' 19 MiB
/// working memory is such a buffer, released when they go idle (`idp_core::secrets::hasher`):
/// a fixed threshold keeps it on mmap, so an idle server gives it back (idle RSS, issue 9).
fn return_large_buffers_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any large allocation.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
