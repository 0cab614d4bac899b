//! Audit trail: one record per security-relevant call, written by the core itself so no surface
//! can forget it, with secrets redacted.

use serde_json::Value;
use uuid::Uuid;

use super::Idp;
use crate::authz::{Context, entitlements};
use crate::error::{Error, Result};
use crate::model::{AuditAction, AuditCategory, AuditRecord, NewAudit, Page, now};

/// Keys whose values never reach an audit record (matched case-insensitively, as substrings).
const SECRET_KEYS: [&str; 10] = [
    "password",
    "pin",
    "secret",
    "token",
    "answer",
    "authorization",
    "cookie",
    "otp",
    "code",
    "hash",
];

/// Replaces the value of every secret-looking key, at any depth, with `"[REDACTED]"`.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    if SECRET_KEYS.iter().any(|s| lower.contains(s)) {
                        (k, Value::String("[REDACTED]".into()))
                    } else {
                        (k, redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

/// What an operation says about itself; the outcome is added when it is recorded.
pub(crate) struct AuditEntry {
    pub tenant_id: Uuid,
    pub account_id: Option<Uuid>,
    pub category: AuditCategory,
    pub action: AuditAction,
    pub name: &'static str,
    pub summary: String,
    pub parameters: Value,
}

impl AuditEntry {
    pub fn new(
        tenant_id: Uuid,
        account_id: Option<Uuid>,
        category: AuditCategory,
        action: AuditAction,
        name: &'static str,
        summary: impl Into<String>,
    ) -> Self {
        Self {
            tenant_id,
            account_id,
            category,
            action,
            name,
            summary: summary.into(),
            parameters: Value::Null,
        }
    }

    pub fn params(mut self, parameters: Value) -> Self {
        self.parameters = parameters;
        self
    }
}

impl Idp {
    /// Appends the record. A failure to write is logged, not returned: the operation itself has
    /// already happened and its caller must learn its real outcome.
    pub(crate) async fn audit<T>(&self, ctx: &Context, entry: AuditEntry, outcome: &Result<T>) {
        let record = NewAudit {
            tenant_id: entry.tenant_id,
            account_id: entry.account_id,
            actor_id: ctx.principal.account_id(),
            category: entry.category,
            action: entry.action,
            name: entry.name.to_owned(),
            success: outcome.is_ok(),
            summary: entry.summary,
            parameters: redact(entry.parameters),
            error_message: outcome.as_ref().err().map(ToString::to_string),
            client_ip: ctx.client_ip.clone(),
            request_id: ctx.request_id.clone(),
            created_at: now(),
        };
        if let Err(e) = self.store.append_audit(&record).await {
            tracing::error!(error = %e, name = entry.name, "audit record not written");
        }
    }

    /// Audit records about one account, newest first: the account itself or an auditor.
    pub async fn list_audit(
        &self,
        ctx: &Context,
        account_id: Uuid,
        page: Page,
    ) -> Result<Vec<AuditRecord>> {
        let account = self
            .account_for(ctx, account_id, entitlements::VIEW_AUDIT)
            .await?;
        Ok(self
            .store
            .list_audit(account.tenant_id, account_id, page)
            .await?)
    }

    pub async fn audit_record(
        &self,
        ctx: &Context,
        account_id: Uuid,
        audit_id: i64,
    ) -> Result<AuditRecord> {
        let account = self
            .account_for(ctx, account_id, entitlements::VIEW_AUDIT)
            .await?;
        self.store
            .audit_by_id(account.tenant_id, account_id, audit_id)
            .await?
            .ok_or(Error::NotFound("audit record"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_at_any_depth() {
        let v = redact(json!({
            "username": "bob",
            "newPassword": "x",
            "headers": {"Authorization": "Bearer abc", "accept": "*/*"},
            "list": [{"pin": "1234"}],
            "refresh_token": "r"
        }));
        assert_eq!(v["username"], "bob");
        assert_eq!(v["newPassword"], "[REDACTED]");
        assert_eq!(v["headers"]["Authorization"], "[REDACTED]");
        assert_eq!(v["headers"]["accept"], "*/*");
        assert_eq!(v["list"][0]["pin"], "[REDACTED]");
        assert_eq!(v["refresh_token"], "[REDACTED]");
    }
}
