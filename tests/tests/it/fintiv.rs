//! The Fintiv-style tenant/admin surface (`/fintiv/...`, specs/fintiv-auth.txt): every endpoint
//! with the documented shapes and envelope, tenant isolation, entitlement checks, and the
//! natural failures answered in the envelope.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idp_core::Context;
use idp_core::authz::entitlements;
use idp_core::model::GrantType;
use idp_core::ops::{NewClient, Registration, TenantUpdate};
use idp_e2e::{TestServer, http};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_stores;

both_stores!(
    walk_every_endpoint,
    tenant_isolation,
    entitlement_checks,
    natural_failures,
    validate_pin_counts_toward_lockout,
);

const PREFIX: &str = "/fintiv";
const PASSWORD: &str = "Test1234!";
const QUESTION: &str = "What was the make and model of your first car?";

/// One tenant as the tests set it up through the core: its app key, its question, an admin
/// (every entitlement) and a consumer (default role, none).
struct Tenant {
    name: String,
    key: String,
    question_id: i64,
    admin: String,
    consumer: String,
    consumer_id: String,
}

/// A Fintiv program as both this module and the race and security tests set it up: the tenant
/// ("`name` program"), an ADMIN role with every entitlement, CONSUMER as the default role, and
/// the api-key client `<name>-app` (password and refresh grants). Returns the tenant and the key.
pub async fn program(server: &TestServer, name: &str) -> (idp_core::model::Tenant, String) {
    let idp = &server.running.app.idp;
    let sys = Context::system();
    let t = idp
        .create_tenant(&sys, name, Some(&format!("{name} program")))
        .await
        .expect("tenant");
    let all: Vec<String> = entitlements::ALL.iter().map(|e| e.to_string()).collect();
    idp.create_role(&sys, t.id, "ADMIN", Some("Admin role"), &all)
        .await
        .expect("admin role");
    idp.create_role(&sys, t.id, "CONSUMER", Some("Consumer role"), &[])
        .await
        .expect("consumer role");
    idp.update_tenant(
        &sys,
        t.id,
        TenantUpdate {
            default_role: Some(Some("CONSUMER".into())),
            ..TenantUpdate::default()
        },
    )
    .await
    .expect("default role");
    let key = format!("{}-app", name.to_lowercase());
    idp.create_client(
        &sys,
        t.id,
        NewClient {
            id: key.clone(),
            grants: vec![GrantType::Password, GrantType::RefreshToken],
            ..NewClient::default()
        },
    )
    .await
    .expect("app client");
    (t, key)
}

async fn tenant(server: &TestServer, name: &str) -> Tenant {
    let idp = &server.running.app.idp;
    let sys = Context::system();
    let (t, key) = program(server, name).await;
    let q = idp
        .create_question(&sys, t.id, QUESTION)
        .await
        .expect("question");
    let admin = format!("{}admin", name.to_lowercase());
    idp.register(
        &sys,
        t.id,
        Registration {
            username: admin.clone(),
            email: Some(format!("{admin}@example.com")),
            password: Some(PASSWORD.into()),
            roles: vec!["ADMIN".into()],
            ..Registration::default()
        },
    )
    .await
    .expect("admin");
    let consumer = format!("{}user", name.to_lowercase());
    let c = idp
        .register(
            &sys,
            t.id,
            Registration {
                username: consumer.clone(),
                email: Some(format!("{consumer}@example.com")),
                password: Some(PASSWORD.into()),
                ..Registration::default()
            },
        )
        .await
        .expect("consumer");
    Tenant {
        name: name.into(),
        key,
        question_id: q.id,
        admin,
        consumer,
        consumer_id: c.id.to_string(),
    }
}

struct Reply {
    status: StatusCode,
    body: Value,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Reply {
    /// SUCCESS in the envelope; the responseData.
    #[track_caller]
    fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        assert_eq!(
            self.body["contextResponse"]["statusCode"], "SUCCESS",
            "{self:?}"
        );
        &self.body["responseData"]
    }

    /// An error in the envelope with this HTTP status and statusCode.
    #[track_caller]
    fn fails(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        let ctx = &self.body["contextResponse"];
        assert_eq!(ctx["statusCode"], code, "{self:?}");
        for k in [
            "tenantName",
            "statusMessage",
            "additionalStatusCode",
            "additionalStatusMessage",
        ] {
            assert!(ctx.get(k).is_some(), "{k} missing: {self:?}");
        }
        assert!(self.body["responseData"].is_null(), "{self:?}");
    }
}

/// A request to the surface. `tenant_header` None: no tenantName header.
struct Call<'a> {
    server: &'a TestServer,
    key: Option<&'a str>,
    tenant: Option<&'a str>,
    bearer: Option<&'a str>,
}

impl<'a> Call<'a> {
    fn new(server: &'a TestServer, t: &'a Tenant, bearer: Option<&'a str>) -> Self {
        Self {
            server,
            key: Some(&t.key),
            tenant: Some(&t.name),
            bearer,
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = http().request(method, self.server.url(&format!("{PREFIX}{path}")));
        if let Some(k) = self.key {
            req = req.header("api-key", k);
        }
        if let Some(t) = self.tenant {
            req = req.header("tenantName", t);
        }
        if let Some(b) = self.bearer {
            req = req.bearer_auth(b);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }
    async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(body)).await
    }
    async fn delete(&self, path: &str, body: Option<Value>) -> Reply {
        self.send(Method::DELETE, path, body).await
    }
}

async fn read(req: reqwest::RequestBuilder) -> Reply {
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text}: {e}"));
    Reply { status, body }
}

/// Password grant with the api-key header; the access and refresh tokens.
async fn sign_in(server: &TestServer, t: &Tenant, username: &str, password: &str) -> Reply {
    read(
        http()
            .post(server.url(&format!("{PREFIX}/auth/oauth/token")))
            .header("api-key", &t.key)
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ]),
    )
    .await
}

#[track_caller]
fn tokens(r: &Reply) -> (String, String) {
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["token_type"], "bearer", "{r:?}");
    assert!(r.body["expires_in"].as_i64().unwrap_or(0) > 0, "{r:?}");
    assert_eq!(r.body["contextResponse"]["statusCode"], "SUCCESS", "{r:?}");
    (
        r.body["access_token"].as_str().expect("access").to_owned(),
        r.body["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned(),
    )
}

async fn token_of(server: &TestServer, t: &Tenant, username: &str) -> String {
    tokens(&sign_in(server, t, username, PASSWORD).await).0
}

/// The temporary credential in the last message to `to`.
fn temporary(server: &TestServer, to: &str) -> String {
    let body = server.last_message_to(to).body;
    let rest = body.split("credential is ").nth(1).expect("credential");
    rest.split(". Change").next().expect("end").to_owned()
}

async fn walk_every_endpoint(server: &TestServer) {
    let t = tenant(server, "JANUS").await;
    // Sign-in and refresh.
    let (admin_token, refresh) = tokens(&sign_in(server, &t, &t.admin, PASSWORD).await);
    let r = read(
        http()
            .post(server.url(&format!("{PREFIX}/auth/oauth/token")))
            .header("api-key", &t.key)
            .header("tenantName", &t.name)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ]),
    )
    .await;
    let (admin_token2, _) = tokens(&r);
    let admin = Call::new(server, &t, Some(&admin_token2));
    let _ = admin_token;

    // MyInfo.
    let (user_token, _) = tokens(&sign_in(server, &t, &t.consumer, PASSWORD).await);
    let me = Call {
        tenant: None,
        ..Call::new(server, &t, Some(&user_token))
    };
    let r = me.get("/auth/api/myinfo").await;
    let p = r.ok();
    assert_eq!(r.body["contextResponse"]["tenantName"], "JANUS");
    assert_eq!(p["username"], t.consumer.as_str());
    assert_eq!(p["client"]["name"], "JANUS");
    assert_eq!(p["client"]["description"], "JANUS program");
    assert_eq!(p["status"], "ACTIVE");
    assert!(p["password"].is_null() && p["pin"].is_null());
    assert!(
        p["lastLoginDatetime"].as_i64().unwrap() > 1_500_000_000_000,
        "{p}"
    );
    assert!(p["lastPasswordUpdate"].as_i64().unwrap() > 1_500_000_000_000);
    assert_eq!(p["loginAttempt"], 0);
    assert_eq!(p["enabled"], true);
    assert_eq!(p["accountNonLocked"], true);
    assert_eq!(p["credentialsNonExpired"], true);
    assert_eq!(p["needChangePassword"], false);
    assert_eq!(p["personRoles"][0]["role"]["name"], "CONSUMER");
    assert_eq!(p["personCredentials"][0]["credentialType"], "USERNAME");
    assert_eq!(p["personContacts"][0]["contactType"], "EMAIL");

    // Security answers.
    let r = me
        .post(
            "/auth/api/myinfo/securityAnswer",
            json!({"answer": "Santafe", "securityQuestion": {"id": t.question_id, "question": QUESTION}}),
        )
        .await;
    let a = r.ok().clone();
    assert!(a["answer"].is_null(), "{a}");
    assert_eq!(a["securityQuestion"]["question"], QUESTION);
    let answer_id = a["id"].as_i64().unwrap();
    let r = me
        .put(
            &format!("/auth/api/myinfo/securityAnswer/{answer_id}"),
            json!({"answer": "Sedona", "securityQuestion": {"id": t.question_id}}),
        )
        .await;
    assert!(r.ok()["answer"].is_null());
    let r = me.get("/auth/api/myinfo/securityQuestions").await;
    assert_eq!(r.ok().as_array().unwrap().len(), 1);
    assert!(r.ok()[0]["answer"].is_null());

    // Password and PIN.
    let r = me
        .post("/auth/api/myinfo/changePin", json!({"newPin": "2468"}))
        .await;
    assert!(r.ok().is_null());
    let r = me
        .put(
            "/auth/api/myinfo/changePin",
            json!({"currentPin": "2468", "newPin": "1357"}),
        )
        .await;
    r.ok();
    let r = me
        .post(
            "/auth/api/myinfo/changePassword",
            json!({"currentPassword": PASSWORD, "newPassword": "Test2345!"}),
        )
        .await;
    r.ok();
    // The new password ended the old grant.
    me.get("/auth/api/myinfo")
        .await
        .fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let (user_token, _) = tokens(&sign_in(server, &t, &t.consumer, "Test2345!").await);
    let me = Call::new(server, &t, Some(&user_token));

    // Public calls with the api-key.
    let anon = Call::new(server, &t, None);
    let r = anon
        .get(&format!("/auth/api/checkUserExist?username={}", t.consumer))
        .await;
    assert_eq!(r.ok()["userExist"], true);
    let r = anon
        .post(
            "/auth/api/checkUserExist",
            json!({"tenantName": "JANUS", "username": "nobody"}),
        )
        .await;
    assert_eq!(r.ok()["userExist"], false);
    let r = anon.get("/auth/api/securityQuestions").await;
    assert_eq!(r.ok()[0]["question"], QUESTION);
    let r = anon
        .post(
            "/auth/api/validate/pin",
            json!({"pin": "1357", "uuid": t.consumer}),
        )
        .await;
    assert_eq!(r.ok()["pinValidated"], true);
    let r = anon
        .post(
            "/auth/api/validate/pin",
            json!({"pin": "1357", "uuid": t.consumer_id}),
        )
        .await;
    assert_eq!(r.ok()["pinValidated"], true);
    let r = anon
        .post(
            "/auth/api/validate/pin",
            json!({"pin": "0000", "uuid": "nobody"}),
        )
        .await;
    assert_eq!(r.ok()["pinValidated"], false);

    // Reset by security question: a temporary password is emailed and must be changed.
    let email = format!("{}@example.com", t.consumer);
    let r = anon
        .post(
            "/auth/api/reset/password",
            json!({"answer": "wrong", "securityQuestionId": t.question_id, "username": t.consumer}),
        )
        .await;
    r.fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let r = anon
        .post(
            "/auth/api/reset/password",
            json!({"answer": "sedona", "securityQuestionId": t.question_id, "username": t.consumer}),
        )
        .await;
    assert!(r.ok().is_null());
    let temp = temporary(server, &email);
    // The old grant is over; the temporary password signs in and must be changed.
    me.get("/auth/api/myinfo")
        .await
        .fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let (user_token, _) = tokens(&sign_in(server, &t, &t.consumer, &temp).await);
    let me = Call::new(server, &t, Some(&user_token));
    assert_eq!(
        me.get("/auth/api/myinfo").await.ok()["needChangePassword"],
        true
    );
    let r = anon
        .post(
            "/auth/api/reset/pin",
            json!({"answer": "Sedona", "securityQuestionId": t.question_id, "username": t.consumer}),
        )
        .await;
    r.ok();
    let pin = server.last_message_to(&email).code();
    let r = anon
        .post(
            "/auth/api/validate/pin",
            json!({"pin": pin, "uuid": t.consumer}),
        )
        .await;
    assert_eq!(r.ok()["pinValidated"], true);

    // Tenant.
    let r = admin.get("/auth/admin/client/JANUS").await;
    let c = r.ok();
    assert_eq!(c["name"], "JANUS");
    assert_eq!(c["defaultRole"]["name"], "CONSUMER");
    assert!(c["createdDate"].as_i64().unwrap() > 1_500_000_000_000);

    // Persons.
    let r = admin
        .post(
            "/auth/admin/client/person",
            json!({
                "contact": "john@test.com", "contactType": "EMAIL", "firstName": "John",
                "lastName": "Doe", "password": "Test1234!", "personType": "SUBSCRIBER",
                "pin": "1234", "preferredLanguage": "EN", "resetRequired": true,
                "roleNames": ["CONSUMER"], "timeZoneFormatted": "EST", "username": "johndoe",
                "uuid": "johndoe12345"
            }),
        )
        .await;
    let p = r.ok().clone();
    assert_eq!(p["status"], "INACTIVE");
    assert_eq!(p["needChangePassword"], true);
    assert_eq!(p["personType"], "SUBSCRIBER");
    assert_eq!(p["timeZoneFormatted"], "EST");
    assert_eq!(p["preferredLanguage"], "EN");
    assert!(p["lastLoginDatetime"].is_null());
    assert!(p["password"].is_null() && p["pin"].is_null());
    let john = p["id"].as_str().unwrap().to_owned();
    let r = admin.get("/auth/admin/client/person").await;
    let list = r.ok().as_array().unwrap().clone();
    assert_eq!(list.len(), 3, "{list:?}");
    assert!(
        list.iter()
            .any(|p| p["username"] == "johndoe" && p["clientName"] == "JANUS")
    );
    let r = admin
        .get(&format!("/auth/admin/client/person/{john}"))
        .await;
    assert_eq!(r.ok()["username"], "johndoe");
    let r = admin.get("/auth/admin/client/person/johndoe").await;
    assert_eq!(r.ok()["id"], john.as_str());
    let r = admin
        .put(
            &format!("/auth/admin/client/person/{john}"),
            json!({
                "contact": "johndoe@test.com", "contactType": "EMAIL", "firstName": "Johnny",
                "lastName": "Doe", "password": "Test1234!", "personType": "SUBSCRIBER",
                "username": "johndoe", "uuid": "johndoe12345"
            }),
        )
        .await;
    assert_eq!(r.ok()["firstName"], "Johnny");
    assert_eq!(r.ok()["personContacts"][0]["contact"], "johndoe@test.com");

    // Status.
    admin
        .post(
            &format!("/auth/admin/client/person/{john}/status"),
            json!("ACTIVE"),
        )
        .await
        .ok();
    admin
        .post(
            &format!("/auth/admin/client/person/{john}/lock"),
            json!(null),
        )
        .await
        .ok();
    let p = admin
        .get(&format!("/auth/admin/client/person/{john}"))
        .await;
    assert_eq!(p.ok()["status"], "LOCKED");
    assert_eq!(p.ok()["accountNonLocked"], false);
    admin
        .put(
            &format!("/auth/admin/client/person/{john}/unlock"),
            json!(null),
        )
        .await
        .ok();
    admin
        .put(
            &format!("/auth/admin/client/person/{john}/status"),
            json!("DISABLED"),
        )
        .await
        .ok();
    let p = admin
        .get(&format!("/auth/admin/client/person/{john}"))
        .await;
    assert_eq!(p.ok()["status"], "DISABLED");
    assert_eq!(p.ok()["enabled"], false);
    admin
        .put(
            &format!("/auth/admin/client/person/{john}/status"),
            json!("BOGUS"),
        )
        .await
        .fails(StatusCode::BAD_REQUEST, "VALIDATION");
    admin
        .put(
            &format!("/auth/admin/client/person/{john}/status"),
            json!({"status": "ACTIVE"}),
        )
        .await
        .ok();

    // Admin resets by the user's answer.
    let r = admin
        .post(
            &format!("/auth/admin/client/person/{}/resetPassword", t.consumer),
            json!({"answer": "Sedona", "securityQuestionId": t.question_id}),
        )
        .await;
    r.ok();
    let temp = temporary(server, &email);
    // The temporary password ended the user's grants; it signs in.
    me.get("/auth/api/myinfo")
        .await
        .fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let (user_token, _) = tokens(&sign_in(server, &t, &t.consumer, &temp).await);
    let me = Call::new(server, &t, Some(&user_token));
    admin
        .put(
            &format!("/auth/admin/client/person/{}/resetPin", t.consumer),
            json!({"answer": "Sedona", "securityQuestionId": t.question_id}),
        )
        .await
        .ok();
    let pin = server.last_message_to(&email).code();
    let r = anon
        .post(
            "/auth/api/validate/pin",
            json!({"pin": pin, "uuid": t.consumer}),
        )
        .await;
    assert_eq!(r.ok()["pinValidated"], true);

    // Roles.
    let r = admin
        .post(
            "/auth/admin/client/role",
            json!({
                "clientRoleEntitlements": [
                    {"entitlement": {"description": "get temporary pin", "id": 7, "name": "GET_TEMPORARY_PIN"}},
                    {"entitlement": {"description": "Reset User Password", "id": 2, "name": "RESET_PASSWORD"}}
                ],
                "description": "Shopper role", "name": "SHOPPER"
            }),
        )
        .await;
    let role = r.ok().clone();
    let role_id = role["id"].as_i64().unwrap();
    let auths: Vec<&str> = role["clientRoleEntitlements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["authority"].as_str().unwrap())
        .collect();
    assert_eq!(auths, ["GET_TEMPORARY_PIN", "RESET_PASSWORD"]);
    assert_eq!(
        role["clientRoleEntitlements"][0]["entitlement"]["name"],
        "GET_TEMPORARY_PIN"
    );
    let r = admin.get("/auth/admin/client/role").await;
    let roles = r.ok().as_array().unwrap().clone();
    assert!(
        roles
            .iter()
            .any(|r| r["name"] == "SHOPPER" && r["clientRoleEntitlements"].is_null())
    );
    let r = admin
        .get(&format!("/auth/admin/client/role/{role_id}"))
        .await;
    assert_eq!(r.ok()["name"], "SHOPPER");
    assert_eq!(r.ok()["clientName"], "JANUS");
    let r = admin
        .post(
            &format!("/auth/admin/client/role/{role_id}"),
            json!({
                "clientRoleEntitlements": [{"entitlement": {"id": 3, "name": "RESET_PIN"}}],
                "description": "Role for shopper", "name": "SHOPPER"
            }),
        )
        .await;
    assert_eq!(r.ok()["description"], "Role for shopper");
    assert_eq!(
        r.ok()["clientRoleEntitlements"][0]["authority"],
        "RESET_PIN"
    );

    // Person roles.
    let r = admin
        .post(
            "/auth/admin/client/person/role",
            json!({"roleName": "SHOPPER", "uuid": john}),
        )
        .await;
    assert_eq!(r.ok()["role"]["name"], "SHOPPER");
    assert_eq!(
        r.ok()["role"]["clientRoleEntitlements"][0]["authority"],
        "RESET_PIN"
    );
    let r = admin
        .send(
            Method::GET,
            "/auth/admin/client/person/role",
            Some(json!({"uuid": john})),
        )
        .await;
    assert_eq!(r.ok().as_array().unwrap().len(), 2, "{r:?}");
    let r = admin
        .get(&format!(
            "/auth/admin/client/person/role?uuid={john}&roleName=SHOPPER"
        ))
        .await;
    assert_eq!(r.ok().as_array().unwrap().len(), 1, "{r:?}");
    admin
        .delete(
            "/auth/admin/client/person/role",
            Some(json!({"roleName": "SHOPPER", "uuid": john})),
        )
        .await
        .ok();
    admin
        .delete(&format!("/auth/admin/client/role/{role_id}"), None)
        .await
        .ok();
    admin
        .get(&format!("/auth/admin/client/role/{role_id}"))
        .await
        .fails(StatusCode::NOT_FOUND, "NOT_FOUND");

    // Audit: the user's records, never a secret.
    let r = admin
        .get(&format!("/auth/admin/client/person/audit/{}", t.consumer))
        .await;
    let records = r.ok().as_array().unwrap().clone();
    assert!(records.len() >= 5, "{records:?}");
    let text = serde_json::to_string(&records).unwrap();
    for secret in [
        PASSWORD,
        "Test2345!",
        "Sedona",
        "1357",
        temp.as_str(),
        admin_token2.as_str(),
    ] {
        assert!(!text.contains(secret), "audit leaks {secret}: {text}");
    }
    assert!(
        records
            .iter()
            .any(|r| r["name"] == "password.reset.temporary" && r["result"] == "Y")
    );
    assert!(records.iter().all(|r| r["httpLogging"].is_null()));
    let id = records[0]["id"].as_i64().unwrap();
    let r = admin
        .get(&format!(
            "/auth/admin/client/person/audit/{}/{id}",
            t.consumer
        ))
        .await;
    assert_eq!(r.ok()["id"], id);
    assert!(["Y", "N"].contains(&r.ok()["result"].as_str().unwrap()));
    let r = admin
        .get(&format!("/admin/client/person/audit/{}/{id}", t.consumer))
        .await;
    assert_eq!(r.ok()["id"], id);
    // Status changes and locks are audited.
    let r = admin
        .get(&format!("/auth/admin/client/person/audit/{john}"))
        .await;
    let names: Vec<String> = r
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.iter().any(|n| n == "account.status"), "{names:?}");

    // Deregister: itself; the admin deletes John.
    me.delete(&format!("/auth/api/deregister/{}", t.consumer), None)
        .await
        .ok();
    admin
        .delete(&format!("/auth/admin/client/person/{john}"), None)
        .await
        .ok();
    let r = admin.get("/auth/admin/client/person").await;
    assert_eq!(r.ok().as_array().unwrap().len(), 1);
}

async fn tenant_isolation(server: &TestServer) {
    let a = tenant(server, "JANUS").await;
    let b = tenant(server, "OTHER").await;
    let a_admin = token_of(server, &a, &a.admin).await;
    let b_admin = token_of(server, &b, &b.admin).await;
    let b_call = Call::new(server, &b, Some(&b_admin));
    // B's admin, with B's key, cannot see A's persons, roles, audit or tenant.
    for path in [
        format!("/auth/admin/client/person/{}", a.consumer_id),
        format!("/auth/admin/client/person/{}", a.consumer),
        format!("/auth/admin/client/person/audit/{}", a.consumer_id),
        "/auth/admin/client/JANUS".to_owned(),
    ] {
        b_call
            .get(&path)
            .await
            .fails(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
    b_call
        .post(
            &format!("/auth/admin/client/person/{}/lock", a.consumer_id),
            json!(null),
        )
        .await
        .fails(StatusCode::NOT_FOUND, "NOT_FOUND");
    let a_call = Call::new(server, &a, Some(&a_admin));
    let role = a_call
        .post(
            "/auth/admin/client/role",
            json!({"name": "A_ONLY", "clientRoleEntitlements": []}),
        )
        .await;
    let role_id = role.ok()["id"].as_i64().unwrap();
    b_call
        .get(&format!("/auth/admin/client/role/{role_id}"))
        .await
        .fails(StatusCode::NOT_FOUND, "NOT_FOUND");
    b_call
        .delete(&format!("/auth/admin/client/role/{role_id}"), None)
        .await
        .fails(StatusCode::NOT_FOUND, "NOT_FOUND");
    let names: Vec<Value> = b_call
        .get("/auth/admin/client/person")
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["clientName"].clone())
        .collect();
    assert!(names.iter().all(|n| n == "OTHER"), "{names:?}");
    // B's token with A's key (and tenantName) is refused; so is A's key with tenantName OTHER.
    Call::new(server, &a, Some(&b_admin))
        .get("/auth/admin/client/person")
        .await
        .fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    Call {
        tenant: Some("OTHER"),
        ..Call::new(server, &a, Some(&a_admin))
    }
    .get("/auth/admin/client/person")
    .await
    .fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    // A's user cannot sign in through B's key.
    let r = sign_in(server, &b, &a.consumer, PASSWORD).await;
    r.fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(r.body["error"], "invalid_grant");
}

async fn entitlement_checks(server: &TestServer) {
    let t = tenant(server, "JANUS").await;
    let user = token_of(server, &t, &t.consumer).await;
    let c = Call::new(server, &t, Some(&user));
    for r in [
        c.get("/auth/admin/client/person").await,
        c.get("/auth/admin/client/role").await,
        c.get("/auth/admin/client/JANUS").await,
        c.post("/auth/admin/client/role", json!({"name": "X", "clientRoleEntitlements": []})).await,
        c.post(
            "/auth/admin/client/person",
            json!({"firstName": "A", "lastName": "B", "password": PASSWORD, "personType": "SUBSCRIBER", "username": "sneaky"}),
        )
        .await,
        c.post(&format!("/auth/admin/client/person/{}/lock", t.admin), json!(null)).await,
        c.post("/auth/admin/client/person/role", json!({"roleName": "ADMIN", "uuid": t.consumer})).await,
        c.delete(&format!("/auth/api/deregister/{}", t.admin), None).await,
        c.get(&format!("/auth/admin/client/person/audit/{}", t.admin)).await,
    ] {
        r.fails(StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    // Nothing was created.
    let admin = token_of(server, &t, &t.admin).await;
    let a = Call::new(server, &t, Some(&admin));
    a.get("/auth/admin/client/person/sneaky")
        .await
        .fails(StatusCode::NOT_FOUND, "NOT_FOUND");
    // An admin holding only some entitlements gets exactly those.
    let idp = &server.running.app.idp;
    let tid = idp.tenant("JANUS").await.unwrap().id;
    idp.create_role(
        &Context::system(),
        tid,
        "USERS_ONLY",
        None,
        &[entitlements::MANAGE_USERS.into()],
    )
    .await
    .unwrap();
    idp.register(
        &Context::system(),
        tid,
        Registration {
            username: "useradmin".into(),
            password: Some(PASSWORD.into()),
            roles: vec!["USERS_ONLY".into()],
            ..Registration::default()
        },
    )
    .await
    .unwrap();
    let ua = token_of(server, &t, "useradmin").await;
    let u = Call::new(server, &t, Some(&ua));
    u.get("/auth/admin/client/person").await.ok();
    u.get("/auth/admin/client/role")
        .await
        .fails(StatusCode::FORBIDDEN, "FORBIDDEN");
    u.post(
        &format!("/auth/admin/client/person/{}/lock", t.consumer),
        json!(null),
    )
    .await
    .fails(StatusCode::FORBIDDEN, "FORBIDDEN");
}

async fn natural_failures(server: &TestServer) {
    let t = tenant(server, "JANUS").await;
    let admin = token_of(server, &t, &t.admin).await;
    let ok = Call::new(server, &t, Some(&admin));
    ok.get("/auth/admin/client/person").await.ok();
    // api-key missing, unknown; tenantName wrong or missing (admin).
    Call {
        key: None,
        ..Call::new(server, &t, Some(&admin))
    }
    .get("/auth/admin/client/person")
    .await
    .fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    Call {
        key: Some("nope"),
        ..Call::new(server, &t, Some(&admin))
    }
    .get("/auth/api/myinfo")
    .await
    .fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    Call {
        tenant: Some("NOPE"),
        ..Call::new(server, &t, Some(&admin))
    }
    .get("/auth/api/myinfo")
    .await
    .fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    Call {
        tenant: None,
        ..Call::new(server, &t, Some(&admin))
    }
    .get("/auth/admin/client/person")
    .await
    .fails(StatusCode::BAD_REQUEST, "VALIDATION");
    Call {
        key: None,
        ..Call::new(server, &t, None)
    }
    .get("/auth/api/securityQuestions")
    .await
    .fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    // Bearer missing or bad.
    Call::new(server, &t, None)
        .get("/auth/api/myinfo")
        .await
        .fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    Call::new(server, &t, Some("not-a-token"))
        .get("/auth/api/myinfo")
        .await
        .fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    // Unreadable bodies.
    let r = read(
        http()
            .post(server.url(&format!("{PREFIX}/auth/admin/client/role")))
            .header("api-key", &t.key)
            .header("tenantName", &t.name)
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    r.fails(StatusCode::BAD_REQUEST, "VALIDATION");
    assert_eq!(r.body["contextResponse"]["tenantName"], Value::Null);
    ok.post("/auth/admin/client/role", json!({"description": "no name"}))
        .await
        .fails(StatusCode::BAD_REQUEST, "VALIDATION");
    ok.post(
        "/auth/admin/client/role",
        json!({"name": "ROLE", "clientRoleEntitlements": [{"entitlement": {"id": 7}}]}),
    )
    .await
    .fails(StatusCode::BAD_REQUEST, "VALIDATION");
    ok.post("/auth/admin/client/role", json!({"name": "ADMIN"}))
        .await
        .fails(StatusCode::CONFLICT, "CONFLICT");
    ok.get("/auth/admin/client/person/nobody")
        .await
        .fails(StatusCode::NOT_FOUND, "NOT_FOUND");
    ok.get("/auth/admin/client/role/abc")
        .await
        .fails(StatusCode::NOT_FOUND, "NOT_FOUND");
    // Token endpoint: wrong password, unknown grant, Basic client authentication.
    let r = sign_in(server, &t, &t.admin, "Wrong1234!").await;
    r.fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(r.body["error"], "invalid_grant");
    let token_url = server.url(&format!("{PREFIX}/auth/oauth/token"));
    let r = read(
        http()
            .post(&token_url)
            .header("api-key", &t.key)
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    r.fails(StatusCode::BAD_REQUEST, "VALIDATION");
    assert_eq!(r.body["error"], "unsupported_grant_type");
    let r = read(
        http()
            .post(&token_url)
            .header("api-key", &t.key)
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "bogus")]),
    )
    .await;
    r.fails(StatusCode::BAD_REQUEST, "VALIDATION");
    assert_eq!(r.body["error"], "invalid_grant");
    let r = read(http().post(&token_url).form(&[("grant_type", "password")])).await;
    r.fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(r.body["error"], "invalid_client");
    let idp = &server.running.app.idp;
    let tid = idp.tenant("JANUS").await.unwrap().id;
    idp.create_client(
        &Context::system(),
        tid,
        NewClient {
            id: "janus-backend".into(),
            secret: Some("backend-secret-0123456789".into()),
            grants: vec![GrantType::Password, GrantType::RefreshToken],
            ..NewClient::default()
        },
    )
    .await
    .unwrap();
    let basic = |secret: &str| {
        format!(
            "Basic {}",
            STANDARD.encode(format!("janus-backend:{secret}"))
        )
    };
    let form = [
        ("grant_type", "password"),
        ("username", t.admin.as_str()),
        ("password", PASSWORD),
    ];
    let r = read(
        http()
            .post(&token_url)
            .header("authorization", basic("backend-secret-0123456789"))
            .form(&form),
    )
    .await;
    tokens(&r);
    let r = read(
        http()
            .post(&token_url)
            .header("authorization", basic("wrong-secret-0123456789"))
            .form(&form),
    )
    .await;
    r.fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(r.body["error"], "invalid_client");
    // The confidential client cannot be used by its id alone.
    let r = read(
        http()
            .post(&token_url)
            .header("api-key", "janus-backend")
            .form(&form),
    )
    .await;
    assert_eq!(r.body["error"], "invalid_client", "{r:?}");
    let r = read(
        http()
            .post(&token_url)
            .header("api-key", &t.key)
            .body("grant_type=password"),
    )
    .await;
    r.fails(StatusCode::UNSUPPORTED_MEDIA_TYPE, "VALIDATION");
}

async fn validate_pin_counts_toward_lockout(server: &TestServer) {
    let t = tenant(server, "JANUS").await;
    let user = token_of(server, &t, &t.consumer).await;
    Call::new(server, &t, Some(&user))
        .post("/auth/api/myinfo/changePin", json!({"newPin": "1357"}))
        .await
        .ok();
    let anon = Call::new(server, &t, None);
    for _ in 0..5 {
        let r = anon
            .post(
                "/auth/api/validate/pin",
                json!({"pin": "0000", "uuid": t.consumer}),
            )
            .await;
        assert_eq!(r.ok()["pinValidated"], false);
    }
    // Locked now: even the right PIN only learns that.
    let r = anon
        .post(
            "/auth/api/validate/pin",
            json!({"pin": "1357", "uuid": t.consumer}),
        )
        .await;
    r.fails(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(r.body["contextResponse"]["additionalStatusCode"], "LOCKED");
    let admin = token_of(server, &t, &t.admin).await;
    let p = Call::new(server, &t, Some(&admin))
        .get(&format!("/auth/admin/client/person/{}", t.consumer))
        .await;
    assert_eq!(p.ok()["status"], "LOCKED");
    assert_eq!(p.ok()["accountNonLocked"], false);
    assert!(p.ok()["loginAttempt"].as_u64().unwrap() >= 5, "{p:?}");
}
