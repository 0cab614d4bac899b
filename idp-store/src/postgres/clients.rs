//! App clients (OAuth clients, vendor api-keys, Switch client ids).

use idp_core::model::*;
use idp_core::store::*;
use uuid::Uuid;

use super::rows::{self, client_cols};
use super::{PostgresStore, execute, query, query_opt};

pub(super) async fn create_client(s: &PostgresStore, client: &AppClient) -> StoreResult<()> {
    let c = s.conn().await?;
    let grants: Vec<&str> = client.grants.iter().map(|g| g.as_str()).collect();
    execute(
        &c,
        "INSERT INTO app_clients (id, tenant_id, name, secret_digest, redirect_uris, grants, \
         scopes, consent_required, id_token_alg, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &client.id,
            &client.tenant_id,
            &client.name,
            &client.secret_digest,
            &client.redirect_uris,
            &grants,
            &client.scopes,
            &client.consent_required,
            &client.id_token_alg.map(|a| a.as_str()),
            &client.created_at,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn client_by_id(s: &PostgresStore, id: &str) -> StoreResult<Option<AppClient>> {
    let c = s.conn().await?;
    let sql = concat!("SELECT ", client_cols!(), " FROM app_clients WHERE id = $1");
    query_opt(&c, sql, &[&id])
        .await?
        .map(|r| rows::client(&r))
        .transpose()
}

pub(super) async fn list_clients(
    s: &PostgresStore,
    tenant_id: Uuid,
) -> StoreResult<Vec<AppClient>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        client_cols!(),
        " FROM app_clients WHERE tenant_id = $1 ORDER BY created_at, id"
    );
    query(&c, sql, &[&tenant_id])
        .await?
        .iter()
        .map(rows::client)
        .collect()
}
