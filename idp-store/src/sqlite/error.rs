//! From rusqlite's errors to the store's. Queries work in [`DbError`] so that `?` applies to
//! rusqlite, serde_json and store errors alike; the async layer turns it into a [`StoreError`].

use idp_core::store::{StoreError, UniqueField};
use rusqlite::ErrorCode;
use rusqlite::ffi;

pub(super) enum DbError {
    Sql(rusqlite::Error),
    Store(StoreError),
}

pub(super) type DbResult<T> = Result<T, DbError>;

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

impl From<StoreError> for DbError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<serde_json::Error> for DbError {
    fn from(e: serde_json::Error) -> Self {
        Self::Store(StoreError::Internal(format!("json: {e}")))
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Store(e) => e,
            DbError::Sql(e) => map_sql(e),
        }
    }
}

/// Shorthand for the errors a query raises itself.
pub(super) fn missing(what: &'static str) -> DbError {
    DbError::Store(StoreError::MissingReference(what))
}

fn map_sql(e: rusqlite::Error) -> StoreError {
    let rusqlite::Error::SqliteFailure(code, msg) = &e else {
        // Conversion failures and API misuse: data the schema should not allow, or a bug.
        tracing::error!(error = %e, "sqlite store error");
        return StoreError::Internal(e.to_string());
    };
    match code.extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            return StoreError::Conflict(unique_field(msg.as_deref().unwrap_or_default()));
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
            // SQLite does not say which reference failed; queries check the ones callers care
            // about beforehand and name them.
            return StoreError::MissingReference("referenced row");
        }
        _ => {}
    }
    match code.code {
        ErrorCode::DatabaseBusy
        | ErrorCode::DatabaseLocked
        | ErrorCode::SystemIoFailure
        | ErrorCode::DiskFull
        | ErrorCode::CannotOpen
        | ErrorCode::PermissionDenied
        | ErrorCode::ReadOnly
        | ErrorCode::FileLockingProtocolFailed
        | ErrorCode::OutOfMemory => {
            tracing::warn!(error = %e, "sqlite store unavailable");
            StoreError::Unavailable(e.to_string())
        }
        _ => {
            tracing::error!(error = %e, "sqlite store error");
            StoreError::Internal(e.to_string())
        }
    }
}

/// Which rule a "UNIQUE constraint failed: accounts.tenant_id, accounts.email" message names.
fn unique_field(msg: &str) -> UniqueField {
    let columns = msg.split_once("failed: ").map_or(msg, |(_, c)| c).trim();
    match columns {
        "tenants.name" => UniqueField::TenantName,
        "accounts.tenant_id, accounts.username_key" => UniqueField::Username,
        "accounts.tenant_id, accounts.email" => UniqueField::Email,
        "accounts.tenant_id, accounts.phone" => UniqueField::Phone,
        "app_clients.id" => UniqueField::ClientId,
        "roles.tenant_id, roles.name" => UniqueField::RoleName,
        "security_questions.tenant_id, security_questions.question"
        | "security_answers.account_id, security_answers.question_id" => UniqueField::Question,
        _ => UniqueField::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_messages_name_their_field() {
        let f = |m: &str| unique_field(&format!("UNIQUE constraint failed: {m}"));
        assert_eq!(f("accounts.tenant_id, accounts.email"), UniqueField::Email);
        assert_eq!(
            f("accounts.tenant_id, accounts.username_key"),
            UniqueField::Username
        );
        assert_eq!(f("roles.tenant_id, roles.name"), UniqueField::RoleName);
        assert_eq!(f("accounts.id"), UniqueField::Other);
    }

    #[test]
    fn busy_and_io_errors_are_unavailable() {
        let sql = |code| rusqlite::Error::SqliteFailure(ffi::Error::new(code), None);
        for code in [
            ffi::SQLITE_BUSY,
            ffi::SQLITE_LOCKED,
            ffi::SQLITE_IOERR,
            ffi::SQLITE_FULL,
        ] {
            let e = StoreError::from(DbError::from(sql(code)));
            assert!(matches!(e, StoreError::Unavailable(_)), "{code}: {e:?}");
        }
        let e = StoreError::from(DbError::from(sql(ffi::SQLITE_CONSTRAINT_FOREIGNKEY)));
        assert!(matches!(e, StoreError::MissingReference(_)), "{e:?}");
        let e = StoreError::from(DbError::from(sql(ffi::SQLITE_MISMATCH)));
        assert!(matches!(e, StoreError::Internal(_)), "{e:?}");
    }
}
