//! Shared helpers for the end-to-end tests (`tests/it`): a real server started in-process on a
//! free port, over the embedded store or a fresh PostgreSQL schema, spoken to with `reqwest`.
//!
//! The PostgreSQL variants need `IDP_TEST_POSTGRES_URL` (set by `scripts/test`); without it they
//! are skipped with a notice, except under CI, where they fail.

use std::net::SocketAddr;
use std::time::Duration;

use idp_config::Config;
use idp_server::App;
use idp_server::serve::{self, Running};

/// A server running in this process. Dropping it aborts nothing: call [`TestServer::stop`].
pub struct TestServer {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    pub running: Running,
    _guard: Option<tempfile::TempDir>,
}

impl TestServer {
    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// `sqlite` or `postgres`.
    pub fn store_kind(&self) -> &'static str {
        self.running.app.store_kind
    }

    /// Graceful stop (see [`Running::stop`]).
    pub async fn stop(self) -> Result<(), idp_server::ServerError> {
        self.running.stop().await
    }
}

/// The configuration every test server starts from: a free port on loopback, a temp data dir
/// and cheap password hashing.
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.to_owned(),
        database_pool_size: 4,
        ..Config::default()
    };
    config.argon2.m_cost = 64;
    config.argon2.t_cost = 1;
    config.argon2.threads = 1;
    config
}

/// Builds the app from `config` (migrating its store) and starts serving it.
pub async fn start(config: Config, guard: Option<tempfile::TempDir>) -> TestServer {
    let app = App::build(config, None).await.expect("build app");
    let running = serve::start(app).await.expect("start server");
    TestServer {
        base_url: format!("http://{}", running.addr),
        running,
        _guard: guard,
    }
}

/// A server on a fresh embedded database.
pub async fn start_sqlite() -> TestServer {
    start_sqlite_with(|_| {}).await
}

/// Like [`start_sqlite`], with `tweak` applied to the configuration first.
pub async fn start_sqlite_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    tweak(&mut config);
    start(config, Some(dir)).await
}

/// A server on a fresh PostgreSQL schema; `None` (skipped) without `IDP_TEST_POSTGRES_URL`.
pub async fn start_postgres() -> Option<TestServer> {
    start_postgres_with(|_| {}).await
}

/// Like [`start_postgres`], with `tweak` applied to the configuration first.
pub async fn start_postgres_with(tweak: impl FnOnce(&mut Config)) -> Option<TestServer> {
    let url = fresh_postgres_schema().await?;
    Some(start_on_database(&url, tweak).await)
}

/// A server on the database at `url` (e.g. a second replica on a schema that is already in use).
pub async fn start_on_database(url: &str, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.database_url = Some(url.to_owned());
    tweak(&mut config);
    start(config, Some(dir)).await
}

/// `IDP_TEST_POSTGRES_URL`; unset: `None` with a skip notice, or a panic under CI.
pub fn postgres_url() -> Option<String> {
    match std::env::var("IDP_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("IDP_TEST_POSTGRES_URL must be set under CI (scripts/test sets it)")
        }
        _ => {
            eprintln!("skipped: IDP_TEST_POSTGRES_URL is not set (run scripts/test)");
            None
        }
    }
}

/// Creates a new, empty schema on the test server and returns a URL whose connections use only
/// it, so that tests run in parallel without seeing each other.
pub async fn fresh_postgres_schema() -> Option<String> {
    let url = postgres_url()?;
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to test PostgreSQL");
    let conn = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create schema");
    drop(client);
    let _ = conn.await;
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}options=-csearch_path%3D{schema}"))
}

/// An HTTP client for tests: no proxy, a 10 s deadline per request.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}
