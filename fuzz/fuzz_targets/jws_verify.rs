//! JWS verification by the key ring (`idp_plugins::keys::KeyRing`, the `TokenSigner` every bearer
//! token and ID-token hint goes through), on arbitrary token strings and on real tokens with a
//! part replaced by fuzz data. Invariants: no panic; whatever verifies was signed by us, so its
//! claims are the ones signed here (issuer included).
#![no_main]

use std::sync::OnceLock;
use std::time::Duration as StdDuration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::jose::TokenSigner;
use idp_core::model::SigningAlg;
use idp_plugins::keys::KeyRing;
use idp_store::{AnyStore, Location};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const ISSUER: &str = "https://fuzz.idp.example";

struct World {
    rt: tokio::runtime::Runtime,
    ring: KeyRing,
    /// One real token per algorithm.
    tokens: Vec<String>,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let (ring, tokens) = rt.block_on(async {
            let store = AnyStore::open(&Location::Sqlite(dir.path().join("keys.db")))
                .await
                .expect("store");
            store.migrate().await.expect("migrate");
            let ring = KeyRing::open(store.into_dyn(), chrono::Duration::hours(1))
                .await
                .expect("key ring")
                // Unknown kids must not reach the database on every input.
                .with_unknown_kid_reload_interval(StdDuration::from_secs(3600));
            let mut tokens = Vec::new();
            for alg in SigningAlg::ALL {
                let t = ring.sign(alg, "at+jwt", &claims()).await.expect("sign");
                tokens.push(t);
            }
            (ring, tokens)
        });
        World {
            rt,
            ring,
            tokens,
            _dir: dir,
        }
    })
}

fn claims() -> Value {
    json!({ "iss": ISSUER, "sub": "fuzz", "exp": 4_000_000_000u64 })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let real = &w.tokens[usize::from(mode >> 2) % w.tokens.len()];
    let parts: Vec<&str> = real.split('.').collect();
    let fuzzed = URL_SAFE_NO_PAD.encode(rest);
    let token = match mode % 4 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => format!("{fuzzed}.{}.{}", parts[1], parts[2]),
        2 => format!("{}.{fuzzed}.{}", parts[0], parts[2]),
        _ => format!("{}.{}.{fuzzed}", parts[0], parts[1]),
    };
    if let Ok(v) = w.rt.block_on(w.ring.verify(&token)) {
        assert_eq!(
            v.claims,
            claims(),
            "a token verified with claims we never signed"
        );
        assert_eq!(v.claims["iss"], ISSUER);
    }
    // The real tokens keep verifying (no state is corrupted by garbage).
    let ok = w.rt.block_on(w.ring.verify(real));
    assert!(ok.is_ok(), "a real token stopped verifying: {ok:?}");
});
