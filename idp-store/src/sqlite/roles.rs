//! Roles, their entitlements and their assignment to accounts.

use idp_core::model::{Entitlement, Role, RoleAssignment, Timestamp};
use idp_core::store::StoreError;
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::codec::{RowExt, micros, text};
use super::error::{DbResult, missing};

/// A role row without its entitlements, which [`with_entitlements`] adds.
fn role_row(r: &Row<'_>) -> rusqlite::Result<Role> {
    Ok(Role {
        id: r.get("id")?,
        tenant_id: r.uuid("tenant_id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        entitlements: Vec::new(),
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

fn with_entitlements(c: &Connection, mut role: Role) -> DbResult<Role> {
    let mut stmt = c.prepare_cached(
        "SELECT e.id, e.name, e.description, e.created_at
         FROM role_entitlements re JOIN entitlements e ON e.id = re.entitlement_id
         WHERE re.role_id = ?1 ORDER BY e.name",
    )?;
    let rows = stmt.query_map([role.id], |r| {
        Ok(Entitlement {
            id: r.get("id")?,
            name: r.get("name")?,
            description: r.get("description")?,
            created_at: r.ts("created_at")?,
        })
    })?;
    role.entitlements = rows.collect::<rusqlite::Result<_>>()?;
    Ok(role)
}

/// Links the named entitlements to the role, creating names not seen before. Entitlements are
/// shared by name across roles and tenants, so an existing row is reused, never duplicated.
fn link(c: &Connection, role_id: i64, names: &[String], at: Timestamp) -> DbResult<()> {
    let mut create = c.prepare_cached(
        "INSERT INTO entitlements (name, created_at) VALUES (?1, ?2)
         ON CONFLICT (name) DO NOTHING",
    )?;
    let mut attach = c.prepare_cached(
        "INSERT INTO role_entitlements (role_id, entitlement_id)
         SELECT ?1, id FROM entitlements WHERE name = ?2
         ON CONFLICT DO NOTHING",
    )?;
    for name in names {
        create.execute(params![name, micros(at)])?;
        attach.execute(params![role_id, name])?;
    }
    Ok(())
}

pub(super) fn by_id(c: &Connection, tenant_id: Uuid, role_id: i64) -> DbResult<Option<Role>> {
    let role = c
        .prepare_cached(
            "SELECT id, tenant_id, name, description, created_at, updated_at FROM roles
             WHERE id = ?1 AND tenant_id = ?2",
        )?
        .query_row(params![role_id, text(tenant_id)], role_row)
        .optional()?;
    role.map(|r| with_entitlements(c, r)).transpose()
}

pub(super) fn by_name(c: &Connection, tenant_id: Uuid, name: &str) -> DbResult<Option<Role>> {
    let role = c
        .prepare_cached(
            "SELECT id, tenant_id, name, description, created_at, updated_at FROM roles
             WHERE tenant_id = ?1 AND name = ?2",
        )?
        .query_row(params![text(tenant_id), name], role_row)
        .optional()?;
    role.map(|r| with_entitlements(c, r)).transpose()
}

pub(super) fn list(c: &Connection, tenant_id: Uuid) -> DbResult<Vec<Role>> {
    let roles: Vec<Role> = c
        .prepare_cached(
            "SELECT id, tenant_id, name, description, created_at, updated_at FROM roles
             WHERE tenant_id = ?1 ORDER BY id",
        )?
        .query_map([text(tenant_id)], role_row)?
        .collect::<rusqlite::Result<_>>()?;
    roles.into_iter().map(|r| with_entitlements(c, r)).collect()
}

/// Reads back a role written in the current transaction.
fn written(c: &Connection, tenant_id: Uuid, role_id: i64) -> DbResult<Role> {
    by_id(c, tenant_id, role_id)?.ok_or_else(|| {
        StoreError::Internal(format!("role {role_id} vanished mid-transaction")).into()
    })
}

pub(super) fn create(
    c: &Connection,
    tenant_id: Uuid,
    name: &str,
    description: Option<&str>,
    entitlements: &[String],
    at: Timestamp,
) -> DbResult<Role> {
    let id: i64 = c
        .prepare_cached(
            "INSERT INTO roles (tenant_id, name, description, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
        )?
        .query_row(
            params![text(tenant_id), name, description, micros(at)],
            |r| r.get(0),
        )?;
    link(c, id, entitlements, at)?;
    written(c, tenant_id, id)
}

pub(super) fn update(
    c: &Connection,
    tenant_id: Uuid,
    role_id: i64,
    name: &str,
    description: Option<&str>,
    entitlements: Option<&[String]>,
    at: Timestamp,
) -> DbResult<Option<Role>> {
    let n = c
        .prepare_cached(
            "UPDATE roles SET name = ?3, description = ?4, updated_at = ?5
             WHERE id = ?1 AND tenant_id = ?2",
        )?
        .execute(params![
            role_id,
            text(tenant_id),
            name,
            description,
            micros(at)
        ])?;
    if n == 0 {
        return Ok(None);
    }
    if let Some(names) = entitlements {
        c.prepare_cached("DELETE FROM role_entitlements WHERE role_id = ?1")?
            .execute([role_id])?;
        link(c, role_id, names, at)?;
    }
    written(c, tenant_id, role_id).map(Some)
}

/// Entitlement rows stay: other roles may share them.
pub(super) fn delete(c: &Connection, tenant_id: Uuid, role_id: i64) -> DbResult<bool> {
    let owned = c
        .prepare_cached("SELECT 1 FROM roles WHERE id = ?1 AND tenant_id = ?2")?
        .query_row(params![role_id, text(tenant_id)], |_| Ok(()))
        .optional()?;
    if owned.is_none() {
        return Ok(false);
    }
    for sql in [
        "DELETE FROM account_roles WHERE role_id = ?1",
        "DELETE FROM role_entitlements WHERE role_id = ?1",
        "DELETE FROM roles WHERE id = ?1",
    ] {
        c.prepare_cached(sql)?.execute([role_id])?;
    }
    Ok(true)
}

/// Assigns unless already assigned (then the first assignment's time stays). The role must be
/// of the account's tenant, which no foreign key can express.
pub(super) fn assign(
    c: &Connection,
    account_id: Uuid,
    role_id: i64,
    at: Timestamp,
) -> DbResult<bool> {
    let account = text(account_id);
    let tenant: String = c
        .prepare_cached("SELECT tenant_id FROM accounts WHERE id = ?1")?
        .query_row([&account], |r| r.get(0))
        .optional()?
        .ok_or_else(|| missing("account"))?;
    c.prepare_cached("SELECT 1 FROM roles WHERE id = ?1 AND tenant_id = ?2")?
        .query_row(params![role_id, tenant], |_| Ok(()))
        .optional()?
        .ok_or_else(|| missing("role"))?;
    let n = c
        .prepare_cached(
            "INSERT INTO account_roles (account_id, role_id, assigned_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![account, role_id, micros(at)])?;
    Ok(n > 0)
}

pub(super) fn remove(c: &Connection, account_id: Uuid, role_id: i64) -> DbResult<bool> {
    let n = c
        .prepare_cached("DELETE FROM account_roles WHERE account_id = ?1 AND role_id = ?2")?
        .execute(params![text(account_id), role_id])?;
    Ok(n > 0)
}

pub(super) fn of_account(c: &Connection, account_id: Uuid) -> DbResult<Vec<RoleAssignment>> {
    let rows: Vec<(Role, Timestamp)> = c
        .prepare_cached(
            "SELECT r.id, r.tenant_id, r.name, r.description, r.created_at, r.updated_at,
                    ar.assigned_at
             FROM account_roles ar JOIN roles r ON r.id = ar.role_id
             WHERE ar.account_id = ?1 ORDER BY ar.assigned_at, r.id",
        )?
        .query_map([text(account_id)], |r| {
            Ok((role_row(r)?, r.ts("assigned_at")?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(role, assigned_at)| {
            Ok(RoleAssignment {
                role: with_entitlements(c, role)?,
                assigned_at,
            })
        })
        .collect()
}
