//! Row decoding. Every read goes through `try_get` and the domain's parsers: a row the domain
//! does not accept is `StoreError::Internal`, never a panic.

use idp_core::model::*;
use idp_core::store::StoreResult;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Json};
use uuid::Uuid;

use super::error::{corrupt, pg};

/// Columns of [`account`], in a `SELECT` list.
macro_rules! account_cols {
    () => {
        "id, tenant_id, number, username, email, phone, email_verified, phone_verified, \
         user_type, status, need_change_password, failed_attempts, profile, created_at, \
         updated_at, last_login_at, password_changed_at"
    };
}
pub(crate) use account_cols;

/// The `WHERE` of a look-up by login ($1 tenant, $2 the login lowercased, $3 as given): a
/// username match wins over an email match of another account.
macro_rules! by_login {
    () => {
        "WHERE tenant_id = $1 AND (username_key = $2 OR email = $2 OR email = $3) \
         ORDER BY (username_key = $2) DESC, number LIMIT 1"
    };
}
pub(crate) use by_login;

macro_rules! tenant_cols {
    () => {
        "id, name, description, default_role, settings, created_at, updated_at"
    };
}
pub(crate) use tenant_cols;

macro_rules! client_cols {
    () => {
        "id, tenant_id, name, secret_digest, redirect_uris, grants, scopes, consent_required, id_token_alg, \
         created_at"
    };
}
pub(crate) use client_cols;

macro_rules! audit_cols {
    () => {
        "id, tenant_id, account_id, actor_id, category, action, name, success, summary, \
         parameters, error_message, client_ip, request_id, created_at"
    };
}
pub(crate) use audit_cols;

pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, col: &str) -> StoreResult<T> {
    row.try_get(col).map_err(pg)
}

fn count(row: &Row, col: &str) -> StoreResult<u32> {
    let n: i32 = get(row, col)?;
    u32::try_from(n).map_err(|_| corrupt(col, n))
}

pub(crate) fn tenant(row: &Row) -> StoreResult<Tenant> {
    let Json(settings): Json<TenantSettings> = get(row, "settings")?;
    Ok(Tenant {
        id: get(row, "id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        default_role: get(row, "default_role")?,
        settings,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// The account columns of a row that LEFT JOINed them: None when no account matched.
pub(crate) fn joined_account(row: &Row) -> StoreResult<Option<Account>> {
    let id: Option<Uuid> = get(row, "id")?;
    id.map(|_| account(row)).transpose()
}

pub(crate) fn account(row: &Row) -> StoreResult<Account> {
    let status: &str = get(row, "status")?;
    let status = status.parse().map_err(|e| corrupt("account status", e))?;
    let Json(profile): Json<Profile> = get(row, "profile")?;
    Ok(Account {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        number: get(row, "number")?,
        username: get(row, "username")?,
        email: get(row, "email")?,
        phone: get(row, "phone")?,
        email_verified: get(row, "email_verified")?,
        phone_verified: get(row, "phone_verified")?,
        user_type: get(row, "user_type")?,
        status,
        need_change_password: get(row, "need_change_password")?,
        failed_attempts: count(row, "failed_attempts")?,
        profile,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        last_login_at: get(row, "last_login_at")?,
        password_changed_at: get(row, "password_changed_at")?,
    })
}

pub(crate) fn failure_count(row: &Row) -> StoreResult<idp_core::store::FailureCount> {
    let status: &str = get(row, "status")?;
    Ok(idp_core::store::FailureCount {
        failed_attempts: count(row, "failed_attempts")?,
        status: status.parse().map_err(|e| corrupt("account status", e))?,
    })
}

pub(crate) fn secrets(row: &Row) -> StoreResult<AccountSecrets> {
    Ok(AccountSecrets {
        password_hash: get(row, "password_hash")?,
        pin_hash: get(row, "pin_hash")?,
    })
}

/// A question from columns `id, tenant_id, question, created_at, updated_at`, each behind
/// `prefix` (`""` or `"q_"` in joins).
pub(crate) fn question(row: &Row, prefix: &str) -> StoreResult<SecurityQuestion> {
    let col = |c: &str| format!("{prefix}{c}");
    Ok(SecurityQuestion {
        id: get(row, &col("id"))?,
        tenant_id: get(row, &col("tenant_id"))?,
        question: get(row, &col("question"))?,
        created_at: get(row, &col("created_at"))?,
        updated_at: get(row, &col("updated_at"))?,
    })
}

/// Columns of a `security_answers a JOIN security_questions q` select for [`answer`].
macro_rules! answer_cols {
    () => {
        "a.id, a.account_id, a.answer_hash, a.created_at, a.updated_at, q.id AS q_id, \
         q.tenant_id AS q_tenant_id, q.question AS q_question, q.created_at AS q_created_at, \
         q.updated_at AS q_updated_at"
    };
}
pub(crate) use answer_cols;

pub(crate) fn answer(row: &Row) -> StoreResult<StoredAnswer> {
    Ok(StoredAnswer {
        id: get(row, "id")?,
        account_id: get(row, "account_id")?,
        question: question(row, "q_")?,
        answer_hash: get(row, "answer_hash")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// A role without its entitlements (filled in by the caller).
pub(crate) fn role(row: &Row) -> StoreResult<Role> {
    Ok(Role {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        entitlements: Vec::new(),
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

pub(crate) fn entitlement(row: &Row) -> StoreResult<Entitlement> {
    Ok(Entitlement {
        id: get(row, "id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        created_at: get(row, "created_at")?,
    })
}

pub(crate) fn client(row: &Row) -> StoreResult<AppClient> {
    let grants: Vec<String> = get(row, "grants")?;
    let grants = grants
        .iter()
        .map(|g| g.parse::<GrantType>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt("client grant", e))?;
    Ok(AppClient {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        secret_digest: get(row, "secret_digest")?,
        redirect_uris: get(row, "redirect_uris")?,
        grants,
        scopes: get(row, "scopes")?,
        consent_required: get(row, "consent_required")?,
        id_token_alg: get::<Option<String>>(row, "id_token_alg")?
            .map(|a| a.parse())
            .transpose()
            .map_err(|e| corrupt("client id_token_alg", e))?,
        created_at: get(row, "created_at")?,
    })
}

pub(crate) fn audit(row: &Row) -> StoreResult<AuditRecord> {
    let category: &str = get(row, "category")?;
    let action: &str = get(row, "action")?;
    Ok(AuditRecord {
        id: get(row, "id")?,
        record: NewAudit {
            tenant_id: get(row, "tenant_id")?,
            account_id: get(row, "account_id")?,
            actor_id: get(row, "actor_id")?,
            category: category.parse().map_err(|e| corrupt("audit category", e))?,
            action: action.parse().map_err(|e| corrupt("audit action", e))?,
            name: get(row, "name")?,
            success: get(row, "success")?,
            summary: get(row, "summary")?,
            parameters: get(row, "parameters")?,
            error_message: get(row, "error_message")?,
            client_ip: get(row, "client_ip")?,
            request_id: get(row, "request_id")?,
            created_at: get(row, "created_at")?,
        },
    })
}
