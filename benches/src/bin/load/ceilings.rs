//! The ceilings of the server's core that the scenarios are compared with: argon2id
//! verifications/s at the server's parameters and ES256 signatures/s.

use std::time::{Duration, Instant};

use idp_core::jose::TokenSigner;
use idp_core::model::SigningAlg;
use idp_core::secrets::hasher::{HashParams, SecretHasher};
use serde_json::json;

use super::server::Pinning;
use super::{Args, BoxError, PASSWORD};

#[derive(Debug, Clone, Copy)]
pub(super) struct Ceilings {
    pub(super) argon2_verify_per_s: f64,
    pub(super) es256_sign_per_s: f64,
}

pub(super) fn measure_ceilings(budget: Duration) -> Result<Ceilings, BoxError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        // The server's parameters: its defaults (m=19456 KiB, t=2, p=1) unless the environment
        // the server inherits overrides them; one hashing thread.
        let argon2 = argon2_ceiling(budget).await?;

        let (store, _guard) = idp_benches::sqlite_store().await;
        let keys = idp_plugins::keys::KeyRing::open(store, chrono_minutes(60)).await?;
        let claims =
            json!({"iss": "http://bench", "sub": "x", "exp": 4_000_000_000u64, "scope": "openid"});
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < budget {
            for _ in 0..100 {
                keys.sign(SigningAlg::ES256, "at+jwt", &claims).await?;
            }
            n += 100;
        }
        let es256 = f64::from(n) / start.elapsed().as_secs_f64();
        Ok(Ceilings {
            argon2_verify_per_s: argon2,
            es256_sign_per_s: es256,
        })
    })
}

/// argon2id verifications per second through a hashing pool like the server's (one thread, the
/// server's parameters), on whatever core this process is pinned to.
async fn argon2_ceiling(budget: Duration) -> Result<f64, BoxError> {
    let hasher = SecretHasher::new(server_argon2(), 1, 16)?;
    let phc = hasher.hash(PASSWORD.as_bytes()).await?;
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < budget || n < 3 {
        assert!(hasher.verify(PASSWORD.as_bytes(), &phc).await?);
        n += 1;
    }
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

/// The argon2 ceiling a scenario is compared with.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ceiling {
    /// Measured at the start of the run (scenarios that hash nothing).
    Start(f64),
    /// Measured just before and just after the scenario.
    Bracketed { before: f64, after: f64 },
}

impl Ceiling {
    pub(super) fn per_s(self) -> f64 {
        match self {
            Ceiling::Start(c) => c,
            Ceiling::Bracketed { before, after } => (before + after) / 2.0,
        }
    }
}

/// [`argon2_ceiling`] on the server's core (the server idle), for 3 s (300 ms in a smoke run).
pub(super) async fn ceiling_on_server_core(pin: &Pinning, args: &Args) -> Result<f64, BoxError> {
    pin.pin_self(0);
    let measured = argon2_ceiling(if args.smoke {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(3)
    })
    .await;
    pin.pin_self(1);
    measured
}

/// The argon2id parameters the server will use: `IDP_ARGON2__{M,T,P}_COST` or the defaults.
pub(super) fn server_argon2() -> HashParams {
    let d = HashParams::default();
    let var = |k: &str, default: u32| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    HashParams {
        m_cost: var("IDP_ARGON2__M_COST", d.m_cost),
        t_cost: var("IDP_ARGON2__T_COST", d.t_cost),
        p_cost: var("IDP_ARGON2__P_COST", d.p_cost),
    }
}

fn chrono_minutes(m: i64) -> chrono::Duration {
    chrono::Duration::minutes(m)
}
