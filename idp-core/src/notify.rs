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
