//! Starting and stopping: graceful stop returns Ok and the port stops answering.

use idp_e2e::{TestServer, http};

async fn stop_is_graceful(server: TestServer) {
    let url = server.url("/healthz");
    let client = http();
    let res = client.get(&url).send().await.expect("GET /healthz");
    assert_eq!(res.status(), 200);
    tokio::time::timeout(std::time::Duration::from_secs(10), server.stop())
        .await
        .expect("stop within 10 s")
        .expect("graceful stop returns Ok");
    // A fresh client: nothing pooled from before the stop.
    let after = http().get(&url).send().await;
    assert!(after.is_err(), "still answering after stop: {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_sqlite() {
    stop_is_graceful(idp_e2e::start_sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_postgres() {
    if let Some(server) = idp_e2e::start_postgres().await {
        stop_is_graceful(server).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_with_an_idle_keep_alive_connection() {
    // A client holding an idle keep-alive connection must not keep the server from stopping.
    let server = idp_e2e::start_sqlite().await;
    let client = http();
    let res = client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(res.status(), 200);
    let _ = res.bytes().await;
    tokio::time::timeout(std::time::Duration::from_secs(10), server.stop())
        .await
        .expect("stop within 10 s despite an idle connection")
        .expect("graceful stop returns Ok");
    drop(client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_the_same_data_dir_keeps_data() {
    // A restart on the same data dir finds its data and does not migrate again.
    let dir = tempfile::tempdir().expect("temp dir");
    let config = idp_e2e::test_config(dir.path());
    let first = idp_e2e::start(config.clone(), None).await;
    let ctx = idp_core::Context::system();
    first
        .running
        .app
        .idp
        .create_tenant(&ctx, "acme", None)
        .await
        .expect("create tenant");
    first.stop().await.expect("stop");
    let second = idp_e2e::start(config, None).await;
    second
        .running
        .app
        .idp
        .tenant("acme")
        .await
        .expect("tenant survives a restart");
    second.stop().await.expect("stop");
}

// Readiness during a PostgreSQL outage (503 {"status":"not_ready"} within 3 s, no hang) is not
// tested here: causing an outage would disturb the PostgreSQL server the other tests share.
// Issue 10 covers outages.
