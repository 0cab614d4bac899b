//! The OpenAPI description of the Fintiv surface, paths relative to its mount prefix. The
//! operations are declared here on the same path constants the router uses
//! ([`super::paths`]); bodies are the wire structs, and the envelope the handlers build with
//! `json!` is mirrored by [`Enveloped`]. Security scheme names (`fintiv_api_key`, `bearer`,
//! `client_basic`) are defined once where the server assembles the documents.

#![allow(dead_code)] // the items below only carry the operations' descriptions

use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoResponses, OpenApi, ToSchema};

use super::paths;
use super::routes::AssignedRole;
use super::wire::*;

const TAG: &str = "fintiv";

/// The document of the surface.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

#[derive(OpenApi)]
#[openapi(
    paths(
        token,
        myinfo,
        change_password,
        change_pin,
        my_questions,
        add_answer,
        update_answer,
        check_user_get,
        check_user_post,
        reset_password,
        reset_pin,
        questions,
        deregister,
        validate_pin,
        tenant,
        audit_list,
        audit_one,
        audit_one_bare,
        persons,
        create_person,
        person,
        update_person,
        delete_person,
        person_roles,
        assign_person_role,
        remove_person_role,
        lock,
        unlock,
        admin_reset_password,
        admin_reset_pin,
        status,
        roles,
        create_role,
        role,
        update_role,
        delete_role
    ),
    components(schemas(ContextResponse, FintivError, TokenError)),
    tags((name = TAG, description = "Fintiv tenant/admin API. `api-key` is the id of an app client of the tenant and selects the tenant; `tenantName`, when sent (required under `/auth/admin`), must name the same tenant. Every answer is the `contextResponse`/`responseData` envelope."))
)]
struct Doc;

/// `contextResponse` of every answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ContextResponse {
    tenant_name: Option<String>,
    /// `SUCCESS`, `VALIDATION`, `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT`,
    /// `TOO_MANY_REQUESTS`, `SERVICE_UNAVAILABLE` or `SYSTEM_ERROR`.
    status_code: String,
    status_message: Option<String>,
    additional_status_code: Option<String>,
    additional_status_message: Option<String>,
}

/// A successful answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Enveloped<T> {
    context_response: ContextResponse,
    response_data: T,
}

/// A successful answer without data, and every error: `responseData` is null (429 and 503
/// also carry `Retry-After`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct FintivError {
    context_response: ContextResponse,
    response_data: Option<Value>,
}

/// An error of the token endpoint: the envelope plus the OAuth2 members.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TokenError {
    context_response: ContextResponse,
    response_data: Option<Value>,
    #[serde(rename = "error")]
    error: String,
    #[serde(rename = "error_description")]
    error_description: String,
}

/// The token answer: the OAuth2 members at the top and in `responseData`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TokenAnswerEnveloped {
    #[serde(flatten)]
    token: TokenAnswer,
    context_response: ContextResponse,
    response_data: TokenAnswer,
}

/// The errors every call may answer (in the envelope, `responseData` null).
#[derive(IntoResponses)]
enum Errors {
    #[response(
        status = 400,
        description = "Invalid field or unreadable body (`VALIDATION`)"
    )]
    Validation(FintivError),
    #[response(
        status = 401,
        description = "Missing or wrong `api-key`/`tenantName`, bad bearer or credentials (`UNAUTHORIZED`)"
    )]
    Unauthorized(FintivError),
    #[response(status = 403, description = "Missing entitlement (`FORBIDDEN`)")]
    Forbidden(FintivError),
    #[response(
        status = 404,
        description = "No such object in the tenant (`NOT_FOUND`)"
    )]
    NotFound(FintivError),
    #[response(status = 409, description = "Already exists (`CONFLICT`)")]
    Conflict(FintivError),
    #[response(status = 413, description = "Body too large (`VALIDATION`)")]
    TooLarge(FintivError),
    #[response(status = 415, description = "Body not sent as JSON (`VALIDATION`)")]
    MediaType(FintivError),
    #[response(status = 429, description = "Rate limited (`TOO_MANY_REQUESTS`)")]
    RateLimited(FintivError),
}

/// The empty success of calls that answer no data.
type Done = FintivError;

#[utoipa::path(post, path = paths::TOKEN, tag = TAG,
    summary = "OAuth2 token: `password` or `refresh_token` grant (client by HTTP Basic, form `client_id`/`client_secret`, or `api-key`)",
    params(("tenantName" = Option<String>, Header, description = "The tenant, when sent")),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = []), ("fintiv_api_key" = [])),
    responses(
        (status = 200, description = "Tokens", body = TokenAnswerEnveloped),
        (status = 400, description = "Invalid request, grant or scope; unsupported grant type", body = TokenError),
        (status = 401, description = "Unknown client or wrong credentials", body = TokenError),
        (status = 403, description = "Client not allowed this grant", body = TokenError),
        (status = 415, description = "Body not sent as a form", body = TokenError),
        (status = 429, description = "Rate limited", body = TokenError),
    ))]
fn token() {}

#[utoipa::path(get, path = paths::MYINFO, tag = TAG, summary = "The signed-in person",
    params(("tenantName" = Option<String>, Header, description = "The tenant, when sent")),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "The person", body = Enveloped<Person>), Errors))]
fn myinfo() {}

#[utoipa::path(method(post, put), path = paths::CHANGE_PASSWORD, tag = TAG,
    summary = "Change the signed-in person's password",
    params(("tenantName" = Option<String>, Header, description = "The tenant, when sent")),
    request_body = ChangePassword,
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Changed", body = Done), Errors))]
fn change_password() {}

#[utoipa::path(method(post, put), path = paths::CHANGE_PIN, tag = TAG,
    summary = "Set or change the signed-in person's PIN",
    params(("tenantName" = Option<String>, Header, description = "The tenant, when sent")),
    request_body = ChangePin,
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Changed", body = Done), Errors))]
fn change_pin() {}

#[utoipa::path(get, path = paths::MY_QUESTIONS, tag = TAG,
    summary = "The signed-in person's security answers (answers never shown)",
    params(("tenantName" = Option<String>, Header, description = "The tenant, when sent")),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "The answers", body = Enveloped<Vec<SecurityAnswerObj>>), Errors))]
fn my_questions() {}

#[utoipa::path(post, path = paths::MY_ANSWER, tag = TAG,
    summary = "Add a security answer",
    params(("tenantName" = Option<String>, Header, description = "The tenant, when sent")),
    request_body = AnswerRequest,
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Added", body = Enveloped<SecurityAnswerObj>), Errors))]
fn add_answer() {}

#[utoipa::path(method(post, put), path = paths::MY_ANSWER_ID, tag = TAG,
    summary = "Replace a security answer",
    params(
        ("id" = i64, Path, description = "The answer's id"),
        ("tenantName" = Option<String>, Header, description = "The tenant, when sent"),
    ),
    request_body = AnswerRequest,
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Replaced", body = Enveloped<SecurityAnswerObj>), Errors))]
fn update_answer() {}

#[utoipa::path(get, path = paths::CHECK_USER, tag = TAG,
    summary = "Whether a username exists in the tenant",
    params(
        ("username" = String, Query, description = "The username (or email)"),
        ("tenantName" = Option<String>, Header, description = "The tenant, when sent"),
    ),
    security(("fintiv_api_key" = [])),
    responses((status = 200, description = "The answer", body = Enveloped<UserExist>), Errors))]
fn check_user_get() {}

#[utoipa::path(post, path = paths::CHECK_USER, tag = TAG,
    summary = "Whether a username exists in the tenant",
    params(("tenantName" = Option<String>, Header, description = "The tenant, when sent")),
    request_body = CheckUser,
    security(("fintiv_api_key" = [])),
    responses((status = 200, description = "The answer", body = Enveloped<UserExist>), Errors))]
fn check_user_post() {}

#[utoipa::path(post, path = paths::RESET_PASSWORD, tag = TAG,
    summary = "Temporary password by security answer (sent to the person)",
    params(("tenantName" = Option<String>, Header, description = "The tenant, when sent")),
    request_body = ResetRequest,
    security(("fintiv_api_key" = [])),
    responses((status = 200, description = "Reset", body = Done), Errors))]
fn reset_password() {}

#[utoipa::path(post, path = paths::RESET_PIN, tag = TAG,
    summary = "Temporary PIN by security answer (sent to the person)",
    params(("tenantName" = Option<String>, Header, description = "The tenant, when sent")),
    request_body = ResetRequest,
    security(("fintiv_api_key" = [])),
    responses((status = 200, description = "Reset", body = Done), Errors))]
fn reset_pin() {}

#[utoipa::path(get, path = paths::QUESTIONS, tag = TAG, summary = "The tenant's security questions",
    params(("tenantName" = Option<String>, Header, description = "The tenant, when sent")),
    security(("fintiv_api_key" = [])),
    responses((status = 200, description = "The questions", body = Enveloped<Vec<SecurityQuestionObj>>), Errors))]
fn questions() {}

#[utoipa::path(delete, path = paths::DEREGISTER, tag = TAG, summary = "Delete a person (self, or with entitlement)",
    params(
        ("uuid" = String, Path, description = "The person's id, username or email"),
        ("tenantName" = Option<String>, Header, description = "The tenant, when sent"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Deleted", body = Done), Errors))]
fn deregister() {}

#[utoipa::path(post, path = paths::VALIDATE_PIN, tag = TAG, summary = "Check a person's PIN",
    params(("tenantName" = Option<String>, Header, description = "The tenant, when sent")),
    request_body = ValidatePin,
    security(("fintiv_api_key" = [])),
    responses((status = 200, description = "The outcome", body = Enveloped<PinValidated>), Errors))]
fn validate_pin() {}

#[utoipa::path(get, path = paths::TENANT, tag = TAG, summary = "The tenant (Fintiv client) and its roles",
    params(
        ("tenantName" = String, Path, description = "The tenant's name"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "The tenant", body = Enveloped<ClientObj>), Errors))]
fn tenant() {}

#[utoipa::path(get, path = paths::AUDIT, tag = TAG, summary = "A person's audit records",
    params(
        ("uuid" = String, Path, description = "The person's id, username or email"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "The records", body = Enveloped<Vec<PersonAudit>>), Errors))]
fn audit_list() {}

#[utoipa::path(get, path = paths::AUDIT_ONE, tag = TAG, summary = "One audit record of a person",
    params(
        ("uuid" = String, Path, description = "The person's id, username or email"),
        ("auditId" = i64, Path, description = "The record's id"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "The record", body = Enveloped<PersonAudit>), Errors))]
fn audit_one() {}

#[utoipa::path(get, path = paths::AUDIT_ONE_BARE, tag = TAG, summary = "Same as /auth/admin/client/person/audit/{uuid}/{auditId} (the document's spelling)",
    params(
        ("uuid" = String, Path, description = "The person's id, username or email"),
        ("auditId" = i64, Path, description = "The record's id"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "The record", body = Enveloped<PersonAudit>), Errors))]
fn audit_one_bare() {}

#[utoipa::path(get, path = paths::PERSONS, tag = TAG, summary = "The tenant's persons",
    params(("tenantName" = String, Header, description = "The tenant")),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "The persons", body = Enveloped<Vec<PersonSummary>>), Errors))]
fn persons() {}

#[utoipa::path(post, path = paths::PERSONS, tag = TAG, summary = "Create a person",
    params(("tenantName" = String, Header, description = "The tenant")),
    request_body = PersonRequest,
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Created", body = Enveloped<Person>), Errors))]
fn create_person() {}

#[utoipa::path(get, path = paths::PERSON, tag = TAG, summary = "A person",
    params(
        ("uuid" = String, Path, description = "The person's id, username or email"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "The person", body = Enveloped<Person>), Errors))]
fn person() {}

#[utoipa::path(method(post, put), path = paths::PERSON, tag = TAG, summary = "Update a person",
    params(
        ("uuid" = String, Path, description = "The person's id, username or email"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    request_body = PersonRequest,
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Updated", body = Enveloped<Person>), Errors))]
fn update_person() {}

#[utoipa::path(delete, path = paths::PERSON, tag = TAG, summary = "Delete a person",
    params(
        ("uuid" = String, Path, description = "The person's id, username or email"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Deleted", body = Done), Errors))]
fn delete_person() {}

#[utoipa::path(get, path = paths::PERSON_ROLE, tag = TAG,
    summary = "A person's roles (query string, or the same fields as a JSON body)",
    params(
        ("uuid" = String, Query, description = "The person's id, username or email"),
        ("roleName" = Option<String>, Query, description = "Only this role"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "The roles", body = Enveloped<Vec<PersonRole>>), Errors))]
fn person_roles() {}

#[utoipa::path(post, path = paths::PERSON_ROLE, tag = TAG, summary = "Give a person a role",
    params(("tenantName" = String, Header, description = "The tenant")),
    request_body = PersonRoleRequest,
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Assigned", body = Enveloped<AssignedRole>), Errors))]
fn assign_person_role() {}

#[utoipa::path(delete, path = paths::PERSON_ROLE, tag = TAG,
    summary = "Take a role from a person (query string, or the same fields as a JSON body)",
    params(
        ("uuid" = String, Query, description = "The person's id, username or email"),
        ("roleName" = String, Query, description = "The role"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Removed", body = Done), Errors))]
fn remove_person_role() {}

#[utoipa::path(method(post, put), path = paths::LOCK, tag = TAG, summary = "Lock a person",
    params(
        ("uuid" = String, Path, description = "The person's id, username or email"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Locked", body = Done), Errors))]
fn lock() {}

#[utoipa::path(method(post, put), path = paths::UNLOCK, tag = TAG, summary = "Unlock a person",
    params(
        ("uuid" = String, Path, description = "The person's id, username or email"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Unlocked", body = Done), Errors))]
fn unlock() {}

#[utoipa::path(method(post, put), path = paths::ADMIN_RESET_PASSWORD, tag = TAG,
    summary = "Temporary password for a person, by their security answer",
    params(
        ("uuid" = String, Path, description = "The person's id, username or email"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    request_body = AdminResetRequest,
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Reset", body = Done), Errors))]
fn admin_reset_password() {}

#[utoipa::path(method(post, put), path = paths::ADMIN_RESET_PIN, tag = TAG,
    summary = "Temporary PIN for a person, by their security answer",
    params(
        ("uuid" = String, Path, description = "The person's id, username or email"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    request_body = AdminResetRequest,
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Reset", body = Done), Errors))]
fn admin_reset_pin() {}

#[utoipa::path(method(post, put), path = paths::STATUS, tag = TAG,
    summary = "Set a person's status (ACTIVE, INACTIVE, LOCKED, DISABLED, CLOSED)",
    params(
        ("uuid" = String, Path, description = "The person's id, username or email"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    request_body = StatusRequest,
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Set", body = Done), Errors))]
fn status() {}

#[utoipa::path(get, path = paths::ROLES, tag = TAG, summary = "The tenant's roles",
    params(("tenantName" = String, Header, description = "The tenant")),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "The roles", body = Enveloped<Vec<RoleObj>>), Errors))]
fn roles() {}

#[utoipa::path(post, path = paths::ROLES, tag = TAG, summary = "Create a role",
    params(("tenantName" = String, Header, description = "The tenant")),
    request_body = RoleRequest,
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Created", body = Enveloped<RoleObj>), Errors))]
fn create_role() {}

#[utoipa::path(get, path = paths::ROLE, tag = TAG, summary = "A role",
    params(
        ("roleId" = i64, Path, description = "The role's id"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "The role", body = Enveloped<RoleObj>), Errors))]
fn role() {}

#[utoipa::path(method(post, put), path = paths::ROLE, tag = TAG, summary = "Update a role",
    params(
        ("roleId" = i64, Path, description = "The role's id"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    request_body = RoleRequest,
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Updated", body = Enveloped<RoleObj>), Errors))]
fn update_role() {}

#[utoipa::path(delete, path = paths::ROLE, tag = TAG, summary = "Delete a role",
    params(
        ("roleId" = i64, Path, description = "The role's id"),
        ("tenantName" = String, Header, description = "The tenant"),
    ),
    security(("fintiv_api_key" = [], "bearer" = [])),
    responses((status = 200, description = "Deleted", body = Done), Errors))]
fn delete_role() {}
