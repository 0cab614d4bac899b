//! Request and response bodies of the Fintiv document (its Objects section), the envelope, and
//! the body extractors that answer unreadable requests in the envelope. Secrets (password, PIN,
//! answers) are always null in answers; timestamps are unix milliseconds.

use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use idp_core::Error;
use idp_core::model::*;
use idp_core::ops::account_views::{AccountView, TenantView};
use idp_core::ops::tokens::TokenSet;
use idp_core::ops::{AccountUpdate, Registration};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::ApiError;

fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

// --- envelope and extractors ---

/// A successful answer: `{"contextResponse": {... "SUCCESS" ...}, "responseData": data}`.
pub struct Envelope<T> {
    pub tenant: Option<String>,
    pub data: T,
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        axum::Json(json!({
            "contextResponse": context(self.tenant),
            "responseData": self.data,
        }))
        .into_response()
    }
}

fn context(tenant: Option<String>) -> Value {
    json!({
        "tenantName": tenant,
        "statusCode": "SUCCESS",
        "statusMessage": Value::Null,
        "additionalStatusCode": Value::Null,
        "additionalStatusMessage": Value::Null,
    })
}

crate::vendor_json!(FintivJson, ApiError);

/// A JSON body, or — for calls the document shows both ways (GET with a query string, or a
/// body on GET/DELETE) — the query string when there is no body.
pub struct BodyOrQuery<T>(pub T);

impl<S, T> FromRequest<S> for BodyOrQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let uri = req.uri().clone();
        let has_body = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > 0)
            || req
                .headers()
                .contains_key(axum::http::header::TRANSFER_ENCODING);
        if has_body && req.method() != Method::HEAD {
            return FintivJson::<T>::from_request(req, state)
                .await
                .map(|FintivJson(v)| Self(v));
        }
        axum::extract::Query::<T>::try_from_uri(&uri)
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e| ApiError::validation(format!("invalid request: {}", e.body_text())))
    }
}

/// `axum::Form` whose rejections are answered in the envelope (token endpoint).
pub struct FintivForm<T>(pub T);

impl<S, T> FromRequest<S> for FintivForm<T>
where
    axum::Form<T>: FromRequest<S, Rejection = FormRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::form_rejection(&rejection)),
        }
    }
}

// --- objects ---

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntitlementObj {
    id: i64,
    name: String,
    description: Option<String>,
    created_date: i64,
    last_updated_date: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientRoleEntitlement {
    /// The role-entitlement mapping has no id of its own: the entitlement's id.
    id: i64,
    entitlement: EntitlementObj,
    created_date: i64,
    last_updated_date: i64,
    authority: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleObj {
    id: i64,
    name: String,
    client_name: Option<String>,
    description: Option<String>,
    created_date: i64,
    last_updated_date: i64,
    client_role_entitlements: Option<Vec<ClientRoleEntitlement>>,
}

impl RoleObj {
    /// With its entitlements, or (`brief`) with `clientRoleEntitlements: null` as lists show it.
    pub fn new(role: Role, tenant: &str, brief: bool) -> Self {
        let at = ms(role.updated_at);
        Self {
            id: role.id,
            client_name: Some(tenant.to_owned()),
            description: role.description,
            created_date: ms(role.created_at),
            last_updated_date: at,
            client_role_entitlements: (!brief).then(|| {
                role.entitlements
                    .into_iter()
                    .map(|e| ClientRoleEntitlement {
                        id: e.id,
                        authority: e.name.clone(),
                        entitlement: EntitlementObj {
                            id: e.id,
                            name: e.name,
                            description: e.description,
                            created_date: ms(e.created_at),
                            last_updated_date: ms(e.created_at),
                        },
                        created_date: at,
                        last_updated_date: at,
                    })
                    .collect()
            }),
            name: role.name,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientObj {
    name: String,
    description: Option<String>,
    default_role: Option<RoleObj>,
    created_date: i64,
    last_updated_date: i64,
}

impl ClientObj {
    fn new(tenant: &Tenant, default_role: Option<Role>) -> Self {
        Self {
            name: tenant.name.clone(),
            description: tenant.description.clone(),
            default_role: default_role.map(|r| RoleObj::new(r, &tenant.name, false)),
            created_date: ms(tenant.created_at),
            last_updated_date: ms(tenant.updated_at),
        }
    }
}

impl From<TenantView> for ClientObj {
    fn from(v: TenantView) -> Self {
        Self::new(&v.tenant, v.default_role)
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonRole {
    role: RoleObj,
    created_date: i64,
    last_updated_date: i64,
}

impl PersonRole {
    pub fn new(a: RoleAssignment, tenant: &str, brief: bool) -> Self {
        Self {
            created_date: ms(a.assigned_at),
            last_updated_date: ms(a.assigned_at),
            role: RoleObj::new(a.role, tenant, brief),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonCredential {
    credential_type: &'static str,
    credential: String,
    created_date: i64,
    last_updated_date: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonContact {
    contact_type: &'static str,
    contact: String,
    created_date: i64,
    last_updated_date: i64,
}

/// The Person object.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    client: ClientObj,
    first_name: Option<String>,
    last_name: Option<String>,
    password: Option<String>,
    pin: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
    person_type: Option<String>,
    status: &'static str,
    last_login_datetime: Option<i64>,
    login_attempt: u32,
    last_password_update: Option<i64>,
    preferred_language: Option<String>,
    need_change_password: bool,
    remaining_change_password_date: i64,
    created_date: i64,
    last_updated_date: i64,
    time_zone_formatted: Option<String>,
    person_credentials: Vec<PersonCredential>,
    person_roles: Vec<PersonRole>,
    person_contacts: Vec<PersonContact>,
    enabled: bool,
    username: String,
    credentials_non_expired: bool,
    account_non_locked: bool,
    id: String,
}

impl From<AccountView> for Person {
    fn from(v: AccountView) -> Self {
        let a = v.account;
        let created = ms(a.created_at);
        let updated = ms(a.updated_at);
        let mut credentials = vec![PersonCredential {
            credential_type: "USERNAME",
            credential: a.username.clone(),
            created_date: created,
            last_updated_date: updated,
        }];
        let mut contacts = Vec::new();
        if let Some(email) = &a.email {
            credentials.push(PersonCredential {
                credential_type: "EMAIL",
                credential: email.clone(),
                created_date: created,
                last_updated_date: updated,
            });
            contacts.push(PersonContact {
                contact_type: "EMAIL",
                contact: email.clone(),
                created_date: created,
                last_updated_date: updated,
            });
        }
        if let Some(phone) = &a.phone {
            credentials.push(PersonCredential {
                credential_type: "PHONENUMBER",
                credential: phone.clone(),
                created_date: created,
                last_updated_date: updated,
            });
            contacts.push(PersonContact {
                contact_type: "MOBILE",
                contact: phone.clone(),
                created_date: created,
                last_updated_date: updated,
            });
        }
        let tenant_name = v.tenant.name.clone();
        Self {
            client: ClientObj::new(&v.tenant, None),
            first_name: a.profile.first_name,
            last_name: a.profile.last_name,
            password: None,
            pin: None,
            current_password: None,
            new_password: None,
            person_type: a.user_type,
            status: a.status.as_str(),
            last_login_datetime: a.last_login_at.map(ms),
            login_attempt: a.failed_attempts,
            last_password_update: a.password_changed_at.map(ms),
            preferred_language: a.profile.preferred_language,
            need_change_password: a.need_change_password,
            remaining_change_password_date: v.password_days_left,
            created_date: created,
            last_updated_date: updated,
            time_zone_formatted: a.profile.time_zone,
            person_credentials: credentials,
            person_roles: v
                .roles
                .into_iter()
                .map(|r| PersonRole::new(r, &tenant_name, true))
                .collect(),
            person_contacts: contacts,
            enabled: !matches!(a.status, AccountStatus::Disabled | AccountStatus::Closed),
            username: a.username,
            credentials_non_expired: v.credentials_non_expired,
            account_non_locked: a.status != AccountStatus::Locked,
            id: a.id.to_string(),
        }
    }
}

/// A row of "Retrieve tenant's users".
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonSummary {
    client_id: String,
    client_name: String,
    first_name: Option<String>,
    last_name: Option<String>,
    person_type: Option<String>,
    status: &'static str,
    created_date: i64,
    last_updated_date: i64,
    username: String,
    id: String,
}

impl PersonSummary {
    pub fn new(a: Account, tenant: &str) -> Self {
        Self {
            client_id: a.tenant_id.to_string(),
            client_name: tenant.to_owned(),
            first_name: a.profile.first_name,
            last_name: a.profile.last_name,
            person_type: a.user_type,
            status: a.status.as_str(),
            created_date: ms(a.created_at),
            last_updated_date: ms(a.updated_at),
            username: a.username,
            id: a.id.to_string(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityQuestionObj {
    id: i64,
    question: String,
    created_date: i64,
    last_updated_date: i64,
}

impl From<SecurityQuestion> for SecurityQuestionObj {
    fn from(q: SecurityQuestion) -> Self {
        Self {
            id: q.id,
            question: q.question,
            created_date: ms(q.created_at),
            last_updated_date: ms(q.updated_at),
        }
    }
}

/// The security question answer object; `answer` is always null.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityAnswerObj {
    id: i64,
    uuid: String,
    security_question: SecurityQuestionObj,
    answer: Option<String>,
    created_date: i64,
    last_updated_date: i64,
}

impl From<SecurityAnswer> for SecurityAnswerObj {
    fn from(a: SecurityAnswer) -> Self {
        Self {
            id: a.id,
            uuid: a.account_id.to_string(),
            security_question: a.question.into(),
            answer: None,
            created_date: ms(a.created_at),
            last_updated_date: ms(a.updated_at),
        }
    }
}

/// The PersonAudit object. `parameter` is the core's redacted parameter summary; `data`,
/// `httpLoggingId` and `httpLogging` are always null (no request or response is ever stored).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonAudit {
    id: i64,
    audit_category: &'static str,
    name: String,
    audit_action: &'static str,
    uuid: Option<String>,
    created_date: i64,
    result: &'static str,
    summary: String,
    parameter: Option<String>,
    data: Option<String>,
    error_message: Option<String>,
    start_date: Option<i64>,
    end_date: Option<i64>,
    client_ip_address: Option<String>,
    http_logging_id: Option<i64>,
    http_logging: Option<Value>,
}

impl From<AuditRecord> for PersonAudit {
    fn from(r: AuditRecord) -> Self {
        let a = r.record;
        Self {
            id: r.id,
            audit_category: a.category.as_str(),
            name: a.name,
            audit_action: a.action.as_str(),
            uuid: a.account_id.map(|u| u.to_string()),
            created_date: ms(a.created_at),
            result: if a.success { "Y" } else { "N" },
            summary: a.summary,
            parameter: (!a.parameters.is_null()).then(|| a.parameters.to_string()),
            data: None,
            error_message: a.error_message,
            start_date: None,
            end_date: None,
            client_ip_address: a.client_ip,
            http_logging_id: None,
            http_logging: None,
        }
    }
}

/// The Spring-OAuth2 token answer, with the envelope members beside it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenAnswer {
    access_token: String,
    token_type: &'static str,
    refresh_token: Option<String>,
    expires_in: i64,
    scope: String,
}

impl From<TokenSet> for TokenAnswer {
    fn from(t: TokenSet) -> Self {
        Self {
            access_token: t.access_token,
            token_type: "bearer",
            refresh_token: t.refresh_token,
            expires_in: t.expires_in,
            scope: t.scope,
        }
    }
}

impl TokenAnswer {
    /// `{access_token, token_type, refresh_token, expires_in, scope, contextResponse,
    /// responseData}`: what an OAuth2 client reads at the top, the envelope beside it.
    pub fn into_response(self, tenant: String) -> Response {
        let mut body = serde_json::to_value(&self).unwrap_or(Value::Null);
        body["contextResponse"] = context(Some(tenant));
        body["responseData"] = serde_json::to_value(&self).unwrap_or(Value::Null);
        axum::Json(body).into_response()
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserExist {
    pub user_exist: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PinValidated {
    pub pin_validated: bool,
}

// --- requests ---

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    pub grant_type: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePin {
    pub current_pin: Option<String>,
    pub new_pin: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct QuestionRef {
    pub id: i64,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnswerRequest {
    pub answer: String,
    pub security_question: QuestionRef,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CheckUser {
    pub username: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetRequest {
    pub answer: String,
    pub security_question_id: i64,
    pub username: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminResetRequest {
    pub answer: String,
    pub security_question_id: i64,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ValidatePin {
    pub pin: String,
    pub uuid: String,
}

/// Create/update tenant's user.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonRequest {
    pub contact: Option<String>,
    pub contact_type: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub password: Option<String>,
    pub person_type: String,
    pub pin: Option<String>,
    pub preferred_language: Option<String>,
    #[serde(default)]
    pub reset_required: bool,
    pub role_name: Option<String>,
    #[serde(default)]
    pub role_names: Vec<String>,
    pub time_zone_formatted: Option<String>,
    pub username: String,
}

impl PersonRequest {
    /// (email, phone) from `contact` and `contactType` (EMAIL, MOBILE; guessed when absent).
    fn contact(&self) -> Result<(Option<String>, Option<String>), Error> {
        let Some(contact) = self.contact.clone().filter(|c| !c.trim().is_empty()) else {
            return Ok((None, None));
        };
        let kind = self.contact_type.clone().unwrap_or_else(|| {
            if contact.contains('@') {
                "EMAIL"
            } else {
                "MOBILE"
            }
            .into()
        });
        match kind.to_ascii_uppercase().as_str() {
            "EMAIL" => Ok((Some(contact), None)),
            "MOBILE" | "PHONE" | "PHONENUMBER" => Ok((None, Some(contact))),
            _ => Err(Error::invalid("contactType", "must be EMAIL or MOBILE")),
        }
    }

    fn profile(&self, mut profile: Profile) -> Profile {
        profile.first_name = Some(self.first_name.clone());
        profile.last_name = Some(self.last_name.clone());
        if self.preferred_language.is_some() {
            profile.preferred_language = self.preferred_language.clone();
        }
        if self.time_zone_formatted.is_some() {
            profile.time_zone = self.time_zone_formatted.clone();
        }
        profile
    }

    /// The registration, and the first PIN. `resetRequired`: INACTIVE and must change the
    /// password; otherwise ACTIVE.
    pub fn into_registration(self) -> Result<(Registration, Option<String>), Error> {
        let password = self
            .password
            .clone()
            .ok_or_else(|| Error::invalid("password", "is required"))?;
        let (email, phone) = self.contact()?;
        let mut roles = self.role_names.clone();
        roles.extend(self.role_name.clone());
        let reg = Registration {
            username: self.username.clone(),
            email,
            phone,
            password: Some(password),
            user_type: Some(self.person_type.clone()),
            profile: self.profile(Profile::default()),
            status: Some(if self.reset_required {
                AccountStatus::Inactive
            } else {
                AccountStatus::Active
            }),
            roles,
            need_change_password: self.reset_required,
            ..Registration::default()
        };
        Ok((reg, self.pin))
    }

    /// The update of identifiers and profile (`password`, `pin`, roles and `resetRequired` are
    /// not applied here: they have their own calls).
    pub fn into_update(self, current: &Profile) -> Result<AccountUpdate, Error> {
        let (email, phone) = self.contact()?;
        Ok(AccountUpdate {
            username: Some(self.username.clone()),
            email: email.map(Some),
            phone: phone.map(Some),
            user_type: Some(Some(self.person_type.clone())),
            profile: Some(self.profile(current.clone())),
            ..AccountUpdate::default()
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonRoleRequest {
    pub uuid: String,
    pub role_name: Option<String>,
}

/// "Update status": a bare JSON string (`"LOCKED"`), or `{"status": "LOCKED"}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum StatusRequest {
    Bare(String),
    Object { status: String },
}

impl StatusRequest {
    pub fn status(&self) -> Result<AccountStatus, Error> {
        let raw = match self {
            Self::Bare(s) | Self::Object { status: s } => s,
        };
        match raw.trim().to_ascii_uppercase().as_str() {
            "ACTIVE" => Ok(AccountStatus::Active),
            "INACTIVE" => Ok(AccountStatus::Inactive),
            "LOCKED" => Ok(AccountStatus::Locked),
            "DISABLED" => Ok(AccountStatus::Disabled),
            "CLOSED" => Ok(AccountStatus::Closed),
            _ => Err(Error::invalid(
                "status",
                "must be ACTIVE, INACTIVE, LOCKED, DISABLED or CLOSED",
            )),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EntitlementRef {
    pub name: Option<String>,
}

/// An item of `clientRoleEntitlements`: `{"entitlement": {"id", "name"}}` as the example
/// sends it, or `{"id", "name"}` as the parameter table lists it.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RoleEntitlementRef {
    pub entitlement: Option<EntitlementRef>,
    pub name: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleRequest {
    pub name: String,
    pub description: Option<String>,
    /// Absent on an update: the role keeps its entitlements.
    pub client_role_entitlements: Option<Vec<RoleEntitlementRef>>,
}

impl RoleRequest {
    /// Entitlements by name (ids are this server's own and not needed).
    pub fn entitlements(&self) -> Result<Option<Vec<String>>, Error> {
        let Some(refs) = &self.client_role_entitlements else {
            return Ok(None);
        };
        refs.iter()
            .map(|r| {
                r.entitlement
                    .as_ref()
                    .and_then(|e| e.name.clone())
                    .or_else(|| r.name.clone())
                    .ok_or_else(|| {
                        Error::invalid("clientRoleEntitlements", "each entitlement needs its name")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}
