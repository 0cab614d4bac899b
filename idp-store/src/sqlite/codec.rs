//! How domain values sit in SQLite columns: uuids as lowercase hyphenated TEXT, timestamps as
//! INTEGER microseconds, structured values as JSON TEXT, enums by name. Reading never panics:
//! a value that does not decode is a conversion error (StoreError::Internal).

use std::str::FromStr;

use chrono::DateTime;
use idp_core::model::{AuthContext, GrantType, Profile, TenantSettings, Timestamp};
use rusqlite::Row;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use uuid::Uuid;

use super::error::DbResult;

pub(super) fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

pub(super) fn opt_micros(t: Option<Timestamp>) -> Option<i64> {
    t.map(micros)
}

pub(super) fn text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

pub(super) fn opt_text(id: Option<Uuid>) -> Option<String> {
    id.map(text)
}

pub(super) fn json<T: JsonColumn>(value: &T) -> DbResult<String> {
    Ok(value.encode()?)
}

/// Types kept as JSON TEXT. A closed list rather than a serde bound: this crate does not depend
/// on serde itself, only on serde_json.
pub(super) trait JsonColumn: Sized {
    fn encode(&self) -> serde_json::Result<String>;
    fn decode(s: &str) -> serde_json::Result<Self>;
}

macro_rules! json_column {
    ($($ty:ty),*) => {$(
        impl JsonColumn for $ty {
            fn encode(&self) -> serde_json::Result<String> {
                serde_json::to_string(self)
            }
            fn decode(s: &str) -> serde_json::Result<Self> {
                serde_json::from_str(s)
            }
        }
    )*};
}

json_column!(
    AuthContext,
    TenantSettings,
    Profile,
    Vec<String>,
    Vec<GrantType>,
    serde_json::Value
);

/// Typed column access by name.
pub(super) trait RowExt {
    fn ts(&self, col: &str) -> rusqlite::Result<Timestamp>;
    fn opt_ts(&self, col: &str) -> rusqlite::Result<Option<Timestamp>>;
    fn uuid(&self, col: &str) -> rusqlite::Result<Uuid>;
    fn opt_uuid(&self, col: &str) -> rusqlite::Result<Option<Uuid>>;
    fn json<T: JsonColumn>(&self, col: &str) -> rusqlite::Result<T>;
    /// Enums stored by name (`AccountStatus`, `AuditAction`, ...).
    fn parsed<T: FromStr<Err = String>>(&self, col: &str) -> rusqlite::Result<T>;
    /// A nullable enum column.
    fn opt_parsed<T: FromStr<Err = String>>(&self, col: &str) -> rusqlite::Result<Option<T>>;
}

impl RowExt for Row<'_> {
    fn ts(&self, col: &str) -> rusqlite::Result<Timestamp> {
        self.get::<_, Micros>(col).map(|m| m.0)
    }
    fn opt_ts(&self, col: &str) -> rusqlite::Result<Option<Timestamp>> {
        self.get::<_, Option<Micros>>(col).map(|m| m.map(|m| m.0))
    }
    fn uuid(&self, col: &str) -> rusqlite::Result<Uuid> {
        self.get::<_, TextUuid>(col).map(|u| u.0)
    }
    fn opt_uuid(&self, col: &str) -> rusqlite::Result<Option<Uuid>> {
        self.get::<_, Option<TextUuid>>(col).map(|u| u.map(|u| u.0))
    }
    fn json<T: JsonColumn>(&self, col: &str) -> rusqlite::Result<T> {
        self.get::<_, Json<T>>(col).map(|j| j.0)
    }
    fn parsed<T: FromStr<Err = String>>(&self, col: &str) -> rusqlite::Result<T> {
        self.get::<_, Parsed<T>>(col).map(|p| p.0)
    }
    fn opt_parsed<T: FromStr<Err = String>>(&self, col: &str) -> rusqlite::Result<Option<T>> {
        self.get::<_, Option<Parsed<T>>>(col)
            .map(|p| p.map(|p| p.0))
    }
}

// Column wrappers: implementing FromSql lets rusqlite attach the column to a decoding error.

struct Micros(Timestamp);

impl FromSql for Micros {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let us = i64::column_result(value)?;
        DateTime::from_timestamp_micros(us)
            .map(Micros)
            .ok_or(FromSqlError::OutOfRange(us))
    }
}

struct TextUuid(Uuid);

impl FromSql for TextUuid {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        Uuid::parse_str(s)
            .map(TextUuid)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

struct Json<T>(T);

impl<T: JsonColumn> FromSql for Json<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        T::decode(s)
            .map(Json)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

struct Parsed<T>(T);

impl<T: FromStr<Err = String>> FromSql for Parsed<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        s.parse()
            .map(Parsed)
            .map_err(|e: String| FromSqlError::Other(e.into()))
    }
}
