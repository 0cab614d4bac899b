//! User enumeration: every login and forgot-password endpoint answers an unknown user exactly as
//! it answers a known one (wrong password; unknown vs known email), in the same time (the
//! unknown path verifies a dummy hash), and with the same rate limiting.

use std::time::{Duration, Instant};

use idp_core::Context;
use idp_core::model::LockoutPolicy;
use idp_core::ops::{Registration, TenantUpdate};
use idp_e2e::{Answer, TestServer, http};
use reqwest::StatusCode;
use serde_json::json;

use super::{fintract_customer, post_json, switch_client, switch_post};
use crate::races::{FintivTenant, fintiv_tenant};

/// Real argon2 cost (the production default), so that a skipped hash would show in the timing;
/// no rate limits in the way.
fn real_hashing(config: &mut idp_config::Config) {
    crate::races::unthrottled(config);
    config.argon2.m_cost = 19456;
    config.argon2.t_cost = 2;
}

/// A per-account budget of 3 attempts a minute, nothing else limited.
fn small_account_budget(config: &mut idp_config::Config) {
    crate::races::unthrottled(config);
    config.security.rate_per_account = 3;
}

crate::oidc_both_stores!(tweak = super::real_hashing; unknown_users_look_like_known_ones);
crate::oidc_both_stores!(tweak = super::small_account_budget; rate_limits_do_not_tell_users_apart);

const WRONG: &str = "Wrong-Password-1!";

/// Turns lockout off in `tenant`: the measurement is about the password check, not the lock.
async fn no_lockout(server: &TestServer, tenant: &str) {
    let idp = &server.running.app.idp;
    let t = idp.tenant(tenant).await.expect("tenant");
    let mut settings = t.settings.clone();
    settings.lockout_policy = LockoutPolicy {
        max_failures: 0,
        ..settings.lockout_policy
    };
    idp.update_tenant(
        &Context::system(),
        t.id,
        TenantUpdate {
            settings: Some(settings),
            ..TenantUpdate::default()
        },
    )
    .await
    .expect("lockout off");
}

/// Registers `quiet` in the Fintiv tenant `name`, without signing it in.
async fn quiet_fintiv_account(server: &TestServer, name: &str) {
    let idp = &server.running.app.idp;
    let tenant = idp.tenant(name).await.expect("tenant");
    idp.register(
        &Context::system(),
        tenant.id,
        Registration {
            username: "quiet".into(),
            password: Some("Quiet-Password-42".into()),
            ..Registration::default()
        },
    )
    .await
    .expect("register");
}

/// A sign-in attempt of `login` with `password` on one surface.
#[derive(Clone, Copy, Debug)]
enum Login {
    Fintract,
    BioEntrust,
    Switch,
    Fintiv,
    /// Fintiv's temporary password by security answer (the answer is the secret tried).
    FintivReset,
}

async fn attempt(
    server: &TestServer,
    fintiv: &FintivTenant,
    surface: Login,
    login: &str,
    password: &str,
) -> Answer {
    match surface {
        Login::Fintract => {
            post_json(
                server,
                "/fintract/auth/login/",
                json!({ "email": login, "otpType": "Email", "password": password }),
            )
            .await
        }
        Login::BioEntrust => {
            post_json(
                server,
                "/bioentrust/user/signin",
                json!({ "email": login, "password": password }),
            )
            .await
        }
        Login::Switch => {
            let body = json!({ "email": login, "password": password }).to_string();
            switch_post(server, "/user/login", &body, None).await
        }
        Login::FintivReset => {
            Answer::of(
                http()
                    .post(server.url("/fintiv/auth/api/reset/password"))
                    .header("api-key", &fintiv.key)
                    .header("tenantName", &fintiv.name)
                    .json(
                        &json!({ "username": login, "answer": password, "securityQuestionId": 1 }),
                    ),
            )
            .await
        }
        Login::Fintiv => {
            Answer::of(
                http()
                    .post(server.url("/fintiv/auth/oauth/token"))
                    .header("api-key", &fintiv.key)
                    .form(&[
                        ("grant_type", "password"),
                        ("username", login),
                        ("password", password),
                    ]),
            )
            .await
        }
    }
}

const LOGINS: [Login; 5] = [
    Login::Fintract,
    Login::BioEntrust,
    Login::Switch,
    Login::Fintiv,
    Login::FintivReset,
];

/// (known login, unknown login) for `surface`.
fn logins(surface: Login) -> (&'static str, &'static str) {
    match surface {
        Login::Fintiv => ("racer", "nobody-here"),
        // Its own accounts: the budgets of the two above are spent by then.
        Login::FintivReset => ("quiet", "nobody-else"),
        _ => ("victim@example.com", "nobody@example.com"),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn unknown_users_look_like_known_ones(server: &TestServer) {
    switch_client(server).await;
    fintract_customer(server, "victim", "+2348060000001").await;
    let fintiv = fintiv_tenant(server, "ENUM").await;
    quiet_fintiv_account(server, "ENUM").await;
    no_lockout(server, "default").await;
    no_lockout(server, "ENUM").await;

    for surface in LOGINS {
        let (known, unknown) = logins(surface);
        // The answers are identical, byte for byte.
        let a = attempt(server, &fintiv, surface, known, WRONG).await;
        let b = attempt(server, &fintiv, surface, unknown, WRONG).await;
        assert!(a.status.is_client_error(), "{surface:?}: {a:?}");
        assert_eq!((a.status, &a.text), (b.status, &b.text), "{surface:?}");

        // And take the same time: medians of interleaved samples (robust to a busy machine).
        const SAMPLES: usize = 21;
        let (mut known_t, mut unknown_t) = (Vec::new(), Vec::new());
        for i in 0..SAMPLES * 2 {
            let (who, times) = if i % 2 == 0 {
                (known, &mut known_t)
            } else {
                (unknown, &mut unknown_t)
            };
            let start = Instant::now();
            let r = attempt(server, &fintiv, surface, who, WRONG).await;
            times.push(start.elapsed());
            assert_eq!(r.status, a.status, "{surface:?}: {r:?}");
        }
        let (k, u) = (median(known_t), median(unknown_t));
        let ratio = u.as_secs_f64() / k.as_secs_f64();
        eprintln!("{surface:?}: median known {k:?}, unknown {u:?}, ratio {ratio:.2}");
        assert!(
            (0.5..=2.0).contains(&ratio),
            "{surface:?}: unknown users answer in {u:?}, known ones in {k:?}"
        );
    }

    // Forgot-password and unlock requests: the same answer whether the address is known.
    let bio = |email: &'static str| {
        post_json(
            server,
            "/bioentrust/user/forgot-password",
            json!({ "email": email }),
        )
    };
    let (a, b) = (
        bio("victim@example.com").await,
        bio("nobody@example.com").await,
    );
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!((a.status, &a.text), (b.status, &b.text));
    for path in ["/user/forgot_password", "/user/resend_unlock_email"] {
        let call = |email: &str| {
            let body = json!({ "email": email }).to_string();
            async move { switch_post(server, path, &body, None).await }
        };
        let (a, b) = (
            call("victim@example.com").await,
            call("nobody@example.com").await,
        );
        assert_eq!(a.status, StatusCode::OK, "{path}: {a:?}");
        assert_eq!((a.status, &a.text), (b.status, &b.text), "{path}");
    }
}

/// Past the per-account budget a known account is answered 429; an unknown login must be
/// answered the same way after as many attempts, or the 429 tells which accounts exist.
async fn rate_limits_do_not_tell_users_apart(server: &TestServer) {
    switch_client(server).await;
    // Registered without signing in: its budget is untouched, like the unknown login's.
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("tenant");
    idp.register(
        &Context::system(),
        tenant.id,
        Registration {
            username: "victim".into(),
            email: Some("victim@example.com".into()),
            password: Some("Quiet-Password-42".into()),
            ..Registration::default()
        },
    )
    .await
    .expect("register");
    let fintiv = fintiv_tenant(server, "BUDGET").await;
    quiet_fintiv_account(server, "BUDGET").await;
    no_lockout(server, "default").await;
    no_lockout(server, "BUDGET").await;
    for surface in LOGINS {
        let (known, unknown) = logins(surface);
        let mut seen = Vec::new();
        for who in [known, unknown] {
            let mut statuses = Vec::new();
            for _ in 0..5 {
                statuses.push(attempt(server, &fintiv, surface, who, WRONG).await.status);
            }
            seen.push(statuses);
        }
        assert!(
            seen[0].contains(&StatusCode::TOO_MANY_REQUESTS),
            "{surface:?}: the budget applies: {seen:?}"
        );
        assert_eq!(seen[0], seen[1], "{surface:?}: known vs unknown login");
    }
}
