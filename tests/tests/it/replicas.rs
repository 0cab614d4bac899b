//! Two replicas on one PostgreSQL schema: both start (migrations serialised by the advisory
//! lock), both are ready, and what one writes the other sees.

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
