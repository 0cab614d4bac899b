//! The ceilings of credential checks: one argon2id hash and one verification at the default
//! parameters (the upper bound for password logins per core), through the same pool the server
//! uses, against the SHA-256 digest used for high-entropy client secrets.
//!
//! `cargo bench -p idp-benches --bench hashing`

use criterion::{Criterion, criterion_group, criterion_main};
use idp_core::secrets::{self, hasher::HashParams, hasher::SecretHasher};

fn argon2(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    // One hashing thread: the figure is per core.
    let hasher = SecretHasher::new(HashParams::default(), 1, 16).expect("hasher");
    let phc = rt.block_on(hasher.hash(b"Secret#123")).expect("hash");
    let mut g = c.benchmark_group("argon2id_default_params");
    g.sample_size(20);
    g.bench_function("hash", |b| {
        b.iter(|| rt.block_on(hasher.hash(b"Secret#123")).expect("hash"))
    });
    g.bench_function("verify", |b| {
        b.iter(|| {
            assert!(
                rt.block_on(hasher.verify(b"Secret#123", &phc))
                    .expect("verify")
            )
        })
    });
    g.finish();
}

fn client_secret_digest(c: &mut Criterion) {
    let stored = secrets::digest("a-long-random-client-secret-value");
    c.bench_function("client_secret_digest_verify", |b| {
        b.iter(|| {
            assert!(secrets::digest_matches(
                "a-long-random-client-secret-value",
                &stored
            ))
        })
    });
}

criterion_group!(benches, argon2, client_secret_digest);
criterion_main!(benches);
