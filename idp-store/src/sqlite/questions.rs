//! Security questions (per tenant) and accounts' answers to them.

use idp_core::model::{SecurityQuestion, StoredAnswer, Timestamp};
use idp_core::store::StoreError;
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::codec::{RowExt, micros, text};
use super::error::{DbResult, missing};

fn question_row(r: &Row<'_>) -> rusqlite::Result<SecurityQuestion> {
    Ok(SecurityQuestion {
        id: r.get("id")?,
        tenant_id: r.uuid("tenant_id")?,
        question: r.get("question")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

macro_rules! select_answers {
    ($rest:literal) => {
        concat!(
            "SELECT a.id, a.account_id, a.answer_hash, a.created_at, a.updated_at,
                    q.id AS q_id, q.tenant_id AS q_tenant_id, q.question AS q_question,
                    q.created_at AS q_created_at, q.updated_at AS q_updated_at
             FROM security_answers a JOIN security_questions q ON q.id = a.question_id ",
            $rest
        )
    };
}

fn answer_row(r: &Row<'_>) -> rusqlite::Result<StoredAnswer> {
    Ok(StoredAnswer {
        id: r.get("id")?,
        account_id: r.uuid("account_id")?,
        question: SecurityQuestion {
            id: r.get("q_id")?,
            tenant_id: r.uuid("q_tenant_id")?,
            question: r.get("q_question")?,
            created_at: r.ts("q_created_at")?,
            updated_at: r.ts("q_updated_at")?,
        },
        answer_hash: r.get("answer_hash")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(super) fn create(
    c: &Connection,
    tenant_id: Uuid,
    question: &str,
    at: Timestamp,
) -> DbResult<SecurityQuestion> {
    let id: i64 = c
        .prepare_cached(
            "INSERT INTO security_questions (tenant_id, question, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?3) RETURNING id",
        )?
        .query_row(params![text(tenant_id), question, micros(at)], |r| r.get(0))?;
    Ok(SecurityQuestion {
        id,
        tenant_id,
        question: question.to_owned(),
        created_at: at,
        updated_at: at,
    })
}

pub(super) fn list(c: &Connection, tenant_id: Uuid) -> DbResult<Vec<SecurityQuestion>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, tenant_id, question, created_at, updated_at FROM security_questions
         WHERE tenant_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([text(tenant_id)], question_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The account must exist and the question be of the account's tenant: a foreign key alone
/// would accept another tenant's question.
fn check_question(c: &Connection, account_id: Uuid, question_id: i64) -> DbResult<()> {
    let tenant: Option<String> = c
        .prepare_cached("SELECT tenant_id FROM accounts WHERE id = ?1")?
        .query_row([text(account_id)], |r| r.get(0))
        .optional()?;
    let tenant = tenant.ok_or_else(|| missing("account"))?;
    c.prepare_cached("SELECT 1 FROM security_questions WHERE id = ?1 AND tenant_id = ?2")?
        .query_row(params![question_id, tenant], |_| Ok(()))
        .optional()?
        .ok_or_else(|| missing("question"))
}

fn answer_by_id(c: &Connection, id: i64) -> DbResult<StoredAnswer> {
    let mut stmt = c.prepare_cached(select_answers!("WHERE a.id = ?1"))?;
    stmt.query_row([id], answer_row)
        .optional()?
        .ok_or_else(|| StoreError::Internal(format!("answer {id} vanished mid-transaction")).into())
}

/// Upsert on (account, question): the answer keeps its id and created_at.
pub(super) fn put_answer(
    c: &Connection,
    account_id: Uuid,
    question_id: i64,
    answer_hash: &str,
    at: Timestamp,
) -> DbResult<StoredAnswer> {
    check_question(c, account_id, question_id)?;
    let id: i64 = c
        .prepare_cached(
            "INSERT INTO security_answers (account_id, question_id, answer_hash, created_at,
                 updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (account_id, question_id) DO UPDATE SET
                 answer_hash = excluded.answer_hash, updated_at = excluded.updated_at
             RETURNING id",
        )?
        .query_row(
            params![text(account_id), question_id, answer_hash, micros(at)],
            |r| r.get(0),
        )?;
    answer_by_id(c, id)
}

pub(super) fn update_answer(
    c: &Connection,
    account_id: Uuid,
    answer_id: i64,
    question_id: i64,
    answer_hash: &str,
    at: Timestamp,
) -> DbResult<Option<StoredAnswer>> {
    let owned = c
        .prepare_cached("SELECT 1 FROM security_answers WHERE id = ?1 AND account_id = ?2")?
        .query_row(params![answer_id, text(account_id)], |_| Ok(()))
        .optional()?;
    if owned.is_none() {
        return Ok(None);
    }
    check_question(c, account_id, question_id)?;
    // Moving onto a question the account already answered breaks UNIQUE(account_id,
    // question_id), which maps to Conflict(Question).
    c.prepare_cached(
        "UPDATE security_answers SET question_id = ?2, answer_hash = ?3, updated_at = ?4
         WHERE id = ?1",
    )?
    .execute(params![answer_id, question_id, answer_hash, micros(at)])?;
    answer_by_id(c, answer_id).map(Some)
}

pub(super) fn list_answers(c: &Connection, account_id: Uuid) -> DbResult<Vec<StoredAnswer>> {
    let mut stmt = c.prepare_cached(select_answers!("WHERE a.account_id = ?1 ORDER BY a.id"))?;
    let rows = stmt.query_map([text(account_id)], answer_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
