//! The audit trail: appended once per security-relevant call, listed per tenant and account.

use idp_core::model::*;
use idp_core::store::*;
use uuid::Uuid;

use super::rows::{self, audit_cols, get};
use super::{PostgresStore, query, query_one, query_opt};

/// Strings in PostgreSQL text and jsonb cannot hold U+0000; an audit record must not be lost
/// because a caller sent one, so they become U+FFFD there.
fn without_nul(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}").into()
    } else {
        s.into()
    }
}

fn json_without_nul(v: &serde_json::Value) -> std::borrow::Cow<'_, serde_json::Value> {
    fn clean(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) if s.contains('\0') => {
                *s = s.replace('\0', "\u{FFFD}");
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(clean),
            serde_json::Value::Object(o) => {
                let keys: Vec<String> = o.keys().filter(|k| k.contains('\0')).cloned().collect();
                for k in keys {
                    if let Some(val) = o.remove(&k) {
                        o.insert(k.replace('\0', "\u{FFFD}"), val);
                    }
                }
                o.values_mut().for_each(clean);
            }
            _ => {}
        }
    }
    fn has_nul(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(has_nul),
            serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    if has_nul(v) {
        let mut owned = v.clone();
        clean(&mut owned);
        std::borrow::Cow::Owned(owned)
    } else {
        std::borrow::Cow::Borrowed(v)
    }
}

pub(super) async fn append_audit(s: &PostgresStore, r: &NewAudit) -> StoreResult<i64> {
    let c = s.conn().await?;
    let row = query_one(
        &c,
        "INSERT INTO audit_records (tenant_id, account_id, actor_id, category, action, name, \
         success, summary, parameters, error_message, client_ip, request_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        &[
            &r.tenant_id,
            &r.account_id,
            &r.actor_id,
            &r.category.as_str(),
            &r.action.as_str(),
            &without_nul(&r.name).as_ref(),
            &r.success,
            &without_nul(&r.summary).as_ref(),
            &json_without_nul(&r.parameters).as_ref(),
            &r.error_message.as_deref().map(without_nul).as_deref(),
            &r.client_ip.as_deref().map(without_nul).as_deref(),
            &r.request_id.as_deref().map(without_nul).as_deref(),
            &r.created_at,
        ],
    )
    .await?;
    get(&row, "id")
}

pub(super) async fn list_audit(
    s: &PostgresStore,
    tenant_id: Uuid,
    account_id: Uuid,
    page: Page,
) -> StoreResult<Vec<AuditRecord>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        audit_cols!(),
        " FROM audit_records WHERE tenant_id = $1 AND account_id = $2 \
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    );
    let (limit, offset) = (i64::from(page.limit), i64::from(page.offset));
    query(&c, sql, &[&tenant_id, &account_id, &limit, &offset])
        .await?
        .iter()
        .map(rows::audit)
        .collect()
}

pub(super) async fn audit_by_id(
    s: &PostgresStore,
    tenant_id: Uuid,
    account_id: Uuid,
    audit_id: i64,
) -> StoreResult<Option<AuditRecord>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        audit_cols!(),
        " FROM audit_records WHERE id = $1 AND tenant_id = $2 AND account_id = $3"
    );
    query_opt(&c, sql, &[&audit_id, &tenant_id, &account_id])
        .await?
        .map(|r| rows::audit(&r))
        .transpose()
}
