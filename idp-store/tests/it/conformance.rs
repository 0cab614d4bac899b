//! The `Store` contract, checked against every store. Each test gets a fresh, migrated store and
//! asserts exactly what the trait documents: round-trips, uniqueness, atomic counters, cascades.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::TimeDelta;
use idp_core::{model::*, store::*};
use uuid::Uuid;

use crate::store_tests;

store_tests!(
    ping_answers,
    tenants_roundtrip,
    tenant_update_writes_only_mutable_fields,
    tenant_name_conflict,
    account_create_and_find,
    account_find_is_scoped_to_tenant,
    account_create_ignores_given_number,
    account_numbers_unique_and_sequential,
    account_username_conflict_case_insensitive,
    account_email_conflict,
    account_phone_conflict,
    account_missing_email_and_phone_repeat,
    same_username_and_email_in_two_tenants,
    account_create_with_roles,
    account_create_with_foreign_role_writes_nothing,
    list_accounts_paging_and_order,
    update_account_writes_mutable_fields,
    update_account_conflicts_write_nothing,
    secrets_roundtrip,
    find_login_is_find_account_with_secrets_and_confirmed_factors,
    set_password_and_pin_hash,
    record_failure_locks_at_threshold,
    record_failure_without_lockout,
    record_failure_keeps_non_active_status,
    record_login_resets_failures,
    set_status_and_failure_reset,
    delete_account_cascades_but_keeps_audit,
    questions_per_tenant,
    put_answer_upserts,
    put_answer_rejects_foreign_question,
    update_answer_rules,
    roles_with_shared_entitlements,
    update_role_replaces_or_keeps_entitlements,
    delete_role_removes_assignments,
    assign_role_idempotent_and_tenant_bound,
    clients_roundtrip,
    audit_append_list_and_get,
    concurrent_creates_same_email,
    concurrent_failures_not_lost,
);

// ---------------------------------------------------------------------------------------------
// builders

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

fn tenant(name: &str) -> Tenant {
    let at = now();
    Tenant {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        description: Some(format!("{name} tenant")),
        default_role: Some("USER".into()),
        settings: TenantSettings {
            password_policy: PasswordPolicy {
                min_length: 12,
                require_special: false,
                max_age_days: 30,
                ..PasswordPolicy::default()
            },
            lockout_policy: LockoutPolicy {
                max_failures: 3,
                window_secs: 600,
                unlock_after_secs: Some(1800),
            },
            mfa_policy: MfaPolicy::SmsOtp,
        },
        created_at: at,
        updated_at: at,
    }
}

async fn new_tenant(store: &Arc<dyn Store>, name: &str) -> Tenant {
    let t = tenant(name);
    store.create_tenant(&t).await.expect("create tenant");
    t
}

fn account(tenant_id: Uuid, username: &str, email: Option<&str>) -> Account {
    let at = now();
    let mut attributes = serde_json::Map::new();
    attributes.insert("referral".into(), serde_json::json!("R-42"));
    attributes.insert(
        "tier".into(),
        serde_json::json!({"level": 2, "tags": ["a", "b"]}),
    );
    Account {
        id: Uuid::new_v4(),
        tenant_id,
        number: 0,
        username: username.to_owned(),
        email: email.map(str::to_owned),
        phone: None,
        email_verified: true,
        phone_verified: false,
        user_type: Some("CUSTOMER".into()),
        status: AccountStatus::Active,
        need_change_password: false,
        failed_attempts: 0,
        profile: Profile {
            name: Some(format!("{username} Example")),
            first_name: Some(username.to_owned()),
            last_name: Some("Example".into()),
            date_of_birth: chrono::NaiveDate::from_ymd_opt(1990, 2, 28),
            country: Some("NG".into()),
            bvn: Some("12345678901".into()),
            attributes,
            ..Profile::default()
        },
        created_at: at,
        updated_at: at,
        last_login_at: None,
        password_changed_at: Some(at),
    }
}

fn new_account(account: Account) -> NewAccount {
    NewAccount {
        account,
        secrets: AccountSecrets {
            password_hash: Some("$argon2id$pw".into()),
            pin_hash: None,
        },
        role_ids: Vec::new(),
    }
}

async fn add_account(store: &Arc<dyn Store>, tenant_id: Uuid, username: &str) -> Account {
    let email = format!("{}@example.com", username.to_lowercase());
    store
        .create_account(&new_account(account(tenant_id, username, Some(&email))))
        .await
        .expect("create account")
}

async fn reload(store: &Arc<dyn Store>, id: Uuid) -> Account {
    store
        .account_by_id(id)
        .await
        .expect("account_by_id")
        .expect("account exists")
}

fn names(role: &Role) -> BTreeSet<String> {
    role.entitlements.iter().map(|e| e.name.clone()).collect()
}

/// Entitlement order is not part of the contract; compare roles with a fixed order.
fn sorted(mut role: Role) -> Role {
    role.entitlements.sort_by(|a, b| a.name.cmp(&b.name));
    role
}

fn audit(tenant_id: Uuid, account_id: Option<Uuid>, name: &str, at: Timestamp) -> NewAudit {
    NewAudit {
        tenant_id,
        account_id,
        actor_id: Some(Uuid::new_v4()),
        category: AuditCategory::Admin,
        action: AuditAction::Update,
        name: name.to_owned(),
        success: true,
        summary: format!("{name} done"),
        parameters: serde_json::json!({"username": "alice", "nested": {"n": 1, "list": [1, 2]}}),
        error_message: None,
        client_ip: Some("10.0.0.1".into()),
        request_id: Some(format!("req-{name}")),
        created_at: at,
    }
}

fn is_conflict<T: std::fmt::Debug>(r: StoreResult<T>, field: UniqueField) {
    match r {
        Err(StoreError::Conflict(f)) => assert_eq!(f, field, "conflict on the wrong field"),
        other => panic!("expected Conflict({field:?}), got {other:?}"),
    }
}

fn is_missing<T: std::fmt::Debug>(r: StoreResult<T>) {
    assert!(
        matches!(r, Err(StoreError::MissingReference(_))),
        "expected MissingReference, got {r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// tenants

async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
}

async fn tenants_roundtrip(store: Arc<dyn Store>) {
    let a = new_tenant(&store, "acme").await;
    let mut b = tenant("Beta");
    b.description = None;
    b.default_role = None;
    b.settings = TenantSettings::default();
    store.create_tenant(&b).await.unwrap();

    assert_eq!(store.tenant_by_id(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.tenant_by_id(b.id).await.unwrap(), Some(b.clone()));
    assert_eq!(store.tenant_by_id(Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(store.tenant_by_name("acme").await.unwrap(), Some(a.clone()));
    assert_eq!(store.tenant_by_name("Beta").await.unwrap(), Some(b.clone()));
    // Exact, case-sensitive name.
    assert_eq!(store.tenant_by_name("ACME").await.unwrap(), None);
    assert_eq!(store.tenant_by_name("beta").await.unwrap(), None);

    // Migrations may seed tenants of their own; ours must be there exactly once each.
    let all = store.list_tenants().await.unwrap();
    for t in [&a, &b] {
        let found: Vec<_> = all.iter().filter(|x| x.id == t.id).collect();
        assert_eq!(found, vec![t], "list_tenants must hold {} once", t.name);
    }
}

async fn tenant_update_writes_only_mutable_fields(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let mut changed = t.clone();
    changed.name = "renamed".into();
    changed.created_at = t.created_at - secs(3600);
    changed.description = None;
    changed.default_role = Some("MEMBER".into());
    changed.settings.lockout_policy.max_failures = 9;
    changed.settings.password_policy.require_upper = false;
    changed.updated_at = t.updated_at + secs(5);
    assert!(store.update_tenant(&changed).await.unwrap());

    let expected = Tenant {
        name: t.name.clone(),
        created_at: t.created_at,
        ..changed.clone()
    };
    assert_eq!(store.tenant_by_id(t.id).await.unwrap(), Some(expected));
    assert_eq!(store.tenant_by_name("renamed").await.unwrap(), None);

    let ghost = tenant("ghost");
    assert!(!store.update_tenant(&ghost).await.unwrap());
    assert_eq!(store.tenant_by_id(ghost.id).await.unwrap(), None);
}

async fn tenant_name_conflict(store: Arc<dyn Store>) {
    new_tenant(&store, "acme").await;
    let dup = tenant("acme");
    is_conflict(store.create_tenant(&dup).await, UniqueField::TenantName);
    assert_eq!(
        store.tenant_by_id(dup.id).await.unwrap(),
        None,
        "nothing written"
    );
}

// ---------------------------------------------------------------------------------------------
// accounts

async fn account_create_and_find(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let mut acc = account(t.id, "Alice", Some("alice@example.com"));
    acc.phone = Some("+2348000000001".into());
    acc.last_login_at = Some(acc.created_at - secs(10));
    let created = store
        .create_account(&new_account(acc.clone()))
        .await
        .unwrap();
    assert!(
        created.number >= 100_000,
        "number {} below 100000",
        created.number
    );
    assert_eq!(
        created,
        Account {
            number: created.number,
            ..acc
        }
    );

    let id = created.id;
    assert_eq!(
        store.account_by_id(id).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(store.account_by_id(Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(
        store.account_by_number(created.number).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        store.account_by_number(created.number + 1).await.unwrap(),
        None
    );

    let found = |key: AccountKey| {
        let store = store.clone();
        async move { store.find_account(t.id, &key).await.unwrap().map(|a| a.id) }
    };
    use AccountKey::*;
    assert_eq!(found(Username("Alice".into())).await, Some(id));
    assert_eq!(found(Username("alice".into())).await, Some(id));
    assert_eq!(found(Username("ALICE".into())).await, Some(id));
    assert_eq!(found(Username("alic".into())).await, None);
    assert_eq!(found(Username("alice@example.com".into())).await, None);
    assert_eq!(found(Email("alice@example.com".into())).await, Some(id));
    assert_eq!(found(Email("bob@example.com".into())).await, None);
    assert_eq!(found(Email("Alice".into())).await, None);
    assert_eq!(found(Phone("+2348000000001".into())).await, Some(id));
    assert_eq!(found(Phone("+2348000000002".into())).await, None);
    assert_eq!(found(Login("alice".into())).await, Some(id));
    assert_eq!(found(Login("ALICE".into())).await, Some(id));
    assert_eq!(found(Login("alice@example.com".into())).await, Some(id));
    assert_eq!(
        found(Login("+2348000000001".into())).await,
        None,
        "login is not phone"
    );
    assert_eq!(found(Login("nobody".into())).await, None);

    let full = store
        .find_account(t.id, &Email("alice@example.com".into()))
        .await
        .unwrap();
    assert_eq!(full, Some(created));
}

async fn account_find_is_scoped_to_tenant(store: Arc<dyn Store>) {
    let t1 = new_tenant(&store, "one").await;
    let t2 = new_tenant(&store, "two").await;
    let mut acc = account(t1.id, "alice", Some("alice@example.com"));
    acc.phone = Some("+15550001".into());
    store.create_account(&new_account(acc)).await.unwrap();
    for key in [
        AccountKey::Username("alice".into()),
        AccountKey::Email("alice@example.com".into()),
        AccountKey::Phone("+15550001".into()),
        AccountKey::Login("alice".into()),
        AccountKey::Login("alice@example.com".into()),
    ] {
        assert_eq!(
            store.find_account(t2.id, &key).await.unwrap(),
            None,
            "{key:?}"
        );
        assert!(
            store.find_account(t1.id, &key).await.unwrap().is_some(),
            "{key:?}"
        );
    }
    assert!(
        store
            .list_accounts(t2.id, Page::default())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn account_create_ignores_given_number(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let mut acc = account(t.id, "alice", None);
    acc.number = 7;
    let created = store.create_account(&new_account(acc)).await.unwrap();
    assert!(
        created.number >= 100_000,
        "store must assign the number, got {}",
        created.number
    );
    assert_eq!(store.account_by_number(7).await.unwrap(), None);
    assert_eq!(reload(&store, created.id).await.number, created.number);
}

async fn account_numbers_unique_and_sequential(store: Arc<dyn Store>) {
    let t1 = new_tenant(&store, "one").await;
    let t2 = new_tenant(&store, "two").await;
    let mut numbers = Vec::new();
    for i in 0..6 {
        let t = if i % 2 == 0 { t1.id } else { t2.id };
        let acc = add_account(&store, t, &format!("user{i}")).await;
        assert!(acc.number >= 100_000);
        assert_eq!(
            store
                .account_by_number(acc.number)
                .await
                .unwrap()
                .map(|a| a.id),
            Some(acc.id)
        );
        numbers.push(acc.number);
    }
    // Global across tenants and increasing in creation order.
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "not increasing: {numbers:?}"
    );
}

async fn account_username_conflict_case_insensitive(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    store
        .create_account(&new_account(account(t.id, "Alice", Some("a1@example.com"))))
        .await
        .unwrap();
    let dup = account(t.id, "alice", Some("a2@example.com"));
    is_conflict(
        store.create_account(&new_account(dup.clone())).await,
        UniqueField::Username,
    );
    assert_eq!(
        store.account_by_id(dup.id).await.unwrap(),
        None,
        "nothing written"
    );
    assert_eq!(
        store
            .account_secrets(dup.id)
            .await
            .unwrap()
            .map(|s| s.password_hash),
        None
    );
    let dup2 = account(t.id, "ALICE", None);
    is_conflict(
        store.create_account(&new_account(dup2)).await,
        UniqueField::Username,
    );
    assert_eq!(
        store
            .list_accounts(t.id, Page::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn account_email_conflict(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    add_account(&store, t.id, "alice").await;
    let dup = account(t.id, "bob", Some("alice@example.com"));
    is_conflict(
        store.create_account(&new_account(dup.clone())).await,
        UniqueField::Email,
    );
    assert_eq!(
        store.account_by_id(dup.id).await.unwrap(),
        None,
        "nothing written"
    );
}

async fn account_phone_conflict(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let mut a = account(t.id, "alice", None);
    a.phone = Some("+15550001".into());
    store.create_account(&new_account(a)).await.unwrap();
    let mut dup = account(t.id, "bob", None);
    dup.phone = Some("+15550001".into());
    is_conflict(
        store.create_account(&new_account(dup.clone())).await,
        UniqueField::Phone,
    );
    assert_eq!(
        store.account_by_id(dup.id).await.unwrap(),
        None,
        "nothing written"
    );
}

async fn account_missing_email_and_phone_repeat(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    for name in ["a", "b", "c"] {
        let acc = account(t.id, name, None);
        let created = store.create_account(&new_account(acc)).await.unwrap();
        assert_eq!((created.email, created.phone), (None, None));
    }
    assert_eq!(
        store
            .list_accounts(t.id, Page::default())
            .await
            .unwrap()
            .len(),
        3
    );
}

async fn same_username_and_email_in_two_tenants(store: Arc<dyn Store>) {
    let t1 = new_tenant(&store, "one").await;
    let t2 = new_tenant(&store, "two").await;
    let mut a1 = account(t1.id, "alice", Some("alice@example.com"));
    a1.phone = Some("+15550001".into());
    let mut a2 = account(t2.id, "Alice", Some("alice@example.com"));
    a2.phone = Some("+15550001".into());
    let a1 = store.create_account(&new_account(a1)).await.unwrap();
    let a2 = store.create_account(&new_account(a2)).await.unwrap();
    assert_ne!(a1.number, a2.number);
    let key = AccountKey::Email("alice@example.com".into());
    assert_eq!(
        store.find_account(t1.id, &key).await.unwrap().map(|a| a.id),
        Some(a1.id)
    );
    assert_eq!(
        store.find_account(t2.id, &key).await.unwrap().map(|a| a.id),
        Some(a2.id)
    );
}

async fn account_create_with_roles(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let at = now();
    let r1 = store
        .create_role(t.id, "USER", None, &["read".into()], at)
        .await
        .unwrap();
    let r2 = store
        .create_role(t.id, "ADMIN", None, &[], at)
        .await
        .unwrap();
    let mut new = new_account(account(t.id, "alice", None));
    new.role_ids = vec![r1.id, r2.id];
    let acc = store.create_account(&new).await.unwrap();
    let mut ids: Vec<i64> = store
        .account_roles(acc.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.role.id)
        .collect();
    ids.sort();
    let mut want = vec![r1.id, r2.id];
    want.sort();
    assert_eq!(ids, want);
}

async fn account_create_with_foreign_role_writes_nothing(store: Arc<dyn Store>) {
    let t1 = new_tenant(&store, "one").await;
    let t2 = new_tenant(&store, "two").await;
    let at = now();
    let own = store
        .create_role(t1.id, "USER", None, &[], at)
        .await
        .unwrap();
    let foreign = store
        .create_role(t2.id, "USER", None, &[], at)
        .await
        .unwrap();
    for bad in [foreign.id, foreign.id + own.id + 1000] {
        let mut new = new_account(account(t1.id, "alice", Some("alice@example.com")));
        new.role_ids = vec![own.id, bad];
        is_missing(store.create_account(&new).await);
        assert_eq!(
            store.account_by_id(new.account.id).await.unwrap(),
            None,
            "rolled back"
        );
        let secrets = store.account_secrets(new.account.id).await.unwrap();
        assert!(secrets.is_none(), "secrets rolled back");
    }
    // The rolled-back attempts left the username free.
    add_account(&store, t1.id, "alice").await;
}

async fn list_accounts_paging_and_order(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let other = new_tenant(&store, "other").await;
    let base = now();
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut acc = account(t.id, &format!("user{i}"), None);
        acc.created_at = base + secs(i);
        acc.updated_at = acc.created_at;
        ids.push(store.create_account(&new_account(acc)).await.unwrap().id);
        add_account(&store, other.id, &format!("other{i}")).await;
    }
    let page = |offset, limit| {
        let store = store.clone();
        async move {
            let list = store
                .list_accounts(t.id, Page { offset, limit })
                .await
                .unwrap();
            list.into_iter().map(|a| a.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(page(0, 100).await, ids);
    assert_eq!(page(0, 2).await, ids[0..2]);
    assert_eq!(page(1, 2).await, ids[1..3]);
    assert_eq!(page(4, 10).await, ids[4..5]);
    assert_eq!(page(5, 10).await, Vec::<Uuid>::new());
    assert_eq!(page(0, 0).await, Vec::<Uuid>::new());

    let full = store.list_accounts(t.id, Page::default()).await.unwrap();
    assert_eq!(
        full[2],
        reload(&store, ids[2]).await,
        "listed accounts are complete"
    );
}

async fn update_account_writes_mutable_fields(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let orig = add_account(&store, t.id, "alice").await;
    store.record_failure(orig.id, 0, now()).await.unwrap();
    let orig = reload(&store, orig.id).await;
    assert_eq!(orig.failed_attempts, 1);

    let mut changed = orig.clone();
    // Written:
    changed.username = "Alicia".into();
    changed.email = Some("alicia@example.com".into());
    changed.phone = Some("+15550009".into());
    changed.email_verified = false;
    changed.phone_verified = true;
    changed.user_type = None;
    changed.status = AccountStatus::Disabled;
    changed.need_change_password = true;
    changed.profile.city = Some("Lagos".into());
    changed.profile.attributes.clear();
    changed.updated_at = orig.updated_at + secs(60);
    // Ignored:
    changed.number = orig.number + 500;
    changed.created_at = orig.created_at - secs(60);
    changed.failed_attempts = 42;
    changed.last_login_at = Some(orig.created_at + secs(1));
    changed.password_changed_at = None;
    assert!(store.update_account(&changed).await.unwrap());

    let expected = Account {
        number: orig.number,
        created_at: orig.created_at,
        failed_attempts: orig.failed_attempts,
        last_login_at: orig.last_login_at,
        password_changed_at: orig.password_changed_at,
        ..changed.clone()
    };
    assert_eq!(reload(&store, orig.id).await, expected);
    let by_new_name = store
        .find_account(t.id, &AccountKey::Username("alicia".into()))
        .await;
    assert_eq!(by_new_name.unwrap().map(|a| a.id), Some(orig.id));
    let by_old_name = store
        .find_account(t.id, &AccountKey::Username("alice".into()))
        .await;
    assert_eq!(by_old_name.unwrap(), None);

    // Re-writing the account's own values (even re-cased) is no conflict.
    let mut same = expected.clone();
    same.username = "ALICIA".into();
    assert!(store.update_account(&same).await.unwrap());
    assert_eq!(reload(&store, orig.id).await.username, "ALICIA");

    let ghost = account(t.id, "ghost", None);
    assert!(!store.update_account(&ghost).await.unwrap());
    assert_eq!(store.account_by_id(ghost.id).await.unwrap(), None);
}

async fn update_account_conflicts_write_nothing(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let mut a = account(t.id, "alice", Some("alice@example.com"));
    a.phone = Some("+15550001".into());
    store.create_account(&new_account(a)).await.unwrap();
    let bob = add_account(&store, t.id, "bob").await;

    let attempts = [
        (UniqueField::Email, {
            let mut b = bob.clone();
            b.email = Some("alice@example.com".into());
            b
        }),
        (UniqueField::Username, {
            let mut b = bob.clone();
            b.username = "ALICE".into();
            b
        }),
        (UniqueField::Phone, {
            let mut b = bob.clone();
            b.phone = Some("+15550001".into());
            b
        }),
    ];
    for (field, mut attempt) in attempts {
        // Something else changes too, to prove the whole write was refused.
        attempt.profile.city = Some("Abuja".into());
        attempt.updated_at = bob.updated_at + secs(10);
        is_conflict(store.update_account(&attempt).await, field);
        assert_eq!(
            reload(&store, bob.id).await,
            bob,
            "nothing written on {field:?} conflict"
        );
    }
}

/// The sign-in read (one statement on PostgreSQL) finds what `find_account` by login finds,
/// with what `account_secrets` holds for it.
async fn find_login_is_find_account_with_secrets_and_confirmed_factors(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let other = new_tenant(&store, "other").await;
    let mut new = new_account(account(t.id, "Dave", Some("erin@example.com")));
    new.secrets.pin_hash = Some("$argon2id$pin".into());
    let dave = store.create_account(&new).await.unwrap();
    // Another account whose username is dave's email: a username match wins.
    let mut bare = new_account(account(t.id, "erin@example.com", None));
    bare.secrets = AccountSecrets::default();
    let erin = store.create_account(&bare).await.unwrap();
    // Dave's confirmed factors are listed in kind order; an unconfirmed one is not.
    for (kind, confirmed) in [
        (FactorKind::SmsOtp, true),
        (FactorKind::Totp, true),
        (FactorKind::EmailOtp, false),
    ] {
        let factor = Factor {
            account_id: dave.id,
            kind,
            secret: (kind == FactorKind::Totp).then(|| "JBSWY3DPEHPK3PXP".into()),
            confirmed,
            created_at: now(),
        };
        store.put_factor(&factor).await.unwrap();
    }
    for (login, expected) in [
        ("dave", Some(&dave)),
        ("DAVE", Some(&dave)),
        ("erin@example.com", Some(&erin)),
        ("nobody", None),
    ] {
        let key = AccountKey::Login(login.into());
        let found = store.find_account(t.id, &key).await.unwrap();
        assert_eq!(found.as_ref(), expected, "{login}");
        let with = store.find_login(t.id, login).await.unwrap();
        match (with, expected) {
            (Some(r), Some(e)) => {
                assert_eq!(&r.account, e, "{login}");
                let stored = store.account_secrets(e.id).await.unwrap().unwrap();
                assert_eq!(
                    (r.secrets.password_hash, r.secrets.pin_hash),
                    (stored.password_hash, stored.pin_hash),
                    "{login}"
                );
                let confirmed: Vec<FactorKind> = store
                    .factors(e.id)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|f| f.confirmed)
                    .map(|f| f.kind)
                    .collect();
                assert_eq!(r.confirmed_factors, confirmed, "{login}");
            }
            (None, None) => {}
            (got, _) => panic!("{login}: {:?}", got.map(|r| r.account.username)),
        }
    }
    assert!(
        store.find_login(other.id, "dave").await.unwrap().is_none(),
        "another tenant's login"
    );
}

async fn secrets_roundtrip(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let mut new = new_account(account(t.id, "alice", None));
    new.secrets = AccountSecrets {
        password_hash: Some("$argon2id$v=19$pw".into()),
        pin_hash: Some("$argon2id$v=19$pin".into()),
    };
    let a = store.create_account(&new).await.unwrap();
    let s = store.account_secrets(a.id).await.unwrap().expect("secrets");
    assert_eq!(s.password_hash.as_deref(), Some("$argon2id$v=19$pw"));
    assert_eq!(s.pin_hash.as_deref(), Some("$argon2id$v=19$pin"));

    let mut bare = new_account(account(t.id, "bob", None));
    bare.secrets = AccountSecrets::default();
    let b = store.create_account(&bare).await.unwrap();
    let s = store
        .account_secrets(b.id)
        .await
        .unwrap()
        .expect("secrets row for bob");
    assert_eq!((s.password_hash, s.pin_hash), (None, None));

    assert!(
        store
            .account_secrets(Uuid::new_v4())
            .await
            .unwrap()
            .is_none()
    );
}

async fn set_password_and_pin_hash(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let mut new = new_account(account(t.id, "alice", None));
    new.secrets.pin_hash = Some("pin-1".into());
    let a = store.create_account(&new).await.unwrap();

    let at = a.created_at + secs(30);
    assert!(
        store
            .set_password_hash(a.id, "pw-2", true, at)
            .await
            .unwrap()
    );
    let s = store.account_secrets(a.id).await.unwrap().unwrap();
    assert_eq!(s.password_hash.as_deref(), Some("pw-2"));
    assert_eq!(s.pin_hash.as_deref(), Some("pin-1"), "pin untouched");
    let after = reload(&store, a.id).await;
    assert_eq!(
        after,
        Account {
            need_change_password: true,
            password_changed_at: Some(at),
            updated_at: at,
            ..a.clone()
        }
    );

    let at2 = at + secs(30);
    assert!(
        store
            .set_password_hash(a.id, "pw-3", false, at2)
            .await
            .unwrap()
    );
    let after = reload(&store, a.id).await;
    assert!(!after.need_change_password);
    assert_eq!(after.password_changed_at, Some(at2));

    let at3 = at2 + secs(30);
    assert!(store.set_pin_hash(a.id, Some("pin-2"), at3).await.unwrap());
    let s = store.account_secrets(a.id).await.unwrap().unwrap();
    assert_eq!(
        (s.password_hash.as_deref(), s.pin_hash.as_deref()),
        (Some("pw-3"), Some("pin-2"))
    );
    assert!(store.set_pin_hash(a.id, None, at3).await.unwrap());
    let s = store.account_secrets(a.id).await.unwrap().unwrap();
    assert_eq!(
        (s.password_hash.as_deref(), s.pin_hash),
        (Some("pw-3"), None)
    );
    assert_eq!(
        reload(&store, a.id).await.password_changed_at,
        Some(at2),
        "pin is no password"
    );

    let ghost = Uuid::new_v4();
    assert!(
        !store
            .set_password_hash(ghost, "x", false, at)
            .await
            .unwrap()
    );
    assert!(!store.set_pin_hash(ghost, Some("x"), at).await.unwrap());
}

async fn record_failure_locks_at_threshold(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let a = add_account(&store, t.id, "alice").await;
    let at = now();
    let fc = |n, status| {
        Some(FailureCount {
            failed_attempts: n,
            status,
        })
    };
    use AccountStatus::*;
    assert_eq!(
        store.record_failure(a.id, 3, at).await.unwrap(),
        fc(1, Active)
    );
    assert_eq!(
        store.record_failure(a.id, 3, at).await.unwrap(),
        fc(2, Active)
    );
    assert_eq!(reload(&store, a.id).await.status, Active);
    assert_eq!(
        store.record_failure(a.id, 3, at).await.unwrap(),
        fc(3, Locked)
    );
    let locked = reload(&store, a.id).await;
    assert_eq!((locked.failed_attempts, locked.status), (3, Locked));
    assert_eq!(
        store.record_failure(a.id, 3, at).await.unwrap(),
        fc(4, Locked)
    );
    assert_eq!(reload(&store, a.id).await.failed_attempts, 4);

    // Threshold 1 locks on the first failure.
    let b = add_account(&store, t.id, "bob").await;
    assert_eq!(
        store.record_failure(b.id, 1, at).await.unwrap(),
        fc(1, Locked)
    );

    assert_eq!(
        store.record_failure(Uuid::new_v4(), 3, at).await.unwrap(),
        None
    );
}

async fn record_failure_without_lockout(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let a = add_account(&store, t.id, "alice").await;
    for n in 1..=10 {
        let fc = store.record_failure(a.id, 0, now()).await.unwrap().unwrap();
        assert_eq!(
            fc,
            FailureCount {
                failed_attempts: n,
                status: AccountStatus::Active
            }
        );
    }
    let after = reload(&store, a.id).await;
    assert_eq!(
        (after.failed_attempts, after.status),
        (10, AccountStatus::Active)
    );
}

async fn record_failure_keeps_non_active_status(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    for (i, status) in [
        AccountStatus::Disabled,
        AccountStatus::Inactive,
        AccountStatus::Closed,
    ]
    .into_iter()
    .enumerate()
    {
        let a = add_account(&store, t.id, &format!("user{i}")).await;
        assert!(store.set_status(a.id, status, now()).await.unwrap());
        let fc = store.record_failure(a.id, 1, now()).await.unwrap().unwrap();
        assert_eq!(
            fc,
            FailureCount {
                failed_attempts: 1,
                status
            }
        );
        assert_eq!(reload(&store, a.id).await.status, status);
    }
}

async fn record_login_resets_failures(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let a = add_account(&store, t.id, "alice").await;
    store.record_failure(a.id, 5, now()).await.unwrap();
    store.record_failure(a.id, 5, now()).await.unwrap();
    let at = a.created_at + secs(100);
    assert!(store.record_login(a.id, at).await.unwrap());
    let after = reload(&store, a.id).await;
    assert_eq!(after.failed_attempts, 0);
    assert_eq!(after.last_login_at, Some(at));
    assert_eq!(after.status, AccountStatus::Active);
    // The count starts over.
    let fc = store.record_failure(a.id, 5, now()).await.unwrap().unwrap();
    assert_eq!(fc.failed_attempts, 1);
    assert!(!store.record_login(Uuid::new_v4(), at).await.unwrap());
}

async fn set_status_and_failure_reset(store: Arc<dyn Store>) {
    use AccountStatus::*;
    let t = new_tenant(&store, "acme").await;
    let a = add_account(&store, t.id, "alice").await;
    let state = |store: Arc<dyn Store>| async move {
        let acc = reload(&store, a.id).await;
        (acc.status, acc.failed_attempts)
    };

    // ACTIVE -> DISABLED keeps the count.
    store.record_failure(a.id, 0, now()).await.unwrap();
    store.record_failure(a.id, 0, now()).await.unwrap();
    assert!(store.set_status(a.id, Disabled, now()).await.unwrap());
    assert_eq!(state(store.clone()).await, (Disabled, 2));
    // Entering ACTIVE resets it.
    assert!(store.set_status(a.id, Active, now()).await.unwrap());
    assert_eq!(state(store.clone()).await, (Active, 0));

    // Locked by failures, then leaving LOCKED for something other than ACTIVE resets it too.
    for _ in 0..3 {
        store.record_failure(a.id, 3, now()).await.unwrap();
    }
    assert_eq!(state(store.clone()).await, (Locked, 3));
    assert!(store.set_status(a.id, Disabled, now()).await.unwrap());
    assert_eq!(state(store.clone()).await, (Disabled, 0));

    // Lock again, unlock to ACTIVE.
    assert!(store.set_status(a.id, Active, now()).await.unwrap());
    for _ in 0..3 {
        store.record_failure(a.id, 3, now()).await.unwrap();
    }
    assert_eq!(state(store.clone()).await, (Locked, 3));
    assert!(store.set_status(a.id, Active, now()).await.unwrap());
    assert_eq!(state(store.clone()).await, (Active, 0));

    for s in AccountStatus::ALL {
        assert!(store.set_status(a.id, s, now()).await.unwrap());
        assert_eq!(
            reload(&store, a.id).await.status,
            s,
            "status {s} round-trips"
        );
    }
    assert!(
        !store
            .set_status(Uuid::new_v4(), Active, now())
            .await
            .unwrap()
    );
}

async fn delete_account_cascades_but_keeps_audit(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let at = now();
    let role = store
        .create_role(t.id, "USER", None, &["read".into()], at)
        .await
        .unwrap();
    let q = store.create_question(t.id, "First pet?", at).await.unwrap();
    let a = add_account(&store, t.id, "alice").await;
    let keep = add_account(&store, t.id, "bob").await;
    for acc in [&a, &keep] {
        assert!(store.assign_role(acc.id, role.id, at).await.unwrap());
        store.put_answer(acc.id, q.id, "hash", at).await.unwrap();
    }
    let audit_id = store
        .append_audit(&audit(t.id, Some(a.id), "account.update", at))
        .await
        .unwrap();

    assert!(store.delete_account(a.id).await.unwrap());
    assert_eq!(store.account_by_id(a.id).await.unwrap(), None);
    assert_eq!(store.account_by_number(a.number).await.unwrap(), None);
    assert!(store.account_secrets(a.id).await.unwrap().is_none());
    assert!(store.list_answers(a.id).await.unwrap().is_empty());
    assert!(store.account_roles(a.id).await.unwrap().is_empty());
    // Audit rows stay.
    let trail = store.list_audit(t.id, a.id, Page::default()).await.unwrap();
    assert_eq!(
        trail.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![audit_id]
    );
    assert!(
        store
            .audit_by_id(t.id, a.id, audit_id)
            .await
            .unwrap()
            .is_some()
    );
    // Shared rows and other accounts stay.
    assert!(store.role_by_id(t.id, role.id).await.unwrap().is_some());
    assert_eq!(store.list_questions(t.id).await.unwrap().len(), 1);
    assert_eq!(store.account_roles(keep.id).await.unwrap().len(), 1);
    assert_eq!(store.list_answers(keep.id).await.unwrap().len(), 1);
    assert!(store.account_secrets(keep.id).await.unwrap().is_some());

    assert!(!store.delete_account(a.id).await.unwrap());
    // Username and email are free again.
    add_account(&store, t.id, "alice").await;
}

// ---------------------------------------------------------------------------------------------
// security questions

async fn questions_per_tenant(store: Arc<dyn Store>) {
    let t1 = new_tenant(&store, "one").await;
    let t2 = new_tenant(&store, "two").await;
    let at = now();
    let q1 = store
        .create_question(t1.id, "First pet?", at)
        .await
        .unwrap();
    let q2 = store
        .create_question(t1.id, "Mother's maiden name?", at + secs(1))
        .await
        .unwrap();
    assert_eq!(
        q1,
        SecurityQuestion {
            id: q1.id,
            tenant_id: t1.id,
            question: "First pet?".into(),
            created_at: at,
            updated_at: at,
        }
    );
    assert_ne!(q1.id, q2.id);
    is_conflict(
        store.create_question(t1.id, "First pet?", at).await,
        UniqueField::Question,
    );
    let other = store
        .create_question(t2.id, "First pet?", at)
        .await
        .unwrap();

    let mut list = store.list_questions(t1.id).await.unwrap();
    list.sort_by_key(|q| q.id);
    let mut want = vec![q1, q2];
    want.sort_by_key(|q| q.id);
    assert_eq!(list, want);
    assert_eq!(store.list_questions(t2.id).await.unwrap(), vec![other]);
    assert!(
        store
            .list_questions(Uuid::new_v4())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn put_answer_upserts(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let at = now();
    let q1 = store.create_question(t.id, "First pet?", at).await.unwrap();
    let q2 = store
        .create_question(t.id, "Favourite colour?", at)
        .await
        .unwrap();
    let a = add_account(&store, t.id, "alice").await;
    let b = add_account(&store, t.id, "bob").await;

    let first = store.put_answer(a.id, q1.id, "h1", at).await.unwrap();
    assert_eq!(first.account_id, a.id);
    assert_eq!(first.question, q1);
    assert_eq!(first.answer_hash, "h1");
    assert_eq!((first.created_at, first.updated_at), (at, at));
    assert_eq!(store.list_answers(a.id).await.unwrap(), vec![first.clone()]);

    let later = at + secs(10);
    let second = store.put_answer(a.id, q1.id, "h2", later).await.unwrap();
    assert_eq!(second.answer_hash, "h2");
    assert_eq!(second.updated_at, later);
    assert_eq!(second.question, q1);
    let list = store.list_answers(a.id).await.unwrap();
    assert_eq!(list, vec![second], "one answer per question, hash replaced");

    store.put_answer(a.id, q2.id, "h3", later).await.unwrap();
    store.put_answer(b.id, q1.id, "hb", later).await.unwrap();
    let mut hashes: Vec<_> = store
        .list_answers(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.answer_hash)
        .collect();
    hashes.sort();
    assert_eq!(hashes, ["h2", "h3"]);
    let theirs = store.list_answers(b.id).await.unwrap();
    assert_eq!(
        theirs
            .iter()
            .map(|x| x.answer_hash.as_str())
            .collect::<Vec<_>>(),
        ["hb"]
    );
    assert!(store.list_answers(Uuid::new_v4()).await.unwrap().is_empty());
}

async fn put_answer_rejects_foreign_question(store: Arc<dyn Store>) {
    let t1 = new_tenant(&store, "one").await;
    let t2 = new_tenant(&store, "two").await;
    let at = now();
    let foreign = store
        .create_question(t2.id, "First pet?", at)
        .await
        .unwrap();
    let a = add_account(&store, t1.id, "alice").await;
    is_missing(store.put_answer(a.id, foreign.id, "h", at).await);
    is_missing(store.put_answer(a.id, foreign.id + 1000, "h", at).await);
    is_missing(store.put_answer(Uuid::new_v4(), foreign.id, "h", at).await);
    assert!(store.list_answers(a.id).await.unwrap().is_empty());
}

async fn update_answer_rules(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let other = new_tenant(&store, "other").await;
    let at = now();
    let q1 = store.create_question(t.id, "q1", at).await.unwrap();
    let q2 = store.create_question(t.id, "q2", at).await.unwrap();
    let q3 = store.create_question(t.id, "q3", at).await.unwrap();
    let foreign = store.create_question(other.id, "q1", at).await.unwrap();
    let a = add_account(&store, t.id, "alice").await;
    let b = add_account(&store, t.id, "bob").await;
    let ans = store.put_answer(a.id, q1.id, "h1", at).await.unwrap();
    let ans2 = store.put_answer(a.id, q2.id, "h2", at).await.unwrap();

    let later = at + secs(5);
    let updated = store
        .update_answer(a.id, ans.id, q3.id, "h3", later)
        .await
        .unwrap();
    let updated = updated.expect("answer exists");
    assert_eq!(updated.id, ans.id);
    assert_eq!(updated.question, q3);
    assert_eq!(updated.answer_hash, "h3");
    assert_eq!(updated.updated_at, later);
    assert_eq!(updated.created_at, at);
    let mut list = store.list_answers(a.id).await.unwrap();
    list.sort_by_key(|x| x.id);
    let mut want = vec![updated.clone(), ans2.clone()];
    want.sort_by_key(|x| x.id);
    assert_eq!(list, want);

    // Not this account's answer, or no such answer.
    assert!(
        store
            .update_answer(b.id, ans.id, q1.id, "x", later)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .update_answer(a.id, ans.id + 1000, q1.id, "x", later)
            .await
            .unwrap()
            .is_none()
    );
    // A question of another tenant, or none at all.
    is_missing(
        store
            .update_answer(a.id, ans.id, foreign.id, "x", later)
            .await,
    );
    is_missing(
        store
            .update_answer(a.id, ans.id, q3.id + 1000, "x", later)
            .await,
    );
    // A question the account already answered elsewhere.
    is_conflict(
        store.update_answer(a.id, ans.id, q2.id, "x", later).await,
        UniqueField::Question,
    );

    let mut list = store.list_answers(a.id).await.unwrap();
    list.sort_by_key(|x| x.id);
    assert_eq!(list, want, "failed updates wrote nothing");
}

// ---------------------------------------------------------------------------------------------
// roles

async fn roles_with_shared_entitlements(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let t2 = new_tenant(&store, "other").await;
    let at = now();
    let user = store
        .create_role(
            t.id,
            "USER",
            Some("ordinary"),
            &["read".into(), "write".into()],
            at,
        )
        .await
        .unwrap();
    assert_eq!(user.tenant_id, t.id);
    assert_eq!(user.name, "USER");
    assert_eq!(user.description.as_deref(), Some("ordinary"));
    assert_eq!((user.created_at, user.updated_at), (at, at));
    assert_eq!(
        names(&user),
        BTreeSet::from(["read".into(), "write".into()])
    );

    let admin = store
        .create_role(t.id, "ADMIN", None, &["write".into(), "admin".into()], at)
        .await
        .unwrap();
    let id_of = |r: &Role, n: &str| r.entitlements.iter().find(|e| e.name == n).map(|e| e.id);
    assert_eq!(
        id_of(&user, "write"),
        id_of(&admin, "write"),
        "entitlements shared by name"
    );
    assert_ne!(id_of(&admin, "admin"), id_of(&admin, "write"));
    // Entitlements are shared across tenants too, by name.
    let other = store
        .create_role(t2.id, "USER", None, &["read".into()], at)
        .await
        .unwrap();
    assert_eq!(id_of(&other, "read"), id_of(&user, "read"));

    assert_eq!(
        store.role_by_id(t.id, user.id).await.unwrap().map(sorted),
        Some(sorted(user.clone()))
    );
    assert_eq!(
        store.role_by_name(t.id, "ADMIN").await.unwrap().map(sorted),
        Some(sorted(admin.clone()))
    );
    assert_eq!(store.role_by_name(t.id, "GUEST").await.unwrap(), None);
    // Roles of another tenant are invisible.
    assert_eq!(store.role_by_id(t2.id, user.id).await.unwrap(), None);
    assert_eq!(store.role_by_name(t2.id, "ADMIN").await.unwrap(), None);

    let mut list: Vec<Role> = store
        .list_roles(t.id)
        .await
        .unwrap()
        .into_iter()
        .map(sorted)
        .collect();
    list.sort_by_key(|r| r.id);
    let mut want = vec![sorted(user), sorted(admin)];
    want.sort_by_key(|r| r.id);
    assert_eq!(list, want);

    is_conflict(
        store.create_role(t.id, "USER", None, &[], at).await,
        UniqueField::RoleName,
    );
    assert_eq!(store.list_roles(t.id).await.unwrap().len(), 2);
    let empty = store
        .create_role(t.id, "EMPTY", None, &[], at)
        .await
        .unwrap();
    assert!(empty.entitlements.is_empty());
    assert!(
        store
            .role_by_id(t.id, empty.id)
            .await
            .unwrap()
            .unwrap()
            .entitlements
            .is_empty()
    );
}

async fn update_role_replaces_or_keeps_entitlements(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let t2 = new_tenant(&store, "other").await;
    let at = now();
    let role = store
        .create_role(t.id, "USER", None, &["read".into(), "write".into()], at)
        .await
        .unwrap();
    store
        .create_role(t.id, "ADMIN", None, &[], at)
        .await
        .unwrap();

    let at2 = at + secs(10);
    let set: Vec<String> = vec!["write".into(), "audit".into()];
    let updated = store
        .update_role(t.id, role.id, "MEMBER", Some("renamed"), Some(&set), at2)
        .await
        .unwrap()
        .expect("role exists");
    assert_eq!(updated.id, role.id);
    assert_eq!(updated.name, "MEMBER");
    assert_eq!(updated.description.as_deref(), Some("renamed"));
    assert_eq!((updated.created_at, updated.updated_at), (at, at2));
    assert_eq!(
        names(&updated),
        BTreeSet::from(["audit".into(), "write".into()])
    );
    assert_eq!(
        store.role_by_id(t.id, role.id).await.unwrap().map(sorted),
        Some(sorted(updated.clone()))
    );
    assert_eq!(store.role_by_name(t.id, "USER").await.unwrap(), None);

    // None keeps the set.
    let at3 = at2 + secs(10);
    let kept = store
        .update_role(t.id, role.id, "MEMBER", None, None, at3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(names(&kept), names(&updated));
    assert_eq!(kept.description, None);
    assert_eq!(
        store
            .role_by_id(t.id, role.id)
            .await
            .unwrap()
            .map(|r| names(&r)),
        Some(names(&updated))
    );

    // Some(empty) clears it.
    let cleared = store
        .update_role(t.id, role.id, "MEMBER", None, Some(&[]), at3)
        .await
        .unwrap()
        .unwrap();
    assert!(cleared.entitlements.is_empty());
    assert!(
        store
            .role_by_id(t.id, role.id)
            .await
            .unwrap()
            .unwrap()
            .entitlements
            .is_empty()
    );

    is_conflict(
        store
            .update_role(t.id, role.id, "ADMIN", None, Some(&set), at3)
            .await,
        UniqueField::RoleName,
    );
    let now_role = store.role_by_id(t.id, role.id).await.unwrap().unwrap();
    assert_eq!(
        (now_role.name.as_str(), now_role.entitlements.len()),
        ("MEMBER", 0),
        "rolled back"
    );

    assert!(
        store
            .update_role(t2.id, role.id, "X", None, None, at3)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .update_role(t.id, role.id + 1000, "X", None, None, at3)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.role_by_id(t.id, role.id).await.unwrap().unwrap().name,
        "MEMBER"
    );
}

async fn delete_role_removes_assignments(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let t2 = new_tenant(&store, "other").await;
    let at = now();
    let role = store
        .create_role(t.id, "USER", None, &["read".into()], at)
        .await
        .unwrap();
    let keep = store
        .create_role(t.id, "KEEP", None, &["read".into()], at)
        .await
        .unwrap();
    let a = add_account(&store, t.id, "alice").await;
    store.assign_role(a.id, role.id, at).await.unwrap();
    store.assign_role(a.id, keep.id, at).await.unwrap();

    assert!(
        !store.delete_role(t2.id, role.id).await.unwrap(),
        "other tenant's role"
    );
    assert!(store.role_by_id(t.id, role.id).await.unwrap().is_some());

    assert!(store.delete_role(t.id, role.id).await.unwrap());
    assert_eq!(store.role_by_id(t.id, role.id).await.unwrap(), None);
    let left: Vec<i64> = store
        .account_roles(a.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.role.id)
        .collect();
    assert_eq!(left, vec![keep.id]);
    assert!(!store.delete_role(t.id, role.id).await.unwrap());
    // The shared entitlement survives for the other role.
    assert_eq!(
        names(&store.role_by_id(t.id, keep.id).await.unwrap().unwrap()),
        names(&keep)
    );
    // The name is free again.
    store
        .create_role(t.id, "USER", None, &[], at)
        .await
        .unwrap();
}

async fn assign_role_idempotent_and_tenant_bound(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let t2 = new_tenant(&store, "other").await;
    let at = now();
    let role = store
        .create_role(t.id, "USER", None, &["read".into()], at)
        .await
        .unwrap();
    let foreign = store
        .create_role(t2.id, "USER", None, &[], at)
        .await
        .unwrap();
    let a = add_account(&store, t.id, "alice").await;
    assert!(store.account_roles(a.id).await.unwrap().is_empty());

    assert!(store.assign_role(a.id, role.id, at).await.unwrap());
    assert!(
        !store
            .assign_role(a.id, role.id, at + secs(5))
            .await
            .unwrap()
    );
    let roles = store.account_roles(a.id).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].assigned_at, at, "the first assignment is kept");
    assert_eq!(sorted(roles[0].role.clone()), sorted(role.clone()));

    is_missing(store.assign_role(a.id, foreign.id, at).await);
    is_missing(
        store
            .assign_role(a.id, role.id + foreign.id + 1000, at)
            .await,
    );
    is_missing(store.assign_role(Uuid::new_v4(), role.id, at).await);
    assert_eq!(store.account_roles(a.id).await.unwrap().len(), 1);

    assert!(!store.remove_role(a.id, foreign.id).await.unwrap());
    assert!(store.remove_role(a.id, role.id).await.unwrap());
    assert!(!store.remove_role(a.id, role.id).await.unwrap());
    assert!(store.account_roles(a.id).await.unwrap().is_empty());
    assert!(
        store.assign_role(a.id, role.id, at).await.unwrap(),
        "assignable again"
    );
}

// ---------------------------------------------------------------------------------------------
// clients

async fn clients_roundtrip(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let t2 = new_tenant(&store, "other").await;
    let at = now();
    let confidential = AppClient {
        id: "web-app".into(),
        tenant_id: t.id,
        name: Some("Web app".into()),
        secret_digest: Some("ab".repeat(32)),
        redirect_uris: vec![
            "https://app.example.com/cb".into(),
            "http://localhost:8080/cb".into(),
        ],
        grants: vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ],
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        consent_required: true,
        id_token_alg: Some(SigningAlg::RS256),
        created_at: at,
    };
    let public = AppClient {
        id: "mobile".into(),
        tenant_id: t.id,
        name: None,
        secret_digest: None,
        redirect_uris: Vec::new(),
        grants: vec![GrantType::Password],
        scopes: Vec::new(),
        consent_required: false,
        id_token_alg: None,
        created_at: at + secs(1),
    };
    store.create_client(&confidential).await.unwrap();
    store.create_client(&public).await.unwrap();
    assert_eq!(
        store.client_by_id("web-app").await.unwrap(),
        Some(confidential.clone())
    );
    let got = store
        .client_by_id("mobile")
        .await
        .unwrap()
        .expect("public client");
    assert!(got.is_public());
    assert_eq!(got, public);
    assert_eq!(store.client_by_id("nope").await.unwrap(), None);
    assert_eq!(store.client_by_id("WEB-APP").await.unwrap(), None);

    // Ids are global.
    let dup = AppClient {
        tenant_id: t2.id,
        ..public.clone()
    };
    is_conflict(store.create_client(&dup).await, UniqueField::ClientId);

    let mut list = store.list_clients(t.id).await.unwrap();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(list, vec![public, confidential]);
    assert!(store.list_clients(t2.id).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// audit

async fn audit_append_list_and_get(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let t2 = new_tenant(&store, "other").await;
    let a = add_account(&store, t.id, "alice").await;
    let b = add_account(&store, t.id, "bob").await;
    let base = now();

    let mut written = Vec::new();
    for i in 0..5 {
        let mut rec = audit(t.id, Some(a.id), &format!("op{i}"), base + secs(i));
        if i == 2 {
            rec.success = false;
            rec.error_message = Some("denied".into());
            rec.actor_id = None;
            rec.client_ip = None;
            rec.request_id = None;
            rec.category = AuditCategory::Token;
            rec.action = AuditAction::Webservice;
            rec.parameters = serde_json::Value::Null;
        }
        let id = store.append_audit(&rec).await.unwrap();
        written.push(AuditRecord { id, record: rec });
    }
    // Noise: another account, another tenant, no account, an account that never existed.
    store
        .append_audit(&audit(t.id, Some(b.id), "b", base + secs(9)))
        .await
        .unwrap();
    store
        .append_audit(&audit(t2.id, Some(a.id), "t2", base + secs(9)))
        .await
        .unwrap();
    store
        .append_audit(&audit(t.id, None, "system", base + secs(9)))
        .await
        .unwrap();
    let ghost = Uuid::new_v4();
    let ghost_id = store
        .append_audit(&audit(t.id, Some(ghost), "ghost", base))
        .await
        .unwrap();

    let ids: BTreeSet<i64> = written.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 5, "ids are distinct");

    let newest_first: Vec<AuditRecord> = written.iter().rev().cloned().collect();
    let list = |offset, limit| {
        let store = store.clone();
        async move {
            store
                .list_audit(t.id, a.id, Page { offset, limit })
                .await
                .unwrap()
        }
    };
    assert_eq!(list(0, 100).await, newest_first);
    assert_eq!(list(0, 2).await, newest_first[0..2]);
    assert_eq!(list(2, 2).await, newest_first[2..4]);
    assert_eq!(list(4, 2).await, newest_first[4..5]);
    assert!(list(5, 2).await.is_empty());

    let failed = &written[2];
    assert_eq!(
        store.audit_by_id(t.id, a.id, failed.id).await.unwrap(),
        Some(failed.clone())
    );
    assert_eq!(
        store.audit_by_id(t2.id, a.id, failed.id).await.unwrap(),
        None,
        "other tenant"
    );
    assert_eq!(
        store.audit_by_id(t.id, b.id, failed.id).await.unwrap(),
        None,
        "other account"
    );
    assert_eq!(
        store
            .audit_by_id(t.id, a.id, failed.id + 10_000)
            .await
            .unwrap(),
        None
    );

    let ghost_trail = store
        .list_audit(t.id, ghost, Page::default())
        .await
        .unwrap();
    assert_eq!(
        ghost_trail.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ghost_id]
    );
    assert_eq!(
        store
            .list_audit(t2.id, a.id, Page::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .list_audit(t.id, b.id, Page::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// concurrency

async fn concurrent_creates_same_email(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let tasks = (0..50).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let acc = account(t.id, &format!("user{i}"), Some("same@example.com"));
            store.create_account(&new_account(acc)).await
        })
    });
    let results = futures::future::join_all(tasks).await;
    let mut ok = Vec::new();
    let mut conflicts = 0;
    for r in results {
        match r.expect("task panicked") {
            Ok(acc) => ok.push(acc),
            Err(StoreError::Conflict(UniqueField::Email)) => conflicts += 1,
            Err(e) => panic!("unexpected error under contention: {e:?}"),
        }
    }
    assert_eq!((ok.len(), conflicts), (1, 49));
    let listed = store.list_accounts(t.id, Page::default()).await.unwrap();
    assert_eq!(listed, ok);
}

async fn concurrent_failures_not_lost(store: Arc<dyn Store>) {
    let t = new_tenant(&store, "acme").await;
    let a = add_account(&store, t.id, "alice").await;
    let tasks = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.record_failure(a.id, 0, now()).await })
    });
    let mut counts: Vec<u32> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| {
            r.expect("task panicked")
                .expect("record_failure")
                .expect("account")
                .failed_attempts
        })
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        (1..=50).collect::<Vec<u32>>(),
        "every call saw its own count"
    );
    assert_eq!(reload(&store, a.id).await.failed_attempts, 50);
}
