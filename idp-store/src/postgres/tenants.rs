//! Tenants: their names and settings (`migrations/postgres`). The [`Store`](idp_core::store::Store)
//! impl in `postgres.rs` delegates here.

use idp_core::model::*;
use idp_core::store::*;
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::rows::{self, tenant_cols};
use super::{PostgresStore, execute, query, query_opt};

pub(super) async fn create_tenant(s: &PostgresStore, t: &Tenant) -> StoreResult<()> {
    let c = s.conn().await?;
    execute(
        &c,
        "INSERT INTO tenants (id, name, description, default_role, settings, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &t.id,
            &t.name,
            &t.description,
            &t.default_role,
            &Json(&t.settings),
            &t.created_at,
            &t.updated_at,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn tenant_by_id(s: &PostgresStore, id: Uuid) -> StoreResult<Option<Tenant>> {
    let c = s.conn().await?;
    let sql = concat!("SELECT ", tenant_cols!(), " FROM tenants WHERE id = $1");
    query_opt(&c, sql, &[&id])
        .await?
        .map(|r| rows::tenant(&r))
        .transpose()
}

pub(super) async fn tenant_by_name(s: &PostgresStore, name: &str) -> StoreResult<Option<Tenant>> {
    let c = s.conn().await?;
    let sql = concat!("SELECT ", tenant_cols!(), " FROM tenants WHERE name = $1");
    query_opt(&c, sql, &[&name])
        .await?
        .map(|r| rows::tenant(&r))
        .transpose()
}

pub(super) async fn list_tenants(s: &PostgresStore) -> StoreResult<Vec<Tenant>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        tenant_cols!(),
        " FROM tenants ORDER BY created_at, name"
    );
    query(&c, sql, &[])
        .await?
        .iter()
        .map(rows::tenant)
        .collect()
}

pub(super) async fn update_tenant(s: &PostgresStore, t: &Tenant) -> StoreResult<bool> {
    let c = s.conn().await?;
    let n = execute(
        &c,
        "UPDATE tenants SET description = $2, default_role = $3, settings = $4, \
         updated_at = $5 WHERE id = $1",
        &[
            &t.id,
            &t.description,
            &t.default_role,
            &Json(&t.settings),
            &t.updated_at,
        ],
    )
    .await?;
    Ok(n > 0)
}
