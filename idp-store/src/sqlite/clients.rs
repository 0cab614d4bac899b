//! App clients. Client ids are global; grants are stored by their OAuth names (the model's own
//! serialisation, identical to `GrantType::as_str`).

use idp_core::model::AppClient;
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::codec::{RowExt, json, micros, text};
use super::error::DbResult;

macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, name, secret_digest, redirect_uris, grants, scopes,
                    consent_required, id_token_alg, created_at
             FROM app_clients ",
            $rest
        )
    };
}

fn row(r: &Row<'_>) -> rusqlite::Result<AppClient> {
    Ok(AppClient {
        id: r.get("id")?,
        tenant_id: r.uuid("tenant_id")?,
        name: r.get("name")?,
        secret_digest: r.get("secret_digest")?,
        redirect_uris: r.json("redirect_uris")?,
        grants: r.json("grants")?,
        scopes: r.json("scopes")?,
        consent_required: r.get("consent_required")?,
        id_token_alg: r.opt_parsed("id_token_alg")?,
        created_at: r.ts("created_at")?,
    })
}

pub(super) fn create(c: &Connection, client: &AppClient) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO app_clients (id, tenant_id, name, secret_digest, redirect_uris, grants,
             scopes, consent_required, id_token_alg, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        client.id,
        text(client.tenant_id),
        client.name,
        client.secret_digest,
        json(&client.redirect_uris)?,
        json(&client.grants)?,
        json(&client.scopes)?,
        client.consent_required,
        client.id_token_alg.map(|a| a.as_str()),
        micros(client.created_at),
    ])?;
    Ok(())
}

pub(super) fn by_id(c: &Connection, id: &str) -> DbResult<Option<AppClient>> {
    let mut stmt = c.prepare_cached(select!("WHERE id = ?1"))?;
    Ok(stmt.query_row([id], row).optional()?)
}

pub(super) fn list(c: &Connection, tenant_id: Uuid) -> DbResult<Vec<AppClient>> {
    let mut stmt = c.prepare_cached(select!("WHERE tenant_id = ?1 ORDER BY created_at, id"))?;
    let rows = stmt.query_map([text(tenant_id)], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
