//! What multi-factor authentication keeps: one-time challenges (codes and link tokens) and the
//! second factors an account has enrolled.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Timestamp;

/// What a challenge proves when it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeKind {
    /// A 6-digit code sent by email.
    EmailOtp,
    /// A 6-digit code sent by SMS.
    SmsOtp,
    /// A link token that verifies an email address.
    EmailVerification,
    /// A link token that allows setting a new password.
    PasswordReset,
    /// A link token that unlocks a locked account.
    Unlock,
}

impl ChallengeKind {
    pub const ALL: [ChallengeKind; 5] = [
        Self::EmailOtp,
        Self::SmsOtp,
        Self::EmailVerification,
        Self::PasswordReset,
        Self::Unlock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmailOtp => "email_otp",
            Self::SmsOtp => "sms_otp",
            Self::EmailVerification => "email_verification",
            Self::PasswordReset => "password_reset",
            Self::Unlock => "unlock",
        }
    }
}

impl fmt::Display for ChallengeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChallengeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown challenge kind `{s}`"))
    }
}

/// A one-time challenge. Its secret (a code or a link token) exists only in the message sent;
/// the store keeps its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The public id vendor flows return (`otp_request_id`, Fintract's `data.id`).
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub account_id: Uuid,
    pub kind: ChallengeKind,
    /// Where the secret was sent (email address or phone number).
    pub destination: String,
    /// argon2id PHC string of a code, or hex SHA-256 of a high-entropy link token.
    pub secret_hash: String,
    /// What answering it leads to (e.g. the pending sign-in), opaque to the store.
    pub payload: serde_json::Value,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub consumed_at: Option<Timestamp>,
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("account_id", &self.account_id)
            .field("expires_at", &self.expires_at)
            .field("consumed_at", &self.consumed_at)
            .finish_non_exhaustive()
    }
}

/// A second factor an account can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    /// RFC 6238 authenticator app.
    Totp,
    EmailOtp,
    SmsOtp,
    Pin,
    /// One of the account's security questions.
    SecurityAnswer,
}

impl FactorKind {
    pub const ALL: [FactorKind; 5] = [
        Self::Totp,
        Self::EmailOtp,
        Self::SmsOtp,
        Self::Pin,
        Self::SecurityAnswer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::EmailOtp => "email_otp",
            Self::SmsOtp => "sms_otp",
            Self::Pin => "pin",
            Self::SecurityAnswer => "security_answer",
        }
    }
}

impl fmt::Display for FactorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FactorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown factor `{s}`"))
    }
}

/// An enrolled (or enrolling) second factor.
#[derive(Clone, PartialEq, Eq)]
pub struct Factor {
    pub account_id: Uuid,
    pub kind: FactorKind,
    /// The TOTP shared secret (base32); None for factors without one.
    pub secret: Option<String>,
    /// False until the first successful check (a TOTP enrolment is confirmed by a code).
    pub confirmed: bool,
    pub created_at: Timestamp,
}

impl Factor {
    /// The kinds of the confirmed ones among `factors`, in their order.
    pub fn confirmed_kinds(factors: &[Factor]) -> Vec<FactorKind> {
        factors
            .iter()
            .filter(|f| f.confirmed)
            .map(|f| f.kind)
            .collect()
    }
}

impl fmt::Debug for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Factor")
            .field("account_id", &self.account_id)
            .field("kind", &self.kind)
            .field("confirmed", &self.confirmed)
            .finish_non_exhaustive()
    }
}
