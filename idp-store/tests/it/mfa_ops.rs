//! MFA, lockout and rate limits through the core over each store: one-time codes (single use,
//! expiry, brute force), TOTP with its replay guard, lockout under a burst of parallel guesses,
//! unlock by emailed link or by expiry, rate limits, and a limiter outage (fail closed).

use std::sync::Arc;
use std::time::Duration;

use idp_core::limits::{Decision, LimitError, Limiter};
use idp_core::model::*;
use idp_core::notify::Channel;
use idp_core::ops::{Registration, SecurityConfig, Services, TenantUpdate, Throttle};
use idp_core::secrets::hasher::{HashParams, SecretHasher};
use idp_core::store::Store;
use idp_core::{Context, Error, Idp};

use crate::store_tests;
use crate::support::{Captured, services};

store_tests!(
    email_code_is_single_use,
    code_brute_force_ends_the_challenge,
    parallel_code_guesses_get_no_extra_tries,
    expired_code_fails,
    resend_is_throttled,
    totp_enrol_verify_and_replay_guard,
    parallel_password_guesses_lock_at_the_threshold,
    unlock_by_emailed_link,
    unlock_link_does_not_enable_a_disabled_account,
    lock_expires_when_the_policy_says_so,
    rate_limits_per_ip_account_and_client,
    only_client_budgets_are_quotas,
    limiter_outage_fails_closed,
    second_factor_policy,
);

const PW: &str = "Secret#123";

struct Fx {
    idp: Idp,
    outbox: Arc<Captured>,
    tenant: Tenant,
    account: Account,
}

async fn fx_with(store: Arc<dyn Store>, tweak: impl FnOnce(&mut Services)) -> Fx {
    let hasher = SecretHasher::new(
        HashParams {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
        },
        2,
        1024,
    )
    .expect("hasher");
    let (mut svc, outbox) = services();
    tweak(&mut svc);
    let idp = Idp::new(store, hasher, svc);
    let tenant = idp.ensure_default_tenant().await.expect("tenant");
    let reg = Registration {
        username: "vera".into(),
        email: Some("vera@example.com".into()),
        phone: Some("+2348000000001".into()),
        password: Some(PW.into()),
        ..Registration::default()
    };
    let account = idp
        .register(&Context::system(), tenant.id, reg)
        .await
        .expect("account");
    Fx {
        idp,
        outbox,
        tenant,
        account,
    }
}

async fn fx(store: Arc<dyn Store>) -> Fx {
    fx_with(store, |_| {}).await
}

/// The 6-digit code in the last message to `to`.
fn code_sent(outbox: &Captured, to: &str) -> String {
    let body = outbox.last_to(to).expect("a message").body;
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("6 digits")
        .to_owned()
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().expect("digits");
    format!("{:06}", (n + 1) % 1_000_000)
}

async fn email_code_is_single_use(store: Arc<dyn Store>) {
    let f = fx(store).await;
    let ctx = Context::anonymous();
    let ch = f
        .idp
        .send_otp(
            &ctx,
            &f.account,
            Channel::Email,
            serde_json::json!({"next": "login"}),
        )
        .await
        .expect("send");
    let msg = f.outbox.last_to("vera@example.com").expect("email");
    assert!(msg.subject.contains("verification code"));
    let code = code_sent(&f.outbox, "vera@example.com");
    assert!(
        !format!("{ch:?}").contains(&code),
        "debug output hides the code"
    );
    assert!(matches!(
        f.idp.verify_otp(&ctx, ch.id, &wrong(&code)).await,
        Err(Error::InvalidCredentials)
    ));
    let (got, account) = f
        .idp
        .verify_otp(&ctx, ch.id, &code)
        .await
        .expect("right code");
    assert_eq!((got.id, account.id), (ch.id, f.account.id));
    assert_eq!(got.payload["next"], "login");
    assert!(
        matches!(
            f.idp.verify_otp(&ctx, ch.id, &code).await,
            Err(Error::ChallengeClosed)
        ),
        "single use"
    );
    // SMS works the same way, to the phone.
    let sms = f
        .idp
        .send_otp(&ctx, &f.account, Channel::Sms, serde_json::Value::Null)
        .await
        .expect("sms");
    let code = code_sent(&f.outbox, "+2348000000001");
    f.idp
        .verify_otp(&ctx, sms.id, &code)
        .await
        .expect("sms code");
}

async fn code_brute_force_ends_the_challenge(store: Arc<dyn Store>) {
    let f = fx(store).await;
    let ctx = Context::anonymous();
    let ch = f
        .idp
        .send_otp(&ctx, &f.account, Channel::Email, serde_json::Value::Null)
        .await
        .expect("send");
    let code = code_sent(&f.outbox, "vera@example.com");
    for _ in 0..5 {
        assert!(matches!(
            f.idp.verify_otp(&ctx, ch.id, &wrong(&code)).await,
            Err(Error::InvalidCredentials)
        ));
    }
    // The 6th try fails even with the right code.
    assert!(matches!(
        f.idp.verify_otp(&ctx, ch.id, &code).await,
        Err(Error::ChallengeClosed)
    ));
}

async fn parallel_code_guesses_get_no_extra_tries(store: Arc<dyn Store>) {
    let f = Arc::new(fx(store).await);
    let ctx = Context::anonymous();
    let ch = f
        .idp
        .send_otp(&ctx, &f.account, Channel::Email, serde_json::Value::Null)
        .await
        .expect("send");
    let code = code_sent(&f.outbox, "vera@example.com");
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let (f, guess) = (f.clone(), format!("{:06}", i));
            tokio::spawn(
                async move { f.idp.verify_otp(&Context::anonymous(), ch.id, &guess).await },
            )
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("join"))
        .collect();
    let judged = results
        .iter()
        .filter(|r| matches!(r, Err(Error::InvalidCredentials) | Ok(_)))
        .count();
    assert!(judged <= 5, "at most 5 guesses were checked, got {judged}");
    assert!(matches!(
        f.idp.verify_otp(&ctx, ch.id, &code).await,
        Err(Error::ChallengeClosed)
    ));
}

async fn expired_code_fails(store: Arc<dyn Store>) {
    let f = fx_with(store, |s| s.security.otp_ttl_secs = 1).await;
    let ctx = Context::anonymous();
    let ch = f
        .idp
        .send_otp(&ctx, &f.account, Channel::Email, serde_json::Value::Null)
        .await
        .expect("send");
    let code = code_sent(&f.outbox, "vera@example.com");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(matches!(
        f.idp.verify_otp(&ctx, ch.id, &code).await,
        Err(Error::ChallengeClosed)
    ));
}

async fn resend_is_throttled(store: Arc<dyn Store>) {
    let f = fx(store).await;
    let ctx = Context::anonymous();
    let first = f
        .idp
        .send_otp(&ctx, &f.account, Channel::Email, serde_json::Value::Null)
        .await
        .expect("send");
    let code = code_sent(&f.outbox, "vera@example.com");
    match f
        .idp
        .send_otp(&ctx, &f.account, Channel::Email, serde_json::Value::Null)
        .await
    {
        Err(Error::RateLimited { retry_after_secs }) => {
            assert!((1..=30).contains(&retry_after_secs))
        }
        other => panic!("expected a throttle, got {other:?}"),
    }
    // The refused resend did not disturb the first code.
    f.idp
        .verify_otp(&ctx, first.id, &code)
        .await
        .expect("first code still good");
}

async fn totp_enrol_verify_and_replay_guard(store: Arc<dyn Store>) {
    let f = fx(store).await;
    let me = Context::as_actor(f.idp.actor(f.account.id).await.expect("actor"));
    let other_ctx = Context::anonymous();
    assert!(
        f.idp.begin_totp(&other_ctx, f.account.id).await.is_err(),
        "only the account itself enrols"
    );
    let enrol = f.idp.begin_totp(&me, f.account.id).await.expect("begin");
    assert!(enrol.uri.starts_with("otpauth://totp/"), "{}", enrol.uri);
    assert_eq!(
        f.idp.second_factor(&f.account).await.expect("policy"),
        None,
        "not in force before confirmation"
    );
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&enrol.secret).expect("base32"))
        .with_account_name("x")
        .build()
        .expect("totp");
    let now = u64::try_from(chrono::Utc::now().timestamp()).expect("time");
    let code = totp.generate(now).to_string();
    assert!(matches!(
        f.idp.confirm_totp(&me, f.account.id, "000000x").await,
        Err(Error::InvalidCredentials)
    ));
    f.idp
        .confirm_totp(&me, f.account.id, &code)
        .await
        .expect("confirm");
    assert_eq!(
        f.idp.second_factor(&f.account).await.expect("policy"),
        Some(FactorKind::Totp)
    );
    // The same code (same time step) is refused the second time.
    assert!(matches!(
        f.idp.verify_totp(&other_ctx, f.account.id, &code).await,
        Err(Error::InvalidCredentials)
    ));
    // The next step's code works once.
    let next = totp.generate(now + 30).to_string();
    f.idp
        .verify_totp(&other_ctx, f.account.id, &next)
        .await
        .expect("next step");
    assert!(
        f.idp
            .verify_totp(&other_ctx, f.account.id, &next)
            .await
            .is_err()
    );
}

async fn parallel_password_guesses_lock_at_the_threshold(store: Arc<dyn Store>) {
    let f = Arc::new(fx(store).await);
    // Fewer than the per-account rate limit (30 a minute), so the lockout is what answers.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (f, t) = (f.clone(), f.tenant.id);
            tokio::spawn(async move {
                f.idp
                    .authenticate(&Context::anonymous(), t, "vera", "Wrong#123")
                    .await
            })
        })
        .collect();
    futures::future::join_all(tasks).await;
    let account = f.idp.account(f.account.id).await.expect("account");
    assert_eq!(account.status, AccountStatus::Locked);
    assert_eq!(
        account.failed_attempts, 5,
        "failures past the threshold are not counted again"
    );
    // Even the right password now only learns that the account is locked.
    assert!(matches!(
        f.idp
            .authenticate(&Context::anonymous(), f.tenant.id, "vera", PW)
            .await,
        Err(Error::AccountLocked)
    ));
    let unlock = f.outbox.last_to("vera@example.com").expect("unlock email");
    assert!(
        unlock.subject.contains("locked") && unlock.body.contains("token="),
        "{:?}",
        unlock.subject
    );
}

async fn unlock_by_emailed_link(store: Arc<dyn Store>) {
    let f = fx(store).await;
    for _ in 0..5 {
        let _ = f
            .idp
            .authenticate(&Context::anonymous(), f.tenant.id, "vera", "Wrong#123")
            .await;
    }
    assert_eq!(
        f.idp.account(f.account.id).await.expect("a").status,
        AccountStatus::Locked
    );
    let body = f
        .outbox
        .last_to("vera@example.com")
        .expect("unlock email")
        .body;
    let token = body
        .split("token=")
        .nth(1)
        .expect("token")
        .split_whitespace()
        .next()
        .expect("value")
        .to_owned();
    assert!(matches!(
        f.idp
            .unlock_with_token(&Context::anonymous(), "forged.token")
            .await,
        Err(Error::ChallengeClosed)
    ));
    let unlocked = f
        .idp
        .unlock_with_token(&Context::anonymous(), &token)
        .await
        .expect("unlock");
    assert_eq!(unlocked.status, AccountStatus::Active);
    assert!(
        matches!(
            f.idp.unlock_with_token(&Context::anonymous(), &token).await,
            Err(Error::ChallengeClosed)
        ),
        "single use"
    );
    f.idp
        .authenticate(&Context::anonymous(), f.tenant.id, "vera", PW)
        .await
        .expect("signs in again");
}

async fn lock_expires_when_the_policy_says_so(store: Arc<dyn Store>) {
    let f = fx(store).await;
    let mut settings = f.tenant.settings.clone();
    settings.lockout_policy = LockoutPolicy {
        max_failures: 2,
        window_secs: 60,
        unlock_after_secs: Some(1),
    };
    let update = TenantUpdate {
        settings: Some(settings),
        ..TenantUpdate::default()
    };
    f.idp
        .update_tenant(&Context::system(), f.tenant.id, update)
        .await
        .expect("policy");
    for _ in 0..3 {
        let _ = f
            .idp
            .authenticate(&Context::anonymous(), f.tenant.id, "vera", "Wrong#123")
            .await;
    }
    assert!(matches!(
        f.idp
            .authenticate(&Context::anonymous(), f.tenant.id, "vera", PW)
            .await,
        Err(Error::AccountLocked)
    ));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    f.idp
        .authenticate(&Context::anonymous(), f.tenant.id, "vera", PW)
        .await
        .expect("lock expired");
}

async fn rate_limits_per_ip_account_and_client(store: Arc<dyn Store>) {
    let f = fx_with(store, |s| {
        s.security = SecurityConfig {
            rate_per_ip: 3,
            rate_per_account: 2,
            rate_per_client: 4,
            ..SecurityConfig::default()
        }
    })
    .await;
    for _ in 0..3 {
        f.idp
            .throttle(Throttle::Ip("203.0.113.7"))
            .await
            .expect("within budget");
    }
    match f.idp.throttle(Throttle::Ip("203.0.113.7")).await {
        Err(Error::RateLimited { retry_after_secs }) => {
            assert!((1..=60).contains(&retry_after_secs))
        }
        other => panic!("expected 429, got {other:?}"),
    }
    f.idp
        .throttle(Throttle::Ip("203.0.113.8"))
        .await
        .expect("another address has its own budget");
    f.idp
        .throttle(Throttle::Account(f.account.id))
        .await
        .expect("1");
    f.idp
        .throttle(Throttle::Account(f.account.id))
        .await
        .expect("2");
    assert!(matches!(
        f.idp.throttle(Throttle::Account(f.account.id)).await,
        Err(Error::RateLimited { .. })
    ));
    for _ in 0..4 {
        f.idp
            .throttle(Throttle::Client("web"))
            .await
            .expect("client budget");
    }
    assert!(matches!(
        f.idp.throttle(Throttle::Client("web")).await,
        Err(Error::RateLimited { .. })
    ));
}

/// Records which kind of hit each key got, and allows everything.
#[derive(Default)]
struct Recording(std::sync::Mutex<Vec<(&'static str, String)>>);

impl Recording {
    fn record(&self, kind: &'static str, key: &str) -> Result<Decision, LimitError> {
        let mut calls = self.0.lock().unwrap_or_else(|e| e.into_inner());
        calls.push((kind, key.to_owned()));
        Ok(Decision {
            allowed: true,
            count: 1,
            retry_after: None,
        })
    }
}

#[async_trait::async_trait]
impl Limiter for Recording {
    async fn hit(&self, key: &str, _: u32, _: Duration) -> Result<Decision, LimitError> {
        self.record("hit", key)
    }
    async fn hit_quota(&self, key: &str, _: u32, _: Duration) -> Result<Decision, LimitError> {
        self.record("quota", key)
    }
    async fn reset(&self, _: &str) -> Result<(), LimitError> {
        Ok(())
    }
    async fn peek(&self, _: &str) -> Result<u32, LimitError> {
        Ok(0)
    }
    async fn ping(&self) -> Result<(), LimitError> {
        Ok(())
    }
}

/// Only an app client's budget may be leased (a quota); the budgets that bound guessing are
/// counted hit by hit, through the metrics wrapper the server puts around every limiter too.
async fn only_client_budgets_are_quotas(store: Arc<dyn Store>) {
    let recording = Arc::new(Recording::default());
    let inner = recording.clone();
    let f = fx_with(store, move |s| {
        s.limiter = Arc::new(idp_core::metrics::TimedLimiter::new("test", inner))
    })
    .await;
    for who in [
        Throttle::Ip("203.0.113.7"),
        Throttle::Account(f.account.id),
        Throttle::Login("nobody"),
        Throttle::Client("web"),
    ] {
        f.idp.throttle(who).await.expect("allowed");
    }
    let calls = recording
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let kinds: Vec<_> = calls
        .iter()
        .map(|(kind, key)| (*kind, key.split(':').nth(1)))
        .collect();
    assert_eq!(
        kinds,
        [
            ("hit", Some("ip")),
            ("hit", Some("acct")),
            ("hit", Some("login")),
            ("quota", Some("client")),
        ]
    );
}

/// A limiter whose backing store is down.
struct Down;

#[async_trait::async_trait]
impl Limiter for Down {
    async fn hit(&self, _: &str, _: u32, _: Duration) -> Result<Decision, LimitError> {
        Err(LimitError::Unavailable("down".into()))
    }
    async fn hit_quota(&self, _: &str, _: u32, _: Duration) -> Result<Decision, LimitError> {
        Err(LimitError::Unavailable("down".into()))
    }
    async fn reset(&self, _: &str) -> Result<(), LimitError> {
        Err(LimitError::Unavailable("down".into()))
    }
    async fn peek(&self, _: &str) -> Result<u32, LimitError> {
        Err(LimitError::Unavailable("down".into()))
    }
    async fn ping(&self) -> Result<(), LimitError> {
        Err(LimitError::Unavailable("down".into()))
    }
}

async fn limiter_outage_fails_closed(store: Arc<dyn Store>) {
    let f = fx_with(store, |s| s.limiter = Arc::new(Down)).await;
    // No guessing while the counters are down: even the right password is refused, as 503.
    assert!(matches!(
        f.idp
            .authenticate(&Context::anonymous(), f.tenant.id, "vera", PW)
            .await,
        Err(Error::Unavailable)
    ));
    assert!(matches!(
        f.idp.throttle(Throttle::Ip("203.0.113.7")).await,
        Err(Error::Unavailable)
    ));
    assert_eq!(
        f.idp
            .account(f.account.id)
            .await
            .expect("a")
            .failed_attempts,
        0,
        "nothing counted, nothing locked"
    );
}

async fn second_factor_policy(store: Arc<dyn Store>) {
    let f = fx(store).await;
    assert_eq!(f.idp.second_factor(&f.account).await.expect("p"), None);
    for (policy, expected) in [
        (MfaPolicy::EmailOtp, FactorKind::EmailOtp),
        (MfaPolicy::SmsOtp, FactorKind::SmsOtp),
        (MfaPolicy::Pin, FactorKind::EmailOtp), // no PIN yet: falls back to an email code
        (MfaPolicy::Totp, FactorKind::EmailOtp), // not enrolled yet: same
    ] {
        let mut settings = f.tenant.settings.clone();
        settings.mfa_policy = policy;
        let update = TenantUpdate {
            settings: Some(settings),
            ..TenantUpdate::default()
        };
        f.idp
            .update_tenant(&Context::system(), f.tenant.id, update)
            .await
            .expect("policy");
        assert_eq!(
            f.idp.second_factor(&f.account).await.expect("p"),
            Some(expected),
            "{policy:?}"
        );
    }
    // An account's own choice wins over the tenant's policy.
    let me = Context::as_actor(f.idp.actor(f.account.id).await.expect("actor"));
    f.idp
        .set_pin(&me, f.account.id, None, "4321")
        .await
        .expect("pin");
    f.idp
        .choose_factor(&me, f.account.id, Some(FactorKind::Pin))
        .await
        .expect("choose");
    assert_eq!(
        f.idp.second_factor(&f.account).await.expect("p"),
        Some(FactorKind::Pin)
    );
}

async fn unlock_link_does_not_enable_a_disabled_account(store: Arc<dyn Store>) {
    let f = fx(store).await;
    for _ in 0..5 {
        let _ = f
            .idp
            .authenticate(&Context::anonymous(), f.tenant.id, "vera", "Wrong#123")
            .await;
    }
    let body = f
        .outbox
        .last_to("vera@example.com")
        .expect("unlock email")
        .body;
    let token = body
        .split("token=")
        .nth(1)
        .expect("token")
        .split_whitespace()
        .next()
        .expect("value")
        .to_owned();
    // An administrator disables the account before the link is used.
    f.idp
        .set_status(&Context::system(), f.account.id, AccountStatus::Disabled)
        .await
        .expect("disable");
    let after = f
        .idp
        .unlock_with_token(&Context::anonymous(), &token)
        .await
        .expect("link accepted");
    assert_eq!(
        after.status,
        AccountStatus::Disabled,
        "the link unlocks, it does not re-enable"
    );
    assert!(matches!(
        f.idp
            .authenticate(&Context::anonymous(), f.tenant.id, "vera", PW)
            .await,
        Err(Error::AccountDisabled)
    ));
}
