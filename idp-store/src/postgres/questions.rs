//! Security questions (per tenant) and the accounts' hashed answers to them. An answer can
//! only name a question of the account's own tenant (a composite foreign key; checked here
//! first for a clear error).

use deadpool_postgres::GenericClient;
use idp_core::model::*;
use idp_core::store::*;
use tokio_postgres::Row;
use uuid::Uuid;

use super::error::pg;
use super::rows::{self, answer_cols, get};
use super::{PostgresStore, query, query_one, query_opt};

/// The question `question_id` if it belongs to `tenant_id`.
async fn tenant_question<C: GenericClient>(
    c: &C,
    tenant_id: Uuid,
    question_id: i64,
) -> StoreResult<SecurityQuestion> {
    let row = query_opt(
        c,
        "SELECT id, tenant_id, question, created_at, updated_at FROM security_questions \
         WHERE id = $1 AND tenant_id = $2",
        &[&question_id, &tenant_id],
    )
    .await?;
    match row {
        Some(row) => rows::question(&row, ""),
        None => Err(StoreError::MissingReference("question")),
    }
}

/// A `RETURNING id, account_id, answer_hash, created_at, updated_at` row plus its question.
fn stored_answer(row: &Row, question: SecurityQuestion) -> StoreResult<StoredAnswer> {
    Ok(StoredAnswer {
        id: get(row, "id")?,
        account_id: get(row, "account_id")?,
        question,
        answer_hash: get(row, "answer_hash")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

pub(super) async fn create_question(
    s: &PostgresStore,
    tenant_id: Uuid,
    question: &str,
    at: Timestamp,
) -> StoreResult<SecurityQuestion> {
    let c = s.conn().await?;
    let row = query_one(
        &c,
        "INSERT INTO security_questions (tenant_id, question, created_at, updated_at) \
         VALUES ($1, $2, $3, $3) RETURNING id, tenant_id, question, created_at, updated_at",
        &[&tenant_id, &question, &at],
    )
    .await?;
    rows::question(&row, "")
}

pub(super) async fn list_questions(
    s: &PostgresStore,
    tenant_id: Uuid,
) -> StoreResult<Vec<SecurityQuestion>> {
    let c = s.conn().await?;
    query(
        &c,
        "SELECT id, tenant_id, question, created_at, updated_at FROM security_questions \
         WHERE tenant_id = $1 ORDER BY id",
        &[&tenant_id],
    )
    .await?
    .iter()
    .map(|r| rows::question(r, ""))
    .collect()
}

pub(super) async fn put_answer(
    s: &PostgresStore,
    account_id: Uuid,
    question_id: i64,
    answer_hash: &str,
    at: Timestamp,
) -> StoreResult<StoredAnswer> {
    let mut c = s.conn().await?;
    let tx = c.transaction().await.map_err(pg)?;
    let tenant_id: Uuid = match query_opt(
        &tx,
        "SELECT tenant_id FROM accounts WHERE id = $1",
        &[&account_id],
    )
    .await?
    {
        Some(row) => get(&row, "tenant_id")?,
        None => return Err(StoreError::MissingReference("account")),
    };
    let question = tenant_question(&tx, tenant_id, question_id).await?;
    let row = query_one(
        &tx,
        "INSERT INTO security_answers (account_id, tenant_id, question_id, answer_hash, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT ON CONSTRAINT security_answers_question_key DO UPDATE \
         SET answer_hash = EXCLUDED.answer_hash, updated_at = EXCLUDED.updated_at \
         RETURNING id, account_id, answer_hash, created_at, updated_at",
        &[&account_id, &tenant_id, &question_id, &answer_hash, &at],
    )
    .await?;
    let answer = stored_answer(&row, question)?;
    tx.commit().await.map_err(pg)?;
    Ok(answer)
}

pub(super) async fn update_answer(
    s: &PostgresStore,
    account_id: Uuid,
    answer_id: i64,
    question_id: i64,
    answer_hash: &str,
    at: Timestamp,
) -> StoreResult<Option<StoredAnswer>> {
    let mut c = s.conn().await?;
    let tx = c.transaction().await.map_err(pg)?;
    let tenant_id: Uuid = match query_opt(
        &tx,
        "SELECT tenant_id FROM security_answers WHERE id = $1 AND account_id = $2 \
         FOR UPDATE",
        &[&answer_id, &account_id],
    )
    .await?
    {
        Some(row) => get(&row, "tenant_id")?,
        None => return Ok(None),
    };
    let question = tenant_question(&tx, tenant_id, question_id).await?;
    let row = query_one(
        &tx,
        "UPDATE security_answers SET question_id = $2, answer_hash = $3, updated_at = $4 \
         WHERE id = $1 RETURNING id, account_id, answer_hash, created_at, updated_at",
        &[&answer_id, &question_id, &answer_hash, &at],
    )
    .await?;
    let answer = stored_answer(&row, question)?;
    tx.commit().await.map_err(pg)?;
    Ok(Some(answer))
}

pub(super) async fn list_answers(
    s: &PostgresStore,
    account_id: Uuid,
) -> StoreResult<Vec<StoredAnswer>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        answer_cols!(),
        " FROM security_answers a JOIN security_questions q ON q.id = a.question_id \
         WHERE a.account_id = $1 ORDER BY a.id"
    );
    query(&c, sql, &[&account_id])
        .await?
        .iter()
        .map(rows::answer)
        .collect()
}
