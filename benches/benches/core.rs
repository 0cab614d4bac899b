//! The core operations behind the hot endpoints, without HTTP:
//! - `jws/{sign,verify}/{ES256,EdDSA,RS256}`: an access token's JWS through the [`KeyRing`]
//!   (keys parsed once, aws-lc-rs), on a SQLite store in a temp dir;
//! - `refresh_rotation/{sqlite,postgres}`: `Tokens::refresh` (look-up, durable rotation of the
//!   refresh token, a new ES256 access token) through each store; PostgreSQL only when
//!   `IDP_TEST_POSTGRES_URL` is set (a fresh schema, as the store tests do);
//! - `otp/verify`: `Idp::verify_otp` on SQLite with *cheap* argon2 parameters (m=64 KiB, t=1):
//!   the store and bookkeeping around the hash; at the real parameters add one argon2
//!   verification (the `hashing` bench);
//! - `switch_checksum/verify_1KiB`: `idp_core::checksum::verify` of a 1 KiB body.
//!
//! `cargo bench -p idp-benches --bench core [-- FILTER]`

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use idp_benches::{CHEAP_ARGON2, fixture, postgres_store, postgres_url, sqlite_store};
use idp_core::Context;
use idp_core::jose::TokenSigner;
use idp_core::model::{AuthContext, SigningAlg, now};
use idp_core::notify::Channel;
use serde_json::json;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Claims shaped like an access token of the OIDC surface.
fn access_claims() -> serde_json::Value {
    let iat = now().timestamp();
    json!({
        "iss": "http://127.0.0.1:8080",
        "sub": "0193a0c4-7d2e-7c3a-9b1e-5f6a7b8c9d0e",
        "aud": "http://127.0.0.1:8080",
        "exp": iat + 900,
        "iat": iat,
        "jti": "0193a0c4-7d2e-7c3a-9b1e-5f6a7b8c9d0f",
        "client_id": "bench",
        "scope": "openid profile email offline_access",
        "tid": "0193a0c4-7d2e-7c3a-9b1e-5f6a7b8c9d10",
        "fid": "0193a0c4-7d2e-7c3a-9b1e-5f6a7b8c9d11",
        "auth_time": iat,
        "amr": ["pwd"],
    })
}

fn jws(c: &mut Criterion) {
    let rt = runtime();
    let (store, _guard) = rt.block_on(sqlite_store());
    let f = rt.block_on(fixture(store, CHEAP_ARGON2));
    let claims = access_claims();
    let mut g = c.benchmark_group("jws");
    g.throughput(Throughput::Elements(1));
    for alg in [SigningAlg::ES256, SigningAlg::EdDSA, SigningAlg::RS256] {
        g.bench_with_input(BenchmarkId::new("sign", alg.as_str()), &alg, |b, &alg| {
            b.iter(|| {
                rt.block_on(f.keys.sign(alg, "at+jwt", &claims))
                    .expect("sign")
            })
        });
        let token = rt
            .block_on(f.keys.sign(alg, "at+jwt", &claims))
            .expect("sign");
        g.bench_with_input(BenchmarkId::new("verify", alg.as_str()), &token, |b, t| {
            b.iter(|| rt.block_on(f.keys.verify(t)).expect("verify"))
        });
    }
    g.finish();
}

fn refresh_rotation(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("refresh_rotation");
    g.throughput(Throughput::Elements(1));
    let mut stores = vec![("sqlite", rt.block_on(sqlite_store()))];
    if let Some(url) = postgres_url() {
        stores.push(("postgres", rt.block_on(postgres_store(&url))));
    } else {
        eprintln!("refresh_rotation/postgres skipped: IDP_TEST_POSTGRES_URL is not set");
    }
    for (name, (store, _guard)) in stores {
        let f = rt.block_on(fixture(store, CHEAP_ARGON2));
        let auth = AuthContext {
            auth_time: Some(now()),
            amr: vec!["pwd".into()],
            acr: None,
        };
        let set = rt
            .block_on(f.tokens.issue_for(&f.client, &f.account, auth))
            .expect("grant");
        let mut current = set.refresh_token.expect("refresh token");
        g.bench_function(name, |b| {
            b.iter(|| {
                let next = rt
                    .block_on(f.tokens.refresh(&f.client, &current, None))
                    .expect("refresh");
                current = next.refresh_token.expect("rotated refresh token");
            })
        });
    }
    g.finish();
}

fn otp_verify(c: &mut Criterion) {
    let rt = runtime();
    let (store, _guard) = rt.block_on(sqlite_store());
    let f = rt.block_on(fixture(store, CHEAP_ARGON2));
    let ctx = Context::system();
    let mut g = c.benchmark_group("otp");
    g.throughput(Throughput::Elements(1));
    // Each verification spends its code: send a new one first, outside the timing.
    g.bench_function("verify_cheap_argon2", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let challenge = rt
                    .block_on(f.idp.send_otp(&ctx, &f.account, Channel::Email, json!({})))
                    .expect("send");
                let code = f.outbox.code();
                let start = Instant::now();
                rt.block_on(f.idp.verify_otp(&ctx, challenge.id, &code))
                    .expect("verify");
                spent += start.elapsed();
            }
            spent
        })
    });
    g.finish();
}

fn switch_checksum(c: &mut Criterion) {
    let key = idp_core::checksum::checksum_key("switch-mobile-app-secret-0123");
    let body: Vec<u8> = (0..1024u32).map(|i| b'a' + (i % 26) as u8).collect();
    let given = idp_core::checksum::hmac_sha512_hex(key.as_bytes(), &body);
    let mut g = c.benchmark_group("switch_checksum");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("verify_1KiB", |b| {
        b.iter(|| {
            assert!(idp_core::checksum::verify(
                key.as_bytes(),
                std::hint::black_box(&body),
                &given
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, jws, refresh_rotation, otp_verify, switch_checksum);
criterion_main!(benches);
