//! The handlers: request struct → core call → response struct, in the envelope.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idp_core::model::{AccountKey, Page};
use idp_core::ops::temporary_secrets::TemporarySecret;
use idp_core::ops::tokens::DirectSignIn;
use idp_core::{Error, Principal};
use idp_http::Caller;
use serde::Serialize;

use super::error::ApiError;
use super::wire::*;
use super::{API_KEY, Admin, AppCall, FintivState, SignedIn, TENANT_NAME};

type Answer<T> = Result<Envelope<T>, ApiError>;

/// The largest page of "Retrieve tenant's users".
const PERSONS_PAGE: Page = Page {
    offset: 0,
    limit: 500,
};

// --- sign-in ---

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// `Authorization: Basic base64(id:secret)`.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = header(headers, "authorization")?;
    let (scheme, value) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = STANDARD.decode(value.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

pub async fn token(
    State(s): State<FintivState>,
    caller: Caller,
    headers: HeaderMap,
    FintivForm(req): FintivForm<TokenRequest>,
) -> Result<Response, ApiError> {
    let named = header(&headers, TENANT_NAME).map(str::to_owned);
    let fail = |e: Error| ApiError::token(e).tenant(named.clone());
    // The client: HTTP Basic, else client_id/client_secret in the form, else the api-key
    // header (a public client: it has no secret to present).
    let (client_id, secret) = match basic(&headers) {
        Some((id, secret)) => (id, Some(secret).filter(|s| !s.is_empty())),
        None => match (req.client_id.clone(), header(&headers, API_KEY)) {
            (Some(id), _) => (id, req.client_secret.clone()),
            (None, Some(key)) => (key.to_owned(), None),
            (None, None) => return Err(fail(Error::InvalidClient)),
        },
    };
    s.idp()
        .authenticate_client(&client_id, secret.as_deref())
        .await
        .map_err(&fail)?;
    let (client, tenant) = s
        .idp()
        .identify_app(&client_id, named.as_deref())
        .await
        .map_err(&fail)?;
    let fail = |e: Error| ApiError::token(e).tenant(Some(tenant.name.clone()));
    let ctx = caller.context(Principal::Anonymous);
    let set = match req.grant_type.as_str() {
        "password" => {
            let (Some(username), Some(password)) = (&req.username, &req.password) else {
                return Err(fail(Error::invalid(
                    "username",
                    "username and password are required",
                )));
            };
            match s
                .tokens
                .password_grant(&ctx, &client, username, password)
                .await
                .map_err(&fail)?
            {
                DirectSignIn::Tokens(set) => set,
                DirectSignIn::Pending(_) => return Err(fail(Error::SecondFactorRequired)),
            }
        }
        "refresh_token" => {
            let Some(refresh_token) = &req.refresh_token else {
                return Err(fail(Error::invalid("refresh_token", "is required")));
            };
            s.tokens
                .refresh(&client, refresh_token, req.scope.as_deref())
                .await
                .map_err(&fail)?
        }
        _ => return Err(ApiError::unsupported_grant().tenant(Some(tenant.name.clone()))),
    };
    Ok(TokenAnswer::from(set).into_response(tenant.name))
}

// --- my info ---

pub async fn myinfo(State(s): State<FintivState>, me: SignedIn) -> Answer<Person> {
    let view = s
        .idp()
        .account_view(&me.ctx, me.account.id)
        .await
        .map_err(me.app.fail())?;
    Ok(me.app.ok(view.into()))
}

pub async fn change_password(
    State(s): State<FintivState>,
    me: SignedIn,
    FintivJson(req): FintivJson<ChangePassword>,
) -> Answer<()> {
    s.idp()
        .change_password(
            &me.ctx,
            me.account.id,
            &req.current_password,
            &req.new_password,
        )
        .await
        .map_err(me.app.fail())?;
    Ok(me.app.ok(()))
}

pub async fn change_pin(
    State(s): State<FintivState>,
    me: SignedIn,
    FintivJson(req): FintivJson<ChangePin>,
) -> Answer<()> {
    s.idp()
        .set_pin(
            &me.ctx,
            me.account.id,
            req.current_pin.as_deref(),
            &req.new_pin,
        )
        .await
        .map_err(me.app.fail())?;
    Ok(me.app.ok(()))
}

pub async fn my_questions(
    State(s): State<FintivState>,
    me: SignedIn,
) -> Answer<Vec<SecurityAnswerObj>> {
    let answers = s
        .idp()
        .list_answers(&me.ctx, me.account.id)
        .await
        .map_err(me.app.fail())?;
    Ok(me.app.ok(answers.into_iter().map(Into::into).collect()))
}

pub async fn add_answer(
    State(s): State<FintivState>,
    me: SignedIn,
    FintivJson(req): FintivJson<AnswerRequest>,
) -> Answer<SecurityAnswerObj> {
    let answer = s
        .idp()
        .set_answer(
            &me.ctx,
            me.account.id,
            req.security_question.id,
            &req.answer,
        )
        .await
        .map_err(me.app.fail())?;
    Ok(me.app.ok(answer.into()))
}

pub async fn update_answer(
    State(s): State<FintivState>,
    me: SignedIn,
    Path(id): Path<String>,
    FintivJson(req): FintivJson<AnswerRequest>,
) -> Answer<SecurityAnswerObj> {
    let fail = me.app.fail();
    let answer_id = id
        .parse::<i64>()
        .map_err(|_| fail(Error::NotFound("security answer")))?;
    let answer = s
        .idp()
        .update_answer(
            &me.ctx,
            me.account.id,
            answer_id,
            req.security_question.id,
            &req.answer,
        )
        .await
        .map_err(fail)?;
    Ok(me.app.ok(answer.into()))
}

// --- register / validate / deregister ---

pub async fn check_user(
    State(s): State<FintivState>,
    app: AppCall,
    BodyOrQuery(req): BodyOrQuery<CheckUser>,
) -> Answer<UserExist> {
    let found = s
        .idp()
        .find_account(app.tenant.id, AccountKey::Username(req.username))
        .await
        .map_err(app.fail())?;
    Ok(app.ok(UserExist {
        user_exist: found.is_some(),
    }))
}

async fn reset(
    s: &FintivState,
    app: &AppCall,
    req: ResetRequest,
    kind: TemporarySecret,
) -> Answer<()> {
    s.idp()
        .reset_with_answer(
            &app.anonymous(),
            app.tenant.id,
            &req.username,
            kind,
            req.security_question_id,
            &req.answer,
        )
        .await
        .map_err(app.fail())?;
    Ok(app.ok(()))
}

pub async fn reset_password(
    State(s): State<FintivState>,
    app: AppCall,
    FintivJson(req): FintivJson<ResetRequest>,
) -> Answer<()> {
    reset(&s, &app, req, TemporarySecret::Password).await
}

pub async fn reset_pin(
    State(s): State<FintivState>,
    app: AppCall,
    FintivJson(req): FintivJson<ResetRequest>,
) -> Answer<()> {
    reset(&s, &app, req, TemporarySecret::Pin).await
}

pub async fn questions(
    State(s): State<FintivState>,
    app: AppCall,
) -> Answer<Vec<SecurityQuestionObj>> {
    let questions = s
        .idp()
        .list_questions(app.tenant.id)
        .await
        .map_err(app.fail())?;
    Ok(app.ok(questions.into_iter().map(Into::into).collect()))
}

pub async fn deregister(
    State(s): State<FintivState>,
    me: SignedIn,
    Path(uuid): Path<String>,
) -> Answer<()> {
    let fail = me.app.fail();
    let account = s.person(&me, &uuid).await?;
    s.idp()
        .delete_account(&me.ctx, account.id)
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(()))
}

/// A wrong PIN (or an unknown user) is `pinValidated: false`; every wrong PIN counts toward the
/// account's lockout in the core, and the route is rate limited per IP.
pub async fn validate_pin(
    State(s): State<FintivState>,
    app: AppCall,
    FintivJson(req): FintivJson<ValidatePin>,
) -> Answer<PinValidated> {
    let outcome = match s.idp().account_in_tenant(app.tenant.id, &req.uuid).await {
        Ok(account) => {
            s.idp()
                .verify_pin(&app.anonymous(), account.id, &req.pin)
                .await
        }
        Err(e) => Err(e),
    };
    let pin_validated = match outcome {
        Ok(()) => true,
        Err(Error::InvalidCredentials | Error::NotFound(_)) => false,
        Err(e) => return Err(app.fail()(e)),
    };
    Ok(app.ok(PinValidated { pin_validated }))
}

// --- admin: tenant and audit ---

pub async fn tenant(
    State(s): State<FintivState>,
    me: SignedIn,
    Path(name): Path<String>,
) -> Answer<ClientObj> {
    let view = s
        .idp()
        .tenant_view(&me.ctx, &name)
        .await
        .map_err(me.app.fail())?;
    Ok(me.app.ok(view.into()))
}

pub async fn audit_list(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path(uuid): Path<String>,
) -> Answer<Vec<PersonAudit>> {
    let fail = me.app.fail();
    let account = s.person(&me, &uuid).await?;
    let records = s
        .idp()
        .list_audit(&me.ctx, account.id, Page::default())
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(records.into_iter().map(Into::into).collect()))
}

pub async fn audit_one(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path((uuid, audit_id)): Path<(String, String)>,
) -> Answer<PersonAudit> {
    let fail = me.app.fail();
    let audit_id = audit_id
        .parse::<i64>()
        .map_err(|_| fail(Error::NotFound("audit record")))?;
    let account = s.person(&me, &uuid).await?;
    let record = s
        .idp()
        .audit_record(&me.ctx, account.id, audit_id)
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(record.into()))
}

// --- admin: persons ---

pub async fn persons(State(s): State<FintivState>, Admin(me): Admin) -> Answer<Vec<PersonSummary>> {
    let accounts = s
        .idp()
        .list_accounts(&me.ctx, me.app.tenant.id, PERSONS_PAGE)
        .await
        .map_err(me.app.fail())?;
    let tenant = &me.app.tenant.name;
    Ok(me.app.ok(accounts
        .into_iter()
        .map(|a| PersonSummary::new(a, tenant))
        .collect()))
}

pub async fn create_person(
    State(s): State<FintivState>,
    Admin(me): Admin,
    FintivJson(req): FintivJson<PersonRequest>,
) -> Answer<Person> {
    let fail = me.app.fail();
    let (reg, pin) = req.into_registration().map_err(&fail)?;
    let account = s
        .idp()
        .provision_account(&me.ctx, me.app.tenant.id, reg, pin.as_deref())
        .await
        .map_err(&fail)?;
    let view = s
        .idp()
        .account_view(&me.ctx, account.id)
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(view.into()))
}

pub async fn person(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path(uuid): Path<String>,
) -> Answer<Person> {
    let fail = me.app.fail();
    let account = s.person(&me, &uuid).await?;
    let view = s
        .idp()
        .account_view(&me.ctx, account.id)
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(view.into()))
}

pub async fn update_person(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path(uuid): Path<String>,
    FintivJson(req): FintivJson<PersonRequest>,
) -> Answer<Person> {
    let fail = me.app.fail();
    let account = s.person(&me, &uuid).await?;
    let update = req.into_update(&account.profile).map_err(&fail)?;
    s.idp()
        .update_account(&me.ctx, account.id, update)
        .await
        .map_err(&fail)?;
    let view = s
        .idp()
        .account_view(&me.ctx, account.id)
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(view.into()))
}

pub async fn delete_person(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path(uuid): Path<String>,
) -> Answer<()> {
    let fail = me.app.fail();
    let account = s.person(&me, &uuid).await?;
    s.idp()
        .delete_account(&me.ctx, account.id)
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(()))
}

// --- admin: person roles ---

pub async fn person_roles(
    State(s): State<FintivState>,
    Admin(me): Admin,
    BodyOrQuery(req): BodyOrQuery<PersonRoleRequest>,
) -> Answer<Vec<PersonRole>> {
    let fail = me.app.fail();
    let account = s.person(&me, &req.uuid).await?;
    let roles = s
        .idp()
        .account_roles(&me.ctx, account.id)
        .await
        .map_err(&fail)?;
    let tenant = &me.app.tenant.name;
    let wanted = req.role_name.as_deref().map(str::trim);
    Ok(me.app.ok(roles
        .into_iter()
        .filter(|r| wanted.is_none_or(|w| r.role.name.eq_ignore_ascii_case(w)))
        .map(|r| PersonRole::new(r, tenant, false))
        .collect()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AssignedRole {
    role: RoleObj,
}

fn role_name(req: &PersonRoleRequest) -> Result<&str, Error> {
    req.role_name
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| Error::invalid("roleName", "is required"))
}

pub async fn assign_person_role(
    State(s): State<FintivState>,
    Admin(me): Admin,
    FintivJson(req): FintivJson<PersonRoleRequest>,
) -> Answer<AssignedRole> {
    let fail = me.app.fail();
    let name = role_name(&req).map_err(&fail)?;
    let account = s.person(&me, &req.uuid).await?;
    let role = s
        .idp()
        .assign_role(&me.ctx, account.id, name)
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(AssignedRole {
        role: RoleObj::new(role, &me.app.tenant.name, false),
    }))
}

pub async fn remove_person_role(
    State(s): State<FintivState>,
    Admin(me): Admin,
    BodyOrQuery(req): BodyOrQuery<PersonRoleRequest>,
) -> Answer<()> {
    let fail = me.app.fail();
    let name = role_name(&req).map_err(&fail)?;
    let account = s.person(&me, &req.uuid).await?;
    s.idp()
        .remove_role(&me.ctx, account.id, name)
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(()))
}

// --- admin: person status ---

pub async fn lock(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path(uuid): Path<String>,
) -> Answer<()> {
    let fail = me.app.fail();
    let account = s.person(&me, &uuid).await?;
    s.idp().lock(&me.ctx, account.id).await.map_err(&fail)?;
    Ok(me.app.ok(()))
}

pub async fn unlock(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path(uuid): Path<String>,
) -> Answer<()> {
    let fail = me.app.fail();
    let account = s.person(&me, &uuid).await?;
    s.idp().unlock(&me.ctx, account.id).await.map_err(&fail)?;
    Ok(me.app.ok(()))
}

async fn admin_reset(
    s: &FintivState,
    me: &SignedIn,
    uuid: &str,
    req: AdminResetRequest,
    kind: TemporarySecret,
) -> Answer<()> {
    let fail = me.app.fail();
    let account = s.person(me, uuid).await?;
    s.idp()
        .admin_reset_with_answer(
            &me.ctx,
            account.id,
            kind,
            req.security_question_id,
            &req.answer,
        )
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(()))
}

pub async fn admin_reset_password(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path(uuid): Path<String>,
    FintivJson(req): FintivJson<AdminResetRequest>,
) -> Answer<()> {
    admin_reset(&s, &me, &uuid, req, TemporarySecret::Password).await
}

pub async fn admin_reset_pin(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path(uuid): Path<String>,
    FintivJson(req): FintivJson<AdminResetRequest>,
) -> Answer<()> {
    admin_reset(&s, &me, &uuid, req, TemporarySecret::Pin).await
}

pub async fn status(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path(uuid): Path<String>,
    FintivJson(req): FintivJson<StatusRequest>,
) -> Answer<()> {
    let fail = me.app.fail();
    let status = req.status().map_err(&fail)?;
    let account = s.person(&me, &uuid).await?;
    s.idp()
        .set_status(&me.ctx, account.id, status)
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(()))
}

// --- admin: roles ---

pub async fn roles(State(s): State<FintivState>, Admin(me): Admin) -> Answer<Vec<RoleObj>> {
    let roles = s
        .idp()
        .list_roles(&me.ctx, me.app.tenant.id)
        .await
        .map_err(me.app.fail())?;
    let tenant = &me.app.tenant.name;
    Ok(me.app.ok(roles
        .into_iter()
        .map(|r| RoleObj::new(r, tenant, true))
        .collect()))
}

pub async fn create_role(
    State(s): State<FintivState>,
    Admin(me): Admin,
    FintivJson(req): FintivJson<RoleRequest>,
) -> Answer<RoleObj> {
    let fail = me.app.fail();
    let entitlements = req.entitlements().map_err(&fail)?.unwrap_or_default();
    let role = s
        .idp()
        .create_role(
            &me.ctx,
            me.app.tenant.id,
            &req.name,
            req.description.as_deref(),
            &entitlements,
        )
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(RoleObj::new(role, &me.app.tenant.name, false)))
}

fn role_id(raw: &str) -> Result<i64, Error> {
    raw.trim().parse().map_err(|_| Error::NotFound("role"))
}

pub async fn role(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Answer<RoleObj> {
    let fail = me.app.fail();
    let role = s
        .idp()
        .role(&me.ctx, me.app.tenant.id, role_id(&id).map_err(&fail)?)
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(RoleObj::new(role, &me.app.tenant.name, false)))
}

pub async fn update_role(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    FintivJson(req): FintivJson<RoleRequest>,
) -> Answer<RoleObj> {
    let fail = me.app.fail();
    let entitlements = req.entitlements().map_err(&fail)?;
    let role = s
        .idp()
        .update_role(
            &me.ctx,
            me.app.tenant.id,
            role_id(&id).map_err(&fail)?,
            &req.name,
            req.description.as_deref(),
            entitlements.as_deref(),
        )
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(RoleObj::new(role, &me.app.tenant.name, false)))
}

pub async fn delete_role(
    State(s): State<FintivState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Answer<()> {
    let fail = me.app.fail();
    s.idp()
        .delete_role(&me.ctx, me.app.tenant.id, role_id(&id).map_err(&fail)?)
        .await
        .map_err(&fail)?;
    Ok(me.app.ok(()))
}
