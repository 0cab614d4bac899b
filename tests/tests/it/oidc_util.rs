//! What the OIDC end-to-end tests share: the registered clients and user, a per-store test
//! macro whose servers have their own address as issuer, a scripted browser walking the
//! sign-in pages, and plain HTTP helpers for /token, /introspect, /revoke and /userinfo.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use idp_core::Context;
use idp_core::model::GrantType;
use idp_core::ops::{NewClient, Registration};
use idp_e2e::{HtmlForm, TestServer, http};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, LOCATION, WWW_AUTHENTICATE};
use serde_json::Value;
use uuid::Uuid;

/// `oidc_both_stores!(a, b)` turns each `async fn a(server: &idp_e2e::TestServer)` into the
/// tests `a::sqlite` and `a::postgres`, on a fresh store whose server's issuer is its own
/// address. `oidc_both_stores!(tweak = |c| …; a)` adjusts the configuration first. Attributes
/// before a name (`#[ignore = "…"]`) go on both tests.
#[macro_export]
macro_rules! oidc_both_stores {
    (tweak = $tweak:expr; $($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        mod $name {
            $(#[$m])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = idp_e2e::start_oidc_sqlite_with($tweak).await;
                assert_eq!(server.store_kind(), "sqlite");
                super::$name(&server).await;
                server.stop().await.expect("graceful stop");
            }
            $(#[$m])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(server) = idp_e2e::start_oidc_postgres_with($tweak).await {
                    assert_eq!(server.store_kind(), "postgres");
                    super::$name(&server).await;
                    server.stop().await.expect("graceful stop");
                }
            }
        }
    )*};
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {
        $crate::oidc_both_stores!(tweak = |_: &mut idp_config::Config| {}; $($(#[$m])* $name),*);
    };
}

pub const USERNAME: &str = "alice";
pub const EMAIL: &str = "alice@example.com";
pub const PASSWORD: &str = "Correct-Horse-42";

/// Confidential web client (client_secret_basic), authorization_code + refresh_token.
pub const RP: &str = "rp-web";
pub const RP_SECRET: &str = "rp-web-secret-0123456789";
pub const RP_REDIRECT: &str = "https://rp.example/callback";
/// Also registered for RP, as the post-logout redirect.
pub const RP_LOGGED_OUT: &str = "https://rp.example/logged-out";
/// A second confidential client with the same redirect URI as RP.
pub const OTHER: &str = "rp-other";
pub const OTHER_SECRET: &str = "rp-other-secret-0123456789";
/// Public client (no secret, PKCE).
pub const SPA: &str = "spa";
pub const SPA_REDIRECT: &str = "http://127.0.0.1:9/spa/callback";
/// Confidential client with client_credentials only.
pub const SVC: &str = "svc";
pub const SVC_SECRET: &str = "svc-secret-0123456789abc";
/// Third-party confidential client: consent required.
pub const THIRD: &str = "third-party";
pub const THIRD_SECRET: &str = "third-party-secret-0123456789";
pub const THIRD_REDIRECT: &str = "https://third.example/cb";

/// The registered user.
pub struct Fixture {
    pub account_id: Uuid,
}

/// Registers the clients above and the user in the default tenant.
pub async fn setup(server: &TestServer) -> Fixture {
    let idp = &server.running.app.idp;
    let ctx = Context::system();
    let tenant = idp.tenant("default").await.expect("default tenant");
    let s = |v: &str| Some(v.to_owned());
    let clients = [
        NewClient {
            id: RP.into(),
            name: s("Relying Party"),
            secret: s(RP_SECRET),
            redirect_uris: vec![RP_REDIRECT.into(), RP_LOGGED_OUT.into()],
            ..NewClient::default()
        },
        NewClient {
            id: OTHER.into(),
            secret: s(OTHER_SECRET),
            redirect_uris: vec![RP_REDIRECT.into()],
            ..NewClient::default()
        },
        NewClient {
            id: SPA.into(),
            name: s("Single-page app"),
            redirect_uris: vec![SPA_REDIRECT.into()],
            ..NewClient::default()
        },
        NewClient {
            id: SVC.into(),
            secret: s(SVC_SECRET),
            grants: vec![GrantType::ClientCredentials],
            scopes: vec!["api.read".into(), "api.write".into()],
            ..NewClient::default()
        },
        NewClient {
            id: THIRD.into(),
            name: s("Third Party Inc."),
            secret: s(THIRD_SECRET),
            redirect_uris: vec![THIRD_REDIRECT.into()],
            third_party: true,
            ..NewClient::default()
        },
    ];
    for c in clients {
        let id = c.id.clone();
        idp.create_client(&ctx, tenant.id, c)
            .await
            .unwrap_or_else(|e| panic!("create client {id}: {e}"));
    }
    let account = idp
        .register(
            &ctx,
            tenant.id,
            Registration {
                username: USERNAME.into(),
                email: s(EMAIL),
                password: s(PASSWORD),
                email_verified: true,
                ..Registration::default()
            },
        )
        .await
        .expect("register user");
    Fixture {
        account_id: account.id,
    }
}

// ---------------------------------------------------------------------------------------------
// The browser side
// ---------------------------------------------------------------------------------------------

/// A response as a browser sees it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub content_type: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub async fn read(res: reqwest::Response) -> Self {
        let header = |name| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let location = header(LOCATION);
        let content_type = header(CONTENT_TYPE).unwrap_or_default();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.expect("response body");
        Self {
            status,
            location,
            content_type,
            headers,
            body,
        }
    }

    /// The page's first form.
    #[track_caller]
    pub fn form(&self) -> HtmlForm {
        HtmlForm::parse(&self.body).unwrap_or_else(|| panic!("no form on the page: {self:?}"))
    }

    #[track_caller]
    pub fn assert_login_page(&self) {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "not the sign-in page: {self:?}"
        );
        self.assert_html();
        assert!(
            self.body.contains("name=\"password\""),
            "no password field: {self:?}"
        );
    }

    #[track_caller]
    pub fn assert_consent_page(&self) {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "not the consent page: {self:?}"
        );
        self.assert_html();
        assert!(
            self.body.contains("value=\"consent\"") && self.body.contains("value=\"deny\""),
            "no consent buttons: {self:?}"
        );
    }

    /// An HTML error page with `status`, and no redirect.
    #[track_caller]
    pub fn assert_error_page(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{self:?}");
        assert!(self.location.is_none(), "redirected: {self:?}");
        self.assert_html();
    }

    /// HTML, never cached, never framed.
    #[track_caller]
    fn assert_html(&self) {
        assert!(
            self.content_type.starts_with("text/html"),
            "content-type {:?}: {self:?}",
            self.content_type
        );
        assert_eq!(self.header("cache-control"), Some("no-store"), "{self:?}");
        assert_eq!(self.header("x-frame-options"), Some("DENY"), "{self:?}");
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` header that sets cookie `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The 303 redirect's target (without query) and its query parameters.
    #[track_caller]
    pub fn redirect(&self) -> Redirect {
        assert_eq!(
            self.status,
            StatusCode::SEE_OTHER,
            "not a redirect: {self:?}"
        );
        let location = self.location.as_deref().expect("Location");
        let url = url::Url::parse(location).unwrap_or_else(|e| panic!("{location}: {e}"));
        let params = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut target = url.clone();
        target.set_query(None);
        Redirect {
            target: target.to_string(),
            params,
        }
    }
}

/// Where a redirect goes.
#[derive(Debug)]
pub struct Redirect {
    /// The URL without its query.
    pub target: String,
    pub params: HashMap<String, String>,
}

impl Redirect {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// An authorization response to `redirect_uri` carrying `state` and the issuer (RFC 9207).
    #[track_caller]
    pub fn assert_to_client(&self, server: &TestServer, redirect_uri: &str, state: &str) {
        assert_eq!(self.target, redirect_uri, "{self:?}");
        assert_eq!(self.param("state"), Some(state), "{self:?}");
        assert_eq!(
            self.param("iss"),
            Some(server.base_url.as_str()),
            "{self:?}"
        );
    }

    /// The code of a successful authorization response.
    #[track_caller]
    pub fn code(&self) -> String {
        assert!(self.param("error").is_none(), "error response: {self:?}");
        self.param("code")
            .unwrap_or_else(|| panic!("no code: {self:?}"))
            .to_owned()
    }

    /// An error response with `error`.
    #[track_caller]
    pub fn assert_error(&self, error: &str) {
        assert_eq!(self.param("error"), Some(error), "{self:?}");
        assert!(self.param("code").is_none(), "{self:?}");
    }
}

pub async fn get(browser: &reqwest::Client, url: &str) -> Page {
    Page::read(
        browser
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}")),
    )
    .await
}

/// Submits `form` with `extra` fields, as a browser would.
pub async fn submit(browser: &reqwest::Client, form: &HtmlForm, extra: &[(&str, &str)]) -> Page {
    post_form(browser, &form.action, &form.with(extra)).await
}

pub async fn post_form(browser: &reqwest::Client, url: &str, fields: &[(String, String)]) -> Page {
    Page::read(
        browser
            .post(url)
            .form(fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}")),
    )
    .await
}

/// Fills in the sign-in page's form and submits it.
pub async fn sign_in(browser: &reqwest::Client, login_page: &Page, password: &str) -> Page {
    login_page.assert_login_page();
    submit(
        browser,
        &login_page.form(),
        &[("username", USERNAME), ("password", password)],
    )
    .await
}

/// `/authorize?…` with `params`.
pub fn authorize_url(server: &TestServer, params: &[(&str, &str)]) -> String {
    url::Url::parse_with_params(&server.url("/authorize"), params)
        .expect("authorize URL")
        .to_string()
}

/// A PKCE pair (S256).
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let verifier = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    Pkce {
        challenge: URL_SAFE_NO_PAD.encode(digest.as_ref()),
        verifier,
    }
}

pub const DEFAULT_SCOPE: &str = "openid profile email";

/// An authorization request of the code flow.
pub struct AuthRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub state: String,
    pub nonce: Option<&'a str>,
    pub pkce: Option<&'a Pkce>,
    pub prompt: Option<&'a str>,
}

impl<'a> AuthRequest<'a> {
    pub fn new(client_id: &'a str, redirect_uri: &'a str) -> Self {
        Self {
            client_id,
            redirect_uri,
            scope: DEFAULT_SCOPE,
            state: format!("st-{}", Uuid::new_v4().simple()),
            nonce: None,
            pkce: None,
            prompt: None,
        }
    }

    pub fn url(&self, server: &TestServer) -> String {
        let mut p = vec![
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", self.redirect_uri),
            ("scope", self.scope),
            ("state", self.state.as_str()),
        ];
        if let Some(n) = self.nonce {
            p.push(("nonce", n));
        }
        if let Some(k) = self.pkce {
            p.push(("code_challenge", k.challenge.as_str()));
            p.push(("code_challenge_method", "S256"));
        }
        if let Some(pr) = self.prompt {
            p.push(("prompt", pr));
        }
        authorize_url(server, &p)
    }

    /// Runs the request in `browser`, signing in if the sign-in page shows, and returns the
    /// code of the authorization response (after checking its target, state and iss).
    pub async fn code(&self, server: &TestServer, browser: &reqwest::Client) -> String {
        let mut page = get(browser, &self.url(server)).await;
        if page.status == StatusCode::OK {
            page = sign_in(browser, &page, PASSWORD).await;
        }
        let r = page.redirect();
        r.assert_to_client(server, self.redirect_uri, &self.state);
        r.code()
    }
}

// ---------------------------------------------------------------------------------------------
// The client side: plain form posts
// ---------------------------------------------------------------------------------------------

/// How a client authenticates to /token, /introspect and /revoke.
#[derive(Debug, Clone, Copy)]
pub enum ClientAuth<'a> {
    /// client_secret_basic.
    Basic(&'a str, &'a str),
    /// client_secret_post.
    Post(&'a str, &'a str),
    /// A public client: client_id in the body only.
    Public(&'a str),
}

pub const RP_AUTH: ClientAuth<'static> = ClientAuth::Basic(RP, RP_SECRET);
pub const SPA_AUTH: ClientAuth<'static> = ClientAuth::Public(SPA);

/// A JSON (or empty) answer of an OAuth endpoint.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Reply {
    /// An RFC 6749 §5.2 error: `status` and `{"error": error}`.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, error: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.json["error"], error, "{self:?}");
    }

    #[track_caller]
    pub fn assert_ok(&self) {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
    }

    #[track_caller]
    pub fn str(&self, field: &str) -> String {
        self.json[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field}: {self:?}"))
            .to_owned()
    }

    pub fn header(&self, name: reqwest::header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn www_authenticate(&self) -> Option<&str> {
        self.header(WWW_AUTHENTICATE)
    }
}

async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {status} {text}"))
    };
    Reply {
        status,
        headers,
        json,
    }
}

/// POSTs `form` to `path` as `auth`.
pub async fn client_post(
    server: &TestServer,
    path: &str,
    auth: ClientAuth<'_>,
    form: &[(&str, &str)],
) -> Reply {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let mut req = http().post(server.url(path));
    match auth {
        ClientAuth::Basic(id, secret) => {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let basic = STANDARD.encode(format!("{}:{}", enc(id), enc(secret)));
            req = req.header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"));
        }
        ClientAuth::Post(id, secret) => {
            fields.push(("client_id", id));
            fields.push(("client_secret", secret));
        }
        ClientAuth::Public(id) => fields.push(("client_id", id)),
    }
    let res = req
        .form(&fields)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    reply(res).await
}

pub async fn token(server: &TestServer, auth: ClientAuth<'_>, form: &[(&str, &str)]) -> Reply {
    client_post(server, "/token", auth, form).await
}

/// The authorization_code grant.
pub async fn exchange(
    server: &TestServer,
    auth: ClientAuth<'_>,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> Reply {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    token(server, auth, &form).await
}

/// The refresh_token grant.
pub async fn refresh(server: &TestServer, auth: ClientAuth<'_>, refresh_token: &str) -> Reply {
    token(
        server,
        auth,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// RFC 7662 introspection, as the confidential client RP.
pub async fn introspect(server: &TestServer, token: &str) -> Value {
    let r = client_post(server, "/introspect", RP_AUTH, &[("token", token)]).await;
    r.assert_ok();
    r.json
}

#[track_caller]
pub fn assert_inactive(introspection: &Value) {
    assert_eq!(
        introspection,
        &serde_json::json!({ "active": false }),
        "expected an inactive token"
    );
}

/// RFC 7009 revocation.
pub async fn revoke(server: &TestServer, auth: ClientAuth<'_>, token: &str) -> Reply {
    client_post(server, "/revoke", auth, &[("token", token)]).await
}

/// GET /userinfo with a bearer token.
pub async fn userinfo(server: &TestServer, access_token: &str) -> Reply {
    let res = http()
        .get(server.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("GET /userinfo");
    reply(res).await
}

/// A 401 with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
#[track_caller]
pub fn assert_invalid_token(r: &Reply) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    let challenge = r.www_authenticate().unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "WWW-Authenticate {challenge:?}: {r:?}"
    );
}

/// Signs in as the user through RP (confidential, with PKCE and a nonce) in a fresh browser and
/// redeems the code: the token response.
pub async fn rp_tokens(server: &TestServer) -> Reply {
    let browser = idp_e2e::browser();
    let k = pkce();
    let mut req = AuthRequest::new(RP, RP_REDIRECT);
    req.pkce = Some(&k);
    req.nonce = Some("n-0S6_WzA2Mj");
    let code = req.code(server, &browser).await;
    let r = exchange(server, RP_AUTH, &code, RP_REDIRECT, Some(&k.verifier)).await;
    r.assert_ok();
    r
}
