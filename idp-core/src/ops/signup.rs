//! Self-service sign-up with contact verification: an account registered by its own user with
//! an email address (its login), a password and optionally a phone number, and a one-time code
//! sent to each address so that the user can prove it ([`Idp::verify_contact`]).

use uuid::Uuid;

use super::{Idp, Registration};
use crate::authz::Context;
use crate::error::{Error, Result};
use crate::model::{Account, Challenge, Profile};
use crate::notify::Channel;
use crate::store::UniqueField;
use crate::validate;

/// What a user gives to sign up.
#[derive(Debug, Clone, Default)]
pub struct SignUp {
    pub email: String,
    pub phone: Option<String>,
    pub password: String,
    pub profile: Profile,
}

/// A new account and the codes sent to prove its addresses.
#[derive(Debug, Clone)]
pub struct SignedUp {
    pub account: Account,
    /// The code sent to the email address.
    pub email_code: Challenge,
    /// The code sent to the phone, when one was given.
    pub sms_code: Option<Challenge>,
}

impl Idp {
    /// Registers an ACTIVE account in `tenant_id` whose username is its email address (or a
    /// generated one when the address has characters usernames may not), with both addresses
    /// unverified, and sends a verification code to each. A taken email is
    /// `Conflict(Email)`, a taken phone `Conflict(Phone)`.
    pub async fn sign_up(&self, ctx: &Context, tenant_id: Uuid, new: SignUp) -> Result<SignedUp> {
        let email = validate::email(&new.email)?;
        let username = validate::username(&email)
            .unwrap_or_else(|_| format!("user-{}", Uuid::new_v4().simple()));
        let registration = Registration {
            username,
            email: Some(email),
            phone: new.phone,
            password: Some(new.password),
            profile: new.profile,
            ..Registration::default()
        };
        let account = match self.register(ctx, tenant_id, registration).await {
            // The username is the address: someone else's username is this address.
            Err(Error::Conflict(UniqueField::Username)) => {
                return Err(Error::Conflict(UniqueField::Email));
            }
            other => other?,
        };
        let email_code = self
            .send_contact_code(ctx, &account, Channel::Email)
            .await?;
        let sms_code = match account.phone {
            Some(_) => Some(self.send_contact_code(ctx, &account, Channel::Sms).await?),
            None => None,
        };
        Ok(SignedUp {
            account,
            email_code,
            sms_code,
        })
    }
}
