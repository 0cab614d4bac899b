//! The MFA part of the `Store` contract: one-time challenges (spent once, before they expire,
//! even under concurrent calls) and second factors. Checked against every store, like
//! `conformance`.

use std::sync::Arc;

use chrono::TimeDelta;
use idp_core::{model::*, store::*};
use uuid::Uuid;

use crate::store_tests;

store_tests!(
    challenge_roundtrip,
    insert_challenge_needs_account_of_its_tenant,
    consume_once_then_false,
    consume_expired_or_unknown_is_false,
    concurrent_consume_one_winner,
    consume_challenges_of_consumes_live_ones_of_kind_and_account,
    factors_put_replace_list_delete,
    factor_overview_tells_what_the_separate_reads_tell,
    delete_account_removes_challenges_and_factors,
    purge_expired_removes_expired_challenges_only,
);

// ---------------------------------------------------------------------------------------------
// builders

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

/// Two accounts of one tenant.
struct Fixture {
    alice: Account,
    bob: Account,
}

async fn new_tenant(store: &Arc<dyn Store>, name: &str) -> Tenant {
    let at = now();
    let tenant = Tenant {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        description: None,
        default_role: None,
        settings: TenantSettings::default(),
        created_at: at,
        updated_at: at,
    };
    store.create_tenant(&tenant).await.expect("create tenant");
    tenant
}

async fn fixture(store: &Arc<dyn Store>) -> Fixture {
    let tenant = new_tenant(store, "acme").await;
    let alice = add_account(store, tenant.id, "alice").await;
    let bob = add_account(store, tenant.id, "bob").await;
    Fixture { alice, bob }
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

/// A live (or, with a negative `expires_in`, expired) challenge of `account`, created now.
fn challenge(account: &Account, kind: ChallengeKind, expires_in: i64) -> Challenge {
    let at = now();
    Challenge {
        id: Uuid::new_v4(),
        tenant_id: account.tenant_id,
        account_id: account.id,
        kind,
        destination: account.email.clone().unwrap_or_default(),
        secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        payload: serde_json::json!({
            "flow": "sign_in",
            "client_id": "web",
            "scope": ["openid", "profile"],
            "attempts": 0,
            "ratio": 1.5,
            "nested": {"remember": true, "none": null},
            "text": "żółw ✓ \"quoted\"",
        }),
        created_at: at,
        expires_at: at + secs(expires_in),
        consumed_at: None,
    }
}

async fn insert(store: &Arc<dyn Store>, ch: &Challenge) {
    store.insert_challenge(ch).await.expect("insert challenge");
}

async fn reload(store: &Arc<dyn Store>, id: Uuid) -> Challenge {
    store
        .challenge(id)
        .await
        .expect("challenge")
        .expect("challenge exists")
}

fn factor(account: &Account, kind: FactorKind, secret: Option<&str>, confirmed: bool) -> Factor {
    Factor {
        account_id: account.id,
        kind,
        secret: secret.map(str::to_owned),
        confirmed,
        created_at: now(),
    }
}

fn is_missing<T: std::fmt::Debug>(r: StoreResult<T>) {
    assert!(
        matches!(r, Err(StoreError::MissingReference(_))),
        "expected MissingReference, got {r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// challenges

async fn challenge_roundtrip(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let mut all = Vec::new();
    for kind in ChallengeKind::ALL {
        let ch = challenge(&f.alice, kind, 300);
        insert(&store, &ch).await;
        all.push(ch);
    }
    // Other payload shapes, a phone destination and a challenge stored already consumed.
    let consumed = Challenge {
        destination: "+15550000005".into(),
        payload: serde_json::Value::Null,
        consumed_at: Some(now() + secs(1)),
        ..challenge(&f.bob, ChallengeKind::SmsOtp, 60)
    };
    let scalar = Challenge {
        payload: serde_json::json!("pending"),
        ..challenge(&f.bob, ChallengeKind::Unlock, 60)
    };
    for ch in [&consumed, &scalar] {
        insert(&store, ch).await;
    }
    all.extend([consumed, scalar]);

    for ch in &all {
        // Every field, payload and timestamps included, comes back exactly. (Debug leaves
        // the secret-bearing fields out, so those are compared one by one first.)
        let got = reload(&store, ch.id).await;
        assert_eq!(got.payload, ch.payload);
        assert_eq!(
            (got.created_at, got.expires_at, got.consumed_at),
            (ch.created_at, ch.expires_at, ch.consumed_at)
        );
        assert_eq!(
            (&got.destination, &got.secret_hash, got.tenant_id),
            (&ch.destination, &ch.secret_hash, ch.tenant_id)
        );
        assert_eq!(&got, ch);
    }
    assert_eq!(store.challenge(Uuid::new_v4()).await.unwrap(), None);

    // Ids are unique.
    let again = Challenge {
        id: all[0].id,
        ..challenge(&f.bob, ChallengeKind::EmailOtp, 60)
    };
    assert!(
        matches!(
            store.insert_challenge(&again).await,
            Err(StoreError::Conflict(_))
        ),
        "duplicate id"
    );
    assert_eq!(reload(&store, all[0].id).await, all[0]);
}

async fn insert_challenge_needs_account_of_its_tenant(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let other = new_tenant(&store, "globex").await;

    let unknown = Challenge {
        account_id: Uuid::new_v4(),
        ..challenge(&f.alice, ChallengeKind::EmailOtp, 60)
    };
    is_missing(store.insert_challenge(&unknown).await);
    let foreign = Challenge {
        tenant_id: other.id,
        ..challenge(&f.alice, ChallengeKind::EmailOtp, 60)
    };
    is_missing(store.insert_challenge(&foreign).await);
    for ch in [&unknown, &foreign] {
        assert_eq!(store.challenge(ch.id).await.unwrap(), None);
    }
}

async fn consume_once_then_false(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let ch = challenge(&f.alice, ChallengeKind::EmailOtp, 300);
    let other = challenge(&f.alice, ChallengeKind::EmailOtp, 300);
    insert(&store, &ch).await;
    insert(&store, &other).await;

    let at = now() + secs(10);
    assert!(store.consume_challenge(ch.id, at).await.unwrap());
    assert_eq!(
        reload(&store, ch.id).await,
        Challenge {
            consumed_at: Some(at),
            ..ch.clone()
        }
    );
    // Spent: every later call is false and leaves the first consumption as it was.
    assert!(!store.consume_challenge(ch.id, at).await.unwrap());
    assert!(!store.consume_challenge(ch.id, at + secs(1)).await.unwrap());
    assert_eq!(reload(&store, ch.id).await.consumed_at, Some(at));
    // Only that challenge.
    assert_eq!(reload(&store, other.id).await, other);
}

async fn consume_expired_or_unknown_is_false(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let expired = challenge(&f.alice, ChallengeKind::PasswordReset, -1);
    let ch = challenge(&f.alice, ChallengeKind::EmailVerification, 60);
    insert(&store, &expired).await;
    insert(&store, &ch).await;

    assert!(!store.consume_challenge(expired.id, now()).await.unwrap());
    assert_eq!(reload(&store, expired.id).await, expired, "left unconsumed");

    // Expired at its expiry instant already; live just before it.
    assert!(!store.consume_challenge(ch.id, ch.expires_at).await.unwrap());
    assert!(
        !store
            .consume_challenge(ch.id, ch.expires_at + secs(1))
            .await
            .unwrap()
    );
    assert_eq!(reload(&store, ch.id).await.consumed_at, None);
    let last = ch.expires_at - TimeDelta::microseconds(1);
    assert!(store.consume_challenge(ch.id, last).await.unwrap());
    assert_eq!(reload(&store, ch.id).await.consumed_at, Some(last));

    assert!(
        !store
            .consume_challenge(Uuid::new_v4(), now())
            .await
            .unwrap()
    );
}

async fn concurrent_consume_one_winner(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let ch = challenge(&f.alice, ChallengeKind::SmsOtp, 300);
    insert(&store, &ch).await;
    let tasks = (0..30).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.consume_challenge(ch.id, now()).await })
    });
    let won = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task panicked").expect("consume_challenge"))
        .filter(|won| *won)
        .count();
    assert_eq!(won, 1, "exactly one consumption");
    assert!(reload(&store, ch.id).await.consumed_at.is_some());
}

async fn consume_challenges_of_consumes_live_ones_of_kind_and_account(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let live = [
        challenge(&f.alice, ChallengeKind::EmailOtp, 300),
        challenge(&f.alice, ChallengeKind::EmailOtp, 600),
    ];
    let expired = challenge(&f.alice, ChallengeKind::EmailOtp, -10);
    let spent = challenge(&f.alice, ChallengeKind::EmailOtp, 300);
    let other_kind = challenge(&f.alice, ChallengeKind::SmsOtp, 300);
    let other_account = challenge(&f.bob, ChallengeKind::EmailOtp, 300);
    for ch in live
        .iter()
        .chain([&expired, &spent, &other_kind, &other_account])
    {
        insert(&store, ch).await;
    }
    let spent_at = now();
    assert!(store.consume_challenge(spent.id, spent_at).await.unwrap());

    let at = now() + secs(1);
    assert_eq!(
        store
            .consume_challenges_of(f.alice.id, ChallengeKind::EmailOtp, at)
            .await
            .unwrap(),
        2
    );
    for ch in &live {
        assert_eq!(reload(&store, ch.id).await.consumed_at, Some(at));
    }
    assert_eq!(reload(&store, expired.id).await, expired);
    assert_eq!(reload(&store, spent.id).await.consumed_at, Some(spent_at));
    assert_eq!(reload(&store, other_kind.id).await, other_kind);
    assert_eq!(reload(&store, other_account.id).await, other_account);

    // Nothing live of that kind is left.
    assert_eq!(
        store
            .consume_challenges_of(f.alice.id, ChallengeKind::EmailOtp, at + secs(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .consume_challenges_of(Uuid::new_v4(), ChallengeKind::EmailOtp, at)
            .await
            .unwrap(),
        0
    );
    // A replaced code can no longer be spent; the other kind and account still can.
    assert!(!store.consume_challenge(live[0].id, at).await.unwrap());
    assert!(store.consume_challenge(other_kind.id, at).await.unwrap());
    assert!(store.consume_challenge(other_account.id, at).await.unwrap());
}

// ---------------------------------------------------------------------------------------------
// second factors

async fn factors_put_replace_list_delete(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    assert!(store.factors(f.alice.id).await.unwrap().is_empty());

    let pin = factor(&f.alice, FactorKind::Pin, None, true);
    let totp = factor(&f.alice, FactorKind::Totp, Some("JBSWY3DPEHPK3PXP"), false);
    let email = factor(&f.alice, FactorKind::EmailOtp, None, true);
    let bobs = factor(&f.bob, FactorKind::SmsOtp, None, true);
    for x in [&pin, &totp, &email, &bobs] {
        store.put_factor(x).await.expect("put_factor");
    }
    // Ordered by kind, whatever the order they were put in.
    assert_eq!(
        store.factors(f.alice.id).await.unwrap(),
        vec![totp.clone(), email.clone(), pin.clone()]
    );
    assert_eq!(store.factors(f.bob.id).await.unwrap(), vec![bobs.clone()]);

    // Putting the same kind again replaces it, every field included.
    let confirmed = Factor {
        secret: Some("GEZDGNBVGY3TQOJQ".into()),
        confirmed: true,
        created_at: totp.created_at + secs(30),
        ..totp.clone()
    };
    store.put_factor(&confirmed).await.unwrap();
    let cleared = Factor {
        secret: None,
        confirmed: false,
        ..confirmed.clone()
    };
    let listed = store.factors(f.alice.id).await.unwrap();
    assert_eq!(listed, vec![confirmed.clone(), email.clone(), pin.clone()]);
    store.put_factor(&cleared).await.unwrap();
    assert_eq!(
        store.factors(f.alice.id).await.unwrap(),
        vec![cleared.clone(), email.clone(), pin.clone()]
    );

    assert!(
        store
            .delete_factor(f.alice.id, FactorKind::Totp)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_factor(f.alice.id, FactorKind::Totp)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_factor(f.alice.id, FactorKind::SmsOtp)
            .await
            .unwrap(),
        "bob's kind, not alice's"
    );
    assert_eq!(store.factors(f.alice.id).await.unwrap(), vec![email, pin]);
    assert_eq!(store.factors(f.bob.id).await.unwrap(), vec![bobs]);

    // A factor needs its account.
    let orphan = Factor {
        account_id: Uuid::new_v4(),
        ..factor(&f.alice, FactorKind::Totp, Some("JBSWY3DPEHPK3PXP"), false)
    };
    is_missing(store.put_factor(&orphan).await);
    assert!(store.factors(orphan.account_id).await.unwrap().is_empty());
}

/// `factor_overview` (one statement on PostgreSQL) against the three reads it replaces: only
/// confirmed factors in kind order, the PIN as a flag, the answered questions in answer order,
/// and nothing of another account's.
async fn factor_overview_tells_what_the_separate_reads_tell(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let empty = FactorOverview::default();
    assert_eq!(store.factor_overview(f.alice.id).await.unwrap(), empty);
    assert_eq!(
        store.factor_overview(Uuid::new_v4()).await.unwrap(),
        empty,
        "unknown account"
    );

    let at = now();
    for x in [
        factor(&f.alice, FactorKind::Pin, None, true),
        factor(&f.alice, FactorKind::Totp, Some("JBSWY3DPEHPK3PXP"), false),
        factor(&f.alice, FactorKind::SmsOtp, None, true),
        factor(&f.bob, FactorKind::Totp, Some("GEZDGNBVGY3TQOJQ"), true),
    ] {
        store.put_factor(&x).await.unwrap();
    }
    assert!(
        store
            .set_pin_hash(f.alice.id, Some("pin-hash"), at)
            .await
            .unwrap()
    );
    let pet = store
        .create_question(f.alice.tenant_id, "First pet?", at)
        .await
        .unwrap();
    let street = store
        .create_question(f.alice.tenant_id, "First street?", at)
        .await
        .unwrap();
    // Answered street first: the overview keeps the order of the answers.
    store
        .put_answer(f.alice.id, street.id, "h1", at)
        .await
        .unwrap();
    store
        .put_answer(f.alice.id, pet.id, "h2", at)
        .await
        .unwrap();
    store.put_answer(f.bob.id, pet.id, "h3", at).await.unwrap();

    let alice = store.factor_overview(f.alice.id).await.unwrap();
    assert_eq!(
        alice,
        FactorOverview {
            confirmed: vec![FactorKind::SmsOtp, FactorKind::Pin],
            pin_set: true,
            question_ids: vec![street.id, pet.id],
        }
    );
    // The same as the separate reads say.
    let factors = store.factors(f.alice.id).await.unwrap();
    let confirmed: Vec<FactorKind> = factors
        .iter()
        .filter(|x| x.confirmed)
        .map(|x| x.kind)
        .collect();
    assert_eq!(alice.confirmed, confirmed);
    let answered: Vec<i64> = store
        .list_answers(f.alice.id)
        .await
        .unwrap()
        .iter()
        .map(|a| a.question.id)
        .collect();
    assert_eq!(alice.question_ids, answered);

    assert_eq!(
        store.factor_overview(f.bob.id).await.unwrap(),
        FactorOverview {
            confirmed: vec![FactorKind::Totp],
            pin_set: false,
            question_ids: vec![pet.id],
        }
    );
}

// ---------------------------------------------------------------------------------------------
// account deletion and purging

async fn delete_account_removes_challenges_and_factors(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let mut kept = Vec::new();
    for acc in [&f.alice, &f.bob] {
        let live = challenge(acc, ChallengeKind::EmailOtp, 300);
        let spent = challenge(acc, ChallengeKind::PasswordReset, 300);
        insert(&store, &live).await;
        insert(&store, &spent).await;
        assert!(store.consume_challenge(spent.id, now()).await.unwrap());
        let factors = vec![
            factor(acc, FactorKind::Totp, Some("JBSWY3DPEHPK3PXP"), true),
            factor(acc, FactorKind::Pin, None, true),
        ];
        for x in &factors {
            store.put_factor(x).await.unwrap();
        }
        kept.push((reload(&store, spent.id).await, live, factors));
    }

    assert!(store.delete_account(f.alice.id).await.unwrap());
    assert_eq!(store.account_by_id(f.alice.id).await.unwrap(), None);

    let (spent, live, _) = &kept[0];
    for id in [live.id, spent.id] {
        assert_eq!(store.challenge(id).await.unwrap(), None);
    }
    assert!(store.factors(f.alice.id).await.unwrap().is_empty());

    let (spent, live, factors) = &kept[1];
    assert_eq!(&reload(&store, live.id).await, live);
    assert_eq!(&reload(&store, spent.id).await, spent);
    assert_eq!(&store.factors(f.bob.id).await.unwrap(), factors);
}

async fn purge_expired_removes_expired_challenges_only(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let at = now();
    let old = challenge(&f.alice, ChallengeKind::EmailOtp, 60);
    let old_spent = challenge(&f.bob, ChallengeKind::Unlock, 30);
    let live = challenge(&f.alice, ChallengeKind::SmsOtp, 7200);
    let live_spent = challenge(&f.alice, ChallengeKind::EmailVerification, 7200);
    for ch in [&old, &old_spent, &live, &live_spent] {
        insert(&store, ch).await;
    }
    for ch in [&old_spent, &live_spent] {
        assert!(store.consume_challenge(ch.id, at).await.unwrap());
    }
    let factor = factor(&f.alice, FactorKind::Totp, Some("JBSWY3DPEHPK3PXP"), true);
    store.put_factor(&factor).await.unwrap();

    // Nothing has expired yet.
    assert_eq!(store.purge_expired(at - secs(3600)).await.unwrap(), 0);
    assert_eq!(store.purge_expired(at).await.unwrap(), 0);

    // An hour on, two challenges have expired, spent or not.
    let later = at + secs(3600);
    assert_eq!(store.purge_expired(later).await.unwrap(), 2);
    assert_eq!(store.purge_expired(later).await.unwrap(), 0, "idempotent");

    for gone in [&old, &old_spent] {
        assert_eq!(store.challenge(gone.id).await.unwrap(), None);
    }
    assert_eq!(reload(&store, live.id).await, live);
    assert_eq!(reload(&store, live_spent.id).await.consumed_at, Some(at));
    // Factors do not expire.
    assert_eq!(store.factors(f.alice.id).await.unwrap(), vec![factor]);
}
