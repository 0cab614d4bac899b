//! Races through the core operations on each store: role assignments added and taken away at
//! the same time, and one one-time code submitted many times at once.

use std::sync::Arc;

use idp_core::model::*;
use idp_core::notify::Channel;
use idp_core::ops::Registration;
use idp_core::secrets::hasher::{HashParams, SecretHasher};
use idp_core::store::Store;
use idp_core::{Context, Error, Idp};

use crate::store_tests;
use crate::support::{Captured, services};

store_tests!(
    assign_and_remove_one_role_at_once,
    many_roles_assigned_at_once,
    right_code_submitted_at_once_signs_in_once,
);

struct Fx {
    idp: Idp,
    outbox: Arc<Captured>,
    account: Account,
}

async fn fx(store: Arc<dyn Store>) -> Fx {
    fx_costing(store, 64).await
}

/// With argon2 costing `m_cost` KiB: a real cost makes the checks of the allowed tries slow
/// enough for the refused ones to overtake them.
async fn fx_costing(store: Arc<dyn Store>, m_cost: u32) -> Fx {
    let hasher = SecretHasher::new(
        HashParams {
            m_cost,
            t_cost: 2,
            p_cost: 1,
        },
        2,
        1024,
    )
    .expect("hasher");
    let (svc, outbox) = services();
    let idp = Idp::new(store, hasher, svc);
    let tenant = idp.ensure_default_tenant().await.expect("tenant");
    let sys = Context::system();
    for name in ["R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7"] {
        idp.create_role(&sys, tenant.id, name, None, &[])
            .await
            .expect("role");
    }
    let account = idp
        .register(
            &sys,
            tenant.id,
            Registration {
                username: "rita".into(),
                email: Some("rita@example.com".into()),
                password: Some("Secret#123".into()),
                ..Registration::default()
            },
        )
        .await
        .expect("account");
    Fx {
        idp,
        outbox,
        account,
    }
}

/// The account's role names, sorted (duplicates kept, so that they show).
async fn roles(f: &Fx) -> Vec<String> {
    let mut names: Vec<String> = f
        .idp
        .account_roles(&Context::system(), f.account.id)
        .await
        .expect("roles")
        .into_iter()
        .map(|a| a.role.name)
        .collect();
    names.sort();
    names
}

async fn assign_and_remove_one_role_at_once(store: Arc<dyn Store>) {
    let f = Arc::new(fx(store).await);
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let f = f.clone();
            tokio::spawn(async move {
                let ctx = Context::system();
                if i % 2 == 0 {
                    f.idp
                        .assign_role(&ctx, f.account.id, "R0")
                        .await
                        .map(|_| ())
                } else {
                    f.idp.remove_role(&ctx, f.account.id, "R0").await
                }
            })
        })
        .collect();
    for r in futures::future::join_all(tasks).await {
        match r.expect("join") {
            Ok(()) | Err(Error::NotFound(_)) => {}
            Err(e) => panic!("neither done nor nothing to remove: {e:?}"),
        }
    }
    // Held once or not at all; the next removal agrees.
    let held = roles(&f).await;
    assert!(held.is_empty() || held == ["R0"], "{held:?}");
    let removed = f
        .idp
        .remove_role(&Context::system(), f.account.id, "R0")
        .await;
    assert_eq!(removed.is_ok(), !held.is_empty(), "{removed:?}");
    assert!(roles(&f).await.is_empty());
}

async fn many_roles_assigned_at_once(store: Arc<dyn Store>) {
    let f = Arc::new(fx(store).await);
    // Eight roles, each assigned five times, all at once: every one lands, once.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let f = f.clone();
            tokio::spawn(async move {
                let name = format!("R{}", i % 8);
                f.idp
                    .assign_role(&Context::system(), f.account.id, &name)
                    .await
            })
        })
        .collect();
    for r in futures::future::join_all(tasks).await {
        r.expect("join").expect("assigned");
    }
    let want: Vec<String> = (0..8).map(|i| format!("R{i}")).collect();
    assert_eq!(roles(&f).await, want);
}

/// Twenty submissions of the right code at once: exactly one signs in. (Tries beyond the limit
/// are refused without closing the challenge, so they cannot pull it from under the allowed
/// try that carries the right code.)
async fn right_code_submitted_at_once_signs_in_once(store: Arc<dyn Store>) {
    let f = Arc::new(fx_costing(store, 19_456).await);
    let ch = f
        .idp
        .send_otp(
            &Context::anonymous(),
            &f.account,
            Channel::Email,
            serde_json::Value::Null,
        )
        .await
        .expect("send");
    let body = f.outbox.last_to("rita@example.com").expect("message").body;
    let code = body
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("6 digits")
        .to_owned();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (f, code) = (f.clone(), code.clone());
            tokio::spawn(async move { f.idp.verify_otp(&Context::anonymous(), ch.id, &code).await })
        })
        .collect();
    let mut won = 0;
    for r in futures::future::join_all(tasks).await {
        match r.expect("join") {
            Ok((_, account)) => {
                assert_eq!(account.id, f.account.id);
                won += 1;
            }
            Err(Error::ChallengeClosed) => {}
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!(won, 1);
}
