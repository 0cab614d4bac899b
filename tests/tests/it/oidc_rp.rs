//! A real relying party (the `openidconnect` crate) against the server: discovery, the code
//! flow with PKCE through the sign-in page, ID token verification (signature, nonce, at_hash),
//! userinfo, refresh and revocation; for a confidential and for a public client.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use idp_e2e::TestServer;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AsyncHttpClient, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    HttpRequest, HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    RedirectUrl, RequestTokenError, Scope, TokenResponse,
};

use crate::oidc_util::*;

crate::oidc_both_stores!(
    confidential_client_flow,
    public_client_flow,
    public_client_revokes_its_refresh_token,
);

/// The relying party's HTTP client: reqwest 0.13 behind openidconnect's client trait. It never
/// follows redirects: an RP must not chase them on back-channel calls.
struct RpHttp(reqwest::Client);

impl RpHttp {
    fn new() -> Self {
        Self(
            reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("RP http client"),
        )
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

/// Which client runs the flow.
struct Rp<'a> {
    id: &'a str,
    secret: Option<&'a str>,
    redirect_uri: &'a str,
    /// How it authenticates to /revoke.
    auth: ClientAuth<'a>,
    /// Whether the flow ends by revoking the refresh token.
    revoke: bool,
}

async fn confidential_client_flow(server: &TestServer) {
    run_flow(
        server,
        Rp {
            id: RP,
            secret: Some(RP_SECRET),
            redirect_uri: RP_REDIRECT,
            auth: RP_AUTH,
            revoke: true,
        },
    )
    .await;
}

/// The public client's flow up to refresh (revocation: see below).
async fn public_client_flow(server: &TestServer) {
    run_flow(server, spa(false)).await;
}

/// RFC 7009 §2.1: the server validates the client's credentials "in case of a confidential
/// client", so a public client, identified by its client_id, revokes its own tokens too.
async fn public_client_revokes_its_refresh_token(server: &TestServer) {
    run_flow(server, spa(true)).await;
}

fn spa(revoke: bool) -> Rp<'static> {
    Rp {
        id: SPA,
        secret: None,
        redirect_uri: SPA_REDIRECT,
        auth: SPA_AUTH,
        revoke,
    }
}

async fn run_flow(server: &TestServer, rp: Rp<'_>) {
    let fixture = setup(server).await;
    let http = RpHttp::new();

    // Discovery.
    let issuer = IssuerUrl::new(server.base_url.clone()).expect("issuer URL");
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .expect("discovery");
    assert_eq!(metadata.issuer().as_str(), server.base_url);
    assert_eq!(
        metadata.authorization_endpoint().as_str(),
        server.url("/authorize")
    );
    assert_eq!(
        metadata.token_endpoint().map(|u| u.as_str().to_owned()),
        Some(server.url("/token"))
    );
    assert!(
        metadata
            .id_token_signing_alg_values_supported()
            .contains(&CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        "ES256 not advertised"
    );
    assert!(
        !metadata.jwks().keys().is_empty(),
        "discovery fetched an empty JWK set"
    );

    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.id.to_owned()),
        rp.secret.map(|s| ClientSecret::new(s.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(rp.redirect_uri.to_owned()).expect("redirect URL"));

    // Authorization request, through the sign-in page.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = idp_e2e::browser();
    let login = get(&browser, auth_url.as_str()).await;
    login.assert_login_page();
    let answer = sign_in(&browser, &login, PASSWORD).await;
    let redirect = answer.redirect();
    redirect.assert_to_client(server, rp.redirect_uri, state.secret());
    let code = redirect.code();

    // Token request.
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    assert_eq!(
        tokens.token_type(),
        &openidconnect::core::CoreTokenType::Bearer
    );
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("valid ID token");
    assert_eq!(claims.subject().as_str(), fixture.account_id.to_string());
    assert_eq!(claims.issuer().as_str(), server.base_url);
    assert_eq!(
        claims.nonce().map(|n| n.secret().as_str()),
        Some(nonce.secret().as_str())
    );
    assert!(claims.auth_time().is_some(), "no auth_time");
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let alg = id_token.signing_alg().expect("signing alg");
    assert_eq!(alg, &CoreJwsSigningAlgorithm::EcdsaP256Sha256);
    let actual_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        alg,
        id_token.signing_key(&id_verifier).expect("signing key"),
    )
    .expect("at_hash of the access token");
    assert_eq!(&actual_hash, expected_hash, "at_hash mismatch");
    // A wrong nonce is refused by the RP (the check above is a real one).
    assert!(
        id_token
            .claims(&id_verifier, &Nonce::new("not-the-nonce".into()))
            .is_err()
    );

    // Userinfo.
    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .expect("userinfo endpoint")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some(EMAIL));
    assert_eq!(info.email_verified(), Some(true));
    assert_eq!(
        info.preferred_username().map(|u| u.as_str()),
        Some(USERNAME)
    );

    // Refresh: a new access token and a new refresh token.
    let first_refresh = tokens.refresh_token().expect("a refresh token");
    let refreshed = client
        .exchange_refresh_token(first_refresh)
        .expect("token endpoint")
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    let second_refresh = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    if let Some(id) = refreshed.id_token() {
        let again = id
            .claims(&id_verifier, |_: Option<&Nonce>| Ok(()))
            .expect("valid refreshed ID token");
        assert_eq!(again.subject(), claims.subject());
    }
    let info = userinfo(server, refreshed.access_token().secret()).await;
    info.assert_ok();
    assert_eq!(info.json["sub"], fixture.account_id.to_string());

    if !rp.revoke {
        return;
    }
    // Revocation (RFC 7009) of the current refresh token.
    let revoked = revoke(server, rp.auth, second_refresh.secret()).await;
    assert_eq!(revoked.status, reqwest::StatusCode::OK, "{revoked:?}");
    match client
        .exchange_refresh_token(second_refresh)
        .expect("token endpoint")
        .request_async(&http)
        .await
    {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(e.error(), &CoreErrorResponseType::InvalidGrant, "{e:?}")
        }
        other => panic!("a revoked refresh token still works: {other:?}"),
    }
    assert_inactive(&introspect(server, second_refresh.secret()).await);
    // Its family's access token ends with it.
    assert_inactive(&introspect(server, refreshed.access_token().secret()).await);
}
