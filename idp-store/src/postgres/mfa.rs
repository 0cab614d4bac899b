//! Multi-factor authentication: one-time challenges and enrolled second factors
//! (`migrations/postgres/0003_mfa.sql`).
//!
//! The [`Store`](idp_core::store::Store) impl in `postgres.rs` delegates here. A challenge is
//! spent by one `UPDATE ... WHERE consumed_at IS NULL AND expires_at > $2`: concurrent callers
//! queue on the row lock, and each one after the first re-checks the condition against the
//! row the first left behind and matches nothing. Account deletion removes challenges and
//! factors by `ON DELETE CASCADE`; `purge_expired` (in `grants.rs`) removes expired challenges.

use idp_core::model::*;
use idp_core::store::{FactorOverview, StoreResult};
use tokio_postgres::Row;
use uuid::Uuid;

use super::error::corrupt;
use super::rows::get;
use super::{PostgresStore, execute, query, query_opt};

macro_rules! challenge_cols {
    () => {
        "id, tenant_id, account_id, kind, destination, secret_hash, payload, created_at, \
         expires_at, consumed_at"
    };
}

macro_rules! factor_cols {
    () => {
        "account_id, kind, secret, confirmed, created_at"
    };
}

// --- row decoding ---

fn challenge(row: &Row) -> StoreResult<Challenge> {
    let kind: &str = get(row, "kind")?;
    Ok(Challenge {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        account_id: get(row, "account_id")?,
        kind: kind.parse().map_err(|e| corrupt("challenge kind", e))?,
        destination: get(row, "destination")?,
        secret_hash: get(row, "secret_hash")?,
        payload: get(row, "payload")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        consumed_at: get(row, "consumed_at")?,
    })
}

fn factor(row: &Row) -> StoreResult<Factor> {
    let kind: &str = get(row, "kind")?;
    Ok(Factor {
        account_id: get(row, "account_id")?,
        kind: kind.parse().map_err(|e| corrupt("factor kind", e))?,
        secret: get(row, "secret")?,
        confirmed: get(row, "confirmed")?,
        created_at: get(row, "created_at")?,
    })
}

// --- challenges ---

/// MissingReference("account") if the account does not exist in the challenge's tenant (the
/// composite foreign key `challenges_account_fkey`).
pub(super) async fn insert_challenge(s: &PostgresStore, ch: &Challenge) -> StoreResult<()> {
    let c = s.conn().await?;
    execute(
        &c,
        concat!(
            "INSERT INTO challenges (",
            challenge_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ),
        &[
            &ch.id,
            &ch.tenant_id,
            &ch.account_id,
            &ch.kind.as_str(),
            &ch.destination,
            &ch.secret_hash,
            &ch.payload,
            &ch.created_at,
            &ch.expires_at,
            &ch.consumed_at,
        ],
    )
    .await?;
    Ok(())
}

/// Consumed and expired challenges are returned too: checking them is the caller's.
pub(super) async fn challenge_by_id(s: &PostgresStore, id: Uuid) -> StoreResult<Option<Challenge>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        challenge_cols!(),
        " FROM challenges WHERE id = $1"
    );
    query_opt(&c, sql, &[&id])
        .await?
        .map(|r| challenge(&r))
        .transpose()
}

pub(super) async fn consume_challenge(
    s: &PostgresStore,
    id: Uuid,
    at: Timestamp,
) -> StoreResult<bool> {
    let c = s.conn().await?;
    let n = execute(
        &c,
        "UPDATE challenges SET consumed_at = $2 \
         WHERE id = $1 AND consumed_at IS NULL AND expires_at > $2",
        &[&id, &at],
    )
    .await?;
    Ok(n > 0)
}

pub(super) async fn consume_challenges_of(
    s: &PostgresStore,
    account_id: Uuid,
    kind: ChallengeKind,
    at: Timestamp,
) -> StoreResult<u64> {
    let c = s.conn().await?;
    execute(
        &c,
        "UPDATE challenges SET consumed_at = $3 \
         WHERE account_id = $1 AND kind = $2 AND consumed_at IS NULL AND expires_at > $3",
        &[&account_id, &kind.as_str(), &at],
    )
    .await
}

// --- second factors ---

/// Inserts the factor, or replaces every field of the account's factor of that kind.
/// MissingReference("account") if there is no such account (`account_factors_account_fkey`).
pub(super) async fn put_factor(s: &PostgresStore, f: &Factor) -> StoreResult<()> {
    let c = s.conn().await?;
    execute(
        &c,
        concat!(
            "INSERT INTO account_factors (",
            factor_cols!(),
            ") VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT ON CONSTRAINT account_factors_pkey DO UPDATE \
             SET secret = EXCLUDED.secret, confirmed = EXCLUDED.confirmed, \
                 created_at = EXCLUDED.created_at"
        ),
        &[
            &f.account_id,
            &f.kind.as_str(),
            &f.secret,
            &f.confirmed,
            &f.created_at,
        ],
    )
    .await?;
    Ok(())
}

/// Ordered by kind, in [`FactorKind`]'s own order (not the names' alphabetical one).
pub(super) async fn factors(s: &PostgresStore, account_id: Uuid) -> StoreResult<Vec<Factor>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        factor_cols!(),
        " FROM account_factors WHERE account_id = $1"
    );
    let mut factors = query(&c, sql, &[&account_id])
        .await?
        .iter()
        .map(factor)
        .collect::<StoreResult<Vec<_>>>()?;
    factors.sort_by_key(|f| f.kind);
    Ok(factors)
}

/// The `confirmed` column (an `ARRAY` of factor kinds) of a row, in FactorKind's own order, as
/// `factors` returns them.
pub(super) fn confirmed_kinds(row: &Row) -> StoreResult<Vec<FactorKind>> {
    let kinds: Vec<String> = get(row, "confirmed")?;
    let mut confirmed = kinds
        .iter()
        .map(|k| k.parse().map_err(|e| corrupt("factor kind", e)))
        .collect::<StoreResult<Vec<FactorKind>>>()?;
    confirmed.sort();
    Ok(confirmed)
}

/// [`Store::factor_overview`](idp_core::store::Store::factor_overview) in one statement.
pub(super) async fn factor_overview(
    s: &PostgresStore,
    account_id: Uuid,
) -> StoreResult<FactorOverview> {
    let c = s.conn().await?;
    let row = query_opt(
        &c,
        "SELECT a.pin_hash IS NOT NULL AS pin_set, \
           ARRAY(SELECT f.kind FROM account_factors f \
                 WHERE f.account_id = a.id AND f.confirmed) AS confirmed, \
           ARRAY(SELECT sa.question_id FROM security_answers sa \
                 WHERE sa.account_id = a.id ORDER BY sa.id) AS question_ids \
         FROM accounts a WHERE a.id = $1",
        &[&account_id],
    )
    .await?;
    let Some(row) = row else {
        return Ok(FactorOverview::default());
    };
    Ok(FactorOverview {
        confirmed: confirmed_kinds(&row)?,
        pin_set: get(&row, "pin_set")?,
        question_ids: get(&row, "question_ids")?,
    })
}

pub(super) async fn delete_factor(
    s: &PostgresStore,
    account_id: Uuid,
    kind: FactorKind,
) -> StoreResult<bool> {
    let c = s.conn().await?;
    let n = execute(
        &c,
        "DELETE FROM account_factors WHERE account_id = $1 AND kind = $2",
        &[&account_id, &kind.as_str()],
    )
    .await?;
    Ok(n > 0)
}
