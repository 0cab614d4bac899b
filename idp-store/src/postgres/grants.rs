//! OAuth / OpenID Connect state: signing keys, authorization codes, refresh-token families,
//! revoked access tokens, browser sessions and consents (`migrations/postgres/0002_oauth.sql`).
//!
//! The [`Store`](idp_core::store::Store) impl in `postgres.rs` delegates here. The two races
//! that matter are settled by row locks: a code is spent by one `UPDATE ... WHERE redeemed_at
//! IS NULL`, and a refresh token is rotated under `SELECT ... FOR UPDATE` of the token and its
//! family, so concurrent presenters of one token queue up and each sees what the one before it
//! did.

use idp_core::model::*;
use idp_core::store::{StoreError, StoreResult};
use tokio_postgres::Row;
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::error::{corrupt, pg};
use super::rows::{account, account_cols, get, joined_account};
use super::{PostgresStore, execute, query, query_one, query_opt};

macro_rules! key_cols {
    () => {
        "kid, alg, private_der, public_jwk, created_at, superseded_at"
    };
}

macro_rules! code_cols {
    () => {
        "code_digest, client_id, tenant_id, account_id, redirect_uri, scope, nonce, pkce, auth, \
         created_at, expires_at"
    };
}

/// Columns of a `refresh_tokens t JOIN token_families f` select, for `token` and `family`
/// (the family's under `f_`).
macro_rules! token_family_cols {
    () => {
        "t.token_digest, t.family_id, t.created_at, t.expires_at, t.used_at, f.id AS f_id, \
         f.tenant_id AS f_tenant_id, f.client_id AS f_client_id, \
         f.account_id AS f_account_id, f.scope AS f_scope, f.auth AS f_auth, \
         f.created_at AS f_created_at, f.revoked_at AS f_revoked_at"
    };
}

macro_rules! family_cols {
    () => {
        "id AS f_id, tenant_id AS f_tenant_id, client_id AS f_client_id, \
         account_id AS f_account_id, scope AS f_scope, auth AS f_auth, \
         created_at AS f_created_at, revoked_at AS f_revoked_at"
    };
}

macro_rules! session_cols {
    () => {
        "id_digest, tenant_id, account_id, auth, created_at, expires_at"
    };
}

// --- row decoding ---

fn key(row: &Row) -> StoreResult<SigningKey> {
    let alg: &str = get(row, "alg")?;
    Ok(SigningKey {
        kid: get(row, "kid")?,
        alg: alg
            .parse()
            .map_err(|e| corrupt("signing key algorithm", e))?,
        private_der: get(row, "private_der")?,
        public_jwk: get(row, "public_jwk")?,
        created_at: get(row, "created_at")?,
        superseded_at: get(row, "superseded_at")?,
    })
}

fn auth(row: &Row, col: &str) -> StoreResult<AuthContext> {
    let Json(auth): Json<AuthContext> = get(row, col)?;
    Ok(auth)
}

fn code(row: &Row) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_digest: get(row, "code_digest")?,
        client_id: get(row, "client_id")?,
        tenant_id: get(row, "tenant_id")?,
        account_id: get(row, "account_id")?,
        redirect_uri: get(row, "redirect_uri")?,
        scope: get(row, "scope")?,
        nonce: get(row, "nonce")?,
        pkce: get(row, "pkce")?,
        auth: auth(row, "auth")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

/// A family from columns behind `f_` (see `family_cols!`, `token_family_cols!`).
fn family(row: &Row) -> StoreResult<TokenFamily> {
    Ok(TokenFamily {
        id: get(row, "f_id")?,
        tenant_id: get(row, "f_tenant_id")?,
        client_id: get(row, "f_client_id")?,
        account_id: get(row, "f_account_id")?,
        scope: get(row, "f_scope")?,
        auth: auth(row, "f_auth")?,
        created_at: get(row, "f_created_at")?,
        revoked_at: get(row, "f_revoked_at")?,
    })
}

fn token(row: &Row) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_digest: get(row, "token_digest")?,
        family_id: get(row, "family_id")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        used_at: get(row, "used_at")?,
    })
}

fn session(row: &Row) -> StoreResult<Session> {
    Ok(Session {
        id_digest: get(row, "id_digest")?,
        tenant_id: get(row, "tenant_id")?,
        account_id: get(row, "account_id")?,
        auth: auth(row, "auth")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

/// Stores `t` in family `family_id`.
async fn insert_token<C: deadpool_postgres::GenericClient>(
    c: &C,
    t: &RefreshToken,
    family_id: Uuid,
) -> StoreResult<()> {
    execute(
        c,
        "INSERT INTO refresh_tokens (token_digest, family_id, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &t.token_digest,
            &family_id,
            &t.created_at,
            &t.expires_at,
            &t.used_at,
        ],
    )
    .await?;
    Ok(())
}

// --- signing keys ---

pub(super) async fn insert_key(s: &PostgresStore, k: &SigningKey) -> StoreResult<()> {
    let mut c = s.conn().await?;
    let tx = c.transaction().await.map_err(pg)?;
    // Key inserts queue up, so two concurrent ones cannot both leave their key signing (the
    // partial unique index `signing_keys_active_key` would refuse the second). Readers are not
    // blocked.
    execute(
        &tx,
        "LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE",
        &[],
    )
    .await?;
    execute(
        &tx,
        "UPDATE signing_keys SET superseded_at = $2 \
         WHERE alg = $1 AND superseded_at IS NULL",
        &[&k.alg.as_str(), &k.created_at],
    )
    .await?;
    execute(
        &tx,
        concat!(
            "INSERT INTO signing_keys (",
            key_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        ),
        &[
            &k.kid,
            &k.alg.as_str(),
            &k.private_der,
            &k.public_jwk,
            &k.created_at,
            &k.superseded_at,
        ],
    )
    .await?;
    tx.commit().await.map_err(pg)
}

pub(super) async fn list_keys(s: &PostgresStore) -> StoreResult<Vec<SigningKey>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        key_cols!(),
        " FROM signing_keys ORDER BY created_at DESC, kid DESC"
    );
    query(&c, sql, &[]).await?.iter().map(key).collect()
}

pub(super) async fn delete_keys_superseded_before(
    s: &PostgresStore,
    before: Timestamp,
) -> StoreResult<u64> {
    let c = s.conn().await?;
    execute(
        &c,
        "DELETE FROM signing_keys WHERE superseded_at < $1",
        &[&before],
    )
    .await
}

// --- authorization codes ---

pub(super) async fn insert_code(s: &PostgresStore, a: &AuthorizationCode) -> StoreResult<()> {
    let c = s.conn().await?;
    execute(
        &c,
        concat!(
            "INSERT INTO authorization_codes (",
            code_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
        &[
            &a.code_digest,
            &a.client_id,
            &a.tenant_id,
            &a.account_id,
            &a.redirect_uri,
            &a.scope,
            &a.nonce,
            &a.pkce,
            &Json(&a.auth),
            &a.created_at,
            &a.expires_at,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn redeem_code(
    s: &PostgresStore,
    digest: &str,
    first: &RefreshToken,
    at: Timestamp,
) -> StoreResult<CodeRedemption> {
    let family_id = first.family_id;
    let mut c = s.conn().await?;
    let tx = c.transaction().await.map_err(pg)?;
    // The row lock of the UPDATE makes concurrent redeemers wait for the first to commit
    // (family included); they then re-check `redeemed_at IS NULL` and match nothing.
    let spent = query_opt(
        &tx,
        concat!(
            "UPDATE authorization_codes SET redeemed_at = $3, family_id = $2 \
             WHERE code_digest = $1 AND redeemed_at IS NULL RETURNING ",
            code_cols!()
        ),
        &[&digest, &family_id, &at],
    )
    .await?;
    if let Some(row) = spent {
        let code = code(&row)?;
        let family = TokenFamily {
            id: family_id,
            tenant_id: code.tenant_id,
            client_id: code.client_id.clone(),
            account_id: code.account_id,
            scope: code.scope.clone(),
            auth: code.auth.clone(),
            created_at: at,
            revoked_at: None,
        };
        insert_family(&tx, &family, first).await?;
        tx.commit().await.map_err(pg)?;
        return Ok(CodeRedemption::Redeemed(code));
    }
    tx.rollback().await.map_err(pg)?;
    // A new statement, so a new snapshot: it sees the redemption that beat this call.
    let row = query_opt(
        &c,
        "SELECT family_id FROM authorization_codes WHERE code_digest = $1",
        &[&digest],
    )
    .await?;
    match row {
        Some(row) => Ok(CodeRedemption::Replayed {
            family_id: get(&row, "family_id")?,
        }),
        None => Ok(CodeRedemption::Unknown),
    }
}

// --- refresh-token families ---

pub(super) async fn create_family(
    s: &PostgresStore,
    f: &TokenFamily,
    first: &RefreshToken,
) -> StoreResult<()> {
    if first.family_id != f.id {
        return Err(StoreError::Internal(format!(
            "first refresh token names family {}, not the new family {}",
            first.family_id, f.id
        )));
    }
    let c = s.conn().await?;
    insert_family(&c, f, first).await
}

/// The family row and its first token, in one statement (so atomic without a transaction of its
/// own, and one round trip instead of four: this is on every sign-in's path).
async fn insert_family<C: deadpool_postgres::GenericClient>(
    c: &C,
    f: &TokenFamily,
    first: &RefreshToken,
) -> StoreResult<()> {
    execute(
        c,
        "WITH family AS ( \
           INSERT INTO token_families (id, tenant_id, client_id, account_id, scope, auth, \
             created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id) \
         INSERT INTO refresh_tokens (token_digest, family_id, created_at, expires_at, used_at) \
         SELECT $9, id, $10, $11, $12 FROM family",
        &[
            &f.id,
            &f.tenant_id,
            &f.client_id,
            &f.account_id,
            &f.scope,
            &Json(&f.auth),
            &f.created_at,
            &f.revoked_at,
            &first.token_digest,
            &first.created_at,
            &first.expires_at,
            &first.used_at,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn rotate_refresh(
    s: &PostgresStore,
    digest: &str,
    client_id: &str,
    next: &RefreshToken,
    at: Timestamp,
) -> StoreResult<RefreshRotation> {
    let mut c = s.conn().await?;
    // The usual case in one statement, so one round trip and one commit: mark the presented
    // token used if it is still unused, unexpired and in a live family of the presenting
    // client, add `next` to that family, and read the family's account. The UPDATE locks the
    // token's row; a concurrent rotation of the same token waits for it, re-checks
    // `used_at IS NULL` against the winner's commit and matches nothing.
    let rotated = query_opt(
        &c,
        concat!(
            "WITH used AS ( \
           UPDATE refresh_tokens t SET used_at = $2 FROM token_families f \
           WHERE t.token_digest = $1 AND f.id = t.family_id AND t.used_at IS NULL \
             AND t.expires_at > $2 AND f.revoked_at IS NULL AND f.client_id = $6 \
           RETURNING f.id AS f_id, f.tenant_id AS f_tenant_id, f.client_id AS f_client_id, \
             f.account_id AS f_account_id, f.scope AS f_scope, f.auth AS f_auth, \
             f.created_at AS f_created_at, f.revoked_at AS f_revoked_at), \
         added AS ( \
           INSERT INTO refresh_tokens (token_digest, family_id, created_at, expires_at) \
           SELECT $3, f_id, $4, $5 FROM used) \
         SELECT used.*, a.* FROM used LEFT JOIN (SELECT ",
            account_cols!(),
            " FROM accounts) a ON a.id = used.f_account_id"
        ),
        &[
            &digest,
            &at,
            &next.token_digest,
            &next.created_at,
            &next.expires_at,
            &client_id,
        ],
    )
    .await?;
    if let Some(row) = rotated {
        let account = joined_account(&row)?.map(Box::new);
        return Ok(RefreshRotation::Rotated(family(&row)?, account));
    }
    // Unknown, another client's, expired, revoked or already used: find out which under a
    // lock, so that a reuse revokes the family exactly once.
    let tx = c.transaction().await.map_err(pg)?;
    // Locks the token and its family: a concurrent rotation of the same token waits here and
    // then reads the rows as the winner left them (used token, possibly revoked family).
    let row = query_opt(
        &tx,
        concat!(
            "SELECT ",
            token_family_cols!(),
            " FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id \
             WHERE t.token_digest = $1 FOR UPDATE"
        ),
        &[&digest],
    )
    .await?;
    let Some(row) = row else {
        return Ok(RefreshRotation::Invalid);
    };
    let (presented, fam) = (token(&row)?, family(&row)?);
    if fam.client_id != client_id {
        return Ok(RefreshRotation::OtherClient);
    }
    if presented.expires_at <= at || fam.revoked_at.is_some() {
        return Ok(RefreshRotation::Invalid);
    }
    if presented.used_at.is_some() {
        execute(
            &tx,
            "UPDATE token_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&fam.id, &at],
        )
        .await?;
        tx.commit().await.map_err(pg)?;
        return Ok(RefreshRotation::Reused { family_id: fam.id });
    }
    execute(
        &tx,
        "UPDATE refresh_tokens SET used_at = $2 WHERE token_digest = $1",
        &[&digest, &at],
    )
    .await?;
    // `next` joins the presented token's family, whatever family id the caller put in it.
    insert_token(&tx, next, fam.id).await?;
    let row = query_opt(
        &tx,
        concat!("SELECT ", account_cols!(), " FROM accounts WHERE id = $1"),
        &[&fam.account_id],
    )
    .await?;
    let account = row.map(|r| account(&r).map(Box::new)).transpose()?;
    tx.commit().await.map_err(pg)?;
    Ok(RefreshRotation::Rotated(fam, account))
}

pub(super) async fn refresh_token(
    s: &PostgresStore,
    digest: &str,
) -> StoreResult<Option<(RefreshToken, TokenFamily)>> {
    let c = s.conn().await?;
    let row = query_opt(
        &c,
        concat!(
            "SELECT ",
            token_family_cols!(),
            " FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id \
             WHERE t.token_digest = $1"
        ),
        &[&digest],
    )
    .await?;
    row.map(|r| Ok((token(&r)?, family(&r)?))).transpose()
}

pub(super) async fn family_by_id(s: &PostgresStore, id: Uuid) -> StoreResult<Option<TokenFamily>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        family_cols!(),
        " FROM token_families WHERE id = $1"
    );
    query_opt(&c, sql, &[&id])
        .await?
        .map(|r| family(&r))
        .transpose()
}

pub(super) async fn revoke_family(s: &PostgresStore, id: Uuid, at: Timestamp) -> StoreResult<bool> {
    let c = s.conn().await?;
    let n = execute(
        &c,
        "UPDATE token_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[&id, &at],
    )
    .await?;
    Ok(n > 0)
}

pub(super) async fn revoke_account_families(
    s: &PostgresStore,
    account_id: Uuid,
    at: Timestamp,
) -> StoreResult<u64> {
    let c = s.conn().await?;
    execute(
        &c,
        "UPDATE token_families SET revoked_at = $2 \
         WHERE account_id = $1 AND revoked_at IS NULL",
        &[&account_id, &at],
    )
    .await
}

// --- access-token revocation ---

pub(super) async fn revoke_access_token(
    s: &PostgresStore,
    jti: &str,
    expires_at: Timestamp,
) -> StoreResult<()> {
    let c = s.conn().await?;
    // Revoking again keeps the record until the later of the two expiries.
    execute(
        &c,
        "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) \
         ON CONFLICT ON CONSTRAINT revoked_access_tokens_pkey DO UPDATE \
         SET expires_at = GREATEST(revoked_access_tokens.expires_at, EXCLUDED.expires_at)",
        &[&jti, &expires_at],
    )
    .await?;
    Ok(())
}

pub(super) async fn access_token_revoked(
    s: &PostgresStore,
    jti: &str,
    family_id: Option<Uuid>,
) -> StoreResult<bool> {
    Ok(s.bearer_checks.check(jti, family_id, None).await?.revoked)
}

// --- browser sessions ---

pub(super) async fn create_session(s: &PostgresStore, x: &Session) -> StoreResult<()> {
    let c = s.conn().await?;
    execute(
        &c,
        concat!(
            "INSERT INTO sessions (",
            session_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        ),
        &[
            &x.id_digest,
            &x.tenant_id,
            &x.account_id,
            &Json(&x.auth),
            &x.created_at,
            &x.expires_at,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn session_by_digest(
    s: &PostgresStore,
    digest: &str,
) -> StoreResult<Option<Session>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        session_cols!(),
        " FROM sessions WHERE id_digest = $1"
    );
    query_opt(&c, sql, &[&digest])
        .await?
        .map(|r| session(&r))
        .transpose()
}

pub(super) async fn delete_session(s: &PostgresStore, digest: &str) -> StoreResult<bool> {
    let c = s.conn().await?;
    let n = execute(&c, "DELETE FROM sessions WHERE id_digest = $1", &[&digest]).await?;
    Ok(n > 0)
}

// --- consents ---

pub(super) async fn grant_consent(
    s: &PostgresStore,
    account_id: Uuid,
    client_id: &str,
    scopes: &[String],
    at: Timestamp,
) -> StoreResult<()> {
    let c = s.conn().await?;
    // One statement; the row lock of ON CONFLICT DO UPDATE serialises concurrent grants, so
    // none of their scopes is lost.
    execute(
        &c,
        "INSERT INTO consents (account_id, client_id, scopes, created_at, updated_at) \
         VALUES ($1, $2, ARRAY(SELECT DISTINCT unnest($3::text[]) ORDER BY 1), $4, $4) \
         ON CONFLICT ON CONSTRAINT consents_pkey DO UPDATE \
         SET scopes = ARRAY(SELECT DISTINCT unnest(consents.scopes || EXCLUDED.scopes) \
                            ORDER BY 1), \
             updated_at = EXCLUDED.updated_at",
        &[&account_id, &client_id, &scopes, &at],
    )
    .await?;
    Ok(())
}

pub(super) async fn consented_scopes(
    s: &PostgresStore,
    account_id: Uuid,
    client_id: &str,
) -> StoreResult<Vec<String>> {
    let c = s.conn().await?;
    let row = query_opt(
        &c,
        "SELECT scopes FROM consents WHERE account_id = $1 AND client_id = $2",
        &[&account_id, &client_id],
    )
    .await?;
    match row {
        Some(row) => get(&row, "scopes"),
        None => Ok(Vec::new()),
    }
}

// --- expiry ---

pub(super) async fn purge_expired(s: &PostgresStore, now: Timestamp) -> StoreResult<u64> {
    let c = s.conn().await?;
    // One statement, so one snapshot and all-or-nothing. Challenges are 0003's (see mfa.rs).
    let row = query_one(
        &c,
        "WITH c AS (DELETE FROM authorization_codes WHERE expires_at < $1 RETURNING 1), \
         r AS (DELETE FROM refresh_tokens WHERE expires_at < $1 RETURNING 1), \
         s AS (DELETE FROM sessions WHERE expires_at < $1 RETURNING 1), \
         a AS (DELETE FROM revoked_access_tokens WHERE expires_at < $1 RETURNING 1), \
         ch AS (DELETE FROM challenges WHERE expires_at < $1 RETURNING 1) \
         SELECT (SELECT count(*) FROM c) + (SELECT count(*) FROM r) \
              + (SELECT count(*) FROM s) + (SELECT count(*) FROM a) \
              + (SELECT count(*) FROM ch) AS n",
        &[&now],
    )
    .await?;
    let n: i64 = get(&row, "n")?;
    u64::try_from(n).map_err(|_| corrupt("purge count", n))
}
