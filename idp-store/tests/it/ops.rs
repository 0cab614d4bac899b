//! The core's operations end to end over each store: registration, sign-in and lockout,
//! credentials, roles and entitlement checks, tenant isolation, deletion and audit.

use std::sync::Arc;

use idp_core::authz::entitlements;
use idp_core::model::*;
use idp_core::ops::{AccountUpdate, NewClient, Registration};
use idp_core::secrets::hasher::{HashParams, SecretHasher};
use idp_core::store::{Store, UniqueField};
use idp_core::{Context, Error, Idp};

use crate::store_tests;

store_tests!(
    concurrent_registrations_of_one_email,
    concurrent_registrations_of_one_username,
    registration_validates_and_normalises,
    anonymous_cannot_grant_roles_or_statuses,
    sign_in_by_username_or_email_and_status_checks,
    failures_lock_at_the_threshold,
    unknown_login_is_indistinguishable,
    change_password_enforces_policy,
    pin_set_verify_and_lockout,
    security_answers,
    roles_and_entitlement_checks,
    tenant_isolation_for_admins,
    delete_erases_personal_data_but_keeps_audit,
    audit_never_holds_secrets,
    app_clients,
);

const PW: &str = "Secret#123";

async fn idp(store: Arc<dyn Store>) -> (Idp, Tenant) {
    // Cheap parameters: these tests are about behaviour, not hashing cost.
    let hasher = SecretHasher::new(
        HashParams {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
        },
        2,
        4096,
    )
    .expect("hasher");
    let idp = Idp::new(store, hasher, crate::support::services().0);
    let tenant = idp.ensure_default_tenant().await.expect("default tenant");
    (idp, tenant)
}

fn reg(username: &str, email: &str) -> Registration {
    Registration {
        username: username.into(),
        email: Some(email.into()),
        password: Some(PW.into()),
        ..Registration::default()
    }
}

async fn admin_ctx(idp: &Idp, tenant: &Tenant, ents: &[&str]) -> Context {
    let ents: Vec<String> = ents.iter().map(|e| e.to_string()).collect();
    let role_name = format!("R{}", uuid::Uuid::new_v4().simple());
    idp.create_role(&Context::system(), tenant.id, &role_name, None, &ents)
        .await
        .expect("role");
    let name = format!("adm{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut r = reg(&name, &format!("{name}@example.com"));
    r.roles = vec![role_name];
    let a = idp
        .register(&Context::system(), tenant.id, r)
        .await
        .expect("admin");
    Context::as_actor(idp.actor(a.id).await.expect("actor"))
}

async fn concurrent_registrations_of_one_email(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let idp = idp.clone();
            tokio::spawn(async move {
                idp.register(
                    &Context::anonymous(),
                    tenant.id,
                    reg(&format!("user{i}"), "same@example.com"),
                )
                .await
            })
        })
        .collect();
    let mut ok = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(_) => ok += 1,
            Err(Error::Conflict(UniqueField::Email)) => conflicts += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!((ok, conflicts), (1, 49));
    let all = idp
        .list_accounts(&Context::system(), tenant.id, Page::default())
        .await
        .expect("list");
    assert_eq!(
        all.iter()
            .filter(|a| a.email.as_deref() == Some("same@example.com"))
            .count(),
        1
    );
}

async fn concurrent_registrations_of_one_username(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let idp = idp.clone();
            // Same name in different cases: usernames are unique case-insensitively.
            let name = if i % 2 == 0 { "Carol" } else { "carol" };
            tokio::spawn(async move {
                idp.register(
                    &Context::anonymous(),
                    tenant.id,
                    reg(name, &format!("c{i}@example.com")),
                )
                .await
            })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("join"))
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| matches!(r, Err(Error::Conflict(UniqueField::Username))))
    );
}

async fn registration_validates_and_normalises(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    let anon = Context::anonymous();
    let mut r = reg("dave", " Dave@Example.COM ");
    r.phone = Some("+234 809-763-5343".into());
    r.user_type = Some("Developer".into());
    let a = idp.register(&anon, tenant.id, r).await.expect("register");
    assert_eq!(a.email.as_deref(), Some("dave@example.com"));
    assert_eq!(a.phone.as_deref(), Some("+2348097635343"));
    assert_eq!(a.user_type.as_deref(), Some("DEVELOPER"));
    assert_eq!(a.status, AccountStatus::Active);
    assert!(a.number >= 100_000);
    assert!(!a.email_verified);

    let weak = Registration {
        password: Some("password".into()),
        ..reg("erin", "erin@example.com")
    };
    match idp.register(&anon, tenant.id, weak).await {
        Err(Error::Invalid {
            field: "password",
            reason,
        }) => assert!(reason.contains("upper-case"), "{reason}"),
        other => panic!("expected a policy error, got {other:?}"),
    }
    assert!(matches!(
        idp.register(&anon, tenant.id, reg("erin", "not-an-email"))
            .await,
        Err(Error::Invalid { field: "email", .. })
    ));
    assert!(matches!(
        idp.register(&anon, tenant.id, reg("e", "e@example.com"))
            .await,
        Err(Error::Invalid {
            field: "username",
            ..
        })
    ));
    let dup_phone = Registration {
        phone: Some("+2348097635343".into()),
        ..reg("frank", "frank@example.com")
    };
    assert!(matches!(
        idp.register(&anon, tenant.id, dup_phone).await,
        Err(Error::Conflict(UniqueField::Phone))
    ));
    // Nothing was written by the failed attempts.
    let all = idp
        .list_accounts(&Context::system(), tenant.id, Page::default())
        .await
        .expect("list");
    assert_eq!(all.len(), 1);

    // The same email in another tenant is fine.
    let other = idp
        .create_tenant(&Context::system(), "other", None)
        .await
        .expect("tenant");
    idp.register(&anon, other.id, reg("dave", "dave@example.com"))
        .await
        .expect("other tenant");
}

async fn anonymous_cannot_grant_roles_or_statuses(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    idp.create_role(
        &Context::system(),
        tenant.id,
        "ADMIN",
        None,
        &[entitlements::MANAGE_USERS.into()],
    )
    .await
    .expect("role");
    let anon = Context::anonymous();
    let r = Registration {
        roles: vec!["ADMIN".into()],
        ..reg("mallory", "m@example.com")
    };
    assert!(matches!(
        idp.register(&anon, tenant.id, r).await,
        Err(Error::Forbidden(_))
    ));
    let r = Registration {
        status: Some(AccountStatus::Inactive),
        ..reg("mallory", "m@example.com")
    };
    assert!(matches!(
        idp.register(&anon, tenant.id, r).await,
        Err(Error::Forbidden(_))
    ));
    let r = Registration {
        status: Some(AccountStatus::PendingApproval),
        ..reg("mallory", "m@example.com")
    };
    assert_eq!(
        idp.register(&anon, tenant.id, r)
            .await
            .expect("pending")
            .status,
        AccountStatus::PendingApproval
    );
}

async fn sign_in_by_username_or_email_and_status_checks(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    let anon = Context::anonymous();
    let a = idp
        .register(&anon, tenant.id, reg("Grace", "grace@example.com"))
        .await
        .expect("register");
    let signed = idp
        .authenticate(&anon, tenant.id, "grace", PW)
        .await
        .expect("by username, any case");
    assert_eq!(signed.id, a.id);
    assert!(signed.last_login_at.is_some());
    idp.authenticate(&anon, tenant.id, "GRACE@example.com", PW)
        .await
        .expect("by email");
    assert!(matches!(
        idp.authenticate(&anon, tenant.id, "grace", "Wrong#123")
            .await,
        Err(Error::InvalidCredentials)
    ));

    for (status, expected) in [
        (AccountStatus::Locked, "AccountLocked"),
        (AccountStatus::Inactive, "AccountInactive"),
        (AccountStatus::Disabled, "AccountDisabled"),
        (AccountStatus::Closed, "AccountDisabled"),
        (AccountStatus::PendingApproval, "PendingApproval"),
    ] {
        idp.set_status(&Context::system(), a.id, status)
            .await
            .expect("status");
        let err = idp
            .authenticate(&anon, tenant.id, "grace", PW)
            .await
            .expect_err("refused");
        assert_eq!(format!("{err:?}"), expected, "status {status}");
        // A non-active account is no principal either.
        assert!(idp.actor(a.id).await.is_err());
        // The status is not revealed to someone without the password.
        assert!(matches!(
            idp.authenticate(&anon, tenant.id, "grace", "Wrong#123")
                .await,
            Err(Error::InvalidCredentials)
        ));
    }
    idp.set_status(&Context::system(), a.id, AccountStatus::Active)
        .await
        .expect("activate");
    idp.authenticate(&anon, tenant.id, "grace", PW)
        .await
        .expect("active again");
}

async fn failures_lock_at_the_threshold(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    let anon = Context::anonymous();
    let a = idp
        .register(&anon, tenant.id, reg("heidi", "heidi@example.com"))
        .await
        .expect("register");
    for i in 1..=4 {
        assert!(
            idp.authenticate(&anon, tenant.id, "heidi", "Wrong#123")
                .await
                .is_err()
        );
        assert_eq!(idp.account(a.id).await.expect("acc").failed_attempts, i);
    }
    // A success resets the count.
    idp.authenticate(&anon, tenant.id, "heidi", PW)
        .await
        .expect("ok");
    assert_eq!(idp.account(a.id).await.expect("acc").failed_attempts, 0);
    // Five failures in a row lock the account (default policy), even when sent in parallel.
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let idp = idp.clone();
            let anon = anon.clone();
            tokio::spawn(async move {
                idp.authenticate(&anon, tenant.id, "heidi", "Wrong#123")
                    .await
            })
        })
        .collect();
    futures::future::join_all(tasks).await;
    let locked = idp.account(a.id).await.expect("acc");
    assert_eq!(locked.status, AccountStatus::Locked);
    assert!(matches!(
        idp.authenticate(&anon, tenant.id, "heidi", PW).await,
        Err(Error::AccountLocked)
    ));
    let unlocked = idp.unlock(&Context::system(), a.id).await.expect("unlock");
    assert_eq!(
        (unlocked.status, unlocked.failed_attempts),
        (AccountStatus::Active, 0)
    );
    idp.authenticate(&anon, tenant.id, "heidi", PW)
        .await
        .expect("after unlock");
}

async fn unknown_login_is_indistinguishable(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    let anon = Context::anonymous();
    idp.register(&anon, tenant.id, reg("ivan", "ivan@example.com"))
        .await
        .expect("register");
    let unknown = idp
        .authenticate(&anon, tenant.id, "nobody", PW)
        .await
        .expect_err("unknown");
    let wrong = idp
        .authenticate(&anon, tenant.id, "ivan", "Wrong#123")
        .await
        .expect_err("wrong");
    assert_eq!(unknown.to_string(), wrong.to_string());
    // An account without a password cannot sign in with any password.
    let nopw = Registration {
        password: None,
        ..reg("judy", "judy@example.com")
    };
    idp.register(&Context::system(), tenant.id, nopw)
        .await
        .expect("register");
    assert!(matches!(
        idp.authenticate(&anon, tenant.id, "judy", "").await,
        Err(Error::InvalidCredentials)
    ));
}

async fn change_password_enforces_policy(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    let a = idp
        .register(
            &Context::anonymous(),
            tenant.id,
            reg("ken", "ken@example.com"),
        )
        .await
        .expect("register");
    let me = Context::as_actor(idp.actor(a.id).await.expect("actor"));
    assert!(matches!(
        idp.change_password(&me, a.id, "Wrong#123", "Better#456")
            .await,
        Err(Error::InvalidCredentials)
    ));
    assert!(matches!(
        idp.change_password(&me, a.id, PW, "weak").await,
        Err(Error::Invalid {
            field: "password",
            ..
        })
    ));
    assert!(matches!(
        idp.change_password(&me, a.id, PW, PW).await,
        Err(Error::Invalid {
            field: "password",
            ..
        })
    ));
    idp.change_password(&me, a.id, PW, "Better#456")
        .await
        .expect("change");
    let anon = Context::anonymous();
    assert!(idp.authenticate(&anon, tenant.id, "ken", PW).await.is_err());
    let after = idp
        .authenticate(&anon, tenant.id, "ken", "Better#456")
        .await
        .expect("new password");
    assert!(after.password_changed_at > a.password_changed_at);
    // Another account cannot change ken's password, even knowing it.
    let b = idp
        .register(&anon, tenant.id, reg("leo", "leo@example.com"))
        .await
        .expect("register");
    let other = Context::as_actor(idp.actor(b.id).await.expect("actor"));
    assert!(matches!(
        idp.change_password(&other, a.id, "Better#456", "Third#789")
            .await,
        Err(Error::Forbidden(_))
    ));
    // Admin reset forces a change at next sign-in.
    idp.reset_password(&Context::system(), a.id, "Temp#Pass1", true)
        .await
        .expect("reset");
    assert!(
        idp.authenticate(&anon, tenant.id, "ken", "Temp#Pass1")
            .await
            .expect("temp")
            .need_change_password
    );
}

async fn pin_set_verify_and_lockout(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    let a = idp
        .register(
            &Context::anonymous(),
            tenant.id,
            reg("mia", "mia@example.com"),
        )
        .await
        .expect("register");
    let me = Context::as_actor(idp.actor(a.id).await.expect("actor"));
    let anon = Context::anonymous();
    assert!(
        matches!(
            idp.verify_pin(&anon, a.id, "1234").await,
            Err(Error::InvalidCredentials)
        ),
        "no PIN set yet"
    );
    assert!(matches!(
        idp.set_pin(&me, a.id, None, "12a4").await,
        Err(Error::Invalid { .. })
    ));
    idp.set_pin(&me, a.id, None, "1234").await.expect("set");
    idp.verify_pin(&anon, a.id, "1234").await.expect("verify");
    // Changing an existing PIN needs the current one.
    assert!(matches!(
        idp.set_pin(&me, a.id, None, "5678").await,
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        idp.set_pin(&me, a.id, Some("0000"), "5678").await,
        Err(Error::InvalidCredentials)
    ));
    idp.set_pin(&me, a.id, Some("1234"), "5678")
        .await
        .expect("change");
    // Wrong PINs count toward lockout: the PIN check is no guessing oracle.
    idp.unlock(&Context::system(), a.id)
        .await
        .expect("reset count");
    for _ in 0..5 {
        let _ = idp.verify_pin(&anon, a.id, "0000").await;
    }
    assert_eq!(
        idp.account(a.id).await.expect("acc").status,
        AccountStatus::Locked
    );
    assert!(matches!(
        idp.verify_pin(&anon, a.id, "5678").await,
        Err(Error::AccountLocked)
    ));
}

async fn security_answers(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    let sys = Context::system();
    let q1 = idp
        .create_question(&sys, tenant.id, "First car?")
        .await
        .expect("q1");
    let q2 = idp
        .create_question(&sys, tenant.id, "First school?")
        .await
        .expect("q2");
    assert_eq!(idp.list_questions(tenant.id).await.expect("list").len(), 2);
    let a = idp
        .register(
            &Context::anonymous(),
            tenant.id,
            reg("nina", "nina@example.com"),
        )
        .await
        .expect("register");
    let me = Context::as_actor(idp.actor(a.id).await.expect("actor"));
    let ans = idp
        .set_answer(&me, a.id, q1.id, "  Sedona ")
        .await
        .expect("answer");
    idp.set_answer(&me, a.id, q2.id, "Hill Side")
        .await
        .expect("answer 2");
    let listed = idp.list_answers(&me, a.id).await.expect("list");
    assert_eq!(listed.len(), 2);
    // Case and spacing do not matter; the answer must.
    idp.verify_answers(
        &Context::anonymous(),
        a.id,
        &[(q1.id, "SEDONA".into()), (q2.id, "hill   side".into())],
    )
    .await
    .expect("verify");
    assert!(matches!(
        idp.verify_answers(&Context::anonymous(), a.id, &[(q1.id, "Corolla".into())])
            .await,
        Err(Error::InvalidCredentials)
    ));
    assert!(matches!(
        idp.verify_answers(&Context::anonymous(), a.id, &[(999_999, "x".into())])
            .await,
        Err(Error::InvalidCredentials)
    ));
    assert!(
        idp.verify_answers(&Context::anonymous(), a.id, &[])
            .await
            .is_err()
    );
    // Rewriting an answer replaces it.
    idp.update_answer(&me, a.id, ans.id, q1.id, "Civic")
        .await
        .expect("update");
    idp.verify_answers(&Context::anonymous(), a.id, &[(q1.id, "civic".into())])
        .await
        .expect("new answer");
    assert!(matches!(
        idp.update_answer(&me, a.id, 999_999, q1.id, "x").await,
        Err(Error::NotFound(_))
    ));
    // Questions of another tenant cannot be answered.
    let other = idp
        .create_tenant(&sys, "elsewhere", None)
        .await
        .expect("tenant");
    let foreign = idp
        .create_question(&sys, other.id, "Pet?")
        .await
        .expect("q");
    assert!(matches!(
        idp.set_answer(&me, a.id, foreign.id, "Rex").await,
        Err(Error::NotFound(_))
    ));
}

async fn roles_and_entitlement_checks(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    let anon = Context::anonymous();
    let user = idp
        .register(&anon, tenant.id, reg("oscar", "oscar@example.com"))
        .await
        .expect("register");
    let user_ctx = Context::as_actor(idp.actor(user.id).await.expect("actor"));
    // A plain user cannot administer.
    assert!(matches!(
        idp.lock(&user_ctx, user.id).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        idp.create_role(&user_ctx, tenant.id, "X", None, &[]).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        idp.list_accounts(&user_ctx, tenant.id, Page::default())
            .await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        idp.list_accounts(&anon, tenant.id, Page::default()).await,
        Err(Error::Unauthenticated)
    ));

    let status_admin = admin_ctx(&idp, &tenant, &[entitlements::MANAGE_USER_STATUS]).await;
    idp.lock(&status_admin, user.id).await.expect("lock");
    idp.unlock(&status_admin, user.id).await.expect("unlock");
    // ...but only what its entitlements allow.
    assert!(matches!(
        idp.assign_role(&status_admin, user.id, "anything").await,
        Err(Error::Forbidden(_))
    ));

    let role_admin = admin_ctx(
        &idp,
        &tenant,
        &[entitlements::MANAGE_ROLES, entitlements::MANAGE_USER_ROLES],
    )
    .await;
    let role = idp
        .create_role(
            &role_admin,
            tenant.id,
            "AUDITOR",
            Some("reads audit"),
            &["admin_view_audit".into()],
        )
        .await
        .expect("role");
    assert_eq!(
        role.entitlements
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        vec![entitlements::VIEW_AUDIT]
    );
    idp.assign_role(&role_admin, user.id, "AUDITOR")
        .await
        .expect("assign");
    idp.assign_role(&role_admin, user.id, "AUDITOR")
        .await
        .expect("assign again is idempotent");
    assert!(
        idp.actor(user.id)
            .await
            .expect("actor")
            .entitlements
            .contains(entitlements::VIEW_AUDIT)
    );
    idp.remove_role(&role_admin, user.id, "AUDITOR")
        .await
        .expect("remove");
    assert!(matches!(
        idp.remove_role(&role_admin, user.id, "AUDITOR").await,
        Err(Error::NotFound(_))
    ));
    assert!(
        idp.actor(user.id)
            .await
            .expect("actor")
            .entitlements
            .is_empty()
    );
    let updated = idp
        .update_role(
            &role_admin,
            tenant.id,
            role.id,
            "AUDITOR",
            None,
            Some(&["X_ONE".into(), "x_two".into()]),
        )
        .await
        .expect("update");
    assert_eq!(updated.entitlements.len(), 2);
    idp.delete_role(&role_admin, tenant.id, role.id)
        .await
        .expect("delete");
    assert!(matches!(
        idp.role(&role_admin, tenant.id, role.id).await,
        Err(Error::NotFound(_))
    ));

    // A tenant's default role is given at registration.
    idp.create_role(
        &Context::system(),
        tenant.id,
        "CONSUMER",
        None,
        &["SELF_SERVICE".into()],
    )
    .await
    .expect("role");
    let update = idp_core::ops::TenantUpdate {
        default_role: Some(Some("CONSUMER".into())),
        ..Default::default()
    };
    idp.update_tenant(&Context::system(), tenant.id, update)
        .await
        .expect("tenant");
    let p = idp
        .register(&anon, tenant.id, reg("peggy", "peggy@example.com"))
        .await
        .expect("register");
    assert!(
        idp.actor(p.id)
            .await
            .expect("actor")
            .entitlements
            .contains("SELF_SERVICE")
    );
}

async fn tenant_isolation_for_admins(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    let sys = Context::system();
    let other = idp
        .create_tenant(&sys, "JANUS", None)
        .await
        .expect("tenant");
    let victim = idp
        .register(
            &Context::anonymous(),
            other.id,
            reg("quinn", "quinn@example.com"),
        )
        .await
        .expect("register");
    let all = [
        entitlements::MANAGE_USERS,
        entitlements::MANAGE_USER_STATUS,
        entitlements::MANAGE_USER_ROLES,
        entitlements::RESET_USER_PASSWORD,
        entitlements::DEREGISTER_ACCOUNT,
        entitlements::VIEW_AUDIT,
        entitlements::MANAGE_ROLES,
    ];
    let admin = admin_ctx(&idp, &tenant, &all).await;
    // Another tenant's account looks like no account at all.
    assert!(matches!(
        idp.read_account(&admin, victim.id).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        idp.lock(&admin, victim.id).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        idp.reset_password(&admin, victim.id, "Hijack#123", false)
            .await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        idp.delete_account(&admin, victim.id).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        idp.list_audit(&admin, victim.id, Page::default()).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        idp.list_accounts(&admin, other.id, Page::default()).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        idp.list_roles(&admin, other.id).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        idp.register(&admin, other.id, reg("plant", "plant@example.com"))
            .await,
        Err(Error::Forbidden(_))
    ));
    assert_eq!(
        idp.account(victim.id).await.expect("untouched").status,
        AccountStatus::Active
    );
}

async fn delete_erases_personal_data_but_keeps_audit(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store.clone()).await;
    let mut r = reg("rita", "rita@example.com");
    r.profile = Profile {
        first_name: Some("Rita".into()),
        bvn: Some("22123456789".into()),
        ..Profile::default()
    };
    let a = idp
        .register(&Context::anonymous(), tenant.id, r)
        .await
        .expect("register");
    let me = Context::as_actor(idp.actor(a.id).await.expect("actor"));
    idp.set_pin(&me, a.id, None, "1234").await.expect("pin");
    let q = idp
        .create_question(&Context::system(), tenant.id, "Pet?")
        .await
        .expect("q");
    idp.set_answer(&me, a.id, q.id, "Rex")
        .await
        .expect("answer");
    let update = AccountUpdate {
        profile: Some(Profile {
            first_name: Some("R.".into()),
            ..Profile::default()
        }),
        ..Default::default()
    };
    idp.update_account(&me, a.id, update).await.expect("update");
    idp.delete_account(&me, a.id).await.expect("delete");
    assert!(matches!(idp.account(a.id).await, Err(Error::NotFound(_))));
    assert!(
        store
            .account_secrets(a.id)
            .await
            .expect("secrets")
            .is_none()
    );
    assert!(store.list_answers(a.id).await.expect("answers").is_empty());
    assert!(
        idp.find_account(tenant.id, AccountKey::Email("rita@example.com".into()))
            .await
            .expect("find")
            .is_none()
    );
    let audit = store
        .list_audit(tenant.id, a.id, Page::default())
        .await
        .expect("audit");
    assert!(
        audit
            .iter()
            .any(|r| r.record.name == "account.delete" && r.record.success)
    );
    assert!(audit.iter().any(|r| r.record.name == "account.register"));
    // The email is free again.
    idp.register(
        &Context::anonymous(),
        tenant.id,
        reg("rita", "rita@example.com"),
    )
    .await
    .expect("re-register");
}

async fn audit_never_holds_secrets(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store.clone()).await;
    let anon = Context::anonymous().with_request(Some("203.0.113.9".into()), Some("req-1".into()));
    let a = idp
        .register(&anon, tenant.id, reg("sam", "sam@example.com"))
        .await
        .expect("register");
    let _ = idp.authenticate(&anon, tenant.id, "sam", "Wrong#123").await;
    idp.authenticate(&anon, tenant.id, "sam", PW)
        .await
        .expect("ok");
    let me = Context::as_actor(idp.actor(a.id).await.expect("actor"));
    idp.change_password(&me, a.id, PW, "Other#4567")
        .await
        .expect("change");
    idp.set_pin(&me, a.id, None, "9876").await.expect("pin");
    let records = store
        .list_audit(tenant.id, a.id, Page::default())
        .await
        .expect("audit");
    let names: Vec<&str> = records.iter().map(|r| r.record.name.as_str()).collect();
    for expected in [
        "account.register",
        "auth.password.failed",
        "auth.password",
        "password.change",
        "pin.change",
    ] {
        assert!(names.contains(&expected), "missing {expected} in {names:?}");
    }
    let failed = records
        .iter()
        .find(|r| r.record.name == "auth.password.failed")
        .expect("failed");
    assert!(!failed.record.success);
    assert_eq!(failed.record.client_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(failed.record.request_id.as_deref(), Some("req-1"));
    let dump = serde_json::to_string(&records).expect("json");
    for secret in [PW, "Wrong#123", "Other#4567", "9876", "$argon2id"] {
        assert!(!dump.contains(secret), "audit holds {secret}");
    }
}

async fn app_clients(store: Arc<dyn Store>) {
    let (idp, tenant) = idp(store).await;
    let sys = Context::system();
    let confidential = NewClient {
        id: "web-app".into(),
        secret: Some("s3cr3t-s3cr3t-s3cr3t".into()),
        redirect_uris: vec!["https://app.example/cb".into()],
        grants: vec![GrantType::AuthorizationCode, GrantType::ClientCredentials],
        ..NewClient::default()
    };
    let c = idp
        .create_client(&sys, tenant.id, confidential.clone())
        .await
        .expect("client");
    assert_eq!(
        c.secret_digest.as_deref().map(str::len),
        Some(64),
        "only a digest is stored"
    );
    idp.authenticate_client("web-app", Some("s3cr3t-s3cr3t-s3cr3t"))
        .await
        .expect("auth");
    assert!(matches!(
        idp.authenticate_client("web-app", Some("wrong")).await,
        Err(Error::InvalidClient)
    ));
    assert!(matches!(
        idp.authenticate_client("web-app", None).await,
        Err(Error::InvalidClient)
    ));
    assert!(matches!(
        idp.authenticate_client("nope", Some("x")).await,
        Err(Error::InvalidClient)
    ));
    assert!(matches!(
        idp.create_client(&sys, tenant.id, confidential).await,
        Err(Error::Conflict(UniqueField::ClientId))
    ));
    let public = NewClient {
        id: "spa".into(),
        redirect_uris: vec!["http://127.0.0.1:3000/cb".into()],
        ..NewClient::default()
    };
    let p = idp
        .create_client(&sys, tenant.id, public)
        .await
        .expect("public");
    assert!(p.is_public());
    idp.authenticate_client("spa", None)
        .await
        .expect("public client needs no secret");
    let bad = NewClient {
        id: "bad".into(),
        redirect_uris: vec!["/relative".into()],
        ..NewClient::default()
    };
    assert!(matches!(
        idp.create_client(&sys, tenant.id, bad).await,
        Err(Error::Invalid { .. })
    ));
    let short = NewClient {
        id: "short".into(),
        secret: Some("short".into()),
        grants: vec![GrantType::ClientCredentials],
        ..NewClient::default()
    };
    assert!(matches!(
        idp.create_client(&sys, tenant.id, short).await,
        Err(Error::Invalid {
            field: "secret",
            ..
        })
    ));
}
