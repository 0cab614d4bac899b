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

// ---------------------------------------------------------------------------------------------
// OpenID Connect: servers whose issuer is their own address, and a scripted browser.
// ---------------------------------------------------------------------------------------------

/// A loopback port that was free a moment ago (bound, then released).
fn reserve_port() -> u16 {
    std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .and_then(|l| l.local_addr())
        .expect("reserve a loopback port")
        .port()
}

/// Like [`start`], but the server listens on a port chosen here and its issuer is
/// `http://127.0.0.1:PORT`, so that discovery, token `iss` and the relying party agree. The port
/// is reserved and released before the server binds it, so a bind failure (another process took
/// it in between) is retried on a new port.
pub async fn start_as_issuer(mut config: Config, guard: Option<tempfile::TempDir>) -> TestServer {
    let mut last = None;
    for _ in 0..5 {
        let port = reserve_port();
        config.listen = SocketAddr::from(([127, 0, 0, 1], port));
        config.issuer = format!("http://127.0.0.1:{port}");
        let app = App::build(config.clone(), None).await.expect("build app");
        match serve::start(app).await {
            Ok(running) => {
                return TestServer {
                    base_url: config.issuer.clone(),
                    running,
                    _guard: guard,
                };
            }
            Err(e @ idp_server::ServerError::Bind { .. }) => last = Some(e),
            Err(e) => panic!("start server: {e}"),
        }
    }
    panic!("start server: no free port after 5 tries: {last:?}")
}

/// An OIDC-ready server (see [`start_as_issuer`]) on a fresh embedded database.
pub async fn start_oidc_sqlite_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    tweak(&mut config);
    start_as_issuer(config, Some(dir)).await
}

/// An OIDC-ready server (see [`start_as_issuer`]) on a fresh PostgreSQL schema; `None`
/// (skipped) without `IDP_TEST_POSTGRES_URL`.
pub async fn start_oidc_postgres_with(tweak: impl FnOnce(&mut Config)) -> Option<TestServer> {
    let url = fresh_postgres_schema().await?;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.database_url = Some(url);
    tweak(&mut config);
    Some(start_as_issuer(config, Some(dir)).await)
}

/// A scripted browser: keeps cookies, never follows redirects (each 303 is looked at by the
/// test), no proxy, a 10 s deadline per request.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("browser client")
}

/// Like [`browser`] but without cookies: a request from somewhere else.
pub fn cookieless_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("browser client")
}

/// Undoes the escaping of HTML text and attribute values (the five entities the pages use,
/// and numeric ones).
pub fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The attributes of every `<tag …>` in `html`, in order, values unescaped.
pub fn tags(html: &str, tag: &str) -> Vec<Vec<(String, String)>> {
    let open = format!("<{tag}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let end = after.find('>').unwrap_or(after.len());
        out.push(attributes(&after[..end]));
        rest = &after[end..];
    }
    out
}

/// `name="value"` pairs (double-quoted, as the pages write them; bare names get "").
fn attributes(mut s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        let name_end = s
            .find(|c: char| c == '=' || c.is_whitespace() || c == '/')
            .unwrap_or(s.len());
        if name_end == 0 {
            if s.is_empty() {
                return out;
            }
            s = &s[1..];
            continue;
        }
        let name = s[..name_end].to_ascii_lowercase();
        s = &s[name_end..];
        if let Some(v) = s.strip_prefix("=\"") {
            let close = v.find('"').unwrap_or(v.len());
            out.push((name, html_unescape(&v[..close])));
            s = v.get(close + 1..).unwrap_or("");
        } else {
            out.push((name, String::new()));
        }
    }
}

/// A form of a server-rendered page, as a browser would submit it.
#[derive(Debug, Clone)]
pub struct HtmlForm {
    /// The `action` URL.
    pub action: String,
    /// The hidden inputs, in page order.
    pub hidden: Vec<(String, String)>,
}

impl HtmlForm {
    /// The first `<form>` of `html` and its hidden inputs; `None` when the page has no form.
    pub fn parse(html: &str) -> Option<Self> {
        let start = html.find("<form")?;
        let end = html[start..]
            .find("</form>")
            .map_or(html.len(), |e| start + e);
        let form = &html[start..end];
        let attrs = tags(form, "form").into_iter().next()?;
        let action = attrs.iter().find(|(k, _)| k == "action")?.1.clone();
        let hidden = tags(form, "input")
            .into_iter()
            .filter(|a| a.iter().any(|(k, v)| k == "type" && v == "hidden"))
            .filter_map(|a| {
                let name = a.iter().find(|(k, _)| k == "name")?.1.clone();
                let value = a
                    .iter()
                    .find(|(k, _)| k == "value")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                Some((name, value))
            })
            .collect();
        Some(Self { action, hidden })
    }

    /// The value of hidden field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.hidden
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The hidden fields plus `extra`, replacing hidden fields of the same name.
    pub fn with(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .hidden
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .cloned()
            .collect();
        out.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        out
    }
}
