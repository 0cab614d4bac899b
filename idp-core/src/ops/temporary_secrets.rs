//! Temporary passwords and PINs: after a correct security answer, a random password or PIN
//! replaces the old one, the account must change it (`need_change_password`), and it is sent to
//! the account's email address (else its phone). Wrong answers count toward lockout.

use rand::Rng;
use serde_json::json;
use uuid::Uuid;

use super::audit::AuditEntry;
use super::{Idp, Throttle};
use crate::authz::{Context, entitlements};
use crate::error::{Error, Result};
use crate::model::*;
use crate::notify::{Channel, Message, Template, render};

/// Which secret a reset replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporarySecret {
    Password,
    Pin,
}

/// 16 characters with upper, lower, digit and special: passes any sensible policy.
fn temporary_password() -> String {
    const ALNUM: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let body: String = (0..12)
        .map(|_| char::from(ALNUM[rng.random_range(0..ALNUM.len())]))
        .collect();
    format!("Tq{body}7#")
}

fn temporary_pin() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

impl Idp {
    /// Self-service reset: the account of `login` in `tenant_id` answers one of its security
    /// questions; a temporary secret is then set and sent. Unknown logins and wrong answers are
    /// both `InvalidCredentials` (and cost the same hashing time).
    pub async fn reset_with_answer(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        login: &str,
        kind: TemporarySecret,
        question_id: i64,
        answer: &str,
    ) -> Result<()> {
        let Some(account) = self
            .find_account(tenant_id, AccountKey::Login(login.to_owned()))
            .await?
        else {
            // Limited like an account, so that a 429 does not tell known logins from unknown.
            self.throttle(Throttle::Login(login)).await?;
            self.hasher.verify_dummy(answer.as_bytes()).await?;
            let entry = AuditEntry::new(
                tenant_id,
                None,
                AuditCategory::Api,
                AuditAction::Webservice,
                "auth.answer.failed",
                "reset asked for an unknown login",
            );
            let res: Result<()> = Err(Error::InvalidCredentials);
            self.audit(ctx, entry, &res).await;
            return res;
        };
        self.throttle(Throttle::Account(account.id)).await?;
        self.verify_answers(ctx, account.id, &[(question_id, answer.to_owned())])
            .await?;
        self.issue_temporary(ctx, &account, kind).await
    }

    /// Admin reset: a holder of ADMIN_RESET_USER_PASSWORD (or _PIN) of the account's tenant
    /// relays the user's security answer; a temporary secret is then set and sent to the user.
    pub async fn admin_reset_with_answer(
        &self,
        ctx: &Context,
        account_id: Uuid,
        kind: TemporarySecret,
        question_id: i64,
        answer: &str,
    ) -> Result<()> {
        let entitlement = match kind {
            TemporarySecret::Password => entitlements::RESET_USER_PASSWORD,
            TemporarySecret::Pin => entitlements::RESET_USER_PIN,
        };
        let account = self.account_admin(ctx, account_id, entitlement).await?;
        self.verify_answers(ctx, account.id, &[(question_id, answer.to_owned())])
            .await?;
        self.issue_temporary(ctx, &account, kind).await
    }

    async fn issue_temporary(
        &self,
        ctx: &Context,
        account: &Account,
        kind: TemporarySecret,
    ) -> Result<()> {
        let (channel, to) = match (&account.email, &account.phone) {
            (Some(email), _) => (Channel::Email, email.clone()),
            (None, Some(phone)) => (Channel::Sms, phone.clone()),
            (None, None) => {
                return Err(Error::invalid(
                    "contact",
                    "the account has no email address or phone number to send it to",
                ));
            }
        };
        let secret = match kind {
            TemporarySecret::Password => temporary_password(),
            TemporarySecret::Pin => temporary_pin(),
        };
        let hash = self.hasher.hash(secret.as_bytes()).await?;
        let at = now();
        let res: Result<()> = async {
            let written = match kind {
                TemporarySecret::Password => {
                    let ok = self
                        .store
                        .set_password_hash(account.id, &hash, true, at)
                        .await?;
                    if ok {
                        // A new password ends every grant made with the old one.
                        self.store.revoke_account_families(account.id, at).await?;
                    }
                    ok
                }
                TemporarySecret::Pin => {
                    let ok = self.store.set_pin_hash(account.id, Some(&hash), at).await?;
                    let mut updated = self.account(account.id).await?;
                    updated.need_change_password = true;
                    updated.updated_at = at;
                    ok && self.store.update_account(&updated).await?
                }
            };
            if written {
                Ok(())
            } else {
                Err(Error::NotFound("account"))
            }
        }
        .await;
        let (name, what) = match kind {
            TemporarySecret::Password => ("password.reset.temporary", "password"),
            TemporarySecret::Pin => ("pin.reset.temporary", "PIN"),
        };
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Api,
            AuditAction::Update,
            name,
            format!("temporary {what} set and sent"),
        )
        .params(json!({ "channel": channel }));
        self.audit(ctx, entry, &res).await;
        res?;
        let tenant = match self.tenant_by_id(account.tenant_id).await {
            Ok(t) => t.description.filter(|d| !d.is_empty()).unwrap_or(t.name),
            Err(_) => "idp".into(),
        };
        let (subject, body) = render(Template::TemporarySecret, &tenant, &secret, 0);
        let message = Message {
            channel,
            to,
            subject,
            body,
        };
        Ok(self.services.notifier.send(&message).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_secrets_meet_the_default_rules() {
        for _ in 0..100 {
            crate::validate::password(&PasswordPolicy::default(), &temporary_password())
                .expect("temporary password passes the default policy");
            crate::validate::pin(&temporary_pin()).expect("temporary PIN is a valid PIN");
        }
    }
}
