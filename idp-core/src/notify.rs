//! Outgoing messages (one-time codes, links, temporary secrets) and the contract of whatever
//! delivers them. Implementations in `idp-plugins::notify`: SMTP, an SMS webhook, and the file
//! outbox used when neither is configured.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
}

/// One message, already rendered. `body` may hold a one-time code or a link with a token: a
/// notifier sends it and never logs it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub channel: Channel,
    /// An email address or an E.164 phone number.
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("channel", &self.channel)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The channel is not configured (e.g. SMS without a gateway).
    #[error("no {0:?} channel configured")]
    NoChannel(Channel),
    /// The gateway refused or could not be reached after retries.
    #[error("delivery failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    async fn send(&self, message: &Message) -> Result<(), NotifyError>;
}

/// What a message is for; each has its own wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// A one-time code; `secret` is the 6 digits.
    OneTimeCode,
    /// A link that verifies the email address; `secret` is the link.
    VerifyEmail,
    /// A link to set a new password.
    PasswordReset,
    /// A link that unlocks a locked account.
    Unlock,
    /// A temporary password or PIN set by an administrator or a reset by security question.
    TemporarySecret,
}

/// Renders a message in the tenant's name. Codes appear as 6 digits; links carry their token
/// as `token=<value>` (the outbox contract of DESIGN.md).
pub fn render(
    template: Template,
    tenant: &str,
    secret: &str,
    valid_minutes: i64,
) -> (String, String) {
    match template {
        Template::OneTimeCode => (
            format!("{tenant}: your verification code"),
            format!(
                "Your {tenant} verification code is {secret}. It expires in {valid_minutes} minutes. \
                 If you did not ask for it, ignore this message."
            ),
        ),
        Template::VerifyEmail => (
            format!("{tenant}: confirm your email address"),
            format!(
                "Confirm your email address for {tenant}: {secret}\nThe link expires in {valid_minutes} minutes."
            ),
        ),
        Template::PasswordReset => (
            format!("{tenant}: reset your password"),
            format!(
                "Someone asked to reset your {tenant} password. If it was you, use this link within \
                 {valid_minutes} minutes: {secret}\nIf not, ignore this message: your password is unchanged."
            ),
        ),
        Template::Unlock => (
            format!("{tenant}: your account is locked"),
            format!(
                "Your {tenant} account was locked after repeated failed sign-in attempts. To unlock it, \
                 use this link within {valid_minutes} minutes: {secret}\nIf these attempts were not \
                 yours, change your password after unlocking."
            ),
        ),
        Template::TemporarySecret => (
            format!("{tenant}: your temporary credential"),
            format!(
                "Your temporary {tenant} credential is {secret}. Change it when you next sign in."
            ),
        ),
    }
}
