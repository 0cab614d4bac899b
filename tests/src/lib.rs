//! Shared helpers for the end-to-end tests (`tests/it`): a real server started in-process on a
//! free port, over the embedded store or a fresh PostgreSQL schema, spoken to with `reqwest`.
//!
//! The PostgreSQL variants need `IDP_TEST_POSTGRES_URL` (set by `scripts/test`); without it they
//! are skipped with a notice, except under CI, where they fail. The Redis tests follow the same
//! rule with `IDP_TEST_REDIS_URL`; each of them starts its own `redis-server` (see
//! [`TestRedis`]), so that their counters never meet another test's.

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

    /// The file outbox of this server (`<data_dir>/outbox.jsonl`), where emails and texts go.
    pub fn outbox_path(&self) -> std::path::PathBuf {
        self.running.app.config.data_dir.join("outbox.jsonl")
    }

    /// Every message in the outbox so far, oldest first (none when nothing was sent yet).
    pub fn outbox(&self) -> Vec<OutboxMessage> {
        let text = match std::fs::read_to_string(self.outbox_path()) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => panic!("read the outbox: {e}"),
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value =
                    serde_json::from_str(l).unwrap_or_else(|e| panic!("outbox line {l:?}: {e}"));
                let field = |k: &str| {
                    v[k].as_str()
                        .unwrap_or_else(|| panic!("outbox line without {k}: {l}"))
                        .to_owned()
                };
                OutboxMessage {
                    ts: field("ts"),
                    channel: field("channel"),
                    to: field("to"),
                    subject: field("subject"),
                    body: field("body"),
                }
            })
            .collect()
    }

    /// The newest outbox message to `to`; panics when there is none.
    #[track_caller]
    pub fn last_message_to(&self, to: &str) -> OutboxMessage {
        let all = self.outbox();
        all.iter()
            .rev()
            .find(|m| m.to == to)
            .cloned()
            .unwrap_or_else(|| panic!("no message to {to} in the outbox: {all:?}"))
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

// ---------------------------------------------------------------------------------------------
// The file outbox
// ---------------------------------------------------------------------------------------------

/// One line of the file outbox: `{"ts","channel","to","subject","body"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub ts: String,
    /// `email` or `sms`.
    pub channel: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl OutboxMessage {
    /// The one-time code of the message: its first run of exactly six digits.
    #[track_caller]
    pub fn code(&self) -> String {
        self.body
            .split(|c: char| !c.is_ascii_digit())
            .find(|run| run.len() == 6)
            .unwrap_or_else(|| panic!("no 6-digit code in {self:?}"))
            .to_owned()
    }

    /// The first link of the message (an `http://` or `https://` word).
    #[track_caller]
    pub fn link(&self) -> String {
        self.body
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .unwrap_or_else(|| panic!("no link in {self:?}"))
            .to_owned()
    }

    /// The `token=<value>` the message's link carries.
    #[track_caller]
    pub fn link_token(&self) -> String {
        let link = self.link();
        let start = link
            .find("token=")
            .unwrap_or_else(|| panic!("no token= in {self:?}"))
            + "token=".len();
        link[start..]
            .split('&')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------

/// Whether the Redis tests run: `IDP_TEST_REDIS_URL` is set. Unset: false with a skip notice,
/// or a panic under CI (the rule of [`postgres_url`]).
///
/// The tests do not write to that Redis: the server has no setting for a key prefix, so tests
/// sharing one Redis would share their counters (`rate:ip:127.0.0.1`, ...). Each test starts
/// its own [`TestRedis`] instead; the variable says that Redis is meant to be tested here.
pub fn redis_tests_enabled() -> bool {
    match std::env::var("IDP_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => true,
        _ if std::env::var_os("CI").is_some() => {
            panic!("IDP_TEST_REDIS_URL must be set under CI (scripts/test sets it)")
        }
        _ => {
            eprintln!("skipped: IDP_TEST_REDIS_URL is not set (run scripts/test)");
            false
        }
    }
}

/// The `redis-server` binary: `IDP_TEST_REDIS_SERVER`, else `redis-server` on the `PATH`, else
/// `/usr/bin/redis-server`.
fn redis_server_binary() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("IDP_TEST_REDIS_SERVER").filter(|p| !p.is_empty()) {
        return Some(p.into());
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("redis-server"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let p = std::path::PathBuf::from("/usr/bin/redis-server");
        p.is_file().then_some(p)
    })
}

/// A `redis-server` owned by one test: on a free loopback port, without persistence, in its own
/// temp dir. Killed when dropped.
pub struct TestRedis {
    port: u16,
    binary: std::path::PathBuf,
    child: Option<std::process::Child>,
    dir: tempfile::TempDir,
}

impl TestRedis {
    /// Starts one when the Redis tests are enabled ([`redis_tests_enabled`]); `None` (skipped)
    /// otherwise, or when no `redis-server` binary is found (a panic under CI).
    pub async fn start() -> Option<Self> {
        if !redis_tests_enabled() {
            return None;
        }
        let Some(binary) = redis_server_binary() else {
            if std::env::var_os("CI").is_some() {
                panic!("redis-server not found (set IDP_TEST_REDIS_SERVER)");
            }
            eprintln!("skipped: redis-server not found (set IDP_TEST_REDIS_SERVER)");
            return None;
        };
        let mut last = String::new();
        for _ in 0..5 {
            let mut redis = Self {
                port: reserve_port(),
                binary: binary.clone(),
                child: None,
                dir: tempfile::tempdir().expect("temp dir"),
            };
            match redis.spawn().await {
                Ok(()) => return Some(redis),
                Err(e) => last = e,
            }
        }
        panic!("redis-server did not start after 5 tries: {last}")
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL: an outage, not a shutdown).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty: nothing was saved).
    pub async fn restart(&mut self) {
        self.kill();
        let mut last = String::new();
        for _ in 0..20 {
            match self.spawn().await {
                Ok(()) => return,
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("redis-server did not restart on port {}: {last}", self.port)
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let mut child = std::process::Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", self.binary.display()))?;
        for _ in 0..100 {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("redis-server exited: {status}"));
            }
            if ping(self.port).await {
                // Still running a moment later: the answer was ours, not another server's on a
                // port taken in between.
                tokio::time::sleep(Duration::from_millis(100)).await;
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("redis-server exited: {status}"));
                }
                self.child = Some(child);
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("redis-server on port {} did not answer", self.port))
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// True when a Redis on `port` answers PING.
async fn ping(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        conn.write_all(b"PING\r\n").await.ok()?;
        let mut buf = [0u8; 16];
        let n = conn.read(&mut buf).await.ok()?;
        Some(buf[..n].starts_with(b"+PONG"))
    };
    matches!(
        tokio::time::timeout(Duration::from_millis(500), attempt).await,
        Ok(Some(true))
    )
}

// ---------------------------------------------------------------------------------------------
// Plain JSON calls, many at once
// ---------------------------------------------------------------------------------------------

/// Any answer of any surface: status, the raw body and the body as JSON (`Null` when it is not
/// JSON), so that tests can both check envelopes and scan the exact bytes sent.
#[derive(Clone)]
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub text: String,
    pub json: serde_json::Value,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.text)
    }
}

impl Answer {
    /// Sends `req` and reads the whole answer.
    pub async fn of(req: reqwest::RequestBuilder) -> Self {
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Self { status, text, json }
    }
}

/// Runs `n` copies of `make(i)` at the same time (each on its own task, all released together
/// by a barrier, so that they really meet at the server) and returns their results in order.
pub async fn all_at_once<F, Fut, T>(n: usize, make: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let fut = make(i);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Captured logs
// ---------------------------------------------------------------------------------------------

static LOG_BUFFER: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> =
    std::sync::OnceLock::new();
/// How many [`LogCapture`]s are alive: without one, log lines are dropped, so that the rest of
/// the suite does not fill memory with them.
static LOG_READERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Everything every in-process server logs at `debug` and above while it is alive, as text.
/// The first capture installs the process-wide tracing subscriber (servers of other tests log
/// into it too, which is harmless for scans of values unique to one test).
pub struct LogCapture {
    start: usize,
}

struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use std::sync::atomic::Ordering;
        if LOG_READERS.load(Ordering::SeqCst) > 0 {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Starts capturing; panics when another tracing subscriber was installed first (the
    /// capture would then silently see nothing).
    pub fn start() -> Self {
        let buffer = LOG_BUFFER.get_or_init(|| {
            let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = buffer.clone();
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
                .with_ansi(false)
                .with_writer(move || LogWriter(sink.clone()))
                .try_init()
                .expect("install the capturing tracing subscriber");
            buffer
        });
        LOG_READERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let start = buffer.lock().unwrap_or_else(|p| p.into_inner()).len();
        Self { start }
    }

    /// What was logged since this capture started.
    pub fn text(&self) -> String {
        let buffer = LOG_BUFFER.get().expect("capture started");
        let bytes = buffer.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes[self.start.min(bytes.len())..]).into_owned()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        LOG_READERS.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
