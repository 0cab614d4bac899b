//! Token operations of the core over each store, where races matter: one refresh token
//! presented many times at once, one code redeemed many times at once.

use std::sync::Arc;

use idp_core::Context;
use idp_core::model::*;
use idp_core::ops::tokens::{AuthorizeRequest, SignIn, TokenConfig, Tokens};
use idp_core::ops::{NewClient, Registration, TenantUpdate};
use idp_core::secrets::hasher::{HashParams, SecretHasher};
use idp_core::store::Store;
use idp_core::{Error, Idp};
use idp_plugins::keys::KeyRing;

use crate::store_tests;

store_tests!(
    concurrent_refreshes_of_one_token,
    concurrent_redemptions_of_one_code,
    sign_in_with_a_second_factor,
    refresh_tokens_from_before_time_ordered_keys_still_rotate,
);

struct Fixture {
    tokens: Tokens,
    client: AppClient,
    account: Account,
    outbox: Arc<crate::support::Captured>,
}

async fn fixture(store: Arc<dyn Store>) -> Fixture {
    let hasher = SecretHasher::new(
        HashParams {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
        },
        2,
        64,
    )
    .expect("hasher");
    let (services, outbox) = crate::support::services();
    let idp = Idp::new(store.clone(), hasher, services);
    let tenant = idp.ensure_default_tenant().await.expect("tenant");
    let config = TokenConfig::new("http://127.0.0.1:1");
    let keys = KeyRing::open(store, config.max_signed_lifetime())
        .await
        .expect("keys");
    let tokens = Tokens::new(idp.clone(), Arc::new(keys), config);
    let new = NewClient {
        id: "rp".into(),
        secret: Some("rp-secret-rp-secret".into()),
        redirect_uris: vec!["https://rp.example/cb".into()],
        ..NewClient::default()
    };
    let client = idp
        .create_client(&Context::system(), tenant.id, new)
        .await
        .expect("client");
    let reg = Registration {
        username: "uma".into(),
        email: Some("uma@example.com".into()),
        password: Some("Secret#123".into()),
        ..Registration::default()
    };
    let account = idp
        .register(&Context::system(), tenant.id, reg)
        .await
        .expect("account");
    Fixture {
        tokens,
        client,
        account,
        outbox,
    }
}

async fn code(f: &Fixture) -> String {
    let req = AuthorizeRequest {
        response_type: "code".into(),
        redirect_uri: Some("https://rp.example/cb".into()),
        scope: Some("openid email".into()),
        ..Default::default()
    };
    let issued = f.tokens.check_authorize(&f.client, &req).expect("request");
    let auth = AuthContext {
        auth_time: Some(now()),
        amr: vec!["pwd".into()],
        acr: None,
    };
    f.tokens
        .issue_code(&f.client, &issued, f.account.id, &auth)
        .await
        .expect("code")
}

async fn concurrent_refreshes_of_one_token(store: Arc<dyn Store>) {
    let f = Arc::new(fixture(store).await);
    let set = f
        .tokens
        .exchange_code(
            &f.client,
            &code(&f).await,
            Some("https://rp.example/cb"),
            None,
        )
        .await
        .expect("tokens");
    let refresh = set.refresh_token.expect("refresh token");
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (f, rt) = (f.clone(), refresh.clone());
            tokio::spawn(async move { f.tokens.refresh(&f.client, &rt, None).await })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("join"))
        .collect();
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one refresh succeeds");
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| matches!(r, Err(Error::InvalidGrant(_))))
    );
    // The others were reuses: the family is revoked, so even the winner's tokens are dead.
    let next = winners[0].refresh_token.clone().expect("rotated");
    assert!(matches!(
        f.tokens.refresh(&f.client, &next, None).await,
        Err(Error::InvalidGrant(_))
    ));
    assert!(matches!(
        f.tokens.verify_access_token(&winners[0].access_token).await,
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        f.tokens.verify_access_token(&set.access_token).await,
        Err(Error::InvalidToken)
    ));
}

/// Tokens minted before keys carried their minting time are filed under their bare digest;
/// they must keep working until they are rotated or expire.
async fn refresh_tokens_from_before_time_ordered_keys_still_rotate(store: Arc<dyn Store>) {
    let f = fixture(store.clone()).await;
    let at = now();
    let family = TokenFamily {
        id: uuid::Uuid::new_v4(),
        tenant_id: f.account.tenant_id,
        client_id: f.client.id.clone(),
        account_id: f.account.id,
        scope: "openid email".into(),
        auth: AuthContext::default(),
        created_at: at,
        revoked_at: None,
    };
    let legacy = idp_core::secrets::random_token(32);
    let first = RefreshToken {
        token_digest: idp_core::secrets::digest(&legacy),
        family_id: family.id,
        created_at: at,
        expires_at: at + chrono::Duration::days(1),
        used_at: None,
    };
    store.create_family(&family, &first).await.expect("family");

    let set = f
        .tokens
        .refresh(&f.client, &legacy, None)
        .await
        .expect("a legacy token rotates");
    let next = set.refresh_token.expect("rotated");
    let (minted, _) = next.split_once('.').expect("time prefix");
    assert_eq!(minted.len(), 12);
    let minted_ms = i64::from_str_radix(minted, 16).expect("hex");
    assert!((minted_ms - now().timestamp_millis()).abs() < 60_000);
    let key = format!("{minted}.{}", idp_core::secrets::digest(&next));
    let (stored, stored_family) = store
        .refresh_token(&key)
        .await
        .expect("read")
        .expect("the successor is filed under its time-ordered key");
    assert_eq!(stored_family.id, family.id);
    assert!(stored.used_at.is_none());

    // The legacy token is spent: presenting it again is a reuse that ends the grant.
    assert!(matches!(
        f.tokens.refresh(&f.client, &legacy, None).await,
        Err(Error::InvalidGrant(_))
    ));
    assert!(matches!(
        f.tokens.refresh(&f.client, &next, None).await,
        Err(Error::InvalidGrant(_))
    ));
}

async fn concurrent_redemptions_of_one_code(store: Arc<dyn Store>) {
    let f = Arc::new(fixture(store).await);
    let code = code(&f).await;
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let (f, code) = (f.clone(), code.clone());
            tokio::spawn(async move {
                f.tokens
                    .exchange_code(&f.client, &code, Some("https://rp.example/cb"), None)
                    .await
            })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("join"))
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "a code is redeemed once"
    );
    // The replays revoked what the first redemption issued.
    let winner = results
        .iter()
        .find_map(|r| r.as_ref().ok())
        .expect("winner");
    assert!(matches!(
        f.tokens.verify_access_token(&winner.access_token).await,
        Err(Error::InvalidToken)
    ));
}

async fn sign_in_with_a_second_factor(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let idp = f.tokens.idp();
    let tenant = idp.ensure_default_tenant().await.expect("tenant");
    let anon = Context::anonymous();
    // No factor: done after the password.
    match f
        .tokens
        .sign_in(&anon, tenant.id, "uma", "Secret#123", "rp")
        .await
        .expect("sign in")
    {
        SignIn::Complete(a, auth) => {
            assert_eq!((a.id, auth.amr), (f.account.id, vec!["pwd".to_owned()]))
        }
        SignIn::Pending(_) => panic!("no factor was required"),
    }
    let mut settings = tenant.settings.clone();
    settings.mfa_policy = MfaPolicy::EmailOtp;
    let update = TenantUpdate {
        settings: Some(settings),
        ..TenantUpdate::default()
    };
    idp.update_tenant(&Context::system(), tenant.id, update)
        .await
        .expect("policy");
    let pending = match f
        .tokens
        .sign_in(&anon, tenant.id, "uma", "Secret#123", "rp")
        .await
        .expect("sign in")
    {
        SignIn::Pending(p) => p,
        SignIn::Complete(..) => panic!("the tenant requires a code"),
    };
    assert_eq!(pending.factor, FactorKind::EmailOtp);
    assert_eq!(pending.sent_to.as_deref(), Some("u***@example.com"));
    let body = f.outbox.last_to("uma@example.com").expect("code sent").body;
    let code: String = body
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("code")
        .into();
    // The pending token is bound to its client and cannot be forged.
    assert!(matches!(
        f.tokens
            .finish_sign_in(&anon, &pending.token, "other", &code)
            .await,
        Err(Error::ChallengeClosed)
    ));
    let forged = format!("{}x", pending.token);
    assert!(matches!(
        f.tokens.finish_sign_in(&anon, &forged, "rp", &code).await,
        Err(Error::ChallengeClosed)
    ));
    let (account, auth) = f
        .tokens
        .finish_sign_in(&anon, &pending.token, "rp", &code)
        .await
        .expect("finish");
    assert_eq!(account.id, f.account.id);
    assert_eq!(auth.amr, vec!["pwd", "otp", "mfa"]);
    assert_eq!(auth.acr.as_deref(), Some("mfa"));
    assert!(
        matches!(
            f.tokens
                .finish_sign_in(&anon, &pending.token, "rp", &code)
                .await,
            Err(Error::ChallengeClosed)
        ),
        "the code was spent"
    );
}
