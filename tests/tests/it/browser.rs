//! The sign-in pages in a real browser: headless Chromium driven over WebDriver (chromedriver,
//! through `fantoccini`). A relying party starts `/authorize` with PKCE; in the browser the user
//! signs in with a password, types the emailed one-time code, allows the third-party client, and
//! the relying party's callback (a listener in this test) receives `code` and `state`; the code is
//! redeemed at `/token`; then RP-initiated logout is confirmed in the browser. What scripted HTTP
//! cannot show — that Chromium accepts the pages' CSP, cookies and redirects — is checked here.
//! A PNG screenshot of each page is saved to `target/e2e-artifacts/`.
//!
//! Needs `chromium` and `chromedriver` on `PATH` (`scripts/test` installs them); without them the
//! test is skipped with a notice, except under CI, where it fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use idp_core::Context;
use idp_core::model::MfaPolicy;
use idp_core::ops::NewClient;
use idp_e2e::TestServer;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::mfa::set_mfa_policy;
use crate::oidc_util::*;

const CLIENT: &str = "browser-rp";
/// The pages photographed, as `target/e2e-artifacts/browser-NAME.png`.
const SCREENSHOTS: [&str; 4] = ["login", "mfa", "consent", "logout"];
const CLIENT_SECRET: &str = "browser-rp-secret-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_mfa_consent_and_logout_in_chromium() {
    let Some((chromium, chromedriver)) = browser_binaries() else {
        return;
    };
    let server = idp_e2e::start_oidc_sqlite_with(|_| {}).await;
    let driver = Driver::start(&chromedriver).await;
    let profile = tempfile::tempdir().expect("browser profile dir");
    let client = driver.session(&chromium, profile.path()).await;

    // The scenario runs in its own task so that a failed assertion still ends the browser
    // session and chromedriver below, before the failure is passed on.
    let outcome = tokio::spawn(scenario(client.clone(), server.base_url.clone(), server)).await;
    let _ = client.close().await;
    driver.stop().await;
    match outcome {
        Ok(server) => server.stop().await.expect("graceful stop"),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

async fn scenario(b: Client, base_url: String, server: TestServer) -> TestServer {
    // Screenshots of an earlier run must not pass for this one's.
    for name in SCREENSHOTS {
        let _ = std::fs::remove_file(artifacts().join(format!("browser-{name}.png")));
    }
    setup(&server).await;
    set_mfa_policy(&server, MfaPolicy::EmailOtp).await;
    let (callback, mut received) = Callback::start().await;
    let redirect_uri = callback.url("/callback");
    let logged_out_uri = callback.url("/logged-out");
    register_client(&server, &redirect_uri, &logged_out_uri).await;

    // 1. The relying party sends the browser to /authorize.
    let k = pkce();
    let req = AuthRequest {
        pkce: Some(&k),
        ..AuthRequest::new(CLIENT, &redirect_uri)
    };
    b.goto(&req.url(&server)).await.expect("open /authorize");
    fill(&b, "input[name=username]", USERNAME).await;
    fill(&b, "input[name=password]", PASSWORD).await;
    screenshot(&b, "login").await;
    click(&b, "button[type=submit]").await;

    // 2. Second factor: the code from the outbox.
    wait_for(&b, "input[name=code]").await;
    let page = b.source().await.expect("page source");
    assert!(
        page.contains("a***@example.com"),
        "not the MFA page: {page}"
    );
    let code = server.last_message_to(EMAIL).code();
    fill(&b, "input[name=code]", &code).await;
    screenshot(&b, "mfa").await;
    click(&b, "button[type=submit]").await;

    // 3. Consent for the third-party client.
    wait_for(&b, "button[value=consent]").await;
    let page = b.source().await.expect("page source");
    assert!(page.contains("Browser RP"), "client name not shown: {page}");
    screenshot(&b, "consent").await;
    click(&b, "button[value=consent]").await;

    // 4. The callback gets code + state (and iss, RFC 9207) from the browser itself.
    let hit = received.next(&b).await;
    assert_eq!(hit.path, "/callback", "{hit:?}");
    assert_eq!(hit.param("state"), Some(req.state.as_str()), "{hit:?}");
    assert_eq!(hit.param("iss"), Some(base_url.as_str()), "{hit:?}");
    let code = hit.param("code").expect("code in the callback").to_owned();
    let tokens = exchange(
        &server,
        ClientAuth::Basic(CLIENT, CLIENT_SECRET),
        &code,
        &redirect_uri,
        Some(&k.verifier),
    )
    .await;
    tokens.assert_ok();
    let claims = crate::mfa::id_token_claims(&tokens);
    crate::mfa::assert_mfa_claims(&claims, &["otp"]);
    assert_eq!(claims["aud"], CLIENT, "{claims}");

    // 5. RP-initiated logout without a hint: the user confirms in the browser.
    let state = "logout-state-1";
    let logout = url::Url::parse_with_params(
        &server.url("/logout"),
        [
            ("client_id", CLIENT),
            ("post_logout_redirect_uri", logged_out_uri.as_str()),
            ("state", state),
        ],
    )
    .expect("logout URL");
    b.goto(logout.as_str()).await.expect("open /logout");
    wait_for(&b, "button[type=submit]").await;
    screenshot(&b, "logout").await;
    click(&b, "button[type=submit]").await;
    let hit = received.next(&b).await;
    assert_eq!(hit.path, "/logged-out", "{hit:?}");
    assert_eq!(hit.param("state"), Some(state), "{hit:?}");

    // The session is gone: a new authorization request shows the sign-in form again.
    b.goto(&AuthRequest::new(CLIENT, &redirect_uri).url(&server))
        .await
        .expect("open /authorize again");
    wait_for(&b, "input[name=password]").await;

    for name in SCREENSHOTS {
        assert_png(&artifacts().join(format!("browser-{name}.png")));
    }
    callback.stop();
    server
}

async fn register_client(server: &TestServer, redirect_uri: &str, logged_out_uri: &str) {
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("default tenant");
    idp.create_client(
        &Context::system(),
        tenant.id,
        NewClient {
            id: CLIENT.into(),
            name: Some("Browser RP".into()),
            secret: Some(CLIENT_SECRET.into()),
            redirect_uris: vec![redirect_uri.into(), logged_out_uri.into()],
            third_party: true,
            ..NewClient::default()
        },
    )
    .await
    .expect("create client");
}

// ---------------------------------------------------------------------------------------------
// Browser helpers
// ---------------------------------------------------------------------------------------------

/// Generous: CI runs this beside the whole suite on two cores.
const WAIT: Duration = Duration::from_secs(30);

async fn wait_for(b: &Client, css: &str) -> fantoccini::elements::Element {
    match b.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => {
            let url = b
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let source = b.source().await.unwrap_or_default();
            panic!("no `{css}` at {url} ({e}): {source}")
        }
    }
}

async fn fill(b: &Client, css: &str, text: &str) {
    wait_for(b, css)
        .await
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

async fn click(b: &Client, css: &str) {
    wait_for(b, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// `target/e2e-artifacts/` of the workspace.
fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-artifacts")
}

async fn screenshot(b: &Client, name: &str) {
    let png = b.screenshot().await.expect("screenshot");
    let dir = artifacts();
    std::fs::create_dir_all(&dir).expect("create target/e2e-artifacts");
    let path = dir.join(format!("browser-{name}.png"));
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

#[track_caller]
fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        bytes.len() > 1000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG screenshot ({} bytes)",
        path.display(),
        bytes.len()
    );
}

/// `chromium` and `chromedriver` from `PATH`; missing: `None` with a skip notice, or a panic
/// under CI.
fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let find = |name: &str| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    };
    match (find("chromium"), find("chromedriver")) {
        (Some(c), Some(d)) => Some((c, d)),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "chromium and chromedriver must be installed under CI (scripts/test installs them)"
            )
        }
        _ => {
            eprintln!("skipped: chromium or chromedriver is not installed (run scripts/test)");
            None
        }
    }
}

/// chromedriver on a free loopback port, killed when stopped (or dropped).
struct Driver {
    child: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start(binary: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = tokio::process::Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let url = format!("http://127.0.0.1:{port}");
        let http = idp_e2e::http();
        for _ in 0..100 {
            let ready = http.get(format!("{url}/status")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Self { child, url };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer on {url}");
    }

    async fn session(&self, chromium: &Path, profile: &Path) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=800,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("WebDriver session: {e}"))
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

// ---------------------------------------------------------------------------------------------
// The relying party's callback
// ---------------------------------------------------------------------------------------------

/// One request the browser made to the relying party.
#[derive(Debug)]
struct Hit {
    path: String,
    params: Vec<(String, String)>,
}

impl Hit {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Hits(mpsc::UnboundedReceiver<Hit>);

impl Hits {
    /// The next request from browser `b`; panics with the page `b` shows instead.
    async fn next(&mut self, b: &Client) -> Hit {
        if let Ok(Some(hit)) = tokio::time::timeout(WAIT, self.0.recv()).await {
            return hit;
        }
        let url = b
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let source = b.source().await.unwrap_or_default();
        panic!("the browser did not come back to the relying party; it shows {url}: {source}")
    }
}

/// A loopback HTTP listener standing in for the relying party: every page request is reported.
struct Callback {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Callback {
    async fn start() -> (Self, Hits) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind callback");
        let base = format!("http://{}", listener.local_addr().expect("callback addr"));
        let (tx, rx) = mpsc::unbounded_channel();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let tx = tx.clone();
            async move {
                let params = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                    .into_owned()
                    .collect();
                // Chromium asks every new origin for its icon: not a visit of the user's.
                if uri.path() != "/favicon.ico" {
                    let _ = tx.send(Hit {
                        path: uri.path().to_owned(),
                        params,
                    });
                }
                axum::response::Html("<!doctype html><title>RP</title><p>relying party</p>")
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (Self { base, task }, Hits(rx))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn stop(self) {
        self.task.abort();
    }
}
