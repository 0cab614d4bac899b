//! Roles, their entitlements and their assignment to accounts.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use idp_core::model::*;
use idp_core::store::*;
use tokio_postgres::Row;
use uuid::Uuid;

use super::error::{corrupt, pg};
use super::rows::{self, get};
use super::{PostgresStore, execute, query, query_one, query_opt};

/// Fills in the entitlements of `roles`, ordered by name.
async fn with_entitlements<C: GenericClient>(
    c: &C,
    mut roles: Vec<Role>,
) -> StoreResult<Vec<Role>> {
    if roles.is_empty() {
        return Ok(roles);
    }
    let ids: Vec<i64> = roles.iter().map(|r| r.id).collect();
    let rows = query(
        c,
        "SELECT re.role_id, e.id, e.name, e.description, e.created_at \
         FROM role_entitlements re JOIN entitlements e ON e.id = re.entitlement_id \
         WHERE re.role_id = ANY($1) ORDER BY e.name, e.id",
        &[&ids],
    )
    .await?;
    let mut by_role: HashMap<i64, Vec<Entitlement>> = HashMap::new();
    for row in &rows {
        let role_id: i64 = get(row, "role_id")?;
        by_role
            .entry(role_id)
            .or_default()
            .push(rows::entitlement(row)?);
    }
    for role in &mut roles {
        role.entitlements = by_role.remove(&role.id).unwrap_or_default();
    }
    Ok(roles)
}

async fn one_role<C: GenericClient>(c: &C, row: Option<Row>) -> StoreResult<Option<Role>> {
    let Some(row) = row else { return Ok(None) };
    let role = rows::role(&row)?;
    Ok(with_entitlements(c, vec![role]).await?.pop())
}

/// Links the named entitlements to a role, creating the names not seen before.
async fn link_entitlements<C: GenericClient>(
    c: &C,
    role_id: i64,
    names: &[String],
    at: Timestamp,
) -> StoreResult<()> {
    if names.is_empty() {
        return Ok(());
    }
    execute(
        c,
        "INSERT INTO entitlements (name, created_at) \
         SELECT DISTINCT n, $2::timestamptz FROM unnest($1::text[]) AS n \
         ON CONFLICT ON CONSTRAINT entitlements_name_key DO NOTHING",
        &[&names, &at],
    )
    .await?;
    execute(
        c,
        "INSERT INTO role_entitlements (role_id, entitlement_id) \
         SELECT $1, id FROM entitlements WHERE name = ANY($2::text[]) \
         ON CONFLICT DO NOTHING",
        &[&role_id, &names],
    )
    .await?;
    Ok(())
}

pub(super) async fn create_role(
    s: &PostgresStore,
    tenant_id: Uuid,
    name: &str,
    description: Option<&str>,
    entitlements: &[String],
    at: Timestamp,
) -> StoreResult<Role> {
    let mut c = s.conn().await?;
    let tx = c.transaction().await.map_err(pg)?;
    let row = query_one(
        &tx,
        "INSERT INTO roles (tenant_id, name, description, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) \
         RETURNING id, tenant_id, name, description, created_at, updated_at",
        &[&tenant_id, &name, &description, &at],
    )
    .await?;
    let role = rows::role(&row)?;
    link_entitlements(&tx, role.id, entitlements, at).await?;
    let role = with_entitlements(&tx, vec![role])
        .await?
        .pop()
        .ok_or_else(|| corrupt("role", "created role vanished"))?;
    tx.commit().await.map_err(pg)?;
    Ok(role)
}

pub(super) async fn update_role(
    s: &PostgresStore,
    tenant_id: Uuid,
    role_id: i64,
    name: &str,
    description: Option<&str>,
    entitlements: Option<&[String]>,
    at: Timestamp,
) -> StoreResult<Option<Role>> {
    let mut c = s.conn().await?;
    let tx = c.transaction().await.map_err(pg)?;
    let row = query_opt(
        &tx,
        "UPDATE roles SET name = $3, description = $4, updated_at = $5 \
         WHERE id = $1 AND tenant_id = $2 \
         RETURNING id, tenant_id, name, description, created_at, updated_at",
        &[&role_id, &tenant_id, &name, &description, &at],
    )
    .await?;
    let Some(row) = row else { return Ok(None) };
    if let Some(names) = entitlements {
        execute(
            &tx,
            "DELETE FROM role_entitlements WHERE role_id = $1",
            &[&role_id],
        )
        .await?;
        link_entitlements(&tx, role_id, names, at).await?;
    }
    let role = one_role(&tx, Some(row)).await?;
    tx.commit().await.map_err(pg)?;
    Ok(role)
}

pub(super) async fn delete_role(
    s: &PostgresStore,
    tenant_id: Uuid,
    role_id: i64,
) -> StoreResult<bool> {
    let c = s.conn().await?;
    // Assignments and entitlement links go with it (ON DELETE CASCADE).
    let n = execute(
        &c,
        "DELETE FROM roles WHERE id = $1 AND tenant_id = $2",
        &[&role_id, &tenant_id],
    )
    .await?;
    Ok(n > 0)
}

pub(super) async fn role_by_id(
    s: &PostgresStore,
    tenant_id: Uuid,
    role_id: i64,
) -> StoreResult<Option<Role>> {
    let c = s.conn().await?;
    let row = query_opt(
        &c,
        "SELECT id, tenant_id, name, description, created_at, updated_at FROM roles \
         WHERE id = $1 AND tenant_id = $2",
        &[&role_id, &tenant_id],
    )
    .await?;
    one_role(&c, row).await
}

pub(super) async fn role_by_name(
    s: &PostgresStore,
    tenant_id: Uuid,
    name: &str,
) -> StoreResult<Option<Role>> {
    let c = s.conn().await?;
    let row = query_opt(
        &c,
        "SELECT id, tenant_id, name, description, created_at, updated_at FROM roles \
         WHERE tenant_id = $1 AND name = $2",
        &[&tenant_id, &name],
    )
    .await?;
    one_role(&c, row).await
}

pub(super) async fn list_roles(s: &PostgresStore, tenant_id: Uuid) -> StoreResult<Vec<Role>> {
    let c = s.conn().await?;
    let roles = query(
        &c,
        "SELECT id, tenant_id, name, description, created_at, updated_at FROM roles \
         WHERE tenant_id = $1 ORDER BY id",
        &[&tenant_id],
    )
    .await?
    .iter()
    .map(rows::role)
    .collect::<StoreResult<Vec<_>>>()?;
    with_entitlements(&c, roles).await
}

pub(super) async fn assign_role(
    s: &PostgresStore,
    account_id: Uuid,
    role_id: i64,
    at: Timestamp,
) -> StoreResult<bool> {
    let c = s.conn().await?;
    // One statement: which side is missing, and whether a row was inserted. A role deleted
    // between the lookup and the insert still fails, by foreign key.
    let row = query_one(
        &c,
        "WITH a AS (SELECT id, tenant_id FROM accounts WHERE id = $1), \
         r AS (SELECT r.id, r.tenant_id FROM roles r JOIN a ON r.tenant_id = a.tenant_id \
               WHERE r.id = $2), \
         ins AS (INSERT INTO account_roles (account_id, tenant_id, role_id, assigned_at) \
                 SELECT a.id, a.tenant_id, r.id, $3 FROM a, r \
                 ON CONFLICT DO NOTHING RETURNING 1) \
         SELECT (SELECT count(*) FROM a) AS accounts, (SELECT count(*) FROM r) AS roles, \
                (SELECT count(*) FROM ins) AS inserted",
        &[&account_id, &role_id, &at],
    )
    .await?;
    let (accounts, roles, inserted): (i64, i64, i64) = (
        get(&row, "accounts")?,
        get(&row, "roles")?,
        get(&row, "inserted")?,
    );
    if accounts == 0 {
        return Err(StoreError::MissingReference("account"));
    }
    if roles == 0 {
        return Err(StoreError::MissingReference("role"));
    }
    Ok(inserted > 0)
}

pub(super) async fn remove_role(
    s: &PostgresStore,
    account_id: Uuid,
    role_id: i64,
) -> StoreResult<bool> {
    let c = s.conn().await?;
    let n = execute(
        &c,
        "DELETE FROM account_roles WHERE account_id = $1 AND role_id = $2",
        &[&account_id, &role_id],
    )
    .await?;
    Ok(n > 0)
}

pub(super) async fn account_roles(
    s: &PostgresStore,
    account_id: Uuid,
) -> StoreResult<Vec<RoleAssignment>> {
    let c = s.conn().await?;
    let rows = query(
        &c,
        "SELECT r.id, r.tenant_id, r.name, r.description, r.created_at, r.updated_at, \
         ar.assigned_at FROM account_roles ar JOIN roles r ON r.id = ar.role_id \
         WHERE ar.account_id = $1 ORDER BY ar.assigned_at, r.id",
        &[&account_id],
    )
    .await?;
    let mut assigned_at = Vec::with_capacity(rows.len());
    let mut roles = Vec::with_capacity(rows.len());
    for row in &rows {
        assigned_at.push(get::<Timestamp>(row, "assigned_at")?);
        roles.push(rows::role(row)?);
    }
    let roles = with_entitlements(&c, roles).await?;
    Ok(roles
        .into_iter()
        .zip(assigned_at)
        .map(|(role, assigned_at)| RoleAssignment { role, assigned_at })
        .collect())
}
