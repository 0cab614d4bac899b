//! Request and response bodies of the Switch document, and how each maps onto the core's types.
//! Unknown fields are ignored.

use chrono::NaiveDate;
use idp_core::Error;
use idp_core::model::{Account, AccountStatus, FactorKind, Profile};
use idp_core::ops::onboarding::{FactorSummary, KycSignUp, PublicNames};
use idp_core::ops::tokens::PendingSignIn;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::error::ApiError;

crate::vendor_json!(SwitchJson, ApiError);

/// The envelope: `{"message": ..., "data": ...}`, `data` left out when there is none.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Envelope<T: Serialize> {
    pub message: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
}

impl Envelope<Value> {
    pub fn message(message: &'static str) -> Self {
        Self {
            message,
            data: None,
        }
    }
}

impl<T: Serialize> Envelope<T> {
    pub fn data(message: &'static str, data: T) -> Self {
        Self {
            message,
            data: Some(data),
        }
    }
}

/// A value sent as a string or as a number (phones, ids, codes).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Str(String),
        Int(i64),
        Float(f64),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::Str(s)) => Some(s),
        Some(Raw::Int(n)) => Some(n.to_string()),
        Some(Raw::Float(f)) => Some(format!("{f}")),
        None => None,
    })
    .map(|v| v.filter(|s| !s.trim().is_empty()))
}

/// A present, non-empty string field, else `Invalid(field)`.
fn required(value: Option<String>, field: &'static str) -> Result<String, Error> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Error::invalid(field, "is required"))
}

fn date(value: Option<String>, field: &'static str) -> Result<Option<NaiveDate>, Error> {
    value
        .map(|d| {
            NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                .map_err(|_| Error::invalid(field, "must be a date as YYYY-MM-DD"))
        })
        .transpose()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    #[schema(value_type = String)]
    email: Option<String>,
    #[schema(value_type = String)]
    password: Option<String>,
    #[schema(value_type = String)]
    first_name: Option<String>,
    #[schema(value_type = String)]
    last_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    phone: Option<String>,
    gender: Option<String>,
    date_of_birth: Option<String>,
    country: Option<String>,
    #[serde(default, deserialize_with = "text")]
    bvn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    referrer: Option<String>,
    sales_agent_referral_code: Option<String>,
}

impl RegisterRequest {
    /// The document's default country is Nigeria.
    pub fn into_core(self) -> Result<KycSignUp, Error> {
        let mut profile = Profile {
            first_name: Some(required(self.first_name, "first_name")?),
            last_name: Some(required(self.last_name, "last_name")?),
            gender: self.gender.map(|g| g.trim().to_lowercase()),
            date_of_birth: date(self.date_of_birth, "date_of_birth")?,
            country: Some(self.country.unwrap_or_else(|| "nigeria".into())),
            bvn: self.bvn,
            ..Profile::default()
        };
        if let Some(code) = self
            .sales_agent_referral_code
            .filter(|c| !c.trim().is_empty())
        {
            profile
                .attributes
                .insert("sales_agent_referral_code".into(), Value::from(code.trim()));
        }
        Ok(KycSignUp {
            email: required(self.email, "email")?,
            password: required(self.password, "password")?,
            phone: self.phone.map(|p| {
                // A phone sent as a JSON number loses its `+`: digits only are international.
                if p.starts_with('+') || p.starts_with('0') {
                    p
                } else {
                    format!("+{p}")
                }
            }),
            profile,
            referrer: self.referrer,
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub email: Option<String>,
    pub password: Option<String>,
    /// The PIN or authenticator code, for accounts with two-factor authentication.
    #[serde(default, deserialize_with = "text")]
    pub two_factor_code: Option<String>,
    /// The token a first call answered with, sent back with `two_factor_code`.
    pub two_factor_token: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EmailRequest {
    #[schema(value_type = String)]
    email: Option<String>,
}

impl EmailRequest {
    pub fn email(self) -> Result<String, Error> {
        required(self.email, "email")
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResetPasswordRequest {
    #[schema(value_type = String)]
    reset_password_token: Option<String>,
    #[schema(value_type = String)]
    password: Option<String>,
    /// The document types it "object": a string is expected.
    #[schema(value_type = String)]
    password_confirmation: Option<Value>,
    #[serde(default, deserialize_with = "text")]
    security_question_id: Option<String>,
    security_question_answer: Option<String>,
}

/// A checked reset: token, new password, and the answer (question id, answer) when given.
pub type Reset = (String, String, Option<(i64, String)>);

impl ResetPasswordRequest {
    pub fn checked(self) -> Result<Reset, Error> {
        let token = required(self.reset_password_token, "reset_password_token")?;
        let password = required(self.password, "password")?;
        if self.password_confirmation.as_ref().and_then(Value::as_str) != Some(password.as_str()) {
            return Err(Error::invalid(
                "password_confirmation",
                "does not match password",
            ));
        }
        let answer = match (self.security_question_id, self.security_question_answer) {
            (Some(id), Some(answer)) => Some((
                id.trim()
                    .parse()
                    .map_err(|_| Error::invalid("security_question_id", "must be a number"))?,
                answer,
            )),
            (None, None) => None,
            (None, Some(_)) => {
                return Err(Error::invalid("security_question_id", "is required"));
            }
            (Some(_), None) => {
                return Err(Error::invalid("security_question_answer", "is required"));
            }
        };
        Ok((token, password, answer))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    unlock_token: Option<String>,
    token: Option<String>,
}

impl TokenRequest {
    /// `unlock_token` (unlock) or `token` (email confirmation).
    pub fn token(self, field: &'static str) -> Result<String, Error> {
        required(self.unlock_token.or(self.token), field)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BvnRequest {
    #[schema(value_type = String)]
    #[serde(default, deserialize_with = "text")]
    bvn: Option<String>,
    #[schema(value_type = String)]
    first_name: Option<String>,
    #[schema(value_type = String)]
    last_name: Option<String>,
    date_of_birth: Option<String>,
}

/// A checked BVN request: bvn, first name, last name, birth date.
pub type BvnClaim = (String, String, String, Option<NaiveDate>);

impl BvnRequest {
    pub fn checked(self) -> Result<BvnClaim, Error> {
        Ok((
            required(self.bvn, "bvn")?,
            required(self.first_name, "first_name")?,
            required(self.last_name, "last_name")?,
            date(self.date_of_birth, "date_of_birth")?,
        ))
    }
}

/// `data` of register and login.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Session {
    pub auth_token: String,
    pub user: User,
}

/// `data` of a login that needs its second factor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecondFactor {
    pub two_factor_authentication_type: &'static str,
    pub two_factor_token: String,
    pub sent_to: Option<String>,
}

impl From<PendingSignIn> for SecondFactor {
    fn from(p: PendingSignIn) -> Self {
        Self {
            two_factor_authentication_type: factor_name(Some(p.factor)),
            two_factor_token: p.token,
            sent_to: p.sent_to,
        }
    }
}

/// The document's names of the second factors.
fn factor_name(f: Option<FactorKind>) -> &'static str {
    match f {
        None => "none",
        Some(FactorKind::Pin) => "pin",
        Some(FactorKind::Totp) => "google_auth",
        Some(FactorKind::EmailOtp) => "email",
        Some(FactorKind::SmsOtp) => "sms",
        Some(FactorKind::SecurityAnswer) => "security_question",
    }
}

/// `data.user` of register and login: the document's user object with real values where the
/// core keeps them, fixed values for what idp has no notion of (see docs/compat/switch.md).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct User {
    is_verified: bool,
    blacklisted: bool,
    two_factor_authentication_enabled: bool,
    two_factor_authentication_type: &'static str,
    phone_verified: bool,
    pin_set: bool,
    google_auth_set_up: bool,
    disabled: bool,
    has_pending_disable_request: bool,
    has_pending_enable_request: bool,
    fraud_status: &'static str,
    id: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    date_of_birth: Option<String>,
    phone: Option<String>,
    gender: Option<String>,
    country: Option<String>,
    photo_id_url: Option<String>,
    image_selfie_url: Option<String>,
    signature_url: Option<String>,
    address: Option<String>,
    switch_id: i64,
    payment_link_slug: Option<String>,
    city: Option<String>,
    state: Option<String>,
    zipcode: Option<String>,
    last_sign_in: Option<String>,
    photo_id_issuer: Option<String>,
    photo_id_number: Option<String>,
    photo_id_expiry: Option<String>,
    switch_bank_account_name: Option<String>,
    switch_bank_account_number: Option<String>,
    nigerian_contact_name: Option<String>,
    nigerian_contact_phone: Option<String>,
    nigerian_contact_address: Option<String>,
    nigerian_contact_relationship: Option<String>,
    switch_bank_customer_id: Option<String>,
    verified_at: Option<String>,
    verification_requested: bool,
    bvn: Option<String>,
    security_question_set: bool,
    is_diaspora: bool,
    has_wallet: bool,
}

/// The BVN as the document shows it: first two and last three digits.
fn mask_bvn(bvn: &str) -> String {
    if bvn.len() == 11 {
        format!("{}xxxxxx{}", &bvn[..2], &bvn[8..])
    } else {
        "x".repeat(bvn.len())
    }
}

impl User {
    pub fn new(a: &Account, f: &FactorSummary) -> Self {
        let p = &a.profile;
        let attr = |k: &str| {
            p.attributes
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Self {
            is_verified: a.email_verified,
            blacklisted: false,
            two_factor_authentication_enabled: f.second_factor.is_some(),
            two_factor_authentication_type: factor_name(f.second_factor),
            phone_verified: a.phone_verified,
            pin_set: f.pin_set,
            google_auth_set_up: f.totp_enrolled,
            disabled: matches!(a.status, AccountStatus::Disabled | AccountStatus::Closed),
            has_pending_disable_request: false,
            has_pending_enable_request: false,
            fraud_status: "whitelisted",
            id: a.id.to_string(),
            email: a.email.clone(),
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            date_of_birth: p.date_of_birth.map(|d| d.to_string()),
            phone: a.phone.clone(),
            gender: p.gender.clone(),
            country: p.country.clone(),
            photo_id_url: attr("photo_id_url"),
            image_selfie_url: attr("image_selfie_url"),
            signature_url: attr("signature_url"),
            address: p.address.clone(),
            switch_id: a.number,
            payment_link_slug: attr("payment_link_slug"),
            city: p.city.clone(),
            state: p.state.clone(),
            zipcode: p.zipcode.clone(),
            last_sign_in: a
                .last_login_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            photo_id_issuer: None,
            photo_id_number: None,
            photo_id_expiry: None,
            switch_bank_account_name: None,
            switch_bank_account_number: None,
            nigerian_contact_name: None,
            nigerian_contact_phone: None,
            nigerian_contact_address: None,
            nigerian_contact_relationship: None,
            switch_bank_customer_id: None,
            verified_at: None,
            verification_requested: false,
            bvn: p.bvn.as_deref().map(mask_bvn),
            security_question_set: !f.question_ids.is_empty(),
            is_diaspora: p.country.as_deref().is_some_and(|c| c != "NG"),
            has_wallet: false,
        }
    }
}

/// `data` of the referrer lookup: names and id only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Referrer {
    first_name: Option<String>,
    last_name: Option<String>,
    switch_id: String,
}

impl From<PublicNames> for Referrer {
    fn from(p: PublicNames) -> Self {
        Self {
            first_name: p.first_name,
            last_name: p.last_name,
            switch_id: p.number.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bvn_is_masked() {
        assert_eq!(super::mask_bvn("22123456032"), "22xxxxxx032");
    }
}
