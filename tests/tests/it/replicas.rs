//! Two replicas on one PostgreSQL schema: both start (migrations serialised by the advisory
//! lock), both are ready, and what one writes the other sees.

use std::time::Duration;

use idp_core::Context;
use idp_core::model::{FactorKind, MfaPolicy};
use idp_core::ops::Registration;
use idp_e2e::{fresh_postgres_schema, http, start_on_database};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_one_schema() {
    let Some(url) = fresh_postgres_schema().await else {
        return;
    };
    // Started together on an empty schema: both race to migrate and to seed the default tenant.
    let (a, b) = tokio::join!(
        start_on_database(&url, |_| {}),
        start_on_database(&url, |_| {})
    );
    assert_ne!(a.addr(), b.addr());
    let client = http();
    for server in [&a, &b] {
        let res = client
            .get(server.url("/readyz"))
            .send()
            .await
            .expect("GET /readyz");
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.expect("JSON");
        assert_eq!(body["status"], "ready", "{body}");
        assert_eq!(body["checks"]["database"]["kind"], "postgres", "{body}");
    }

    let ctx = idp_core::Context::system();
    let created = a
        .running
        .app
        .idp
        .create_tenant(&ctx, "shared", None)
        .await
        .expect("create tenant on replica a");
    let seen = b
        .running
        .app
        .idp
        .tenant("shared")
        .await
        .expect("replica b sees the tenant");
    assert_eq!(seen.id, created.id);
    let dup = b.running.app.idp.create_tenant(&ctx, "shared", None).await;
    assert!(dup.is_err(), "replica b created a duplicate tenant");
    let da = a.running.app.idp.tenant("default").await.expect("default");
    let db = b.running.app.idp.tenant("default").await.expect("default");
    assert_eq!(da.id, db.id, "one default tenant for both replicas");

    // A third replica started later finds the schema current.
    let c = start_on_database(&url, |_| {}).await;
    let res = client
        .get(c.url("/readyz"))
        .send()
        .await
        .expect("GET /readyz");
    assert_eq!(res.status(), 200);

    for server in [a, b, c] {
        server.stop().await.expect("graceful stop");
    }
}

/// Replicas keep a tenant they read for a second (its policies are read several times per
/// sign-in): a policy changed on one replica applies there at once and on the others within
/// that second.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenant_policy_change_reaches_the_other_replica_within_a_second() {
    let Some(url) = fresh_postgres_schema().await else {
        return;
    };
    let a = start_on_database(&url, |_| {}).await;
    let b = start_on_database(&url, |_| {}).await;
    let (ia, ib) = (&a.running.app.idp, &b.running.app.idp);
    let tenant = ia.tenant("default").await.expect("default tenant");
    let account = ia
        .register(
            &Context::system(),
            tenant.id,
            Registration {
                username: "carol".into(),
                email: Some("carol@example.com".into()),
                password: Some("Correct-horse-battery-9".into()),
                email_verified: true,
                ..Registration::default()
            },
        )
        .await
        .expect("register carol");
    // B reads (and keeps) the tenant under the old policy.
    assert_eq!(ib.second_factor(&account).await.expect("policy"), None);

    crate::mfa::set_mfa_policy(&a, MfaPolicy::EmailOtp).await;
    assert_eq!(
        ia.second_factor(&account).await.expect("policy"),
        Some(FactorKind::EmailOtp),
        "the replica that changed the policy applies it at once"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        ib.second_factor(&account).await.expect("policy"),
        Some(FactorKind::EmailOtp),
        "the other replica applies it within a second"
    );

    for server in [a, b] {
        server.stop().await.expect("graceful stop");
    }
}
