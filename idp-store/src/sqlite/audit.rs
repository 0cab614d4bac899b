//! The audit trail: append-only, read newest first.

use idp_core::model::{AuditRecord, NewAudit, Page};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::codec::{RowExt, json, micros, opt_text, text};
use super::error::DbResult;

macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, account_id, actor_id, category, action, name, success,
                    summary, parameters, error_message, client_ip, request_id, created_at
             FROM audit_records ",
            $rest
        )
    };
}

fn row(r: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        id: r.get("id")?,
        record: NewAudit {
            tenant_id: r.uuid("tenant_id")?,
            account_id: r.opt_uuid("account_id")?,
            actor_id: r.opt_uuid("actor_id")?,
            category: r.parsed("category")?,
            action: r.parsed("action")?,
            name: r.get("name")?,
            success: r.get("success")?,
            summary: r.get("summary")?,
            parameters: r.json("parameters")?,
            error_message: r.get("error_message")?,
            client_ip: r.get("client_ip")?,
            request_id: r.get("request_id")?,
            created_at: r.ts("created_at")?,
        },
    })
}

pub(super) fn append(c: &Connection, a: &NewAudit) -> DbResult<i64> {
    let id = c
        .prepare_cached(
            "INSERT INTO audit_records (tenant_id, account_id, actor_id, category, action, name,
                 success, summary, parameters, error_message, client_ip, request_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             RETURNING id",
        )?
        .query_row(
            params![
                text(a.tenant_id),
                opt_text(a.account_id),
                opt_text(a.actor_id),
                a.category.as_str(),
                a.action.as_str(),
                a.name,
                a.success,
                a.summary,
                json(&a.parameters)?,
                a.error_message,
                a.client_ip,
                a.request_id,
                micros(a.created_at),
            ],
            |r| r.get(0),
        )?;
    Ok(id)
}

pub(super) fn list(
    c: &Connection,
    tenant_id: Uuid,
    account_id: Uuid,
    page: Page,
) -> DbResult<Vec<AuditRecord>> {
    let mut stmt = c.prepare_cached(select!(
        "WHERE tenant_id = ?1 AND account_id = ?2
         ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt.query_map(
        params![text(tenant_id), text(account_id), page.limit, page.offset],
        row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn by_id(
    c: &Connection,
    tenant_id: Uuid,
    account_id: Uuid,
    audit_id: i64,
) -> DbResult<Option<AuditRecord>> {
    let mut stmt = c.prepare_cached(select!(
        "WHERE id = ?1 AND tenant_id = ?2 AND account_id = ?3"
    ))?;
    Ok(stmt
        .query_row(params![audit_id, text(tenant_id), text(account_id)], row)
        .optional()?)
}
