//! The OAuth / OpenID Connect part of the `Store` contract: signing keys, authorization codes,
//! refresh-token families, access-token revocation, browser sessions, consents and purging.
//! Checked against every store, like `conformance`.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::TimeDelta;
use idp_core::{model::*, store::*};
use uuid::Uuid;

use crate::store_tests;

store_tests!(
    client_consent_required_roundtrip,
    keys_roundtrip_newest_first,
    insert_key_supersedes_same_alg_only,
    duplicate_kid_refused_and_supersedes_nothing,
    delete_keys_superseded_before_cutoff,
    code_redeemed_once_then_replayed,
    unknown_code_and_expired_code,
    concurrent_redeem_one_winner,
    family_create_and_lookup,
    rotate_then_reuse_revokes_family,
    rotate_rejects_expired_unknown_and_revoked,
    concurrent_rotate_one_winner,
    revoke_family_once,
    revoke_account_families_counts_live_only,
    access_token_revocation,
    concurrent_bearer_checks_each_get_their_own_answer,
    sessions_create_get_delete,
    consents_union_per_client_and_account,
    purge_expired_removes_only_expired,
    delete_account_removes_grants_of_that_account_only,
);

// ---------------------------------------------------------------------------------------------
// builders

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

/// A fresh 64-hex-digit value, shaped like the SHA-256 digests the core stores.
fn digest() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// One tenant with two accounts and two clients (one first-party, one needing consent).
struct Fixture {
    tenant: Tenant,
    alice: Account,
    bob: Account,
    web: AppClient,
    third: AppClient,
}

async fn fixture(store: &Arc<dyn Store>) -> Fixture {
    let at = now();
    let tenant = Tenant {
        id: Uuid::new_v4(),
        name: "acme".into(),
        description: None,
        default_role: None,
        settings: TenantSettings::default(),
        created_at: at,
        updated_at: at,
    };
    store.create_tenant(&tenant).await.expect("create tenant");
    let alice = add_account(store, tenant.id, "alice").await;
    let bob = add_account(store, tenant.id, "bob").await;
    let web = client(tenant.id, "web", false);
    let third = client(tenant.id, "third-party", true);
    for c in [&web, &third] {
        store.create_client(c).await.expect("create client");
    }
    Fixture {
        tenant,
        alice,
        bob,
        web,
        third,
    }
}

async fn add_account(store: &Arc<dyn Store>, tenant_id: Uuid, username: &str) -> Account {
    let at = now();
    let account = Account {
        id: Uuid::new_v4(),
        tenant_id,
        number: 0,
        username: username.to_owned(),
        email: Some(format!("{username}@example.com")),
        phone: None,
        email_verified: true,
        phone_verified: false,
        user_type: None,
        status: AccountStatus::Active,
        need_change_password: false,
        failed_attempts: 0,
        profile: Profile::default(),
        created_at: at,
        updated_at: at,
        last_login_at: None,
        password_changed_at: None,
    };
    let new = NewAccount {
        account,
        secrets: AccountSecrets {
            password_hash: Some("$argon2id$pw".into()),
            pin_hash: None,
        },
        role_ids: Vec::new(),
    };
    store.create_account(&new).await.expect("create account")
}

fn client(tenant_id: Uuid, id: &str, consent_required: bool) -> AppClient {
    AppClient {
        id: id.to_owned(),
        tenant_id,
        name: Some(format!("{id} app")),
        secret_digest: Some("ab".repeat(32)),
        redirect_uris: vec![format!("https://{id}.example.com/cb")],
        grants: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        consent_required,
        id_token_alg: consent_required.then_some(SigningAlg::EdDSA),
        created_at: now(),
    }
}

fn auth(amr: &[&str]) -> AuthContext {
    AuthContext {
        auth_time: Some(now() - secs(30)),
        amr: amr.iter().map(|s| (*s).to_owned()).collect(),
        acr: Some("urn:idp:acr:mfa".into()),
    }
}

fn key(kid: &str, alg: SigningAlg, created_at: Timestamp) -> SigningKey {
    SigningKey {
        kid: kid.to_owned(),
        alg,
        // Every byte value, NUL included: the column must be binary-safe.
        private_der: (0..=255u8).chain([0, 0, 255]).collect(),
        public_jwk: serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": alg.as_str(), "use": "sig",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        }),
        created_at,
        superseded_at: None,
    }
}

fn code(f: &Fixture, account: &Account, expires_in: i64) -> AuthorizationCode {
    let at = now();
    AuthorizationCode {
        code_digest: digest(),
        client_id: f.web.id.clone(),
        tenant_id: f.tenant.id,
        account_id: account.id,
        redirect_uri: "https://web.example.com/cb".into(),
        scope: "openid profile".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        pkce: Some("S256:E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        auth: auth(&["pwd", "otp", "mfa"]),
        created_at: at,
        expires_at: at + secs(expires_in),
    }
}

fn family(f: &Fixture, account: &Account, client: &AppClient) -> TokenFamily {
    TokenFamily {
        id: Uuid::new_v4(),
        tenant_id: f.tenant.id,
        client_id: client.id.clone(),
        account_id: account.id,
        scope: "openid offline_access".into(),
        auth: auth(&["pwd"]),
        created_at: now(),
        revoked_at: None,
    }
}

fn refresh(family_id: Uuid, expires_in: i64) -> RefreshToken {
    let at = now();
    RefreshToken {
        token_digest: digest(),
        family_id,
        created_at: at,
        expires_at: at + secs(expires_in),
        used_at: None,
    }
}

/// Creates a family for `account` at `client` with a first token valid for an hour.
async fn new_family(
    store: &Arc<dyn Store>,
    f: &Fixture,
    account: &Account,
    client: &AppClient,
) -> (TokenFamily, RefreshToken) {
    let fam = family(f, account, client);
    let first = refresh(fam.id, 3600);
    store
        .create_family(&fam, &first)
        .await
        .expect("create family");
    (fam, first)
}

fn session(f: &Fixture, account: &Account, expires_in: i64) -> Session {
    let at = now();
    Session {
        id_digest: digest(),
        tenant_id: f.tenant.id,
        account_id: account.id,
        auth: auth(&["pwd", "otp"]),
        created_at: at,
        expires_at: at + secs(expires_in),
    }
}

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Consent order is not part of the contract.
async fn consented(store: &Arc<dyn Store>, account_id: Uuid, client_id: &str) -> BTreeSet<String> {
    store
        .consented_scopes(account_id, client_id)
        .await
        .expect("consented_scopes")
        .into_iter()
        .collect()
}

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

async fn revoked(store: &Arc<dyn Store>, jti: &str, family_id: Option<Uuid>) -> bool {
    store
        .access_token_revoked(jti, family_id)
        .await
        .expect("access_token_revoked")
}

// ---------------------------------------------------------------------------------------------
// clients

async fn client_consent_required_roundtrip(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    assert_eq!(
        store.client_by_id("web").await.unwrap(),
        Some(f.web.clone())
    );
    let third = store.client_by_id("third-party").await.unwrap();
    assert_eq!(third.as_ref().map(|c| c.consent_required), Some(true));
    assert_eq!(third, Some(f.third.clone()));
    let mut listed = store.list_clients(f.tenant.id).await.unwrap();
    listed.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(listed, vec![f.third, f.web]);
}

// ---------------------------------------------------------------------------------------------
// signing keys

async fn keys_roundtrip_newest_first(store: Arc<dyn Store>) {
    assert!(store.list_keys().await.unwrap().is_empty());
    let base = now();
    let es = key("es-1", SigningAlg::ES256, base);
    let rs = key("rs-1", SigningAlg::RS256, base + secs(1));
    let ed = key("ed-1", SigningAlg::EdDSA, base + secs(2));
    for k in [&rs, &es, &ed] {
        store.insert_key(k).await.unwrap();
    }
    // Different algorithms: nothing is superseded, and every field comes back as written.
    assert_eq!(store.list_keys().await.unwrap(), vec![ed, rs, es]);
}

async fn insert_key_supersedes_same_alg_only(store: Arc<dyn Store>) {
    let base = now();
    let es1 = key("es-1", SigningAlg::ES256, base);
    let rs1 = key("rs-1", SigningAlg::RS256, base + secs(1));
    let es2 = key("es-2", SigningAlg::ES256, base + secs(10));
    let es3 = key("es-3", SigningAlg::ES256, base + secs(20));
    for k in [&es1, &rs1, &es2] {
        store.insert_key(k).await.unwrap();
    }
    let es1_superseded = SigningKey {
        superseded_at: Some(es2.created_at),
        ..es1.clone()
    };
    assert_eq!(
        store.list_keys().await.unwrap(),
        vec![es2.clone(), rs1.clone(), es1_superseded.clone()]
    );

    // A third ES256 key supersedes es-2 only; es-1 keeps the time it was first superseded.
    store.insert_key(&es3).await.unwrap();
    let es2_superseded = SigningKey {
        superseded_at: Some(es3.created_at),
        ..es2
    };
    assert_eq!(
        store.list_keys().await.unwrap(),
        vec![es3, es2_superseded, rs1, es1_superseded]
    );
}

async fn duplicate_kid_refused_and_supersedes_nothing(store: Arc<dyn Store>) {
    let base = now();
    let first = key("k", SigningAlg::ES256, base);
    store.insert_key(&first).await.unwrap();
    let other = key("other", SigningAlg::ES256, base + secs(1));
    store.insert_key(&other).await.unwrap();
    let before = store.list_keys().await.unwrap();

    let dup = key("k", SigningAlg::ES256, base + secs(5));
    assert!(store.insert_key(&dup).await.is_err(), "kid is unique");
    assert_eq!(
        store.list_keys().await.unwrap(),
        before,
        "the failed insert superseded nothing"
    );
}

async fn delete_keys_superseded_before_cutoff(store: Arc<dyn Store>) {
    let base = now();
    // es-1 superseded at base+10, es-2 at base+20, es-3 current; rs-1 never superseded.
    let keys = [
        key("es-1", SigningAlg::ES256, base),
        key("rs-1", SigningAlg::RS256, base + secs(1)),
        key("es-2", SigningAlg::ES256, base + secs(10)),
        key("es-3", SigningAlg::ES256, base + secs(20)),
    ];
    for k in &keys {
        store.insert_key(k).await.unwrap();
    }
    let kids = |keys: Vec<SigningKey>| keys.into_iter().map(|k| k.kid).collect::<Vec<_>>();

    assert_eq!(
        store
            .delete_keys_superseded_before(base + secs(5))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .delete_keys_superseded_before(base + secs(15))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        kids(store.list_keys().await.unwrap()),
        vec!["es-3", "es-2", "rs-1"]
    );
    // Far in the future: every superseded key goes, current ones never do.
    assert_eq!(
        store
            .delete_keys_superseded_before(base + secs(100_000))
            .await
            .unwrap(),
        1
    );
    assert_eq!(kids(store.list_keys().await.unwrap()), vec!["es-3", "rs-1"]);
}

// ---------------------------------------------------------------------------------------------
// authorization codes

async fn code_redeemed_once_then_replayed(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let c = code(&f, &f.alice, 60);
    store.insert_code(&c).await.unwrap();
    // A code without the optional parts round-trips too.
    let bare = AuthorizationCode {
        code_digest: digest(),
        nonce: None,
        pkce: None,
        auth: AuthContext::default(),
        ..c.clone()
    };
    store.insert_code(&bare).await.unwrap();

    let fam = Uuid::new_v4();
    let at = now();
    let first = refresh(fam, 3600);
    assert_eq!(
        store.redeem_code(&c.code_digest, &first, at).await.unwrap(),
        CodeRedemption::Redeemed(c.clone())
    );
    // Redemption created the family, from the code, with its first refresh token.
    let (token, family) = store
        .refresh_token(&first.token_digest)
        .await
        .unwrap()
        .expect("family");
    assert_eq!(token, first);
    assert_eq!(
        family,
        TokenFamily {
            id: fam,
            tenant_id: c.tenant_id,
            client_id: c.client_id.clone(),
            account_id: c.account_id,
            scope: c.scope.clone(),
            auth: c.auth.clone(),
            created_at: at,
            revoked_at: None,
        }
    );
    let replayed = CodeRedemption::Replayed {
        family_id: Some(fam),
    };
    // Later calls report the first family, whatever family id they bring.
    for _ in 0..2 {
        let again = store
            .redeem_code(&c.code_digest, &refresh(Uuid::new_v4(), 3600), at + secs(1))
            .await
            .unwrap();
        assert_eq!(again, replayed);
    }

    assert_eq!(
        store
            .redeem_code(&bare.code_digest, &refresh(Uuid::new_v4(), 3600), at)
            .await
            .unwrap(),
        CodeRedemption::Redeemed(bare)
    );
}

async fn unknown_code_and_expired_code(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    assert_eq!(
        store
            .redeem_code(&digest(), &refresh(Uuid::new_v4(), 3600), now())
            .await
            .unwrap(),
        CodeRedemption::Unknown
    );
    // Expiry is the caller's to check: an expired code is still redeemed (once).
    let expired = code(&f, &f.alice, -60);
    store.insert_code(&expired).await.unwrap();
    assert_eq!(
        store
            .redeem_code(&expired.code_digest, &refresh(Uuid::new_v4(), 3600), now())
            .await
            .unwrap(),
        CodeRedemption::Redeemed(expired)
    );
}

async fn concurrent_redeem_one_winner(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let c = code(&f, &f.alice, 60);
    store.insert_code(&c).await.unwrap();
    let tasks = (0..20).map(|_| {
        let store = store.clone();
        let digest = c.code_digest.clone();
        tokio::spawn(async move {
            let fam = Uuid::new_v4();
            (
                fam,
                store.redeem_code(&digest, &refresh(fam, 3600), now()).await,
            )
        })
    });
    let mut winners = Vec::new();
    let mut replays = Vec::new();
    for r in futures::future::join_all(tasks).await {
        let (fam, result) = r.expect("task panicked");
        match result.expect("redeem_code") {
            CodeRedemption::Redeemed(got) => {
                assert_eq!(got, c);
                winners.push(fam);
            }
            CodeRedemption::Replayed { family_id } => replays.push(family_id),
            CodeRedemption::Unknown => panic!("the code exists"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one redemption");
    assert_eq!(replays.len(), 19);
    assert!(
        replays.iter().all(|f| *f == Some(winners[0])),
        "{replays:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// refresh-token families

async fn family_create_and_lookup(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let (fam, first) = new_family(&store, &f, &f.alice, &f.web).await;
    assert_eq!(store.family(fam.id).await.unwrap(), Some(fam.clone()));
    assert_eq!(
        store.refresh_token(&first.token_digest).await.unwrap(),
        Some((first, fam))
    );
    assert_eq!(store.family(Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(store.refresh_token(&digest()).await.unwrap(), None);

    // An empty auth context and a second family of the same grant round-trip as well.
    let bare = TokenFamily {
        id: Uuid::new_v4(),
        auth: AuthContext::default(),
        ..family(&f, &f.alice, &f.web)
    };
    let bare_first = refresh(bare.id, 60);
    store.create_family(&bare, &bare_first).await.unwrap();
    assert_eq!(
        store.refresh_token(&bare_first.token_digest).await.unwrap(),
        Some((bare_first, bare))
    );
}

async fn rotate_then_reuse_revokes_family(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let (fam, first) = new_family(&store, &f, &f.alice, &f.web).await;
    let next = refresh(fam.id, 3600);
    let t1 = now() + secs(1);

    assert_eq!(
        store
            .rotate_refresh(&first.token_digest, &f.web.id, &next, t1)
            .await
            .unwrap(),
        RefreshRotation::Rotated(fam.clone(), Some(Box::new(f.alice.clone())))
    );
    let used = RefreshToken {
        used_at: Some(t1),
        ..first.clone()
    };
    assert_eq!(
        store.refresh_token(&first.token_digest).await.unwrap(),
        Some((used, fam.clone()))
    );
    assert_eq!(
        store.refresh_token(&next.token_digest).await.unwrap(),
        Some((next.clone(), fam.clone()))
    );

    // The old token again: a replay. The family is revoked at that moment.
    let t2 = t1 + secs(1);
    let stolen_next = refresh(fam.id, 3600);
    assert_eq!(
        store
            .rotate_refresh(&first.token_digest, &f.web.id, &stolen_next, t2)
            .await
            .unwrap(),
        RefreshRotation::Reused { family_id: fam.id }
    );
    let revoked_fam = TokenFamily {
        revoked_at: Some(t2),
        ..fam.clone()
    };
    assert_eq!(store.family(fam.id).await.unwrap(), Some(revoked_fam));
    assert_eq!(
        store
            .refresh_token(&stolen_next.token_digest)
            .await
            .unwrap(),
        None,
        "a reuse stores no successor"
    );

    // Now every token of the family is dead, the unused newest one included, and presenting
    // them changes nothing more.
    let t3 = t2 + secs(1);
    for token in [&next, &first] {
        assert_eq!(
            store
                .rotate_refresh(&token.token_digest, &f.web.id, &refresh(fam.id, 3600), t3)
                .await
                .unwrap(),
            RefreshRotation::Invalid
        );
    }
    let (still_unused, got_fam) = store
        .refresh_token(&next.token_digest)
        .await
        .unwrap()
        .expect("token stays");
    assert_eq!(still_unused.used_at, None);
    assert_eq!(got_fam.revoked_at, Some(t2), "first revocation time kept");
}

async fn rotate_rejects_expired_unknown_and_revoked(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let at = now();
    assert_eq!(
        store
            .rotate_refresh(&digest(), &f.web.id, &refresh(Uuid::new_v4(), 60), at)
            .await
            .unwrap(),
        RefreshRotation::Invalid
    );

    // Expired at `at`: Invalid, not marked used, no successor stored, family untouched.
    let fam = family(&f, &f.alice, &f.web);
    let old = refresh(fam.id, 60);
    store.create_family(&fam, &old).await.unwrap();
    let next = refresh(fam.id, 3600);
    assert_eq!(
        store
            .rotate_refresh(&old.token_digest, &f.web.id, &next, at + secs(3600))
            .await
            .unwrap(),
        RefreshRotation::Invalid
    );
    assert_eq!(
        store.refresh_token(&old.token_digest).await.unwrap(),
        Some((old.clone(), fam.clone()))
    );
    assert_eq!(store.refresh_token(&next.token_digest).await.unwrap(), None);
    // Still valid before it expires.
    assert_eq!(
        store
            .rotate_refresh(&old.token_digest, &f.web.id, &next, at + secs(1))
            .await
            .unwrap(),
        RefreshRotation::Rotated(fam, Some(Box::new(f.alice.clone())))
    );

    // Presented by another client: OtherClient, nothing changes, even for a used token (no
    // revocation: another client must not be able to kill someone's grant).
    let (fam3, first3) = new_family(&store, &f, &f.alice, &f.web).await;
    let next3 = refresh(fam3.id, 3600);
    for _ in 0..2 {
        assert_eq!(
            store
                .rotate_refresh(&first3.token_digest, &f.third.id, &next3, at + secs(1))
                .await
                .unwrap(),
            RefreshRotation::OtherClient
        );
    }
    assert_eq!(
        store.refresh_token(&first3.token_digest).await.unwrap(),
        Some((first3.clone(), fam3.clone()))
    );
    assert_eq!(
        store.refresh_token(&next3.token_digest).await.unwrap(),
        None
    );
    assert!(matches!(
        store
            .rotate_refresh(&first3.token_digest, &f.web.id, &next3, at + secs(1))
            .await
            .unwrap(),
        RefreshRotation::Rotated(_, Some(_))
    ));
    let replayed = refresh(fam3.id, 3600);
    assert_eq!(
        store
            .rotate_refresh(&first3.token_digest, &f.third.id, &replayed, at + secs(2))
            .await
            .unwrap(),
        RefreshRotation::OtherClient
    );
    assert_eq!(store.family(fam3.id).await.unwrap(), Some(fam3));

    // Revoked family: Invalid, nothing changes.
    let (fam2, first2) = new_family(&store, &f, &f.alice, &f.web).await;
    assert!(store.revoke_family(fam2.id, at).await.unwrap());
    let next2 = refresh(fam2.id, 3600);
    assert_eq!(
        store
            .rotate_refresh(&first2.token_digest, &f.web.id, &next2, at + secs(1))
            .await
            .unwrap(),
        RefreshRotation::Invalid
    );
    let (got, got_fam) = store
        .refresh_token(&first2.token_digest)
        .await
        .unwrap()
        .expect("token");
    assert_eq!(got.used_at, None);
    assert_eq!(got_fam.revoked_at, Some(at));
    assert_eq!(
        store.refresh_token(&next2.token_digest).await.unwrap(),
        None
    );
}

async fn concurrent_rotate_one_winner(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let (fam, first) = new_family(&store, &f, &f.alice, &f.web).await;
    let tasks = (0..50).map(|_| {
        let store = store.clone();
        let digest = first.token_digest.clone();
        let client_id = f.web.id.clone();
        tokio::spawn(async move {
            let next = refresh(fam.id, 3600);
            let result = store
                .rotate_refresh(&digest, &client_id, &next, now())
                .await;
            (next, result)
        })
    });
    let (mut rotated, mut reused, mut invalid) = (Vec::new(), 0, 0);
    for r in futures::future::join_all(tasks).await {
        let (next, result) = r.expect("task panicked");
        match result.expect("rotate_refresh") {
            RefreshRotation::Rotated(got, account) => {
                assert_eq!(got.id, fam.id);
                assert_eq!(account.map(|a| a.id), Some(f.alice.id));
                rotated.push(next.clone());
            }
            RefreshRotation::Reused { family_id } => {
                assert_eq!(family_id, fam.id);
                reused += 1;
            }
            RefreshRotation::Invalid => invalid += 1,
            RefreshRotation::OtherClient => panic!("the family's own client"),
        }
        assert_eq!(
            store
                .refresh_token(&next.token_digest)
                .await
                .unwrap()
                .is_some(),
            rotated.last() == Some(&next),
            "only the winner's successor is stored"
        );
    }
    assert_eq!(rotated.len(), 1, "exactly one rotation");
    assert_eq!(reused + invalid, 49);
    assert!(reused >= 1, "the first loser sees a used, live token");
    let fam_now = store.family(fam.id).await.unwrap().expect("family");
    assert!(fam_now.revoked_at.is_some(), "reuse revoked the family");
}

async fn revoke_family_once(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let (fam, _) = new_family(&store, &f, &f.alice, &f.web).await;
    let at = now();
    assert!(store.revoke_family(fam.id, at).await.unwrap());
    assert!(!store.revoke_family(fam.id, at + secs(5)).await.unwrap());
    assert_eq!(
        store.family(fam.id).await.unwrap().map(|f| f.revoked_at),
        Some(Some(at)),
        "the first revocation time stays"
    );
    assert!(!store.revoke_family(Uuid::new_v4(), at).await.unwrap());
}

async fn revoke_account_families_counts_live_only(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let (a1, _) = new_family(&store, &f, &f.alice, &f.web).await;
    let (a2, _) = new_family(&store, &f, &f.alice, &f.third).await;
    let (a3, _) = new_family(&store, &f, &f.alice, &f.web).await;
    let (b1, _) = new_family(&store, &f, &f.bob, &f.web).await;
    let earlier = now();
    assert!(store.revoke_family(a3.id, earlier).await.unwrap());

    let at = earlier + secs(10);
    assert_eq!(
        store.revoke_account_families(f.alice.id, at).await.unwrap(),
        2
    );
    let revoked_at = |id: Uuid| {
        let store = store.clone();
        async move { store.family(id).await.unwrap().expect("family").revoked_at }
    };
    assert_eq!(revoked_at(a1.id).await, Some(at));
    assert_eq!(revoked_at(a2.id).await, Some(at));
    assert_eq!(revoked_at(a3.id).await, Some(earlier), "already revoked");
    assert_eq!(revoked_at(b1.id).await, None, "another account's family");

    assert_eq!(
        store.revoke_account_families(f.alice.id, at).await.unwrap(),
        0
    );
    assert_eq!(
        store
            .revoke_account_families(Uuid::new_v4(), at)
            .await
            .unwrap(),
        0
    );
}

// ---------------------------------------------------------------------------------------------
// access-token revocation

async fn access_token_revocation(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let exp = now() + secs(600);
    assert!(!revoked(&store, "jti-1", None).await);
    store.revoke_access_token("jti-1", exp).await.unwrap();
    store.revoke_access_token("jti-1", exp).await.unwrap();
    assert!(revoked(&store, "jti-1", None).await);
    assert!(!revoked(&store, "JTI-1", None).await, "jti is exact");
    assert!(!revoked(&store, "jti-2", None).await);

    let (live, _) = new_family(&store, &f, &f.alice, &f.web).await;
    let (dead, _) = new_family(&store, &f, &f.alice, &f.web).await;
    assert!(store.revoke_family(dead.id, now()).await.unwrap());
    assert!(!revoked(&store, "jti-2", Some(live.id)).await);
    assert!(revoked(&store, "jti-2", Some(dead.id)).await);
    assert!(!revoked(&store, "jti-2", Some(Uuid::new_v4())).await);
    // A revoked jti stays revoked whatever family it names.
    assert!(revoked(&store, "jti-1", Some(live.id)).await);

    // The same answers with the account, in one read; and as the two separate calls give them.
    let alice = store.account_by_id(f.alice.id).await.unwrap();
    assert!(alice.is_some());
    for (jti, family, account, want_revoked) in [
        ("jti-2", Some(live.id), Some(f.alice.id), false),
        ("jti-2", Some(dead.id), Some(f.alice.id), true),
        ("jti-1", None, Some(f.alice.id), true),
        ("jti-2", None, None, false),
        ("jti-2", Some(live.id), Some(Uuid::new_v4()), false),
    ] {
        let state = store.bearer_state(jti, family, account).await.unwrap();
        assert_eq!(state.revoked, want_revoked, "{jti} {family:?}");
        assert_eq!(state.revoked, revoked(&store, jti, family).await);
        let want_account = match account {
            Some(id) if id == f.alice.id => alice.clone(),
            _ => None,
        };
        assert_eq!(state.account, want_account, "{jti} {account:?}");
    }
}

/// Bearer checks made at the same moment (which PostgreSQL answers in one statement) each get
/// the answer for their own token, family and account.
async fn concurrent_bearer_checks_each_get_their_own_answer(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let (live, _) = new_family(&store, &f, &f.alice, &f.web).await;
    let (dead, _) = new_family(&store, &f, &f.bob, &f.web).await;
    assert!(store.revoke_family(dead.id, now()).await.unwrap());
    store
        .revoke_access_token("gone", now() + secs(600))
        .await
        .unwrap();
    let cases = [
        (
            "ok",
            Some(live.id),
            Some(f.alice.id),
            false,
            Some(f.alice.id),
        ),
        ("ok", Some(dead.id), Some(f.bob.id), true, Some(f.bob.id)),
        ("gone", None, Some(f.bob.id), true, Some(f.bob.id)),
        ("ok", None, None, false, None),
        ("ok", None, Some(Uuid::new_v4()), false, None),
        // NUL cannot be stored on PostgreSQL; it must not spoil the other checks.
        (
            "go\0ne",
            Some(dead.id),
            Some(f.alice.id),
            true,
            Some(f.alice.id),
        ),
        ("go\0ne", None, Some(f.alice.id), false, Some(f.alice.id)),
    ];
    let checks = (0..200).map(|i| {
        let store = store.clone();
        let (jti, family, account, revoked, account_id) = cases[i % cases.len()];
        async move {
            let state = store.bearer_state(jti, family, account).await.unwrap();
            assert_eq!(state.revoked, revoked, "case {}", i % cases.len());
            assert_eq!(
                state.account.map(|a| a.id),
                account_id,
                "case {}",
                i % cases.len()
            );
        }
    });
    let tasks: Vec<_> = checks.map(tokio::spawn).collect();
    for task in tasks {
        task.await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// browser sessions

async fn sessions_create_get_delete(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let s = session(&f, &f.alice, 3600);
    let bare = Session {
        id_digest: digest(),
        auth: AuthContext::default(),
        ..session(&f, &f.bob, 60)
    };
    store.create_session(&s).await.unwrap();
    store.create_session(&bare).await.unwrap();
    assert_eq!(store.session(&s.id_digest).await.unwrap(), Some(s.clone()));
    assert_eq!(
        store.session(&bare.id_digest).await.unwrap(),
        Some(bare.clone())
    );
    assert_eq!(store.session(&digest()).await.unwrap(), None);

    assert!(store.delete_session(&s.id_digest).await.unwrap());
    assert!(!store.delete_session(&s.id_digest).await.unwrap());
    assert_eq!(store.session(&s.id_digest).await.unwrap(), None);
    assert_eq!(store.session(&bare.id_digest).await.unwrap(), Some(bare));
}

// ---------------------------------------------------------------------------------------------
// consents

async fn consents_union_per_client_and_account(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let (alice, bob) = (f.alice.id, f.bob.id);
    assert!(consented(&store, alice, "third-party").await.is_empty());

    let at = now();
    store
        .grant_consent(alice, "third-party", &scopes(&["openid", "profile"]), at)
        .await
        .unwrap();
    store
        .grant_consent(
            alice,
            "third-party",
            &scopes(&["profile", "email"]),
            at + secs(1),
        )
        .await
        .unwrap();
    assert_eq!(
        consented(&store, alice, "third-party").await,
        set(&["openid", "profile", "email"])
    );
    let listed = store.consented_scopes(alice, "third-party").await.unwrap();
    assert_eq!(listed.len(), 3, "no duplicates: {listed:?}");

    // Per client and per account.
    assert!(consented(&store, alice, "web").await.is_empty());
    assert!(consented(&store, bob, "third-party").await.is_empty());
    store
        .grant_consent(bob, "web", &scopes(&["openid"]), at)
        .await
        .unwrap();
    assert_eq!(consented(&store, bob, "web").await, set(&["openid"]));
    assert!(consented(&store, alice, "web").await.is_empty());

    // Granting what is already granted changes nothing.
    store
        .grant_consent(alice, "third-party", &scopes(&["email"]), at + secs(2))
        .await
        .unwrap();
    assert_eq!(
        consented(&store, alice, "third-party").await,
        set(&["openid", "profile", "email"])
    );
}

// ---------------------------------------------------------------------------------------------
// purging

async fn purge_expired_removes_only_expired(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let at = now();

    let old_code = code(&f, &f.alice, -60);
    let live_code = code(&f, &f.alice, 7200);
    let old_redeemed = code(&f, &f.alice, -30);
    for c in [&old_code, &live_code, &old_redeemed] {
        store.insert_code(c).await.unwrap();
    }
    let redeemed_fam = Uuid::new_v4();
    store
        .redeem_code(&old_redeemed.code_digest, &refresh(redeemed_fam, 3600), at)
        .await
        .unwrap();

    // One family with an expired (used) token and its live successor; another whose only
    // token expired.
    let fam = family(&f, &f.alice, &f.web);
    let old_token = refresh(fam.id, 60);
    store.create_family(&fam, &old_token).await.unwrap();
    let live_token = refresh(fam.id, 7200);
    assert!(matches!(
        store
            .rotate_refresh(&old_token.token_digest, &f.web.id, &live_token, at)
            .await
            .unwrap(),
        RefreshRotation::Rotated(..)
    ));
    let lone = family(&f, &f.bob, &f.web);
    let lone_token = refresh(lone.id, 30);
    store.create_family(&lone, &lone_token).await.unwrap();

    let old_session = session(&f, &f.alice, 60);
    let live_session = session(&f, &f.alice, 7200);
    for s in [&old_session, &live_session] {
        store.create_session(s).await.unwrap();
    }

    store
        .revoke_access_token("old-jti", at + secs(60))
        .await
        .unwrap();
    store
        .revoke_access_token("live-jti", at + secs(7200))
        .await
        .unwrap();

    // Nothing has expired yet.
    assert_eq!(store.purge_expired(at - secs(3600)).await.unwrap(), 0);

    // An hour on: 2 codes, 2 refresh tokens, 1 session and 1 revoked jti have expired.
    let later = at + secs(3600);
    assert_eq!(store.purge_expired(later).await.unwrap(), 6);
    assert_eq!(store.purge_expired(later).await.unwrap(), 0, "idempotent");

    for gone in [&old_code, &old_redeemed] {
        assert_eq!(
            store
                .redeem_code(&gone.code_digest, &refresh(Uuid::new_v4(), 3600), later)
                .await
                .unwrap(),
            CodeRedemption::Unknown
        );
    }
    assert_eq!(
        store
            .redeem_code(
                &live_code.code_digest,
                &refresh(Uuid::new_v4(), 3600),
                later
            )
            .await
            .unwrap(),
        CodeRedemption::Redeemed(live_code)
    );

    assert_eq!(
        store.refresh_token(&old_token.token_digest).await.unwrap(),
        None
    );
    assert_eq!(
        store.refresh_token(&lone_token.token_digest).await.unwrap(),
        None
    );
    assert_eq!(
        store.refresh_token(&live_token.token_digest).await.unwrap(),
        Some((live_token, fam.clone()))
    );
    // Families have no expiry of their own and stay.
    assert_eq!(store.family(fam.id).await.unwrap(), Some(fam));
    assert_eq!(store.family(lone.id).await.unwrap(), Some(lone));

    assert_eq!(store.session(&old_session.id_digest).await.unwrap(), None);
    assert_eq!(
        store.session(&live_session.id_digest).await.unwrap(),
        Some(live_session)
    );

    assert!(!revoked(&store, "old-jti", None).await);
    assert!(revoked(&store, "live-jti", None).await);
}

// ---------------------------------------------------------------------------------------------
// account deletion

async fn delete_account_removes_grants_of_that_account_only(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let at = now();
    let mut grants = Vec::new();
    for acc in [&f.alice, &f.bob] {
        let (fam, first) = new_family(&store, &f, acc, &f.web).await;
        let next = refresh(fam.id, 3600);
        store
            .rotate_refresh(&first.token_digest, &f.web.id, &next, at)
            .await
            .unwrap();
        let (revoked_fam, revoked_first) = new_family(&store, &f, acc, &f.third).await;
        store.revoke_family(revoked_fam.id, at).await.unwrap();
        let s = session(&f, acc, 3600);
        store.create_session(&s).await.unwrap();
        store
            .grant_consent(acc.id, "third-party", &scopes(&["openid"]), at)
            .await
            .unwrap();
        grants.push((fam, first, next, revoked_fam, revoked_first, s));
    }

    assert!(store.delete_account(f.alice.id).await.unwrap());
    assert_eq!(store.account_by_id(f.alice.id).await.unwrap(), None);

    let (fam, first, next, revoked_fam, revoked_first, s) = &grants[0];
    for id in [fam.id, revoked_fam.id] {
        assert_eq!(store.family(id).await.unwrap(), None);
    }
    for token in [first, next, revoked_first] {
        assert_eq!(
            store.refresh_token(&token.token_digest).await.unwrap(),
            None
        );
    }
    assert_eq!(store.session(&s.id_digest).await.unwrap(), None);
    assert!(
        consented(&store, f.alice.id, "third-party")
            .await
            .is_empty()
    );

    let (fam, first, next, revoked_fam, revoked_first, s) = &grants[1];
    for id in [fam.id, revoked_fam.id] {
        assert!(store.family(id).await.unwrap().is_some());
    }
    for token in [first, next, revoked_first] {
        assert!(
            store
                .refresh_token(&token.token_digest)
                .await
                .unwrap()
                .is_some()
        );
    }
    assert_eq!(store.session(&s.id_digest).await.unwrap(), Some(s.clone()));
    assert_eq!(
        consented(&store, f.bob.id, "third-party").await,
        set(&["openid"])
    );
}
