//! Storage for idp: [`sqlite::SqliteStore`] (the default, one embedded file) and
//! [`postgres::PostgresStore`] (production). Both implement [`idp_core::store::Store`].

pub mod postgres;
pub mod sqlite;
