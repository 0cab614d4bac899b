//! Tenants.

use idp_core::model::Tenant;
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::codec::{RowExt, json, micros, text};
use super::error::DbResult;

macro_rules! select {
    ($($rest:literal)?) => {
        concat!(
            "SELECT id, name, description, default_role, settings, created_at, updated_at
             FROM tenants ",
            $($rest)?
        )
    };
}

fn row(r: &Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: r.uuid("id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        default_role: r.get("default_role")?,
        settings: r.json("settings")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(super) fn create(c: &Connection, t: &Tenant) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO tenants (id, name, description, default_role, settings, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        text(t.id),
        t.name,
        t.description,
        t.default_role,
        json(&t.settings)?,
        micros(t.created_at),
        micros(t.updated_at),
    ])?;
    Ok(())
}

pub(super) fn by_id(c: &Connection, id: Uuid) -> DbResult<Option<Tenant>> {
    let mut stmt = c.prepare_cached(select!("WHERE id = ?1"))?;
    Ok(stmt.query_row([text(id)], row).optional()?)
}

pub(super) fn by_name(c: &Connection, name: &str) -> DbResult<Option<Tenant>> {
    let mut stmt = c.prepare_cached(select!("WHERE name = ?1"))?;
    Ok(stmt.query_row([name], row).optional()?)
}

pub(super) fn list(c: &Connection) -> DbResult<Vec<Tenant>> {
    let mut stmt = c.prepare_cached(select!("ORDER BY created_at, name"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Name and created_at are not the caller's to change here.
pub(super) fn update(c: &Connection, t: &Tenant) -> DbResult<bool> {
    let n = c
        .prepare_cached(
            "UPDATE tenants SET description = ?2, default_role = ?3, settings = ?4, updated_at = ?5
             WHERE id = ?1",
        )?
        .execute(params![
            text(t.id),
            t.description,
            t.default_role,
            json(&t.settings)?,
            micros(t.updated_at),
        ])?;
    Ok(n > 0)
}
