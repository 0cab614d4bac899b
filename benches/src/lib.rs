//! Shared set-up for the criterion benchmarks in `benches/` and the HTTP load benchmark
//! (`src/bin/load/`): fresh stores (a SQLite file in a temp dir, or a new schema in the
//! PostgreSQL server named by `IDP_TEST_POSTGRES_URL`), and a core with a key ring, one
//! confidential client and one account.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use idp_core::limits::{Decision, LimitError, Limiter};
use idp_core::model::{Account, AppClient, GrantType};
use idp_core::notify::{Message, Notifier, NotifyError};
use idp_core::ops::tokens::{TokenConfig, Tokens};
use idp_core::ops::{NewClient, Registration, SecurityConfig, Services};
use idp_core::secrets::hasher::{HashParams, SecretHasher};
use idp_core::store::Store;
use idp_core::{Context, Idp};
use idp_plugins::keys::KeyRing;
use idp_store::{postgres::PostgresStore, sqlite::SqliteStore};

/// The password of the fixture's account.
pub const PASSWORD: &str = "Secret#123";

/// argon2id parameters so cheap that a benchmark of an operation that hashes measures the
/// operation, not the hash (m=64 KiB, t=1, p=1). The ceiling at the real parameters is the
/// `hashing` bench.
pub const CHEAP_ARGON2: HashParams = HashParams {
    m_cost: 64,
    t_cost: 1,
    p_cost: 1,
};

/// Keeps whatever backs a store alive (the temp dir of a SQLite file, the PostgreSQL schema),
/// and removes it when dropped.
pub struct Guard {
    _dir: Option<tempfile::TempDir>,
    schema: Option<Schema>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some(schema) = self.schema.take() else {
            return;
        };
        // Drop may run inside a runtime, which cannot block on another: a thread of its own.
        let dropped =
            std::thread::spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(schema.drop()),
                    Err(e) => eprintln!("could not drop schema {}: {e}", schema.name),
                }
            });
        let _ = dropped.join();
    }
}

/// A migrated SQLite store in a new temp dir.
pub async fn sqlite_store() -> (Arc<dyn Store>, Guard) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("idp.db"))
        .await
        .expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    (
        Arc::new(store),
        Guard {
            _dir: Some(dir),
            schema: None,
        },
    )
}

/// `IDP_TEST_POSTGRES_URL`, when set and not empty.
pub fn postgres_url() -> Option<String> {
    std::env::var("IDP_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A schema of its own in the PostgreSQL server a benchmark was given.
pub struct Schema {
    /// Connections to this URL use the schema.
    pub url: String,
    server: String,
    name: String,
}

impl Schema {
    /// Creates a new schema in the server at `url`.
    pub async fn create(url: &str) -> Self {
        let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
        if let Err(e) = run_sql(url, &format!("CREATE SCHEMA {name}")).await {
            panic!("create schema in PostgreSQL: {e}");
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        Schema {
            url: format!("{url}{sep}options=-csearch_path%3D{name}"),
            server: url.to_owned(),
            name,
        }
    }

    /// Drops the schema and everything in it (a benchmark leaves nothing behind).
    pub async fn drop(self) {
        if let Err(e) = run_sql(&self.server, &format!("DROP SCHEMA {} CASCADE", self.name)).await {
            eprintln!("could not drop schema {}: {e}", self.name);
        }
    }
}

async fn run_sql(url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let conn = tokio::spawn(conn);
    let out = client.batch_execute(sql).await;
    drop(client);
    let _ = conn.await;
    out
}

/// A migrated PostgreSQL store on a schema of its own.
pub async fn postgres_store(url: &str) -> (Arc<dyn Store>, Guard) {
    let schema = Schema::create(url).await;
    let store = PostgresStore::connect(&schema.url, 16)
        .await
        .expect("connect store");
    store.migrate().await.expect("migrate postgres");
    (
        Arc::new(store),
        Guard {
            _dir: None,
            schema: Some(schema),
        },
    )
}

/// A limiter that allows everything: benchmarks measure the operation, not the counters.
pub struct AllowAll;

#[async_trait]
impl Limiter for AllowAll {
    async fn hit(&self, _: &str, _: u32, _: Duration) -> Result<Decision, LimitError> {
        Ok(Decision {
            allowed: true,
            count: 1,
            retry_after: None,
        })
    }
    async fn hit_quota(&self, key: &str, limit: u32, w: Duration) -> Result<Decision, LimitError> {
        self.hit(key, limit, w).await
    }
    async fn reset(&self, _: &str) -> Result<(), LimitError> {
        Ok(())
    }
    async fn peek(&self, _: &str) -> Result<u32, LimitError> {
        Ok(0)
    }
    async fn ping(&self) -> Result<(), LimitError> {
        Ok(())
    }
}

/// Keeps the last message sent, to read one-time codes back.
#[derive(Default)]
pub struct LastMessage(Mutex<Option<Message>>);

#[async_trait]
impl Notifier for LastMessage {
    async fn send(&self, m: &Message) -> Result<(), NotifyError> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(m.clone());
        Ok(())
    }
}

impl LastMessage {
    /// The 6-digit code of the last message.
    pub fn code(&self) -> String {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let body = &m.as_ref().expect("a message was sent").body;
        six_digits(body).expect("a 6-digit code").to_owned()
    }
}

/// The first run of exactly six digits in `text` (the code of a one-time-code message).
pub fn six_digits(text: &str) -> Option<&str> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
}

/// A core on `store` with a key ring, a confidential client allowed every grant and one
/// active account.
pub struct Fixture {
    pub idp: Idp,
    pub tokens: Tokens,
    pub keys: Arc<KeyRing>,
    pub client: AppClient,
    pub account: Account,
    pub outbox: Arc<LastMessage>,
}

pub async fn fixture(store: Arc<dyn Store>, params: HashParams) -> Fixture {
    let hasher = SecretHasher::new(params, 1, 64).expect("hasher");
    let outbox = Arc::new(LastMessage::default());
    let services = Services {
        limiter: Arc::new(AllowAll),
        notifier: outbox.clone(),
        security: SecurityConfig::default(),
    };
    let idp = Idp::new(store.clone(), hasher, services);
    let tenant = idp.ensure_default_tenant().await.expect("tenant");
    let config = TokenConfig::new("http://127.0.0.1:1");
    let keys = Arc::new(
        KeyRing::open(store, config.max_signed_lifetime())
            .await
            .expect("keys"),
    );
    let tokens = Tokens::new(idp.clone(), keys.clone(), config);
    let new = NewClient {
        id: "bench".into(),
        secret: Some("bench-secret-bench-secret".into()),
        redirect_uris: vec!["https://rp.example/cb".into()],
        grants: vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ],
        ..NewClient::default()
    };
    let client = idp
        .create_client(&Context::system(), tenant.id, new)
        .await
        .expect("client");
    let reg = Registration {
        username: "bench".into(),
        email: Some("bench@example.com".into()),
        password: Some(PASSWORD.into()),
        email_verified: true,
        ..Registration::default()
    };
    let account = idp
        .register(&Context::system(), tenant.id, reg)
        .await
        .expect("account");
    Fixture {
        idp,
        tokens,
        keys,
        client,
        account,
        outbox,
    }
}
