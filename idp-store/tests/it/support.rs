//! Fresh stores for tests. SQLite: a new file in a temp dir. PostgreSQL: a new schema in the
//! server named by `IDP_TEST_POSTGRES_URL` (set by `scripts/test`); without it the PostgreSQL
//! variants are skipped with a notice, except under CI, where they fail.

use std::sync::Arc;

use idp_core::store::Store;
use idp_store::{postgres::PostgresStore, sqlite::SqliteStore};

/// Keeps whatever backs a test store alive (the temp dir of a SQLite file).
pub struct Guard {
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> (Arc<dyn Store>, Guard) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("idp.db"))
        .await
        .expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    (Arc::new(store), Guard { _dir: Some(dir) })
}

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

/// A store on a schema of its own, so that tests run in parallel without seeing each other.
pub async fn postgres() -> Option<(Arc<dyn Store>, Guard)> {
    let url = postgres_url()?;
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to test PostgreSQL");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-csearch_path%3D{schema}");
    let store = PostgresStore::connect(&scoped, 16)
        .await
        .expect("connect store");
    store.migrate().await.expect("migrate postgres");
    Some((Arc::new(store), Guard { _dir: None }))
}

/// `store_tests!(name)` turns `async fn name(store: Arc<dyn Store>)` into two tests,
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let (store, _guard) = $crate::support::sqlite().await;
                super::$name(store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some((store, _guard)) = $crate::support::postgres().await {
                    super::$name(store).await;
                }
            }
        }
    )*};
}

/// Messages the core sent, kept in memory for assertions.
#[derive(Default)]
pub struct Captured(pub std::sync::Mutex<Vec<idp_core::notify::Message>>);

#[async_trait::async_trait]
impl idp_core::notify::Notifier for Captured {
    async fn send(
        &self,
        m: &idp_core::notify::Message,
    ) -> Result<(), idp_core::notify::NotifyError> {
        self.0.lock().expect("capture lock").push(m.clone());
        Ok(())
    }
}

impl Captured {
    /// The last message sent to `to`.
    pub fn last_to(&self, to: &str) -> Option<idp_core::notify::Message> {
        self.0
            .lock()
            .expect("capture lock")
            .iter()
            .rev()
            .find(|m| m.to == to)
            .cloned()
    }
}

/// In-process limiter and a capturing notifier, with default security settings.
pub fn services() -> (idp_core::ops::Services, Arc<Captured>) {
    let captured = Arc::new(Captured::default());
    let services = idp_core::ops::Services {
        limiter: Arc::new(idp_plugins::limits::MemoryLimiter::new()),
        notifier: captured.clone(),
        security: idp_core::ops::SecurityConfig::default(),
    };
    (services, captured)
}
