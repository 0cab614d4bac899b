//! Request and response bodies of the Fintract document (schema sections win over samples),
//! and how each maps onto the core's types. Unknown request fields are ignored. Strings the
//! account does not have are answered as `""` (the document's samples do so); secrets (password
//! hashes, OTPs) are never answered: the avatar's `user.password` and `user.otp` are `null`.

use idp_core::Error;
use idp_core::model::{Account, AccountStatus, Profile};
use idp_core::notify::Channel;
use idp_core::ops::tokens::TokenSet;
use idp_core::ops::{AccountUpdate, Registration};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::error::ApiError;

crate::vendor_json!(FinJson, ApiError);

/// The document's user types. Accepted in any case, answered upper case.
pub const USER_TYPES: [&str; 5] = [
    "CUSTOMER",
    "BANK_ADMIN",
    "FINTRACT_ADMIN",
    "DEVELOPER",
    "DEVELOPER_ADMIN",
];

/// A user type of the document, upper case.
pub fn user_type(raw: &str) -> Result<&'static str, Error> {
    USER_TYPES
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(raw.trim()))
        .ok_or_else(|| {
            Error::invalid(
                "user_type",
                format!("must be one of {}", USER_TYPES.join(", ")),
            )
        })
}

/// Self-registered accounts of these types wait for a FINTRACT_ADMIN's approval; the others
/// (DEVELOPER) are active at once. A user type is only a label: it grants no entitlement.
fn initial_status(user_type: &str) -> AccountStatus {
    if user_type == "DEVELOPER" {
        AccountStatus::Active
    } else {
        AccountStatus::PendingApproval
    }
}

/// `MALE`, `FEMALE` or empty (none), in any case.
fn gender(raw: Option<&str>) -> Result<Option<String>, Error> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(g) if g.eq_ignore_ascii_case("male") => Ok(Some("MALE".into())),
        Some(g) if g.eq_ignore_ascii_case("female") => Ok(Some("FEMALE".into())),
        Some(_) => Err(Error::invalid("gender", "must be MALE or FEMALE")),
    }
}

/// The `customer_id` of an account: 16 digits, `7001` and its public number (as the
/// document's samples look). It encodes the number, so it needs no storage of its own.
pub fn customer_id(number: i64) -> String {
    format!("7001{number:012}")
}

/// The account number a `customer_id` names, if it is one.
pub fn number_of_customer_id(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let digits = raw.strip_prefix("7001")?;
    (raw.len() == 16 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// A string or a number, as text (codes and ids are sent either way).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Text(String),
        Number(u64),
    }
    Ok(match Text::deserialize(d)? {
        Text::Text(s) => s,
        Text::Number(n) => n.to_string(),
    })
}

/// None for absent, null or empty: the document's samples send `""` for "leave as it is".
fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn attr(profile: &Profile, key: &str) -> String {
    profile
        .attributes
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn or_empty(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

// --- requests ---

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    pub email: String,
    pub username: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub user_type: Option<String>,
    pub password: String,
    pub password2: String,
    pub phone: String,
    /// Accepted and ignored: the server assigns every account's customer id.
    #[serde(default)]
    #[allow(dead_code)]
    pub customer_id: Option<Value>,
    #[serde(default)]
    pub gender: Option<String>,
}

impl RegisterRequest {
    pub fn into_core(self) -> Result<Registration, Error> {
        if self.password != self.password2 {
            return Err(Error::invalid("password2", "passwords do not match"));
        }
        let user_type = match given(self.user_type) {
            Some(t) => user_type(&t)?,
            None => "CUSTOMER",
        };
        Ok(Registration {
            username: self.username,
            email: Some(self.email),
            phone: Some(self.phone),
            password: Some(self.password),
            user_type: Some(user_type.into()),
            status: Some(initial_status(user_type)),
            profile: Profile {
                name: given(self.name),
                gender: gender(self.gender.as_deref())?,
                ..Profile::default()
            },
            ..Registration::default()
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub email: String,
    #[serde(rename = "otpType")]
    pub otp_type: String,
    /// Checked to be one of the user types, otherwise not used: the email names the account.
    #[serde(rename = "userType", default)]
    pub user_type: Option<String>,
    pub password: String,
}

impl LoginRequest {
    /// `Email` or `Phone` (any case; `sms` also means the phone).
    pub fn channel(&self) -> Result<Channel, Error> {
        if let Some(t) = given(self.user_type.clone()) {
            user_type(&t)?;
        }
        let t = self.otp_type.trim();
        if t.eq_ignore_ascii_case("email") {
            Ok(Channel::Email)
        } else if t.eq_ignore_ascii_case("phone") || t.eq_ignore_ascii_case("sms") {
            Ok(Channel::Sms)
        } else {
            Err(Error::invalid("otpType", "must be Email or Phone"))
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VerifyOtpRequest {
    #[serde(deserialize_with = "text")]
    pub otp: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ApprovalRequest {
    #[serde(deserialize_with = "text")]
    pub customer_id: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReverifyRequest {
    pub email: String,
}

/// PATCH `/auth/update/usr/{id}/`: absent, null and `""` fields stay as they are.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct UpdateUsrRequest {
    pub email: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub country: Option<String>,
    pub citizenship: Option<String>,
    pub national_id: Option<String>,
    pub address: Option<String>,
}

impl UpdateUsrRequest {
    pub fn into_core(self, account: &Account) -> AccountUpdate {
        let mut profile = account.profile.clone();
        let mut touched = false;
        let mut set = |slot: &mut Option<String>, v: Option<String>| {
            if let Some(v) = given(v) {
                *slot = Some(v);
                touched = true;
            }
        };
        set(&mut profile.name, self.name);
        set(&mut profile.country, self.country);
        set(&mut profile.national_id, self.national_id);
        set(&mut profile.address, self.address);
        if let Some(c) = given(self.citizenship) {
            profile
                .attributes
                .insert("citizenship".into(), Value::String(c));
            touched = true;
        }
        AccountUpdate {
            username: given(self.username),
            email: given(self.email).map(Some),
            phone: given(self.phone).map(Some),
            profile: touched.then_some(profile),
            ..AccountUpdate::default()
        }
    }
}

/// PUT `/auth/user-update/`: both fields required.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UserUpdateRequest {
    pub username: String,
    pub name: String,
}

impl UserUpdateRequest {
    pub fn into_core(self, account: &Account) -> AccountUpdate {
        let mut profile = account.profile.clone();
        profile.name = given(Some(self.name));
        AccountUpdate {
            username: Some(self.username),
            profile: Some(profile),
            ..AccountUpdate::default()
        }
    }
}

// --- responses ---

/// `{"msg": ...}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Msg {
    pub msg: &'static str,
}

/// `{"message": ...}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub message: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registered {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub name: String,
    pub user_type: String,
    pub phone: String,
    pub customer_id: String,
    pub gender: String,
}

impl From<Account> for Registered {
    fn from(a: Account) -> Self {
        Self {
            id: a.number,
            customer_id: customer_id(a.number),
            name: or_empty(&a.profile.name),
            gender: or_empty(&a.profile.gender),
            email: or_empty(&a.email),
            phone: or_empty(&a.phone),
            user_type: or_empty(&a.user_type),
            username: a.username,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginData {
    pub id: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginStarted {
    pub data: LoginData,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub refresh: Option<String>,
    pub access: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoggedIn {
    pub message: &'static str,
    pub id: i64,
    pub customer_id: String,
    pub email: String,
    pub username: String,
    pub verification_status: bool,
    pub tokens: TokenPair,
    pub user_type: String,
}

impl LoggedIn {
    pub fn new(a: Account, t: TokenSet) -> Self {
        Self {
            message: "Successfully Logged In",
            id: a.number,
            customer_id: customer_id(a.number),
            email: or_empty(&a.email),
            verification_status: a.email_verified,
            user_type: or_empty(&a.user_type),
            username: a.username,
            tokens: TokenPair {
                refresh: t.refresh_token,
                access: t.access_token,
            },
        }
    }
}

/// Get User Info, by its schema (`net_balance`, `customer-id`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    pub id: i64,
    pub email: String,
    pub avatar: String,
    pub username: String,
    pub name: String,
    /// The identity provider keeps no balances: always 0.
    pub net_balance: i64,
    pub verification_status: bool,
    pub phone: String,
    #[serde(rename = "customer-id")]
    pub customer_id: String,
    pub country: String,
    pub citizenship: String,
    pub national_id: String,
    pub address: String,
    pub bank_name: String,
    pub gender: String,
}

impl From<Account> for UserInfo {
    fn from(a: Account) -> Self {
        let p = &a.profile;
        Self {
            id: a.number,
            email: or_empty(&a.email),
            avatar: or_empty(&p.avatar_url),
            name: or_empty(&p.name),
            net_balance: 0,
            verification_status: a.email_verified,
            phone: or_empty(&a.phone),
            customer_id: customer_id(a.number),
            country: or_empty(&p.country),
            citizenship: attr(p, "citizenship"),
            national_id: or_empty(&p.national_id),
            address: or_empty(&p.address),
            bank_name: attr(p, "bank_name"),
            gender: or_empty(&p.gender),
            username: a.username,
        }
    }
}

/// The avatar answer's `user`: the sample's shape, secrets null.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    /// Never the hash: always null.
    pub password: Option<String>,
    pub last_login: Option<String>,
    pub is_superuser: bool,
    pub user_type: String,
    pub gender: String,
    pub username: String,
    pub email: String,
    pub phone: String,
    pub avatar: String,
    pub customer_id: String,
    pub name: String,
    pub country: String,
    pub citizenship: String,
    pub national_id: String,
    pub address: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub is_deactivate: bool,
    pub is_verified: bool,
    pub admin_approved: bool,
    pub bank: String,
    /// Never a code: always null.
    pub otp: Option<String>,
    pub groups: Vec<String>,
    pub user_permissions: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AvatarSet {
    pub user: UserView,
}

impl From<Account> for AvatarSet {
    fn from(a: Account) -> Self {
        let p = &a.profile;
        let user = UserView {
            id: a.number,
            password: None,
            last_login: a.last_login_at.map(|t| t.to_rfc3339()),
            is_superuser: false,
            user_type: or_empty(&a.user_type),
            gender: or_empty(&p.gender),
            email: or_empty(&a.email),
            phone: or_empty(&a.phone),
            avatar: or_empty(&p.avatar_url),
            customer_id: customer_id(a.number),
            name: or_empty(&p.name),
            country: or_empty(&p.country),
            citizenship: attr(p, "citizenship"),
            national_id: or_empty(&p.national_id),
            address: or_empty(&p.address),
            is_staff: false,
            is_active: a.status == AccountStatus::Active,
            is_deactivate: matches!(a.status, AccountStatus::Disabled | AccountStatus::Closed),
            is_verified: a.email_verified,
            admin_approved: a.status != AccountStatus::PendingApproval,
            bank: attr(p, "bank_name"),
            otp: None,
            groups: Vec::new(),
            user_permissions: Vec::new(),
            username: a.username,
        };
        Self { user }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    pub url: String,
}
