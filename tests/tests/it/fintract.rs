//! The Fintract-style surface (`/fintract/auth/...`, specs/fintract-auth.txt): every endpoint
//! with the documented shapes, the natural failures in its `{"detail": ...}` envelope, admin
//! approval, uploads through the blob store, and its tokens at the OIDC endpoints.

use idp_core::Context;
use idp_core::model::GrantType;
use idp_core::ops::{NewClient, Registration};
use idp_e2e::{TestServer, http};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};

use crate::both_stores;

both_stores!(
    walk_every_endpoint,
    login_and_otp_failures,
    admin_approval_rules,
    ownership_and_bearer_failures,
    unreadable_requests,
    uploads,
    tokens_work_at_oidc_endpoints,
);

const PREFIX: &str = "/fintract";
const PASSWORD: &str = "johnDoe@#2024";
/// The issuer of test servers (the default configuration), which file URLs start with.
const ISSUER: &str = "http://127.0.0.1:8080";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Reply {
    #[track_caller]
    fn is(&self, status: StatusCode, body: Value) {
        assert_eq!((self.status, &self.body), (status, &body), "{self:?}");
    }

    /// `status` with `{"detail": message}`.
    #[track_caller]
    fn detail(&self, status: StatusCode, message: &str) {
        self.is(status, json!({ "detail": message }));
    }

    /// `status` with `{"detail": <anything>}` and nothing else.
    #[track_caller]
    fn fails(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{self:?}");
        let obj = self.body.as_object().expect("object");
        assert!(
            obj.len() == 1 && obj["detail"].is_string(),
            "not the detail envelope: {self:?}"
        );
    }

    #[track_caller]
    fn str(&self, key: &str) -> String {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string {key}: {self:?}"))
            .to_owned()
    }
}

async fn reply(req: reqwest::RequestBuilder) -> Reply {
    let res = req.send().await.expect("request");
    let status = res.status();
    let headers = res.headers().clone();
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = res.text().await.expect("body");
    assert!(
        ct.starts_with("application/json"),
        "{status}: content-type {ct:?}: {text}"
    );
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text}: {e}"));
    Reply {
        status,
        headers,
        body,
    }
}

fn url(server: &TestServer, path: &str) -> String {
    server.url(&format!("{PREFIX}{path}"))
}

fn with_bearer(req: reqwest::RequestBuilder, bearer: Option<&str>) -> reqwest::RequestBuilder {
    match bearer {
        Some(t) => req.bearer_auth(t),
        None => req,
    }
}

async fn send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut req = with_bearer(http().request(method, url(server, path)), bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    reply(req).await
}

async fn post(server: &TestServer, path: &str, bearer: Option<&str>, body: Value) -> Reply {
    send(server, reqwest::Method::POST, path, bearer, Some(body)).await
}

async fn get(server: &TestServer, path: &str, bearer: Option<&str>) -> Reply {
    send(server, reqwest::Method::GET, path, bearer, None).await
}

/// A `multipart/form-data` body with one part named `name`.
fn multipart(name: &str, filename: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----fintract-test-boundary-7MA4YWxk";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload_to(
    server: &TestServer,
    path: &str,
    bearer: Option<&str>,
    part: (String, Vec<u8>),
) -> Reply {
    let req = http()
        .post(url(server, path))
        .header(CONTENT_TYPE, part.0)
        .body(part.1);
    reply(with_bearer(req, bearer)).await
}

/// Registers with the documented request shape; checks the documented 201 answer.
async fn register(
    server: &TestServer,
    username: &str,
    email: &str,
    phone: &str,
    user_type: &str,
) -> Reply {
    let r = post(
        server,
        "/auth/register/",
        None,
        json!({
            "username": username,
            "email": email,
            "name": "John",
            "user_type": user_type,
            "phone": phone,
            "gender": "male",
            "password": PASSWORD,
            "password2": PASSWORD,
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let id = r.body["id"].as_i64().expect("integer id");
    let customer_id = r.str("customer_id");
    assert!(
        customer_id.len() == 16 && customer_id.bytes().all(|b| b.is_ascii_digit()),
        "{r:?}"
    );
    r.is(
        StatusCode::CREATED,
        json!({
            "id": id,
            "username": username,
            "email": email,
            "name": "John",
            "user_type": user_type.to_ascii_uppercase(),
            "phone": phone,
            "customer_id": customer_id,
            "gender": "MALE",
        }),
    );
    r
}

/// `POST /auth/login/`: the documented answer, `data.id`.
async fn login(server: &TestServer, email: &str, otp_type: &str) -> i64 {
    let r = post(
        server,
        "/auth/login/",
        None,
        json!({ "email": email, "otpType": otp_type, "userType": "Developer", "password": PASSWORD }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let id = r.body["data"]["id"].as_i64().expect("data.id integer");
    r.is(StatusCode::OK, json!({ "data": { "id": id } }));
    id
}

async fn verify(server: &TestServer, id: i64, otp: &str) -> Reply {
    post(
        server,
        &format!("/auth/login/{id}/"),
        None,
        json!({ "otp": otp }),
    )
    .await
}

/// A registered DEVELOPER (active at once), signed in: (access, refresh, id).
async fn developer(
    server: &TestServer,
    username: &str,
    email: &str,
    phone: &str,
) -> (String, String, i64) {
    register(server, username, email, phone, "developer").await;
    let id = login(server, email, "Email").await;
    let code = server.last_message_to(email).code();
    let r = verify(server, id, &code).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let access = r.body["tokens"]["access"]
        .as_str()
        .expect("access")
        .to_owned();
    let refresh = r.body["tokens"]["refresh"]
        .as_str()
        .expect("refresh")
        .to_owned();
    (access, refresh, id)
}

/// An account with the FINTRACT_ADMIN role (made by the operator), signed in: (access, id).
async fn fintract_admin(server: &TestServer, email: &str) -> (String, i64) {
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("tenant");
    idp.register(
        &Context::system(),
        tenant.id,
        Registration {
            username: email.split('@').next().unwrap_or("admin").into(),
            email: Some(email.into()),
            password: Some(PASSWORD.into()),
            user_type: Some("FINTRACT_ADMIN".into()),
            roles: vec!["FINTRACT_ADMIN".into()],
            ..Registration::default()
        },
    )
    .await
    .expect("admin");
    let id = login(server, email, "email").await;
    let r = verify(server, id, &server.last_message_to(email).code()).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["user_type"], "FINTRACT_ADMIN", "{r:?}");
    (
        r.body["tokens"]["access"]
            .as_str()
            .expect("access")
            .to_owned(),
        id,
    )
}

async fn walk_every_endpoint(server: &TestServer) {
    // Register (DEVELOPER: active at once) and log in with an emailed code.
    let email = "johndoe@gmail.com";
    let reg = register(server, "JohnDoe0303", email, "1234567890", "DEVELOPER").await;
    let id = reg.body["id"].as_i64().expect("id");
    let customer_id = reg.str("customer_id");
    let login_id = login(server, email, "Email").await;
    assert_eq!(login_id, id, "data.id is the user id");
    let otp = server.last_message_to(email).code();
    let r = verify(server, id, &otp).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let access = r.body["tokens"]["access"]
        .as_str()
        .expect("access")
        .to_owned();
    let refresh = r.body["tokens"]["refresh"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_eq!(
        r.headers
            .get(CACHE_CONTROL)
            .map(|v| v.to_str().unwrap_or("")),
        Some("no-store")
    );
    r.is(
        StatusCode::OK,
        json!({
            "message": "Successfully Logged In",
            "id": id,
            "customer_id": customer_id,
            "email": email,
            "username": "JohnDoe0303",
            "verification_status": false,
            "tokens": { "refresh": refresh, "access": access },
            "user_type": "DEVELOPER",
        }),
    );
    let bearer = Some(access.as_str());

    // Get User Info, by the schema: `net_balance` and `customer-id`.
    get(server, &format!("/auth/info/{id}/"), bearer).await.is(
        StatusCode::OK,
        json!({
            "id": id,
            "email": email,
            "avatar": "",
            "gender": "MALE",
            "username": "JohnDoe0303",
            "name": "John",
            "net_balance": 0,
            "customer-id": customer_id,
            "verification_status": false,
            "phone": "1234567890",
            "country": "",
            "citizenship": "",
            "national_id": "",
            "address": "",
            "bank_name": "",
        }),
    );

    // Update User Info: the sample's empty strings leave fields as they are.
    send(
        server,
        reqwest::Method::PATCH,
        &format!("/auth/update/usr/{id}/"),
        bearer,
        Some(json!({
            "username": "JohnDoe123",
            "email": "",
            "name": "",
            "phone": "",
            "country": "USA",
            "citizenship": "Nigerian",
            "national_id": "A123",
            "address": "1 Main St"
        })),
    )
    .await
    .is(StatusCode::OK, json!({ "message": "Updated Successfully" }));
    let info = get(server, &format!("/auth/info/{id}/"), bearer).await;
    assert_eq!(info.body["username"], "JohnDoe123", "{info:?}");
    assert_eq!(info.body["name"], "John", "{info:?}");
    assert_eq!(info.body["email"], email, "{info:?}");
    assert_eq!(info.body["country"], "USA", "{info:?}");
    assert_eq!(info.body["citizenship"], "Nigerian", "{info:?}");
    assert_eq!(info.body["national_id"], "A123", "{info:?}");
    assert_eq!(info.body["address"], "1 Main St", "{info:?}");

    // Update Username & name (schema: `message`).
    send(
        server,
        reqwest::Method::PUT,
        "/auth/user-update/",
        bearer,
        Some(json!({ "username": "Johndoe109", "name": "John B Doe" })),
    )
    .await
    .is(
        StatusCode::OK,
        json!({ "message": "Account Successfully Updated" }),
    );
    let info = get(server, &format!("/auth/info/{id}/"), bearer).await;
    assert_eq!(
        (&info.body["username"], &info.body["name"]),
        (&json!("Johndoe109"), &json!("John B Doe")),
        "{info:?}"
    );

    // Resend Verification Mail, then the emailed link verifies the address.
    post(
        server,
        "/auth/re-verify-email/",
        bearer,
        json!({ "email": email }),
    )
    .await
    .is(StatusCode::CREATED, json!({ "message": "New token sent" }));
    let mail = server.last_message_to(email);
    assert!(
        mail.link()
            .starts_with(&format!("{ISSUER}{PREFIX}/auth/verify-email/?token=")),
        "{mail:?}"
    );
    let token = mail.link_token();
    get(server, &format!("/auth/verify-email/?token={token}"), None)
        .await
        .is(StatusCode::OK, json!({ "message": "Email verified" }));
    get(server, &format!("/auth/verify-email/?token={token}"), None)
        .await
        .detail(StatusCode::BAD_REQUEST, "Invalid or expired token");
    let info = get(server, &format!("/auth/info/{id}/"), bearer).await;
    assert_eq!(info.body["verification_status"], true, "{info:?}");

    // Upload file and avatar.
    let r = upload_to(
        server,
        "/auth/upload/",
        bearer,
        multipart(
            "file",
            "passport.pdf",
            "application/pdf",
            b"%PDF-1.4 passport",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(1), "{r:?}");
    assert!(
        r.str("url")
            .starts_with(&format!("{ISSUER}{PREFIX}/media/")),
        "{r:?}"
    );
    let r = upload_to(
        server,
        &format!("/auth/avatar/{id}/"),
        bearer,
        multipart("file", "profile.png", "image/png", PNG),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let user = &r.body["user"];
    assert_eq!(user["id"], id, "{r:?}");
    assert_eq!(user["password"], Value::Null, "never the hash: {r:?}");
    assert_eq!(user["otp"], Value::Null, "never a code: {r:?}");
    assert_eq!(user["customer_id"], customer_id.as_str(), "{r:?}");
    assert_eq!(user["user_type"], "DEVELOPER", "{r:?}");
    assert_eq!(user["is_active"], true, "{r:?}");
    assert_eq!(user["is_deactivate"], false, "{r:?}");
    assert_eq!(user["admin_approved"], true, "{r:?}");
    assert!(!r.body.to_string().contains("argon2"), "{r:?}");
    for key in [
        "last_login",
        "is_superuser",
        "gender",
        "username",
        "email",
        "phone",
        "avatar",
        "name",
        "country",
        "citizenship",
        "national_id",
        "address",
        "is_staff",
        "is_verified",
        "bank",
        "groups",
        "user_permissions",
    ] {
        assert!(user.get(key).is_some(), "no {key}: {r:?}");
    }
    let avatar = user["avatar"].as_str().expect("avatar").to_owned();
    let info = get(server, &format!("/auth/info/{id}/"), bearer).await;
    assert_eq!(info.body["avatar"], avatar.as_str(), "{info:?}");

    // Deactivate: the token stops working and the account cannot log in.
    send(
        server,
        reqwest::Method::PUT,
        "/auth/account-deactivate/",
        bearer,
        None,
    )
    .await
    .is(
        StatusCode::OK,
        json!({ "msg": "Account deactivate request submitted!" }),
    );
    get(server, &format!("/auth/info/{id}/"), bearer)
        .await
        .fails(StatusCode::UNAUTHORIZED);
    post(
        server,
        "/auth/login/",
        None,
        json!({ "email": email, "otpType": "Email", "password": PASSWORD }),
    )
    .await
    .detail(StatusCode::FORBIDDEN, "Account is deactivated");

    // Delete User (another account: this one is deactivated).
    let (access2, _, id2) =
        developer(server, "JaneDoe", "jane@example.com", "+2348000000002").await;
    send(
        server,
        reqwest::Method::DELETE,
        "/auth/delete/",
        Some(&access2),
        None,
    )
    .await
    .is(
        StatusCode::OK,
        json!({ "msg": "Account Successfully deleted" }),
    );
    get(server, &format!("/auth/info/{id2}/"), Some(&access2))
        .await
        .fails(StatusCode::UNAUTHORIZED);
    post(
        server,
        "/auth/login/",
        None,
        json!({ "email": "jane@example.com", "otpType": "Email", "password": PASSWORD }),
    )
    .await
    .detail(StatusCode::UNAUTHORIZED, "Invalid email or password");
    // Admin approval is walked in `admin_approval_rules`.
}

async fn login_and_otp_failures(server: &TestServer) {
    let email = "otp.user@example.com";
    let phone = "+2348000000003";
    register(server, "otpuser", email, phone, "Developer").await;

    // Wrong password, unknown email: the same answer.
    for (who, pw) in [(email, "Wrong-pass-1!"), ("nobody@example.com", PASSWORD)] {
        post(
            server,
            "/auth/login/",
            None,
            json!({ "email": who, "otpType": "Email", "password": pw }),
        )
        .await
        .detail(StatusCode::UNAUTHORIZED, "Invalid email or password");
    }
    // Bad otpType / userType, missing fields.
    post(
        server,
        "/auth/login/",
        None,
        json!({ "email": email, "otpType": "Pigeon", "password": PASSWORD }),
    )
    .await
    .detail(
        StatusCode::BAD_REQUEST,
        "Invalid otpType: must be Email or Phone",
    );
    post(
        server,
        "/auth/login/",
        None,
        json!({ "email": email, "otpType": "Email", "userType": "ROOT", "password": PASSWORD }),
    )
    .await
    .fails(StatusCode::BAD_REQUEST);
    post(
        server,
        "/auth/login/",
        None,
        json!({ "email": email, "password": PASSWORD }),
    )
    .await
    .fails(StatusCode::BAD_REQUEST);

    // A code by phone: it goes to the phone, by SMS.
    let id = login(server, email, "Phone").await;
    let sms = server.last_message_to(phone);
    assert_eq!(sms.channel, "sms", "{sms:?}");
    let code = sms.code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    verify(server, id, wrong)
        .await
        .detail(StatusCode::UNAUTHORIZED, "Invalid OTP");
    // Another account's number, a non-number, a number with no pending login.
    let closed = "OTP expired, already used or never requested; log in again";
    verify(server, id + 1000, &code)
        .await
        .detail(StatusCode::UNAUTHORIZED, closed);
    post(server, "/auth/login/abc/", None, json!({ "otp": code }))
        .await
        .detail(StatusCode::UNAUTHORIZED, closed);
    // The right code (sent as a number works too), once.
    let r = post(
        server,
        &format!("/auth/login/{id}/"),
        None,
        json!({ "otp": code.parse::<u64>().expect("digits") }),
    )
    .await;
    if code.starts_with('0') {
        // A leading zero is lost in a JSON number: send the text instead.
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
        let r = verify(server, id, &code).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
    } else {
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
    }
    // Reused code.
    verify(server, id, &code)
        .await
        .detail(StatusCode::UNAUTHORIZED, closed);
    // Malformed body.
    let r = reply(
        http()
            .post(url(server, &format!("/auth/login/{id}/")))
            .header(CONTENT_TYPE, "application/json")
            .body("{\"otp\":"),
    )
    .await;
    r.fails(StatusCode::BAD_REQUEST);

    // Too many wrong codes end the challenge: even the right one is refused afterwards.
    let email2 = "otp.user2@example.com";
    register(server, "otpuser2", email2, "+2348000000004", "developer").await;
    let id2 = login(server, email2, "Email").await;
    let code2 = server.last_message_to(email2).code();
    let wrong2 = if code2 == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        verify(server, id2, wrong2)
            .await
            .fails(StatusCode::UNAUTHORIZED);
    }
    verify(server, id2, &code2)
        .await
        .detail(StatusCode::UNAUTHORIZED, closed);
}

async fn admin_approval_rules(server: &TestServer) {
    // A CUSTOMER registers waiting for approval: login is refused (after the right password).
    let email = "customer@example.com";
    let reg = register(server, "customer1", email, "+2348000000005", "customer").await;
    let customer_id = reg.str("customer_id");
    let body = json!({ "email": email, "otpType": "Email", "password": PASSWORD });
    post(server, "/auth/login/", None, body.clone())
        .await
        .detail(
            StatusCode::FORBIDDEN,
            "Account is waiting for admin approval",
        );
    post(
        server,
        "/auth/login/",
        None,
        json!({ "email": email, "otpType": "Email", "password": "Wrong-pass-1!" }),
    )
    .await
    .detail(StatusCode::UNAUTHORIZED, "Invalid email or password");

    // Not by anyone: no token, a developer's token, a customer id with a wrong token.
    let approval = json!({ "customer_id": customer_id });
    post(server, "/auth/admin_approval/", None, approval.clone())
        .await
        .detail(
            StatusCode::UNAUTHORIZED,
            "Authentication credentials were not provided.",
        );
    post(
        server,
        "/auth/admin_approval/",
        Some("not-a-token"),
        approval.clone(),
    )
    .await
    .detail(
        StatusCode::UNAUTHORIZED,
        "Given token not valid for any token type",
    );
    let (dev, _, _) = developer(server, "devuser", "dev@example.com", "+2348000000006").await;
    let forbidden = "You do not have permission to perform this action.";
    post(
        server,
        "/auth/admin_approval/",
        Some(&dev),
        approval.clone(),
    )
    .await
    .detail(StatusCode::FORBIDDEN, forbidden);
    // Nor by someone who only *registered* as FINTRACT_ADMIN: the type is a label and waits
    // for approval itself.
    register(
        server,
        "selfadmin",
        "selfadmin@example.com",
        "+2348000000007",
        "Fintract_Admin",
    )
    .await;
    post(
        server,
        "/auth/login/",
        None,
        json!({ "email": "selfadmin@example.com", "otpType": "Email", "password": PASSWORD }),
    )
    .await
    .detail(
        StatusCode::FORBIDDEN,
        "Account is waiting for admin approval",
    );

    // A FINTRACT_ADMIN (role from the operator) approves; then the customer logs in.
    let (admin, _) = fintract_admin(server, "boss@example.com").await;
    post(
        server,
        "/auth/admin_approval/",
        Some(&admin),
        json!({ "customer_id": "34712234559419273" }),
    )
    .await
    .detail(StatusCode::NOT_FOUND, "account not found");
    post(server, "/auth/admin_approval/", Some(&admin), json!({}))
        .await
        .fails(StatusCode::BAD_REQUEST);
    post(
        server,
        "/auth/admin_approval/",
        Some(&admin),
        approval.clone(),
    )
    .await
    .is(StatusCode::OK, json!({ "msg": "User admin approved" }));
    let id = login(server, email, "Email").await;
    let r = verify(server, id, &server.last_message_to(email).code()).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["user_type"], "CUSTOMER", "{r:?}");
    let access = r.body["tokens"]["access"]
        .as_str()
        .expect("access")
        .to_owned();
    // Approving again is a no-op; a deactivated account is not reactivated by approval.
    post(
        server,
        "/auth/admin_approval/",
        Some(&admin),
        approval.clone(),
    )
    .await
    .is(StatusCode::OK, json!({ "msg": "User admin approved" }));
    send(
        server,
        reqwest::Method::PUT,
        "/auth/account-deactivate/",
        Some(&access),
        None,
    )
    .await
    .is(
        StatusCode::OK,
        json!({ "msg": "Account deactivate request submitted!" }),
    );
    post(server, "/auth/admin_approval/", Some(&admin), approval)
        .await
        .detail(
            StatusCode::BAD_REQUEST,
            "Invalid account: is not waiting for approval",
        );
    post(server, "/auth/login/", None, body)
        .await
        .detail(StatusCode::FORBIDDEN, "Account is deactivated");
}

async fn ownership_and_bearer_failures(server: &TestServer) {
    let (alice, alice_refresh, alice_id) =
        developer(server, "alice", "alice@example.com", "+2348000000010").await;
    let (_bob, _, bob_id) = developer(server, "bobby", "bob@example.com", "+2348000000011").await;
    let forbidden = "You do not have permission to perform this action.";
    let a = Some(alice.as_str());

    // Another user's id, or one that does not exist: 403 alike; a non-number: 404.
    for other in [bob_id, bob_id + 5000] {
        get(server, &format!("/auth/info/{other}/"), a)
            .await
            .detail(StatusCode::FORBIDDEN, forbidden);
        send(
            server,
            reqwest::Method::PATCH,
            &format!("/auth/update/usr/{other}/"),
            a,
            Some(json!({ "name": "Mallory" })),
        )
        .await
        .detail(StatusCode::FORBIDDEN, forbidden);
        upload_to(
            server,
            &format!("/auth/avatar/{other}/"),
            a,
            multipart("file", "a.png", "image/png", PNG),
        )
        .await
        .detail(StatusCode::FORBIDDEN, forbidden);
    }
    get(server, "/auth/info/abc/", a)
        .await
        .detail(StatusCode::NOT_FOUND, "account not found");
    let bob_info = get(server, &format!("/auth/info/{bob_id}/"), a).await;
    assert!(
        !bob_info.body.to_string().contains("bob@example.com"),
        "{bob_info:?}"
    );

    // No token, a bad token, a refresh token as bearer: 401 on every bearer endpoint.
    let no_creds = "Authentication credentials were not provided.";
    let bad = "Given token not valid for any token type";
    // Malformed JSON on every bearer endpoint that takes a body.
    for (method, path) in [
        (
            reqwest::Method::PATCH,
            format!("/auth/update/usr/{alice_id}/"),
        ),
        (reqwest::Method::PUT, "/auth/user-update/".to_owned()),
        (reqwest::Method::POST, "/auth/admin_approval/".to_owned()),
        (reqwest::Method::POST, "/auth/re-verify-email/".to_owned()),
    ] {
        let r = reply(
            http()
                .request(method, url(server, &path))
                .bearer_auth(&alice)
                .header(CONTENT_TYPE, "application/json")
                .body("{\"email\":"),
        )
        .await;
        r.fails(StatusCode::BAD_REQUEST);
    }

    for bearer in [
        None,
        Some("garbage"),
        Some("a.b.c"),
        Some(alice_refresh.as_str()),
    ] {
        let expect = |r: Reply| {
            if bearer.is_none() {
                r.detail(StatusCode::UNAUTHORIZED, no_creds);
            } else {
                r.detail(StatusCode::UNAUTHORIZED, bad);
            }
        };
        expect(
            send(
                server,
                reqwest::Method::PUT,
                "/auth/account-deactivate/",
                bearer,
                None,
            )
            .await,
        );
        expect(
            send(
                server,
                reqwest::Method::DELETE,
                "/auth/delete/",
                bearer,
                None,
            )
            .await,
        );
        expect(get(server, &format!("/auth/info/{alice_id}/"), bearer).await);
        expect(
            send(
                server,
                reqwest::Method::PATCH,
                &format!("/auth/update/usr/{alice_id}/"),
                bearer,
                Some(json!({})),
            )
            .await,
        );
        expect(
            send(
                server,
                reqwest::Method::PUT,
                "/auth/user-update/",
                bearer,
                Some(json!({ "username": "x1x", "name": "X" })),
            )
            .await,
        );
        expect(
            post(
                server,
                "/auth/re-verify-email/",
                bearer,
                json!({ "email": "alice@example.com" }),
            )
            .await,
        );
        expect(
            post(
                server,
                "/auth/admin_approval/",
                bearer,
                json!({ "customer_id": "7001000000100000" }),
            )
            .await,
        );
        expect(
            upload_to(
                server,
                "/auth/upload/",
                bearer,
                multipart("file", "a.png", "image/png", PNG),
            )
            .await,
        );
        expect(
            upload_to(
                server,
                &format!("/auth/avatar/{alice_id}/"),
                bearer,
                multipart("file", "a.png", "image/png", PNG),
            )
            .await,
        );
    }
    let r = reply(
        http()
            .get(url(server, &format!("/auth/info/{alice_id}/")))
            .header("authorization", "Basic YTpi"),
    )
    .await;
    r.detail(StatusCode::UNAUTHORIZED, no_creds);

    // Re-verify only the caller's own address.
    post(
        server,
        "/auth/re-verify-email/",
        a,
        json!({ "email": "bob@example.com" }),
    )
    .await
    .detail(
        StatusCode::BAD_REQUEST,
        "Invalid email: is not the address of the account",
    );

    // Update refusals: a taken username, a bad email.
    send(
        server,
        reqwest::Method::PUT,
        "/auth/user-update/",
        a,
        Some(json!({ "username": "bobby", "name": "A" })),
    )
    .await
    .detail(
        StatusCode::BAD_REQUEST,
        "A user with this username already exists.",
    );
    send(
        server,
        reqwest::Method::PATCH,
        &format!("/auth/update/usr/{alice_id}/"),
        a,
        Some(json!({ "email": "not-an-email" })),
    )
    .await
    .detail(
        StatusCode::BAD_REQUEST,
        "Invalid email: not a valid email address",
    );
    send(
        server,
        reqwest::Method::PUT,
        "/auth/user-update/",
        a,
        Some(json!({ "username": "alice2" })),
    )
    .await
    .fails(StatusCode::BAD_REQUEST);
}

async fn unreadable_requests(server: &TestServer) {
    // Malformed JSON, wrong content type, wrong shapes: 400/415 in the envelope, never 500.
    for path in ["/auth/register/", "/auth/login/", "/auth/login/100000/"] {
        let r = reply(
            http()
                .post(url(server, path))
                .header(CONTENT_TYPE, "application/json")
                .body("{not json"),
        )
        .await;
        r.fails(StatusCode::BAD_REQUEST);
        assert!(r.str("detail").starts_with("malformed JSON"), "{r:?}");
        let r = reply(
            http()
                .post(url(server, path))
                .header(CONTENT_TYPE, "text/plain")
                .body("{}"),
        )
        .await;
        r.fails(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        post(server, path, None, json!([1, 2]))
            .await
            .fails(StatusCode::BAD_REQUEST);
    }
    // Register refusals.
    let base = json!({
        "username": "JohnDoe0303", "email": "john@example.com", "phone": "1234567890",
        "password": PASSWORD, "password2": PASSWORD,
    });
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    post(
        server,
        "/auth/register/",
        None,
        with("password2", json!("other-Pass-1!")),
    )
    .await
    .detail(
        StatusCode::BAD_REQUEST,
        "Invalid password2: passwords do not match",
    );
    for (k, v) in [
        ("email", json!("not-an-email")),
        ("phone", json!("12ab")),
        ("user_type", json!("ROOT")),
        ("gender", json!("other")),
        ("username", json!("x")),
    ] {
        post(server, "/auth/register/", None, with(k, v))
            .await
            .fails(StatusCode::BAD_REQUEST);
    }
    let weak = json!({ "username": "weakling", "email": "weak@example.com", "phone": "1234567891", "password": "password", "password2": "password" });
    post(server, "/auth/register/", None, weak)
        .await
        .fails(StatusCode::BAD_REQUEST);
    let mut missing = base.clone();
    missing.as_object_mut().expect("object").remove("phone");
    let r = post(server, "/auth/register/", None, missing).await;
    r.fails(StatusCode::BAD_REQUEST);
    assert!(r.str("detail").contains("phone"), "{r:?}");
    // Without user_type: a CUSTOMER. Duplicates: a clear 400.
    let r = post(server, "/auth/register/", None, base.clone()).await;
    assert_eq!(
        (r.status, &r.body["user_type"]),
        (StatusCode::CREATED, &json!("CUSTOMER")),
        "{r:?}"
    );
    assert!(
        r.body.get("password").is_none() && r.body.get("password2").is_none(),
        "{r:?}"
    );
    // (Which taken field a store names first when several are taken differs.)
    let r = post(server, "/auth/register/", None, base.clone()).await;
    r.fails(StatusCode::BAD_REQUEST);
    assert!(r.str("detail").starts_with("A user with this "), "{r:?}");
    let mut other = with("username", json!("other0303"));
    other["phone"] = json!("1234567899");
    post(server, "/auth/register/", None, other).await.detail(
        StatusCode::BAD_REQUEST,
        "A user with this email already exists.",
    );
    // Paths without the trailing slash are served too; unknown ones are JSON 404s.
    let r = post(
        server,
        "/auth/login",
        None,
        json!({ "email": "john@example.com", "otpType": "Email", "password": "Wrong-pass-1!" }),
    )
    .await;
    r.detail(StatusCode::UNAUTHORIZED, "Invalid email or password");
    assert_eq!(
        get(server, "/auth/nothing/", None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// With `blob_url` set, uploads go to the S3-compatible store (a signature-checking one here),
/// not to the data directory, and come back through the same URL, from any server on that
/// store; a store that cannot be reached is a 503 in the envelope.
#[tokio::test]
async fn uploads_go_to_the_configured_s3_store() {
    let objects = tempfile::tempdir().expect("tempdir");
    let addr =
        idp_plugins::blobs::s3_test_server::spawn(objects.path(), "uploads", "idp", "k+y/s").await;
    let blob_url = |addr| format!("s3+http://idp:k%2By%2Fs@{addr}/uploads");
    let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n".to_vec();
    let mut data_dir = std::path::PathBuf::new();
    let server = idp_e2e::start_sqlite_with(|c| {
        c.blob_url = Some(blob_url(addr));
        data_dir = c.data_dir.clone();
    })
    .await;
    let r = upload_pdf(&server, &pdf).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let file_url = r.str("url");
    let key = file_url.rsplit('/').next().expect("key");
    assert_eq!(
        std::fs::read(objects.path().join("uploads").join(key)).expect("object in the bucket"),
        pdf
    );
    assert!(!data_dir.join("blobs").join(key).exists());
    let path = file_url.strip_prefix(ISSUER).expect("issuer URL");
    let res = http().get(server.url(path)).send().await.expect("get file");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/pdf");
    assert_eq!(res.bytes().await.expect("bytes").to_vec(), pdf);
    // Another server on the same store (a replica) serves it too.
    let replica = idp_e2e::start_sqlite_with(|c| c.blob_url = Some(blob_url(addr))).await;
    let res = http()
        .get(replica.url(path))
        .send()
        .await
        .expect("get file");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.expect("bytes").to_vec(), pdf);

    // A store that does not answer.
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let server = idp_e2e::start_sqlite_with(|c| c.blob_url = Some(blob_url(gone))).await;
    let r = upload_pdf(&server, &pdf).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{r:?}");
    assert!(r.body.get("detail").is_some(), "{r:?}");
}

/// A new developer account uploads `pdf` through `/auth/upload/`.
async fn upload_pdf(server: &TestServer, pdf: &[u8]) -> Reply {
    let (access, _, _) = developer(server, "s3user", "s3@example.com", "+2348000000021").await;
    upload_to(
        server,
        "/auth/upload/",
        Some(&access),
        multipart("file", "doc.pdf", "application/pdf", pdf),
    )
    .await
}

async fn uploads(server: &TestServer) {
    let (access, _, id) = developer(server, "uploader", "up@example.com", "+2348000000020").await;
    let a = Some(access.as_str());

    // The returned URL serves the bytes back, with the sniffed type.
    let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n".to_vec();
    // Declared as an image: the bytes decide.
    let r = upload_to(
        server,
        "/auth/upload/",
        a,
        multipart("file", "doc.png", "image/png", &pdf),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let file_url = r.str("url");
    assert!(file_url.ends_with(".pdf"), "{r:?}");
    let path = file_url.strip_prefix(ISSUER).expect("issuer URL");
    let res = http().get(server.url(path)).send().await.expect("get file");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/pdf");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.expect("bytes").to_vec(), pdf);
    for (p, name) in [
        (b"\xFF\xD8\xFF\xE0jpeg".to_vec(), "a.jpg"),
        (b"RIFF\0\0\0\0WEBPVP8 ".to_vec(), "a.webp"),
    ] {
        let r = upload_to(
            server,
            "/auth/upload/",
            a,
            multipart("file", name, "application/octet-stream", &p),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    }

    // A disallowed type (HTML posing as PNG, a GIF), an empty file: refused.
    let type_refused = "Invalid file: must be a PNG, JPEG or WebP image or a PDF document";
    upload_to(
        server,
        "/auth/upload/",
        a,
        multipart(
            "file",
            "x.png",
            "image/png",
            b"<html><script>alert(1)</script>",
        ),
    )
    .await
    .detail(StatusCode::BAD_REQUEST, type_refused);
    upload_to(
        server,
        &format!("/auth/avatar/{id}/"),
        a,
        multipart("file", "x.gif", "image/gif", b"GIF89a...."),
    )
    .await
    .detail(StatusCode::BAD_REQUEST, type_refused);
    upload_to(
        server,
        "/auth/upload/",
        a,
        multipart("file", "e.pdf", "application/pdf", b""),
    )
    .await
    .detail(StatusCode::BAD_REQUEST, "Invalid file: is empty");

    // Too large: 413 in the envelope (just over the limit, and well over the body limit).
    let max = idp_core::blobs::DEFAULT_MAX_BYTES;
    let mut big = PNG.to_vec();
    big.resize(max + 1, 0);
    upload_to(
        server,
        "/auth/upload/",
        a,
        multipart("file", "big.png", "image/png", &big),
    )
    .await
    .detail(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("file larger than {max} bytes"),
    );
    big.resize(max + 200 * 1024, 0);
    upload_to(
        server,
        &format!("/auth/avatar/{id}/"),
        a,
        multipart("file", "big.png", "image/png", &big),
    )
    .await
    .fails(StatusCode::PAYLOAD_TOO_LARGE);

    // Not multipart, no `file` part.
    let r = post(server, "/auth/upload/", a, json!({ "file": "profile.png" })).await;
    r.fails(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    upload_to(
        server,
        "/auth/upload/",
        a,
        multipart("photo", "a.png", "image/png", PNG),
    )
    .await
    .detail(StatusCode::BAD_REQUEST, "a `file` part is required");
    let r = reply(
        http()
            .post(url(server, "/auth/upload/"))
            .bearer_auth(&access)
            .header(CONTENT_TYPE, "multipart/form-data; boundary=zzz")
            .body("--zzz\r\nbroken"),
    )
    .await;
    r.fails(StatusCode::BAD_REQUEST);

    // Unknown and malformed file keys.
    get(server, "/media/0123456789abcdef0123456789abcdef.png", None)
        .await
        .detail(StatusCode::NOT_FOUND, "file not found");
    get(server, "/media/..%2F..%2Fidp.db", None)
        .await
        .detail(StatusCode::NOT_FOUND, "file not found");
}

async fn tokens_work_at_oidc_endpoints(server: &TestServer) {
    let email = "oidc.user@example.com";
    let (access, refresh, _) = developer(server, "oidcuser", email, "+2348000000030").await;
    let r = reply(http().get(server.url("/userinfo")).bearer_auth(&access)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let sub = r.str("sub");

    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("tenant");
    idp.create_client(
        &Context::system(),
        tenant.id,
        NewClient {
            id: "resource-server".into(),
            secret: Some("resource-server-secret-0123".into()),
            grants: vec![GrantType::ClientCredentials],
            scopes: vec!["api".into()],
            ..NewClient::default()
        },
    )
    .await
    .expect("client");
    let introspect = |token: String| {
        reply(
            http()
                .post(server.url("/introspect"))
                .basic_auth("resource-server", Some("resource-server-secret-0123"))
                .form(&[("token", token)]),
        )
    };
    let r = introspect(access.clone()).await;
    assert_eq!(r.body["active"], true, "{r:?}");
    assert_eq!(r.body["client_id"], "fintract", "{r:?}");
    assert_eq!(r.body["sub"], sub.as_str(), "{r:?}");
    let amr = r.body["amr"].as_array().cloned().unwrap_or_default();
    assert!(
        amr.contains(&json!("otp")) || r.body.get("amr").is_none(),
        "{r:?}"
    );
    let r = introspect(refresh.clone()).await;
    assert_eq!(r.body["active"], true, "{r:?}");
    // The refresh token works at /token for the surface's public client.
    let r = reply(http().post(server.url("/token")).form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", "fintract"),
    ]))
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    // Deleting the account ends its tokens.
    send(
        server,
        reqwest::Method::DELETE,
        "/auth/delete/",
        Some(&access),
        None,
    )
    .await
    .is(
        StatusCode::OK,
        json!({ "msg": "Account Successfully deleted" }),
    );
    let r = introspect(access.clone()).await;
    assert_eq!(r.body, json!({ "active": false }), "{r:?}");
}
