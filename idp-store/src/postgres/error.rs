//! Translation of driver and pool errors into [`StoreError`]. Constraint names come from the
//! migrations (`migrations/postgres`), which name every constraint explicitly.

use idp_core::store::{StoreError, UniqueField};
use tokio_postgres::error::SqlState;

/// The uniqueness rule behind a constraint name.
fn unique_field(constraint: &str) -> UniqueField {
    match constraint {
        "tenants_name_key" => UniqueField::TenantName,
        "accounts_username_key" => UniqueField::Username,
        "accounts_email_key" => UniqueField::Email,
        "accounts_phone_key" => UniqueField::Phone,
        "app_clients_pkey" => UniqueField::ClientId,
        "roles_name_key" => UniqueField::RoleName,
        "security_questions_question_key" | "security_answers_question_key" => {
            UniqueField::Question
        }
        _ => UniqueField::Other,
    }
}

/// What a foreign-key constraint refers to.
fn referenced(constraint: &str) -> &'static str {
    match constraint {
        "accounts_tenant_fkey"
        | "roles_tenant_fkey"
        | "security_questions_tenant_fkey"
        | "app_clients_tenant_fkey" => "tenant",
        "account_roles_account_fkey"
        | "security_answers_account_fkey"
        | "token_families_account_fkey"
        | "sessions_account_fkey"
        | "consents_account_fkey"
        | "challenges_account_fkey"
        | "account_factors_account_fkey" => "account",
        "refresh_tokens_family_fkey" => "token family",
        "account_roles_role_fkey" | "role_entitlements_role_fkey" => "role",
        "security_answers_question_fkey" => "question",
        "role_entitlements_entitlement_fkey" => "entitlement",
        _ => "row",
    }
}

/// SQLSTATEs after which the same call may well succeed later: the server is going away, out
/// of resources, refusing connections, or the transaction lost a race.
fn transient(code: &SqlState) -> bool {
    let c = code.code();
    c.starts_with("08") // connection exception
        || c.starts_with("53") // insufficient resources (too many connections, disk full)
        || c.starts_with("57P") // admin/crash shutdown, cannot connect now
        || c.starts_with("28") // invalid authorization
        || *code == SqlState::INVALID_CATALOG_NAME // database does not exist (yet)
        || *code == SqlState::QUERY_CANCELED // statement_timeout, cancel request
        || *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE
        || *code == SqlState::READ_ONLY_SQL_TRANSACTION // failed over to a standby
}

/// Maps a driver error. Errors that carry no database error are about the connection (closed,
/// I/O, timeout, authentication) and so `Unavailable`, except the driver's own type and
/// shape errors, which are bugs.
pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION {
            return StoreError::Conflict(unique_field(db.constraint().unwrap_or_default()));
        }
        if *code == SqlState::FOREIGN_KEY_VIOLATION {
            return StoreError::MissingReference(referenced(db.constraint().unwrap_or_default()));
        }
        if transient(code) {
            return StoreError::Unavailable(format!("{}: {}", code.code(), db.message()));
        }
        return StoreError::Internal(format!("{}: {}", code.code(), db.message()));
    }
    if e.is_closed() {
        return StoreError::Unavailable(e.to_string());
    }
    let msg = e.to_string();
    // Display texts of tokio-postgres's programming-error kinds (ToSql, FromSql, Column,
    // ColumnCount, Parameters, RowCount, ConfigParse, Config): the kind itself is private.
    const BUGS: [&str; 7] = [
        "error serializing parameter",
        "error deserializing column",
        "invalid column",
        "query returned an unexpected number",
        "expected ",
        "invalid connection string",
        "invalid configuration",
    ];
    let detail = match std::error::Error::source(&e) {
        Some(source) => format!("{msg}: {source}"),
        None => msg.clone(),
    };
    if BUGS.iter().any(|b| msg.starts_with(b)) {
        StoreError::Internal(detail)
    } else {
        StoreError::Unavailable(detail)
    }
}

/// Maps a failure to get a pooled connection: every kind is an outage except a pool built
/// without a runtime, which is a bug.
pub(crate) fn pool(e: deadpool_postgres::PoolError) -> StoreError {
    use deadpool_postgres::PoolError;
    match e {
        PoolError::Backend(e) => match pg(e) {
            StoreError::Internal(m) => StoreError::Unavailable(m),
            other => other,
        },
        PoolError::NoRuntimeSpecified => StoreError::Internal(e.to_string()),
        PoolError::Timeout(_) | PoolError::Closed | PoolError::PostCreateHook(_) => {
            StoreError::Unavailable(e.to_string())
        }
    }
}

/// A value read from the database that the domain does not accept.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("corrupt {what} in database: {detail}"))
}
