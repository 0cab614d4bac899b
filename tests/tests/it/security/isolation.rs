//! Isolation: an admin of one tenant cannot reach another tenant's persons, roles, locks or
//! audit; an account without the entitlement cannot use the admin API; a customer cannot read
//! or change another customer by id. Each refusal leaves the victim exactly as it was.

use idp_core::Context;
use idp_core::model::AccountStatus;
use idp_e2e::{Answer, TestServer, http};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Customer, fintiv, fintract_customer};
use crate::races::{FINTIV_PASSWORD, FintivTenant, fintiv_tenant, unthrottled};

crate::oidc_both_stores!(
    tweak = super::unthrottled;
    other_tenants_and_plain_accounts_are_refused,
    customers_cannot_touch_each_other,
);

/// What an attacker could change about an account, to compare before and after.
async fn snapshot(server: &TestServer, id: Uuid) -> Value {
    let idp = &server.running.app.idp;
    let a = idp.account(id).await.expect("victim still exists");
    let mut roles: Vec<String> = idp
        .account_roles(&Context::system(), id)
        .await
        .expect("roles")
        .into_iter()
        .map(|r| r.role.name)
        .collect();
    roles.sort();
    json!({
        "status": format!("{:?}", a.status),
        "username": a.username,
        "email": a.email,
        "phone": a.phone,
        "profile": format!("{:?}", a.profile),
        "updated_at": a.updated_at.to_rfc3339(),
        "roles": roles,
    })
}

/// `method path` with `body` as `caller` (token) through tenant `t`'s api-key.
async fn call(
    server: &TestServer,
    t: &FintivTenant,
    caller: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let mut req = fintiv(server, t, method, path, caller);
    if let Some(b) = body {
        req = req.json(&b);
    }
    Answer::of(req).await
}

#[track_caller]
fn refused(r: &Answer, status: StatusCode, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {r:?}");
    assert_eq!(
        r.json["contextResponse"]["statusCode"], code,
        "{what}: {r:?}"
    );
    assert!(r.json["responseData"].is_null(), "{what}: {r:?}");
}

/// Every admin call on one person, by id.
fn person_calls(victim: &str) -> Vec<(Method, String, Option<Value>)> {
    let p = format!("/auth/admin/client/person/{victim}");
    let role = json!({ "uuid": victim, "roleName": "SHOPPER" });
    let answer = json!({ "answer": "x", "securityQuestionId": 1 });
    vec![
        (Method::GET, p.clone(), None),
        (
            Method::PUT,
            p.clone(),
            Some(
                json!({ "firstName": "Mallory", "lastName": "M", "personType": "SUBSCRIBER", "username": "mallory" }),
            ),
        ),
        (Method::POST, format!("{p}/lock"), Some(Value::Null)),
        (Method::POST, format!("{p}/unlock"), Some(Value::Null)),
        (Method::PUT, format!("{p}/status"), Some(json!("DISABLED"))),
        (
            Method::POST,
            format!("{p}/resetPassword"),
            Some(answer.clone()),
        ),
        (Method::PUT, format!("{p}/resetPin"), Some(answer)),
        (
            Method::GET,
            "/auth/admin/client/person/role".into(),
            Some(role.clone()),
        ),
        (
            Method::POST,
            "/auth/admin/client/person/role".into(),
            Some(role.clone()),
        ),
        (
            Method::DELETE,
            "/auth/admin/client/person/role".into(),
            Some(json!({ "uuid": victim, "roleName": "CONSUMER" })),
        ),
        (
            Method::GET,
            format!("/auth/admin/client/person/audit/{victim}"),
            None,
        ),
        (Method::DELETE, p, None),
    ]
}

async fn other_tenants_and_plain_accounts_are_refused(server: &TestServer) {
    let a = fintiv_tenant(server, "ALPHA").await;
    let b = fintiv_tenant(server, "BRAVO").await;
    let victim: Uuid = a.consumer_id.parse().expect("uuid");
    // A's admin leaves a trail in the victim's audit (an audit record id to probe for).
    let r = call(
        server,
        &a,
        &a.admin_token,
        Method::POST,
        &format!("/auth/admin/client/person/{victim}/lock"),
        Some(Value::Null),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = call(
        server,
        &a,
        &a.admin_token,
        Method::POST,
        &format!("/auth/admin/client/person/{victim}/unlock"),
        Some(Value::Null),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = call(
        server,
        &a,
        &a.admin_token,
        Method::GET,
        &format!("/auth/admin/client/person/audit/{victim}"),
        None,
    )
    .await;
    let audit_id = r.json["responseData"][0]["id"].clone();
    assert!(audit_id.is_i64() || audit_id.is_string(), "{r:?}");
    let before = snapshot(server, victim).await;

    // B's admin through B's api-key: A's person does not exist for it.
    let mut calls = person_calls(&a.consumer_id);
    calls.push((
        Method::GET,
        format!("/auth/admin/client/person/audit/{victim}/{audit_id}"),
        None,
    ));
    calls.push((Method::GET, "/auth/admin/client/ALPHA".into(), None));
    for (method, path, body) in &calls {
        let r = call(
            server,
            &b,
            &b.admin_token,
            method.clone(),
            path,
            body.clone(),
        )
        .await;
        refused(
            &r,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("B's admin: {method} {path}"),
        );
    }
    // B's admin token presented through A's api-key: not a token of that tenant.
    for (method, path, body) in &calls {
        let r = call(
            server,
            &a,
            &b.admin_token,
            method.clone(),
            path,
            body.clone(),
        )
        .await;
        refused(
            &r,
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            &format!("B's token, A's key: {method} {path}"),
        );
    }
    // A plain account of A (no admin entitlement) on another person of its own tenant.
    let plain = Answer::of(
        http()
            .post(server.url("/fintiv/auth/oauth/token"))
            .header("api-key", &a.key)
            .form(&[
                ("grant_type", "password"),
                ("username", "racer"),
                ("password", FINTIV_PASSWORD),
            ]),
    )
    .await;
    let plain = plain.json["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let admin_id = server
        .running
        .app
        .idp
        .find_account(
            server
                .running
                .app
                .idp
                .tenant("ALPHA")
                .await
                .expect("tenant")
                .id,
            idp_core::model::AccountKey::Username("alphaadmin".into()),
        )
        .await
        .expect("lookup")
        .expect("admin");
    let admin_before = snapshot(server, admin_id.id).await;
    for (method, path, body) in person_calls(&admin_id.id.to_string()) {
        let r = call(server, &a, &plain, method.clone(), &path, body).await;
        refused(
            &r,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            &format!("plain account: {method} {path}"),
        );
    }
    for (method, path, body) in [
        (Method::GET, "/auth/admin/client/person", None),
        (
            Method::POST,
            "/auth/admin/client/person",
            Some(
                json!({"firstName": "A", "lastName": "B", "password": FINTIV_PASSWORD, "personType": "SUBSCRIBER", "username": "sneaky"}),
            ),
        ),
        (Method::GET, "/auth/admin/client/role", None),
        (
            Method::POST,
            "/auth/admin/client/role",
            Some(json!({"name": "SNEAKY", "clientRoleEntitlements": []})),
        ),
        (Method::GET, "/auth/admin/client/ALPHA", None),
    ] {
        let r = call(server, &a, &plain, method.clone(), path, body).await;
        refused(
            &r,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            &format!("plain account: {method} {path}"),
        );
    }

    // Nobody changed: the victim, the admin the plain account went for, and nothing was made.
    assert_eq!(snapshot(server, victim).await, before);
    assert_eq!(snapshot(server, admin_id.id).await, admin_before);
    let idp = &server.running.app.idp;
    let alpha = idp.tenant("ALPHA").await.expect("tenant");
    assert!(
        idp.find_account(
            alpha.id,
            idp_core::model::AccountKey::Username("sneaky".into())
        )
        .await
        .expect("lookup")
        .is_none()
    );
    assert_eq!(
        idp.account(victim).await.expect("victim").status,
        AccountStatus::Active
    );
}

async fn customers_cannot_touch_each_other(server: &TestServer) {
    let alice: Customer = fintract_customer(server, "alice", "+2348070000001").await;
    let bob: Customer = fintract_customer(server, "bobby", "+2348070000002").await;
    let before = snapshot(server, bob.id).await;
    let forbidden = json!({ "detail": "You do not have permission to perform this action." });
    let as_alice = |method: Method, path: String| {
        http()
            .request(method, server.url(&format!("/fintract{path}")))
            .bearer_auth(&alice.access)
    };
    let n = bob.number;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    let boundary = "----security-boundary";
    let mut multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    multipart.extend(png);
    multipart.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let attempts = [
        ("read", as_alice(Method::GET, format!("/auth/info/{n}/"))),
        (
            "update",
            as_alice(Method::PATCH, format!("/auth/update/usr/{n}/"))
                .json(&json!({ "name": "Mallory", "email": "mallory@example.com" })),
        ),
        (
            "avatar",
            as_alice(Method::POST, format!("/auth/avatar/{n}/"))
                .header(
                    reqwest::header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(multipart),
        ),
    ];
    for (what, req) in attempts {
        let r = Answer::of(req).await;
        assert_eq!(
            (r.status, &r.json),
            (StatusCode::FORBIDDEN, &forbidden),
            "{what}: {r:?}"
        );
        assert!(!r.text.contains(&bob.email), "{what}: {r:?}");
    }
    assert_eq!(snapshot(server, bob.id).await, before, "bob is unchanged");
    // Alice's own record is hers to read: the refusals were about the other id.
    let r = Answer::of(as_alice(
        Method::GET,
        format!("/auth/info/{}/", alice.number),
    ))
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}
