//! The domain objects every surface speaks about. Plain data: rules live in [`crate::ops`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub type Timestamp = DateTime<Utc>;

/// The current time at microsecond precision: what both stores keep exactly, so a value read
/// back equals the value written.
pub fn now() -> Timestamp {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// The tenant every surface that has no tenant of its own lives in.
pub const DEFAULT_TENANT: &str = "default";

/// A tenant (Fintiv calls it a "client"): owns accounts, roles and app clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Role given to every account registered in this tenant, by name.
    pub default_role: Option<String>,
    pub settings: TenantSettings,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Per-tenant security settings, stored as one JSON document so new knobs need no migration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantSettings {
    pub password_policy: PasswordPolicy,
    pub lockout_policy: LockoutPolicy,
    pub mfa_policy: MfaPolicy,
}

/// Which second factor a tenant requires at sign-in, for accounts that enrolled none of their
/// own. An enrolled authenticator app always takes precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaPolicy {
    /// No second factor unless the account enrolled one.
    #[default]
    None,
    EmailOtp,
    SmsOtp,
    /// An authenticator app; accounts that have none get an email code until they enrol.
    Totp,
    /// The account's PIN; accounts without one get an email code.
    Pin,
}

/// What a password must look like in a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordPolicy {
    pub min_length: usize,
    /// Upper bound in characters: protects the hashing pool from megabyte "passwords".
    pub max_length: usize,
    pub require_upper: bool,
    pub require_lower: bool,
    pub require_digit: bool,
    pub require_special: bool,
    /// A password may not be reused as the new password.
    pub forbid_same_as_current: bool,
    /// Days after which `credentials_non_expired` turns false.
    pub max_age_days: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            require_upper: true,
            require_lower: true,
            require_digit: true,
            require_special: true,
            forbid_same_as_current: true,
            max_age_days: 90,
        }
    }
}

/// When repeated failures lock an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockoutPolicy {
    /// Failed proofs (password, PIN, answer, code) within `window_secs` that lock the account;
    /// 0 disables locking.
    pub max_failures: u32,
    pub window_secs: u64,
    /// Unlock by itself after this long; None: only an unlock link or an admin unlocks.
    pub unlock_after_secs: Option<u64>,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window_secs: 900,
            unlock_after_secs: None,
        }
    }
}

/// Lifecycle state of an account. Only `Active` may authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountStatus {
    Active,
    /// Registered by an administrator, not yet activated.
    Inactive,
    /// Locked by failed attempts or by an administrator.
    Locked,
    /// Deactivated (by the user or an administrator).
    Disabled,
    /// Closed for good.
    Closed,
    /// Waiting for an administrator's approval.
    PendingApproval,
}

impl AccountStatus {
    pub const ALL: [AccountStatus; 6] = [
        Self::Active,
        Self::Inactive,
        Self::Locked,
        Self::Disabled,
        Self::Closed,
        Self::PendingApproval,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Inactive => "INACTIVE",
            Self::Locked => "LOCKED",
            Self::Disabled => "DISABLED",
            Self::Closed => "CLOSED",
            Self::PendingApproval => "PENDING_APPROVAL",
        }
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountStatus {
    type Err = String;
    /// Case-insensitive, so that `"locked"` and `"LOCKED"` both parse.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown account status `{s}`"))
    }
}

/// Personal data of an account. Everything optional: each surface asks for a different subset.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// Display name (Fintract `name`).
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub gender: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    /// ISO 3166-1 alpha-2 where known.
    pub country: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zipcode: Option<String>,
    pub national_id: Option<String>,
    /// Bank Verification Number (Nigeria), 11 digits.
    pub bvn: Option<String>,
    pub avatar_url: Option<String>,
    pub preferred_language: Option<String>,
    pub time_zone: Option<String>,
    /// Surface-specific attributes that have no rule attached (referral codes, customer ids, ...).
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// A person or service that signs in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Public sequential number (from 100000 up), for surfaces that expose numeric ids.
    pub number: i64,
    pub username: String,
    /// Lower-cased.
    pub email: Option<String>,
    /// `+` and digits only.
    pub phone: Option<String>,
    pub email_verified: bool,
    pub phone_verified: bool,
    /// Free-form classification (`CUSTOMER`, `DEVELOPER`, `SUBSCRIBER`, ...), upper case.
    pub user_type: Option<String>,
    pub status: AccountStatus,
    pub need_change_password: bool,
    /// Consecutive failed proofs since the last success.
    pub failed_attempts: u32,
    pub profile: Profile,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
    pub password_changed_at: Option<Timestamp>,
}

/// Hashes kept apart from [`Account`] so that they cannot be serialised by accident.
#[derive(Clone, Default)]
pub struct AccountSecrets {
    pub password_hash: Option<String>,
    pub pin_hash: Option<String>,
}

impl fmt::Debug for AccountSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountSecrets")
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("pin_hash", &self.pin_hash.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// How a store looks an account up inside a tenant. Values are already normalised by the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountKey {
    /// Case-insensitive username.
    Username(String),
    /// Lower-cased email.
    Email(String),
    Phone(String),
    /// Username or email, whichever matches (sign-in).
    Login(String),
}

/// Paging for list queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u32,
    pub limit: u32,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: 100,
        }
    }
}

/// A named permission ("authority").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
}

/// A role of a tenant, carrying entitlements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: i64,
    pub tenant_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub entitlements: Vec<Entitlement>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A role as assigned to one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub role: Role,
    pub assigned_at: Timestamp,
}

/// OAuth grant types an app client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    Password,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
        Self::Password,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
        }
    }
}

impl FromStr for GrantType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown grant `{s}` (expected authorization_code, refresh_token, client_credentials or password)"
                )
            })
    }
}

/// A relying-party application (OAuth client, vendor api-key, Switch client id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppClient {
    /// Globally unique client id.
    pub id: String,
    pub tenant_id: Uuid,
    pub name: Option<String>,
    /// Hex SHA-256 of the secret; `None` for a public client.
    #[serde(skip_serializing)]
    pub secret_digest: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grants: Vec<GrantType>,
    pub scopes: Vec<String>,
    /// Third-party clients must obtain the user's consent; first-party ones (false) need not.
    #[serde(default)]
    pub consent_required: bool,
    /// How this client wants its ID tokens signed; None: the server's default algorithm.
    #[serde(default)]
    pub id_token_alg: Option<SigningAlg>,
    pub created_at: Timestamp,
}

impl AppClient {
    pub fn is_public(&self) -> bool {
        self.secret_digest.is_none()
    }
}

/// A question of a tenant's security-question catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityQuestion {
    pub id: i64,
    pub tenant_id: Uuid,
    pub question: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An account's answer to a question, as stored (the answer itself only as a hash).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub id: i64,
    pub account_id: Uuid,
    pub question: SecurityQuestion,
    pub answer_hash: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl fmt::Debug for StoredAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredAnswer")
            .field("id", &self.id)
            .field("question", &self.question.id)
            .finish_non_exhaustive()
    }
}

/// What surfaces see of an answer: never the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityAnswer {
    pub id: i64,
    pub account_id: Uuid,
    pub question: SecurityQuestion,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<StoredAnswer> for SecurityAnswer {
    fn from(a: StoredAnswer) -> Self {
        Self {
            id: a.id,
            account_id: a.account_id,
            question: a.question,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Broad class of an audited call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditCategory {
    Api,
    Admin,
    Token,
    Other,
}

/// What an audited call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditAction {
    Create,
    Read,
    Update,
    Delete,
    Webservice,
}

macro_rules! str_enum {
    ($ty:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str { match self { $(Self::$v => $s),* } }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($s => Ok(Self::$v),)* other => Err(format!("unknown value `{other}`")) }
            }
        }
    };
}
str_enum!(AuditCategory { Api => "API", Admin => "ADMIN", Token => "TOKEN", Other => "OTHER" });
str_enum!(AuditAction { Create => "CREATE", Read => "READ", Update => "UPDATE", Delete => "DELETE", Webservice => "WEBSERVICE" });

/// An audit record to append. Built by the core only, with secrets already redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAudit {
    pub tenant_id: Uuid,
    /// The account the call was about.
    pub account_id: Option<Uuid>,
    /// Who made the call (`None`: the system or an anonymous caller).
    pub actor_id: Option<Uuid>,
    pub category: AuditCategory,
    pub action: AuditAction,
    /// Operation name, e.g. `account.register`.
    pub name: String,
    pub success: bool,
    pub summary: String,
    /// Redacted parameters of the call.
    pub parameters: serde_json::Value,
    pub error_message: Option<String>,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    pub created_at: Timestamp,
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: i64,
    #[serde(flatten)]
    pub record: NewAudit,
}

mod grants;
mod mfa;
pub use grants::*;
pub use mfa::*;
