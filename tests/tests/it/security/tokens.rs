//! Forged and misused access tokens: `alg: none`, HMAC keyed with the published keys (algorithm
//! confusion), relabelled algorithms, wrong `kid`, tampered payloads, and tokens signed with our
//! own keys whose claims are wrong (expired, another issuer or audience, an ID token's `typ`).
//! Every one is refused at /userinfo, /introspect and on every adapter call that takes a Bearer
//! token, while the same claims signed properly are accepted (so each refusal is about the
//! forgery).

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::Context;
use idp_core::model::SigningAlg;
use idp_e2e::{Answer, TestServer, http};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{
    Customer, FINTRACT_PASSWORD, b64, b64_json, fintiv, fintract_customer, part, switch_client,
    switch_post,
};
use crate::oidc_util::{RP_AUTH, assert_invalid_token, client_post, rp_tokens, setup, userinfo};
use crate::races::{FINTIV_PASSWORD, fintiv_tenant, unthrottled};

crate::oidc_both_stores!(tweak = super::unthrottled; forged_tokens_are_refused_everywhere);

/// Signs `claims` with the server's current key for `alg`.
async fn sign(server: &TestServer, alg: SigningAlg, typ: &str, claims: &Value) -> String {
    server
        .running
        .app
        .tokens
        .signer()
        .sign(alg, typ, claims)
        .await
        .expect("sign")
}

/// `claims` with a new `jti` and a fresh lifetime.
fn fresh(claims: &Value) -> Value {
    let now = unix_now();
    let mut c = claims.clone();
    c["jti"] = json!(uuid::Uuid::new_v4().to_string());
    c["iat"] = json!(now);
    c["exp"] = json!(now + 600);
    c
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// HS256 over `header.payload` keyed with `key`.
fn hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input = format!("{}.{}", b64_json(header), b64_json(claims));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// `token` with its header replaced (payload and signature kept).
fn relabel(token: &str, header: &Value) -> String {
    let mut parts = token.splitn(2, '.');
    let _ = parts.next();
    format!("{}.{}", b64_json(header), parts.next().unwrap_or_default())
}

/// Every forgery of `real` (a live access token of this server), by name.
async fn forgeries(server: &TestServer, real: &str) -> Vec<(String, String)> {
    let header = part(real, 0);
    let claims = part(real, 1);
    let pieces: Vec<&str> = real.split('.').collect();
    let mut out: Vec<(String, String)> = Vec::new();

    for alg in ["none", "None", "NONE"] {
        let h = b64_json(&json!({ "alg": alg, "typ": "at+jwt" }));
        out.push((
            format!("alg {alg}, empty signature"),
            format!("{h}.{}.", pieces[1]),
        ));
        out.push((
            format!("alg {alg}, no signature"),
            format!("{h}.{}", pieces[1]),
        ));
    }

    // Algorithm confusion: HMAC keyed with what JWKS publishes.
    let jwks: Value = http()
        .get(server.url("/jwks"))
        .send()
        .await
        .expect("GET /jwks")
        .json()
        .await
        .expect("JWKS");
    let keys = jwks["keys"].as_array().expect("keys").clone();
    assert!(keys.len() >= 2, "{jwks}");
    let decode = |v: &Value| {
        URL_SAFE_NO_PAD
            .decode(v.as_str().unwrap_or_default())
            .unwrap_or_default()
    };
    for k in &keys {
        let kid = k["kid"].as_str().expect("kid");
        let mut materials: Vec<(&str, Vec<u8>)> = vec![
            ("the JWK", serde_json::to_vec(k).expect("JSON")),
            ("n", decode(&k["n"])),
            ("x", decode(&k["x"])),
        ];
        let mut point = vec![4u8];
        point.extend(decode(&k["x"]));
        point.extend(decode(&k["y"]));
        materials.push(("the EC point", point));
        for (what, key) in materials.into_iter().filter(|(_, m)| m.len() > 1) {
            for h in [
                json!({ "alg": "HS256", "typ": "at+jwt", "kid": kid }),
                json!({ "alg": "HS256", "typ": "at+jwt" }),
            ] {
                out.push((
                    format!("HS256 keyed with {what} of {kid}"),
                    hs256(&h, &fresh(&claims), &key),
                ));
            }
        }
    }

    // Another algorithm named over the real signature.
    for alg in ["RS256", "EdDSA", "ES384", "PS256", "HS256"] {
        let mut h = header.clone();
        h["alg"] = json!(alg);
        out.push((format!("real token relabelled {alg}"), relabel(real, &h)));
    }
    // A real RS256 / EdDSA signature relabelled ES256 (its kid kept, or the ES256 kid).
    for alg in [SigningAlg::RS256, SigningAlg::EdDSA] {
        let other = sign(server, alg, "at+jwt", &fresh(&claims)).await;
        let mut h = part(&other, 0);
        h["alg"] = json!("ES256");
        out.push((
            format!("{alg:?} signature labelled ES256"),
            relabel(&other, &h),
        ));
        h["kid"] = header["kid"].clone();
        out.push((
            format!("{alg:?} signature labelled ES256 with the ES256 kid"),
            relabel(&other, &h),
        ));
    }
    // Wrong kid: unknown, or another published key's.
    let mut h = header.clone();
    h["kid"] = json!("no-such-kid");
    out.push(("unknown kid".into(), relabel(real, &h)));
    for k in &keys {
        if k["kid"] != header["kid"] {
            let mut h = header.clone();
            h["kid"] = k["kid"].clone();
            out.push((format!("kid of {}", k["kid"]), relabel(real, &h)));
        }
    }
    // Tampered payload under the real signature.
    for (what, change) in [
        (
            "another subject",
            json!({ "sub": uuid::Uuid::new_v4().to_string() }),
        ),
        ("a later expiry", json!({ "exp": unix_now() + 86_400 })),
        (
            "a wider scope",
            json!({ "scope": "openid profile email phone address offline_access" }),
        ),
    ] {
        let mut c = claims.clone();
        for (k, v) in change.as_object().expect("object") {
            c[k] = v.clone();
        }
        out.push((
            format!("tampered: {what}"),
            format!("{}.{}.{}", pieces[0], b64_json(&c), pieces[2]),
        ));
    }
    // Our own signature over wrong claims.
    let mut expired = fresh(&claims);
    expired["iat"] = json!(unix_now() - 3600);
    expired["exp"] = json!(unix_now() - 60);
    let issuer = claims["iss"].clone();
    let mut wrong_iss = fresh(&claims);
    wrong_iss["iss"] = json!("https://evil.example");
    let mut wrong_aud = fresh(&claims);
    wrong_aud["aud"] = json!("https://other-api.example");
    let mut aud_list_without_us = fresh(&claims);
    aud_list_without_us["aud"] = json!(["https://other-api.example"]);
    let mut no_aud = fresh(&claims);
    no_aud.as_object_mut().expect("object").remove("aud");
    let mut no_exp = fresh(&claims);
    no_exp.as_object_mut().expect("object").remove("exp");
    assert_eq!(
        claims["aud"], issuer,
        "access tokens name the issuer as audience"
    );
    for (what, typ, c) in [
        ("expired", "at+jwt", expired),
        ("another issuer", "at+jwt", wrong_iss),
        ("another audience", "at+jwt", wrong_aud),
        ("an audience list without us", "at+jwt", aud_list_without_us),
        ("no audience", "at+jwt", no_aud),
        ("no expiry", "at+jwt", no_exp),
        ("an ID token's typ", "JWT", fresh(&claims)),
        ("a sign-in step's typ", "idp-mfa+jwt", fresh(&claims)),
    ] {
        out.push((
            format!("our signature, {what}"),
            sign(server, SigningAlg::ES256, typ, &c).await,
        ));
    }
    out
}

/// Where a token is presented, and what a refusal looks like there.
#[derive(Clone, Copy, Debug)]
enum Surface {
    Userinfo,
    Introspect,
    FintractInfo(i64),
    BioEntrustProtected,
    /// Changes the password if the token were accepted: only for forgeries.
    BioEntrustResetPassword,
    /// Ends the session if the token were accepted: the control goes last.
    SwitchLogout,
}

/// Presents `token` at `surface`: `true` when accepted, `false` when refused in the surface's
/// documented way (anything else fails the test).
async fn accepted(server: &TestServer, surface: Surface, token: &str, what: &str) -> bool {
    match surface {
        Surface::Userinfo => {
            let r = userinfo(server, token).await;
            if r.status == StatusCode::OK {
                return true;
            }
            assert_invalid_token(&r);
            false
        }
        Surface::Introspect => {
            let r = client_post(server, "/introspect", RP_AUTH, &[("token", token)]).await;
            r.assert_ok();
            if r.json["active"] == true {
                return true;
            }
            assert_eq!(r.json, json!({ "active": false }), "{what}");
            false
        }
        Surface::FintractInfo(number) => {
            let r = Answer::of(
                http()
                    .get(server.url(&format!("/fintract/auth/info/{number}/")))
                    .bearer_auth(token),
            )
            .await;
            refused_as(
                r,
                json!({ "detail": "Given token not valid for any token type" }),
                what,
            )
        }
        Surface::BioEntrustProtected => {
            let r = Answer::of(
                http()
                    .get(server.url("/bioentrust/user/protected"))
                    .bearer_auth(token),
            )
            .await;
            refused_as(
                r,
                json!({ "status": "error", "message": "Unauthorized" }),
                what,
            )
        }
        Surface::BioEntrustResetPassword => {
            let r = Answer::of(
                http()
                    .post(server.url("/bioentrust/auth/reset-password"))
                    .bearer_auth(token)
                    .json(
                        &json!({ "email": "victim@example.com", "password": "Hijacked-Pass-2099" }),
                    ),
            )
            .await;
            // The documented answer to an invalid access (or reset) token.
            if r.status == StatusCode::OK {
                return true;
            }
            assert_eq!(
                (r.status, &r.json),
                (
                    StatusCode::BAD_REQUEST,
                    &json!({ "error": "Invalid token or password" })
                ),
                "{what}: {r:?}"
            );
            false
        }
        Surface::SwitchLogout => {
            let r = switch_post(server, "/user/logout", "{}", Some(token)).await;
            if r.status == StatusCode::OK {
                return true;
            }
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {r:?}");
            assert!(
                r.json["message"].is_string() && r.json.get("data").is_none(),
                "{what}: {r:?}"
            );
            false
        }
    }
}

/// 200: accepted; else exactly `refusal` with 401.
#[track_caller]
fn refused_as(r: Answer, refusal: Value, what: &str) -> bool {
    if r.status == StatusCode::OK {
        return true;
    }
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::UNAUTHORIZED, &refusal),
        "{what}: {r:?}"
    );
    false
}

/// Every forgery of `real` is refused at each of `surfaces`; the same claims properly signed
/// are accepted there.
async fn check(server: &TestServer, real: &str, surfaces: &[Surface]) {
    let forged = forgeries(server, real).await;
    assert!(forged.len() > 30, "{}", forged.len());
    for surface in surfaces {
        for (what, token) in &forged {
            assert!(
                !accepted(server, *surface, token, what).await,
                "{surface:?} accepted a forgery: {what}"
            );
        }
    }
    for surface in surfaces {
        if matches!(surface, Surface::BioEntrustResetPassword) {
            continue;
        }
        let control = sign(server, SigningAlg::ES256, "at+jwt", &fresh(&part(real, 1))).await;
        assert!(
            accepted(server, *surface, &control, "").await,
            "{surface:?} refused a properly signed token"
        );
    }
}

async fn forged_tokens_are_refused_everywhere(server: &TestServer) {
    setup(server).await;
    switch_client(server).await;
    // The OIDC surface, with a token of its own flow.
    let rp = rp_tokens(server).await.str("access_token");
    check(server, &rp, &[Surface::Userinfo, Surface::Introspect]).await;

    // The default tenant's adapters, with a Fintract customer's token.
    let c: Customer = fintract_customer(server, "victim", "+2348050000001").await;
    check(
        server,
        &c.access,
        &[
            Surface::Introspect,
            Surface::FintractInfo(c.number),
            Surface::BioEntrustProtected,
            Surface::BioEntrustResetPassword,
            Surface::SwitchLogout,
        ],
    )
    .await;
    // The password the forgeries tried to replace still works.
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("tenant");
    idp.authenticate(&Context::system(), tenant.id, &c.email, FINTRACT_PASSWORD)
        .await
        .expect("the password is unchanged");

    // Fintiv, with a token of its own tenant.
    let t = fintiv_tenant(server, "FORGE").await;
    let real = Answer::of(
        http()
            .post(server.url("/fintiv/auth/oauth/token"))
            .header("api-key", &t.key)
            .form(&[
                ("grant_type", "password"),
                ("username", "racer"),
                ("password", FINTIV_PASSWORD),
            ]),
    )
    .await;
    assert_eq!(real.status, StatusCode::OK, "{real:?}");
    let real = real.json["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let myinfo = |token: String| {
        let req = fintiv(server, &t, reqwest::Method::GET, "/auth/api/myinfo", &token);
        async move { Answer::of(req).await }
    };
    for (what, token) in forgeries(server, &real).await {
        let r = myinfo(token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {r:?}");
        assert_eq!(
            r.json["contextResponse"]["statusCode"], "UNAUTHORIZED",
            "{what}: {r:?}"
        );
        assert!(r.json["responseData"].is_null(), "{what}: {r:?}");
    }
    let control = sign(server, SigningAlg::ES256, "at+jwt", &fresh(&part(&real, 1))).await;
    let r = myinfo(control).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}
