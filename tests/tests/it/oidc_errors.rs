//! What the server refuses, each with the error code its RFC names: bad authorization requests
//! (RFC 6749 §4.1.2.1, RFC 7636), bad grants at /token (RFC 6749 §5.2), replayed codes and
//! refresh tokens, revoked and forged access tokens (RFC 6750, RFC 7662), client authentication.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_e2e::{TestServer, browser};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::oidc_util::*;

crate::oidc_both_stores!(
    unknown_client_is_an_error_page,
    wrong_redirect_uri_is_an_error_page,
    public_client_without_pkce_is_invalid_request,
    plain_pkce_is_invalid_request,
    pkce_verifier_mismatch_is_invalid_grant,
    reused_code_is_invalid_grant_and_revokes_its_tokens,
    code_of_another_client_is_invalid_grant,
    tokens_of_another_client,
    bad_authorization_parameters,
    bad_token_requests,
    reused_refresh_token_revokes_the_family,
    revoked_access_token_is_inactive,
    forged_access_tokens_are_refused,
    wrong_client_secret_is_invalid_client,
    client_credentials_grant,
    token_redirect_uri_must_match,
    redirect_uri_left_out_of_both_requests,
);

crate::oidc_both_stores!(
    tweak = |c: &mut idp_config::Config| c.tokens.code_ttl_secs = 1;
    expired_code_is_invalid_grant,
);

crate::oidc_both_stores!(
    tweak = |c: &mut idp_config::Config| c.http.body_limit = 2048;
    oversized_form_bodies_are_413,
);

async fn unknown_client_is_an_error_page(server: &TestServer) {
    setup(server).await;
    let b = browser();
    for params in [
        vec![
            ("response_type", "code"),
            ("client_id", "no-such-client"),
            ("redirect_uri", RP_REDIRECT),
            ("scope", "openid"),
            ("state", "s1"),
        ],
        // No client_id at all.
        vec![
            ("response_type", "code"),
            ("redirect_uri", RP_REDIRECT),
            ("scope", "openid"),
        ],
    ] {
        let page = get(&b, &authorize_url(server, &params)).await;
        page.assert_error_page(StatusCode::BAD_REQUEST);
    }
}

async fn wrong_redirect_uri_is_an_error_page(server: &TestServer) {
    setup(server).await;
    let b = browser();
    for redirect in [
        "https://evil.example/callback",
        "https://rp.example/callback/extra",
        "https://rp.example/callback?x=1",
        "https://RP.example/callback#frag",
        SPA_REDIRECT,
    ] {
        let mut req = AuthRequest::new(RP, redirect);
        let k = pkce();
        req.pkce = Some(&k);
        let page = get(&b, &req.url(server)).await;
        page.assert_error_page(StatusCode::BAD_REQUEST);
    }
    // RP registered two URIs, so it must say which.
    let page = get(
        &b,
        &authorize_url(
            server,
            &[
                ("response_type", "code"),
                ("client_id", RP),
                ("scope", "openid"),
            ],
        ),
    )
    .await;
    page.assert_error_page(StatusCode::BAD_REQUEST);
}

async fn public_client_without_pkce_is_invalid_request(server: &TestServer) {
    setup(server).await;
    let req = AuthRequest::new(SPA, SPA_REDIRECT);
    let r = get(&browser(), &req.url(server)).await.redirect();
    r.assert_to_client(server, SPA_REDIRECT, &req.state);
    r.assert_error("invalid_request");
}

async fn plain_pkce_is_invalid_request(server: &TestServer) {
    setup(server).await;
    let b = browser();
    for (client, redirect) in [(SPA, SPA_REDIRECT), (RP, RP_REDIRECT)] {
        let req = AuthRequest::new(client, redirect);
        let url = format!(
            "{}&code_challenge=plain-challenge-0123456789012345678901234567890&code_challenge_method=plain",
            req.url(server)
        );
        let r = get(&b, &url).await.redirect();
        r.assert_to_client(server, redirect, &req.state);
        r.assert_error("invalid_request");
    }
}

async fn pkce_verifier_mismatch_is_invalid_grant(server: &TestServer) {
    setup(server).await;
    let b = browser();
    for (client, redirect, auth) in [(SPA, SPA_REDIRECT, SPA_AUTH), (RP, RP_REDIRECT, RP_AUTH)] {
        let k = pkce();
        let wrong = pkce();
        let mut req = AuthRequest::new(client, redirect);
        req.pkce = Some(&k);
        let code = req.code(server, &b).await;
        exchange(server, auth, &code, redirect, Some(&wrong.verifier))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

        // Without any verifier.
        let code = req.code(server, &b).await;
        exchange(server, auth, &code, redirect, None)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

async fn reused_code_is_invalid_grant_and_revokes_its_tokens(server: &TestServer) {
    setup(server).await;
    let k = pkce();
    let mut req = AuthRequest::new(RP, RP_REDIRECT);
    req.pkce = Some(&k);
    let code = req.code(server, &browser()).await;
    let first = exchange(server, RP_AUTH, &code, RP_REDIRECT, Some(&k.verifier)).await;
    first.assert_ok();
    let access = first.str("access_token");
    let refresh_token = first.str("refresh_token");
    assert_eq!(introspect(server, &access).await["active"], true);

    exchange(server, RP_AUTH, &code, RP_REDIRECT, Some(&k.verifier))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    assert_inactive(&introspect(server, &access).await);
    assert_invalid_token(&userinfo(server, &access).await);
    refresh(server, RP_AUTH, &refresh_token)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_inactive(&introspect(server, &refresh_token).await);
}

async fn code_of_another_client_is_invalid_grant(server: &TestServer) {
    setup(server).await;
    let k = pkce();
    let mut req = AuthRequest::new(RP, RP_REDIRECT);
    req.pkce = Some(&k);
    let code = req.code(server, &browser()).await;
    // OTHER registered the same redirect URI and holds the verifier: still not its code.
    exchange(
        server,
        ClientAuth::Basic(OTHER, OTHER_SECRET),
        &code,
        RP_REDIRECT,
        Some(&k.verifier),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // A public client presenting it fares no better.
    let code = req.code(server, &browser()).await;
    exchange(server, SPA_AUTH, &code, RP_REDIRECT, Some(&k.verifier))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

async fn expired_code_is_invalid_grant(server: &TestServer) {
    setup(server).await;
    let k = pkce();
    let mut req = AuthRequest::new(RP, RP_REDIRECT);
    req.pkce = Some(&k);
    let code = req.code(server, &browser()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    exchange(server, RP_AUTH, &code, RP_REDIRECT, Some(&k.verifier))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

async fn reused_refresh_token_revokes_the_family(server: &TestServer) {
    setup(server).await;
    let first = rp_tokens(server).await;
    let (at1, rt1) = (first.str("access_token"), first.str("refresh_token"));

    let second = refresh(server, RP_AUTH, &rt1).await;
    second.assert_ok();
    let (at2, rt2) = (second.str("access_token"), second.str("refresh_token"));
    assert_ne!(rt1, rt2);
    assert_eq!(introspect(server, &at2).await["active"], true);
    assert_eq!(introspect(server, &rt2).await["active"], true);
    assert_inactive(&introspect(server, &rt1).await);

    // The spent token again: refused, and the whole grant with it.
    refresh(server, RP_AUTH, &rt1)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    refresh(server, RP_AUTH, &rt2)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_inactive(&introspect(server, &rt2).await);
    assert_inactive(&introspect(server, &at2).await);
    assert_inactive(&introspect(server, &at1).await);
    assert_invalid_token(&userinfo(server, &at2).await);
}

async fn revoked_access_token_is_inactive(server: &TestServer) {
    let fixture = setup(server).await;
    let tokens = rp_tokens(server).await;
    let access = tokens.str("access_token");

    let active = introspect(server, &access).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["client_id"], RP, "{active}");
    assert_eq!(active["sub"], fixture.account_id.to_string(), "{active}");
    assert_eq!(active["username"], USERNAME, "{active}");
    assert_eq!(active["iss"], server.base_url, "{active}");
    userinfo(server, &access).await.assert_ok();

    let r = revoke(server, RP_AUTH, &access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_inactive(&introspect(server, &access).await);
    assert_invalid_token(&userinfo(server, &access).await);
    // Revoking again, or revoking garbage, is still 200 (RFC 7009 §2.2).
    assert_eq!(
        revoke(server, RP_AUTH, &access).await.status,
        StatusCode::OK
    );
    assert_eq!(
        revoke(server, RP_AUTH, "not-a-token").await.status,
        StatusCode::OK
    );
    // Without a token, or with no token at all, userinfo says invalid_token as well.
    assert_invalid_token(&userinfo(server, "not-a-token").await);
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("JSON"))
}

/// ES256 over `header.payload` with a key nobody published.
fn sign_with_unknown_key(header: &Value, claims: &Value) -> String {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key");
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = key
        .sign(&SystemRandom::new(), input.as_bytes())
        .expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

async fn forged_access_tokens_are_refused(server: &TestServer) {
    setup(server).await;
    let tokens = rp_tokens(server).await;
    let real = tokens.str("access_token");
    let parts: Vec<&str> = real.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {real}");
    let real_header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("JSON");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("JSON");
    assert_eq!(real_header["alg"], "ES256", "{real_header}");
    assert_eq!(real_header["typ"], "at+jwt", "{real_header}");

    let none_header = b64(&json!({ "alg": "none", "typ": "at+jwt" }));
    let mut fresh_claims = claims.clone();
    fresh_claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
    let mut wider = claims.clone();
    wider["scope"] = json!("openid profile email phone address");
    let forged = [
        (
            "alg none, empty signature",
            format!("{none_header}.{}.", parts[1]),
        ),
        (
            "alg none, no signature part",
            format!("{none_header}.{}", parts[1]),
        ),
        (
            "unknown key, made-up kid",
            sign_with_unknown_key(
                &json!({ "alg": "ES256", "typ": "at+jwt", "kid": "made-up-kid" }),
                &fresh_claims,
            ),
        ),
        (
            "unknown key, the real kid",
            sign_with_unknown_key(&real_header, &fresh_claims),
        ),
        (
            "real signature, altered claims",
            format!("{}.{}.{}", parts[0], b64(&wider), parts[2]),
        ),
    ];
    for (what, token) in &forged {
        let r = userinfo(server, token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {r:?}");
        assert_invalid_token(&r);
        let i = introspect(server, token).await;
        assert_eq!(i, json!({ "active": false }), "{what}: {i}");
    }
    // The real one still works: the refusals above were about the forgeries.
    userinfo(server, &real).await.assert_ok();
}

async fn wrong_client_secret_is_invalid_client(server: &TestServer) {
    setup(server).await;
    let cc = [("grant_type", "client_credentials")];
    let ac = [
        ("grant_type", "authorization_code"),
        ("code", "whatever"),
        ("redirect_uri", RP_REDIRECT),
    ];
    for form in [&cc[..], &ac[..]] {
        // client_secret_basic: 401 with a Basic challenge (RFC 6749 §5.2).
        for auth in [
            ClientAuth::Basic(RP, "wrong-secret-0123456789"),
            ClientAuth::Basic("no-such-client", RP_SECRET),
            ClientAuth::Basic(SPA, "a-secret-the-public-client-has-not"),
        ] {
            let r = token(server, auth, form).await;
            r.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
            let challenge = r.www_authenticate().unwrap_or_default();
            assert!(challenge.starts_with("Basic"), "{auth:?}: {r:?}");
        }
        // client_secret_post.
        for auth in [
            ClientAuth::Post(RP, "wrong-secret-0123456789"),
            ClientAuth::Post("no-such-client", RP_SECRET),
            // A confidential client that presents no secret.
            ClientAuth::Public(RP),
        ] {
            token(server, auth, form)
                .await
                .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
        }
    }
    // A public client may not introspect (RFC 7662 §2.1 wants an authorized caller).
    client_post(server, "/introspect", SPA_AUTH, &[("token", "x")])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    // /introspect and /revoke authenticate the same way.
    for path in ["/introspect", "/revoke"] {
        let r = client_post(
            server,
            path,
            ClientAuth::Basic(RP, "wrong-secret-0123456789"),
            &[("token", "x")],
        )
        .await;
        r.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(
            r.www_authenticate().is_some_and(|c| c.starts_with("Basic")),
            "{path}: {r:?}"
        );
    }
}

async fn client_credentials_grant(server: &TestServer) {
    setup(server).await;
    let svc = ClientAuth::Basic(SVC, SVC_SECRET);
    let r = token(server, svc, &[("grant_type", "client_credentials")]).await;
    r.assert_ok();
    assert_eq!(r.json["token_type"], "Bearer", "{r:?}");
    assert_eq!(r.json["scope"], "api.read api.write", "{r:?}");
    assert!(r.json.get("refresh_token").is_none(), "{r:?}");
    assert!(r.json.get("id_token").is_none(), "{r:?}");
    assert_eq!(r.header(reqwest::header::CACHE_CONTROL), Some("no-store"));
    let access = r.str("access_token");
    let i = introspect(server, &access).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], SVC, "{i}");
    assert_eq!(i["sub"], SVC, "{i}");
    // No user behind it: nothing for userinfo.
    assert_eq!(
        userinfo(server, &access).await.status,
        StatusCode::UNAUTHORIZED
    );

    // client_secret_post and a narrower scope.
    let r = token(
        server,
        ClientAuth::Post(SVC, SVC_SECRET),
        &[("grant_type", "client_credentials"), ("scope", "api.read")],
    )
    .await;
    r.assert_ok();
    assert_eq!(r.json["scope"], "api.read", "{r:?}");
    // Scopes it was not given, or that need a user.
    for scope in ["admin", "openid"] {
        token(
            server,
            svc,
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    // RP lacks the grant; SVC lacks the others.
    token(server, RP_AUTH, &[("grant_type", "client_credentials")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    token(
        server,
        svc,
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    token(server, svc, &[("grant_type", "password")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");

    // A secret with characters that RFC 6749 §2.3.1 has form-encoded before base64.
    let odd = "p@ss:w+rd%20/é & more-0123456789";
    let ctx = idp_core::Context::system();
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("tenant");
    idp.create_client(
        &ctx,
        tenant.id,
        idp_core::ops::NewClient {
            id: "svc.odd-secret".into(),
            secret: Some(odd.into()),
            grants: vec![idp_core::model::GrantType::ClientCredentials],
            scopes: vec!["api.read".into()],
            ..Default::default()
        },
    )
    .await
    .expect("create client");
    for auth in [
        ClientAuth::Basic("svc.odd-secret", odd),
        ClientAuth::Post("svc.odd-secret", odd),
    ] {
        let r = token(server, auth, &[("grant_type", "client_credentials")]).await;
        r.assert_ok();
        assert_eq!(r.json["scope"], "api.read", "{auth:?}: {r:?}");
    }
}

async fn token_redirect_uri_must_match(server: &TestServer) {
    setup(server).await;
    let b = browser();
    let k = pkce();
    let req = AuthRequest {
        pkce: Some(&k),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    // Another URI RP registered, or none at all although the request named one.
    for redirect in [Some(RP_LOGGED_OUT), None] {
        let code = req.code(server, &b).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        form.push(("code_verifier", k.verifier.as_str()));
        if let Some(r) = redirect {
            form.push(("redirect_uri", r));
        }
        token(server, RP_AUTH, &form)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

/// RFC 6749 §4.1.1 lets a client with one registered redirect URI leave it out of the
/// authorization request; §4.1.3 then does not ask for it at the token endpoint.
async fn redirect_uri_left_out_of_both_requests(server: &TestServer) {
    setup(server).await;
    let k = pkce();
    let url = authorize_url(
        server,
        &[
            ("response_type", "code"),
            ("client_id", SPA),
            ("scope", "profile email"),
            ("state", "st-no-redirect"),
            ("code_challenge", &k.challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let b = browser();
    let page = get(&b, &url).await;
    let r = sign_in(&b, &page, PASSWORD).await.redirect();
    r.assert_to_client(server, SPA_REDIRECT, "st-no-redirect");
    let r = token(
        server,
        SPA_AUTH,
        &[
            ("grant_type", "authorization_code"),
            ("code", &r.code()),
            ("code_verifier", &k.verifier),
        ],
    )
    .await;
    r.assert_ok();
}

async fn tokens_of_another_client(server: &TestServer) {
    setup(server).await;
    let other = ClientAuth::Basic(OTHER, OTHER_SECRET);
    let tokens = rp_tokens(server).await;
    let (access, rt) = (tokens.str("access_token"), tokens.str("refresh_token"));
    // Another client cannot refresh RP's grant...
    refresh(server, other, &rt)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // ...nor revoke RP's tokens: the request is answered 200 and ignored (RFC 7009 §2.1).
    for t in [&access, &rt] {
        assert_eq!(revoke(server, other, t).await.status, StatusCode::OK);
    }
    assert_eq!(introspect(server, &access).await["active"], true);
    // And RP's refresh token still works after all that.
    refresh(server, RP_AUTH, &rt).await.assert_ok();
}

async fn bad_authorization_parameters(server: &TestServer) {
    setup(server).await;
    let b = browser();
    let k = pkce();
    let base = AuthRequest {
        pkce: Some(&k),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    for (extra, error) in [
        ("&prompt=none%20login", "invalid_request"),
        ("&prompt=sometimes", "invalid_request"),
        ("&max_age=-1", "invalid_request"),
        ("&max_age=soon", "invalid_request"),
    ] {
        let r = get(&b, &format!("{}{extra}", base.url(server)))
            .await
            .redirect();
        r.assert_to_client(server, RP_REDIRECT, &base.state);
        r.assert_error(error);
    }
    let url = |response_type: &str, scope: &str| {
        authorize_url(
            server,
            &[
                ("response_type", response_type),
                ("client_id", RP),
                ("redirect_uri", RP_REDIRECT),
                ("scope", scope),
                ("state", "st-x"),
                ("code_challenge", &k.challenge),
                ("code_challenge_method", "S256"),
            ],
        )
    };
    for (url, error) in [
        (url("token", "openid"), "unsupported_response_type"),
        (url("id_token", "openid"), "unsupported_response_type"),
        (url("", "openid"), "unsupported_response_type"),
        (url("code", "openid admin"), "invalid_scope"),
        (url("code", "openid address"), "invalid_scope"),
    ] {
        let r = get(&b, &url).await.redirect();
        r.assert_to_client(server, RP_REDIRECT, "st-x");
        r.assert_error(error);
    }
}

async fn bad_token_requests(server: &TestServer) {
    setup(server).await;
    token(server, RP_AUTH, &[("code", "x")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    token(server, RP_AUTH, &[("grant_type", "urn:example:nope")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    token(
        server,
        RP_AUTH,
        &[
            ("grant_type", "authorization_code"),
            ("redirect_uri", RP_REDIRECT),
        ],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    exchange(server, RP_AUTH, "no-such-code", RP_REDIRECT, None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    refresh(server, RP_AUTH, "no-such-refresh-token")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Narrowing the scope on refresh is allowed; widening it is invalid_scope.
    let tokens = rp_tokens(server).await;
    let rt = tokens.str("refresh_token");
    token(
        server,
        RP_AUTH,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "openid phone"),
        ],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
    let narrowed = token(
        server,
        RP_AUTH,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "openid"),
        ],
    )
    .await;
    narrowed.assert_ok();
    assert_eq!(narrowed.json["scope"], "openid", "{narrowed:?}");
    // Both use one client authentication method, not two.
    let r = client_post(
        server,
        "/token",
        RP_AUTH,
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", RP_SECRET),
        ],
    )
    .await;
    assert!(
        matches!(
            r.json["error"].as_str(),
            Some("invalid_request" | "invalid_client")
        ),
        "{r:?}"
    );
}

/// A form body over `http.body_limit` is 413 Payload Too Large, as on every other route, not a
/// protocol error: the client did nothing wrong in OAuth terms, its request was just too big.
async fn oversized_form_bodies_are_413(server: &TestServer) {
    let big = vec![b'x'; 16 * 1024];
    for path in ["/token", "/introspect", "/revoke", "/authorize", "/logout"] {
        let res = idp_e2e::http()
            .post(server.url(path))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(big.clone())
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "POST {path}");
    }
}
