//! Storage for idp: [`sqlite::SqliteStore`] (the default, one embedded file) and
//! [`postgres::PostgresStore`] (production). Both implement [`idp_core::store::Store`] and pass
//! the same conformance suite (`tests/it/conformance.rs`).

use std::path::PathBuf;
use std::sync::Arc;

use idp_core::store::{Store, StoreResult};

pub mod postgres;
pub mod sqlite;

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An embedded database file (created with its directory when missing).
    Sqlite(PathBuf),
    /// A `postgres://` URL.
    Postgres { url: String, pool_size: usize },
}

/// An opened store of either kind: migrate it, then hand it to the core as `Arc<dyn Store>`.
pub enum AnyStore {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PostgresStore),
}

impl AnyStore {
    pub async fn open(location: &Location) -> StoreResult<Self> {
        Ok(match location {
            Location::Sqlite(path) => Self::Sqlite(sqlite::SqliteStore::open(path).await?),
            Location::Postgres { url, pool_size } => {
                Self::Postgres(postgres::PostgresStore::connect(url, *pool_size).await?)
            }
        })
    }

    /// Applies pending migrations; returns the names of those applied now.
    pub async fn migrate(&self) -> StoreResult<Vec<String>> {
        match self {
            Self::Sqlite(s) => s.migrate().await,
            Self::Postgres(p) => p.migrate().await,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    pub fn into_dyn(self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(s) => Arc::new(s),
            Self::Postgres(p) => Arc::new(p),
        }
    }
}
