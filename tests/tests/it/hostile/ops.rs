//! The operations to attack: every operation `/openapi.json` describes, plus the routers' own
//! paths and aliases (the built-in list below), each with the surface that answers it and the
//! body fields worth mistyping.

use idp_e2e::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// `/openapi.json` must describe at least this many operations (it described 104 when this
/// was written): a document that loses operations would silently shrink the campaign.
const MIN_DOCUMENTED: usize = 100;

/// Which surface answers a path, and so which error envelope a 4xx must be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Oidc,
    Fintract,
    BioEntrust,
    Fintiv,
    Switch,
    /// Health, metrics, the OpenAPI document: `{"error","message"}` like unknown routes.
    Root,
}

impl Surface {
    pub fn of(path: &str) -> Self {
        let under = |p: &str| path == p || path.starts_with(&format!("{p}/"));
        if under("/fintract") {
            Self::Fintract
        } else if under("/bioentrust") {
            Self::BioEntrust
        } else if under("/fintiv") {
            Self::Fintiv
        } else if under("/switch") {
            Self::Switch
        } else if ["/healthz", "/readyz", "/metrics", "/openapi.json"].contains(&path) {
            Self::Root
        } else {
            Self::Oidc
        }
    }

    /// Body fields the surface's requests use (mistyped and stuffed on every operation).
    fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Oidc => &[
                "grant_type",
                "code",
                "redirect_uri",
                "code_verifier",
                "client_id",
                "client_secret",
                "refresh_token",
                "scope",
                "token",
                "token_type_hint",
                "response_type",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
                "prompt",
                "max_age",
                "id_token_hint",
                "post_logout_redirect_uri",
                "login",
                "password",
                "csrf",
            ],
            Self::Fintract => &[
                "email",
                "password",
                "password2",
                "username",
                "phone",
                "otp",
                "otpType",
                "userType",
                "customer-id",
                "first_name",
                "last_name",
                "address",
                "country",
                "gender",
                "national_id",
                "bank_name",
                "refresh",
                "is_active",
            ],
            Self::BioEntrust => &[
                "email",
                "password",
                "first_name",
                "last_name",
                "phone",
                "otp",
                "otp_request_id",
                "app_id",
                "token",
                "answer",
            ],
            Self::Fintiv => &[
                "username",
                "password",
                "grant_type",
                "refresh_token",
                "scope",
                "firstName",
                "lastName",
                "contact",
                "contactType",
                "personType",
                "roleName",
                "roleNames",
                "currentPassword",
                "newPassword",
                "currentPin",
                "newPin",
                "pin",
                "answer",
                "securityQuestionId",
                "securityQuestion",
                "description",
                "entitlement",
                "clientRoleEntitlements",
                "uuid",
                "status",
                "preferredLanguage",
                "resetRequired",
            ],
            Self::Switch => &[
                "email",
                "password",
                "first_name",
                "last_name",
                "date_of_birth",
                "phone",
                "gender",
                "bvn",
                "sales_agent_referral_code",
                "two_factor_code",
                "two_factor_token",
                "token",
                "answer",
                "security_question",
            ],
            Self::Root => &[],
        }
    }
}

/// How an operation takes its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Form,
    Multipart,
    None,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Method,
    /// Path template, `{name}` for path parameters.
    pub path: String,
    pub surface: Surface,
    pub body: BodyKind,
    /// Body (or query) fields to fill with hostile values.
    pub fields: Vec<String>,
}

/// The built-in list: `(method, path, body)` of every route the routers mount today.
const ROUTES: &[(&str, &str, BodyKind)] = {
    use BodyKind::{Form as F, Json as J, Multipart as M, None as N};
    &[
        ("GET", "/healthz", N),
        ("GET", "/readyz", N),
        ("GET", "/.well-known/openid-configuration", N),
        ("GET", "/jwks", N),
        ("GET", "/authorize", N),
        ("POST", "/authorize", F),
        ("POST", "/token", F),
        ("GET", "/userinfo", N),
        ("POST", "/userinfo", F),
        ("POST", "/introspect", F),
        ("POST", "/revoke", F),
        ("GET", "/logout", N),
        ("POST", "/logout", F),
        ("GET", "/unlock", N),
        ("POST", "/unlock", F),
        ("GET", "/account/mfa", N),
        ("POST", "/account/mfa", F),
        ("POST", "/fintract/auth/register/", J),
        ("POST", "/fintract/auth/register", J),
        ("POST", "/fintract/auth/login/", J),
        ("POST", "/fintract/auth/login/{id}/", J),
        ("POST", "/fintract/auth/admin_approval/", J),
        ("PUT", "/fintract/auth/account-deactivate/", J),
        ("DELETE", "/fintract/auth/delete/", J),
        ("POST", "/fintract/auth/re-verify-email/", J),
        ("GET", "/fintract/auth/verify-email/", N),
        ("GET", "/fintract/auth/info/{id}/", N),
        ("PATCH", "/fintract/auth/update/usr/{id}/", J),
        ("PUT", "/fintract/auth/user-update/", J),
        ("POST", "/fintract/auth/avatar/{id}/", M),
        ("POST", "/fintract/auth/upload/", M),
        ("GET", "/fintract/media/{key}", N),
        ("GET", "/bioentrust/user/home", N),
        ("GET", "/bioentrust/user/protected", N),
        ("POST", "/bioentrust/user/signup", J),
        ("POST", "/bioentrust/user/verify-email", J),
        ("POST", "/bioentrust/user/verify_email", J),
        ("POST", "/bioentrust/user/signin", J),
        ("POST", "/bioentrust/user/verify-sms", J),
        ("POST", "/bioentrust/user/verify_sms", J),
        ("DELETE", "/bioentrust/user/signout", J),
        ("GET", "/bioentrust/user/refresh", N),
        ("POST", "/bioentrust/user/forgot-password", J),
        ("POST", "/bioentrust/user/reset-password", J),
        ("POST", "/bioentrust/auth/reset-password", J),
        ("POST", "/fintiv/auth/oauth/token", F),
        ("GET", "/fintiv/auth/api/myinfo", N),
        ("POST", "/fintiv/auth/api/myinfo/changePassword", J),
        ("PUT", "/fintiv/auth/api/myinfo/changePin", J),
        ("GET", "/fintiv/auth/api/myinfo/securityQuestions", N),
        ("POST", "/fintiv/auth/api/myinfo/securityAnswer", J),
        ("PUT", "/fintiv/auth/api/myinfo/securityAnswer/{id}", J),
        ("GET", "/fintiv/auth/api/checkUserExist", N),
        ("POST", "/fintiv/auth/api/checkUserExist", J),
        ("POST", "/fintiv/auth/api/reset/password", J),
        ("POST", "/fintiv/auth/api/reset/pin", J),
        ("GET", "/fintiv/auth/api/securityQuestions", N),
        ("DELETE", "/fintiv/auth/api/deregister/{uuid}", N),
        ("POST", "/fintiv/auth/api/validate/pin", J),
        ("GET", "/fintiv/auth/admin/client/{tenantName}", N),
        ("GET", "/fintiv/auth/admin/client/person/audit/{uuid}", N),
        (
            "GET",
            "/fintiv/auth/admin/client/person/audit/{uuid}/{auditId}",
            N,
        ),
        (
            "GET",
            "/fintiv/admin/client/person/audit/{uuid}/{auditId}",
            N,
        ),
        ("GET", "/fintiv/auth/admin/client/person", N),
        ("POST", "/fintiv/auth/admin/client/person", J),
        ("GET", "/fintiv/auth/admin/client/person/{uuid}", N),
        ("PUT", "/fintiv/auth/admin/client/person/{uuid}", J),
        ("DELETE", "/fintiv/auth/admin/client/person/{uuid}", N),
        ("GET", "/fintiv/auth/admin/client/person/role", N),
        ("POST", "/fintiv/auth/admin/client/person/role", J),
        ("DELETE", "/fintiv/auth/admin/client/person/role", J),
        ("POST", "/fintiv/auth/admin/client/person/{uuid}/lock", J),
        ("PUT", "/fintiv/auth/admin/client/person/{uuid}/unlock", J),
        (
            "POST",
            "/fintiv/auth/admin/client/person/{uuid}/resetPassword",
            J,
        ),
        ("PUT", "/fintiv/auth/admin/client/person/{uuid}/resetPin", J),
        ("POST", "/fintiv/auth/admin/client/person/{uuid}/status", J),
        ("GET", "/fintiv/auth/admin/client/role", N),
        ("POST", "/fintiv/auth/admin/client/role", J),
        ("GET", "/fintiv/auth/admin/client/role/{roleId}", N),
        ("PUT", "/fintiv/auth/admin/client/role/{roleId}", J),
        ("DELETE", "/fintiv/auth/admin/client/role/{roleId}", N),
        ("POST", "/switch/user/register", J),
        ("POST", "/switch/user/login", J),
        ("POST", "/switch/user/forgot_password", J),
        ("POST", "/switch/user/reset_password", J),
        ("POST", "/switch/user/unlock_account", J),
        ("POST", "/switch/user/resend_unlock_email", J),
        ("POST", "/switch/user/logout", J),
        ("POST", "/switch/user/validate_user_bvn", J),
        ("POST", "/switch/user/send_email_confirmation_mail", J),
        ("POST", "/switch/user/confirm_email", J),
        ("GET", "/switch/user/referrer/{switch_id}", N),
    ]
};

fn operation(method: Method, path: &str, body: BodyKind, mut fields: Vec<String>) -> Operation {
    let surface = Surface::of(path);
    for f in surface.fields() {
        if !fields.iter().any(|have| have == f) {
            fields.push((*f).to_owned());
        }
    }
    Operation {
        method,
        path: path.to_owned(),
        surface,
        body,
        fields,
    }
}

/// The documented operations followed by the built-in ones the document does not list.
pub async fn operations(server: &TestServer) -> Vec<Operation> {
    let mut ops = documented(server).await;
    for (method, path, body) in ROUTES {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        if !ops.iter().any(|o| o.method == method && o.path == *path) {
            ops.push(operation(method, path, *body, Vec::new()));
        }
    }
    ops
}

/// The operations `/openapi.json` describes.
async fn documented(server: &TestServer) -> Vec<Operation> {
    let res = idp_e2e::http()
        .get(server.url("/openapi.json"))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(res.status(), StatusCode::OK, "GET /openapi.json");
    let doc: Value = res.json().await.expect("/openapi.json is JSON");
    let mut ops = Vec::new();
    let paths = doc["paths"].as_object().expect("openapi paths");
    for (path, item) in paths {
        for (method, spec) in item.as_object().into_iter().flatten() {
            let Ok(m) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                continue;
            };
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) {
                continue;
            }
            let (body, fields) = request_body(&doc, spec);
            ops.push(operation(m, path, body, fields));
        }
    }
    eprintln!("hostile: /openapi.json describes {} operations", ops.len());
    assert!(
        ops.len() >= MIN_DOCUMENTED,
        "/openapi.json describes {} operations, fewer than the {MIN_DOCUMENTED} the routers serve",
        ops.len()
    );
    ops
}

/// The body kind and field names (properties of the schema, query parameters) of `spec`.
fn request_body(doc: &Value, spec: &Value) -> (BodyKind, Vec<String>) {
    let mut fields: Vec<String> = spec["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| resolve(doc, p))
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    let content = &resolve(doc, &spec["requestBody"])["content"];
    let kinds = [
        ("application/json", BodyKind::Json),
        ("application/x-www-form-urlencoded", BodyKind::Form),
        ("multipart/form-data", BodyKind::Multipart),
    ];
    let Some((media, kind)) = kinds.iter().find(|(m, _)| content.get(m).is_some()) else {
        return (BodyKind::None, fields);
    };
    let schema = resolve(doc, &content[media]["schema"]);
    fields.extend(
        schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.clone()),
    );
    (*kind, fields)
}

/// Follows a local `$ref` (`#/components/...`), one level at a time.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let mut v = v;
    for _ in 0..8 {
        let Some(r) = v["$ref"].as_str().and_then(|r| r.strip_prefix('#')) else {
            return v;
        };
        v = doc.pointer(r).unwrap_or(&Value::Null);
    }
    v
}
