//! A minimal OpenID Connect relying party, to try idp from a browser (docs/getting-started.md).
//!
//! ```sh
//! cargo run -p idp-e2e --example relying_party -- --client-id demo --client-secret "$SECRET"
//! ```
//!
//! Open <http://127.0.0.1:9090/>, sign in at idp, and the page shows the verified ID-token
//! claims and what `/userinfo` says. It uses the `openidconnect` crate: discovery, the code flow
//! with PKCE, state and nonce, ID-token verification against the published keys, userinfo, and
//! RP-initiated logout. The client must be registered with the redirect URIs
//! `http://LISTEN/callback` and `http://LISTEN/`.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use clap::Parser;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AsyncHttpClient, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;

#[derive(Parser)]
#[command(about = "A minimal OpenID Connect relying party for trying idp in a browser")]
struct Args {
    /// The idp issuer (its base URL).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    issuer: String,
    /// The client id registered with `idp-server client create`.
    #[arg(long)]
    client_id: String,
    /// The client's secret; omit for a public client (PKCE only).
    #[arg(long, env = "RP_CLIENT_SECRET")]
    client_secret: Option<String>,
    /// Where this relying party listens; its redirect URI is http://LISTEN/callback.
    #[arg(long, default_value = "127.0.0.1:9090")]
    listen: SocketAddr,
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What an authorization request in flight must remember, by its `state`.
struct Pending {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
}

struct Rp {
    client: Client,
    http: RpHttp,
    issuer: String,
    base: String,
    pending: Mutex<HashMap<String, Pending>>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let base = format!("http://{}", args.listen);
    let http = RpHttp::new()?;
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(args.issuer.clone())?, &http).await?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(args.client_id),
        args.client_secret.map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(format!("{base}/callback"))?);
    let rp = Arc::new(Rp {
        client,
        http,
        issuer: args.issuer,
        base: base.clone(),
        pending: Mutex::new(HashMap::new()),
    });
    let app = axum::Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/logout", get(logout))
        .with_state(rp);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("relying party at {base}/ (redirect URI {base}/callback)");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn home() -> Html<&'static str> {
    Html(
        "<!doctype html><title>Relying party</title><h1>Relying party</h1>\
         <p><a href=\"/login\">Sign in with idp</a></p>",
    )
}

/// Starts the code flow: PKCE, state and nonce, remembered until the callback.
async fn login(State(rp): State<Arc<Rp>>) -> Redirect {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    rp.pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(state.secret().clone(), Pending { verifier, nonce });
    Redirect::to(url.as_str())
}

#[derive(Deserialize)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Redeems the code, verifies the ID token, asks /userinfo, and shows both.
async fn callback(State(rp): State<Arc<Rp>>, Query(p): Query<CallbackParams>) -> Response {
    if let Some(error) = p.error {
        let detail = p.error_description.unwrap_or_default();
        return failure(&format!("idp answered {error}: {detail}"));
    }
    let pending = p.state.as_deref().and_then(|s| {
        rp.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(s)
    });
    let (Some(code), Some(pending)) = (p.code, pending) else {
        return failure("unknown or missing state: start again at /login");
    };
    match finish(&rp, code, pending).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => failure(&e),
    }
}

async fn finish(rp: &Rp, code: String, pending: Pending) -> Result<String, String> {
    let tokens = rp
        .client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| e.to_string())?
        .set_pkce_verifier(pending.verifier)
        .request_async(&rp.http)
        .await
        .map_err(|e| format!("token request: {e:?}"))?;
    let id_token = tokens.id_token().ok_or("no ID token in the answer")?;
    let verifier = rp.client.id_token_verifier().set_allowed_algs(vec![
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EdDsa,
    ]);
    let claims = id_token
        .claims(&verifier, &pending.nonce)
        .map_err(|e| format!("ID token refused: {e}"))?;
    let info: CoreUserInfoClaims = rp
        .client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .map_err(|e| e.to_string())?
        .request_async(&rp.http)
        .await
        .map_err(|e| format!("userinfo: {e:?}"))?;
    let id_json = pretty(claims);
    let info_json = pretty(&info);
    println!(
        "signed in: {}\nID token claims: {id_json}\nuserinfo: {info_json}",
        claims.subject().as_str()
    );
    Ok(format!(
        "<!doctype html><title>Signed in</title><h1>Signed in</h1><h2>ID token claims (verified)</h2><pre>{}</pre>\
         <h2>/userinfo</h2><pre>{}</pre><p><a href=\"/logout?id_token_hint={}\">Sign out</a></p>",
        esc(&id_json),
        esc(&info_json),
        esc(&url_encode(&id_token.to_string()))
    ))
}

#[derive(Deserialize)]
struct LogoutParams {
    id_token_hint: Option<String>,
}

/// RP-initiated logout at idp, back to this page afterwards.
async fn logout(State(rp): State<Arc<Rp>>, Query(p): Query<LogoutParams>) -> Redirect {
    let mut url = format!(
        "{}/logout?client_id={}&post_logout_redirect_uri={}",
        rp.issuer.trim_end_matches('/'),
        url_encode(rp.client.client_id().as_str()),
        url_encode(&format!("{}/", rp.base)),
    );
    if let Some(hint) = p.id_token_hint {
        url.push_str(&format!("&id_token_hint={}", url_encode(&hint)));
    }
    Redirect::to(&url)
}

fn failure(message: &str) -> Response {
    let body = format!(
        "<h1>Sign-in failed</h1><p>{}</p><p><a href=\"/login\">Try again</a></p>",
        esc(message)
    );
    (axum::http::StatusCode::BAD_REQUEST, Html(body)).into_response()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn pretty(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// reqwest 0.13 behind openidconnect's client trait; never follows redirects (an RP must not
/// chase them on back-channel calls).
struct RpHttp(reqwest::Client);

impl RpHttp {
    fn new() -> Result<Self, reqwest::Error> {
        Ok(Self(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()?,
        ))
    }
}

impl<'c> AsyncHttpClient<'c> for RpHttp {
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let res = self.0.execute(request.try_into()?).await?;
            let (status, headers) = (res.status(), res.headers().clone());
            let mut out = HttpResponse::new(res.bytes().await?.to_vec());
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
}
