//! Request and response bodies of the BioEntrust document, and how each maps onto the core's
//! types. Unknown fields are ignored (forgot-password's `password` among them).

use axum::http::HeaderMap;
use idp_core::Error;
use idp_core::model::{FactorKind, Profile};
use idp_core::ops::SignUp;
use idp_core::ops::SignedUp;
use idp_core::ops::tokens::{DirectSignIn, PendingSignIn, TokenSet};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::error::ApiError;

crate::vendor_json!(BioJson, ApiError);

/// The token of `Authorization: Bearer <token>`; `Unauthenticated` when there is none.
pub fn bearer(headers: &HeaderMap) -> Result<&str, Error> {
    idp_http::bearer(headers).ok_or(Error::Unauthenticated)
}

/// The document's own rule, on top of the tenant's policy: "more than 7 characters".
fn vendor_password_rule(password: &str) -> Result<(), Error> {
    if password.chars().count() > 7 {
        Ok(())
    } else {
        Err(Error::invalid(
            "password",
            "should be more than 7 characters",
        ))
    }
}

/// A code sent as `"123456"` or as a number.
fn code<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Code {
        Text(String),
        Number(u32),
    }
    Ok(match Code::deserialize(d)? {
        Code::Text(s) => s,
        Code::Number(n) => format!("{n:06}"),
    })
}

// --- requests ---

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignupRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// Not in the document's sample: with it, a code is also texted (see the docs).
    #[serde(default)]
    pub phone: Option<String>,
}

impl SignupRequest {
    pub fn into_core(self) -> Result<SignUp, Error> {
        vendor_password_rule(&self.password)?;
        Ok(SignUp {
            email: self.email,
            phone: self.phone.filter(|p| !p.trim().is_empty()),
            password: self.password,
            profile: Profile {
                first_name: self.first_name.filter(|n| !n.trim().is_empty()),
                last_name: self.last_name.filter(|n| !n.trim().is_empty()),
                ..Profile::default()
            },
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VerifyEmailRequest {
    #[serde(deserialize_with = "code")]
    pub otp: String,
    pub otp_request_id: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VerifySmsRequest {
    /// In the document (as `09876`, which is not valid JSON); accepted and not used.
    #[serde(default)]
    #[allow(dead_code)]
    pub app_id: Option<Value>,
    #[serde(deserialize_with = "code")]
    pub otp: String,
    pub otp_request_id: String,
}

impl VerifySmsRequest {
    /// The code's challenge id; anything else cannot be a request id the server handed out.
    pub fn challenge_id(&self) -> Result<Uuid, Error> {
        self.otp_request_id
            .trim()
            .parse()
            .map_err(|_| Error::ChallengeClosed)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SigninRequest {
    /// The email address (a username works too).
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ForgotPasswordRequest {
    pub email: String,
    // The document's `password` field is ignored: no password changes without proof.
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResetPasswordRequest {
    #[serde(default)]
    pub email: Option<String>,
    pub password: String,
}

impl ResetPasswordRequest {
    pub fn checked(&self) -> Result<(Option<&str>, &str), Error> {
        vendor_password_rule(&self.password)?;
        let email = self.email.as_deref().filter(|e| !e.trim().is_empty());
        Ok((email, &self.password))
    }
}

// --- responses ---

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewData {
    pub new_data: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub message: &'static str,
}

impl Message {
    pub const fn new(message: &'static str) -> Self {
        Self { message }
    }
}

/// A code is on its way (or a second factor is needed): send it to verify-email with this id.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OtpSent {
    pub otp_request_id: String,
    /// Sign-up with a phone: the id of the texted code, for verify-sms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_otp_request_id: Option<String>,
    /// Sign-in with a second factor: which one (`email_otp`, `sms_otp`, `totp`, `pin`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub factor: Option<FactorKind>,
    /// Sign-in whose second factor is a security answer: the question to answer (in `otp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    pub response: &'static str,
}

impl From<SignedUp> for OtpSent {
    fn from(s: SignedUp) -> Self {
        Self {
            otp_request_id: s.email_code.id.to_string(),
            sms_otp_request_id: s.sms_code.map(|c| c.id.to_string()),
            factor: None,
            question: None,
            response: "otp sent",
        }
    }
}

impl From<PendingSignIn> for OtpSent {
    fn from(p: PendingSignIn) -> Self {
        let response = match p.factor {
            FactorKind::EmailOtp | FactorKind::SmsOtp => "otp sent",
            // An authenticator code, a PIN or a security answer (`factor` says which): nothing was sent.
            _ => "second factor required",
        };
        Self {
            otp_request_id: p.token,
            sms_otp_request_id: None,
            factor: Some(p.factor),
            question: p.question,
            response,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
}

impl From<TokenSet> for TokenPair {
    fn from(t: TokenSet) -> Self {
        Self {
            access: t.access_token,
            refresh: t.refresh_token,
        }
    }
}

/// verify-email and signin.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoggedIn {
    pub message: &'static str,
    pub token: TokenPair,
}

impl From<TokenSet> for LoggedIn {
    fn from(t: TokenSet) -> Self {
        Self {
            message: "Logged In",
            token: t.into(),
        }
    }
}

/// refresh: the new access token, and the refresh token that replaces the one presented.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Refreshed {
    pub token: TokenPair,
}

impl From<TokenSet> for Refreshed {
    fn from(t: TokenSet) -> Self {
        Self { token: t.into() }
    }
}

/// signin: tokens, or the request id of the second factor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SigninAnswer {
    LoggedIn(LoggedIn),
    SecondFactor(OtpSent),
}

impl From<DirectSignIn> for SigninAnswer {
    fn from(d: DirectSignIn) -> Self {
        match d {
            DirectSignIn::Tokens(t) => Self::LoggedIn(t.into()),
            DirectSignIn::Pending(p) => Self::SecondFactor(p.into()),
        }
    }
}
