//! Self-service sign-up with contact verification: an account registered by its own user with
//! an email address (its login), a password and optionally a phone number, and a one-time code
//! sent to each address so that the user can prove it ([`Idp::verify_contact`]).

use uuid::Uuid;

use super::{Idp, Registration};
use crate::authz::Context;
use crate::error::{Error, Result};
use crate::model::{Account, AccountKey, Challenge, Profile};
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
    /// `Conflict(Email)`, a taken phone `Conflict(Phone)` — except for a retry (see
    /// [`Idp::sign_up_retry`]), which sends new codes instead.
    pub async fn sign_up(&self, ctx: &Context, tenant_id: Uuid, new: SignUp) -> Result<SignedUp> {
        let email = validate::email(&new.email)?;
        let username = validate::username(&email)
            .unwrap_or_else(|_| format!("user-{}", Uuid::new_v4().simple()));
        let registration = Registration {
            username,
            email: Some(email.clone()),
            phone: new.phone.clone(),
            password: Some(new.password.clone()),
            profile: new.profile,
            ..Registration::default()
        };
        let account = match self.register(ctx, tenant_id, registration).await {
            Err(Error::Conflict(field)) => {
                match self
                    .sign_up_retry(tenant_id, &email, new.phone.as_deref(), &new.password)
                    .await?
                {
                    Some(account) => account,
                    // The username is the address: someone else's username is this address.
                    None if field == UniqueField::Username => {
                        return Err(Error::Conflict(UniqueField::Email));
                    }
                    None => return Err(Error::Conflict(field)),
                }
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

    /// The account a sign-up already made, when this sign-up repeats it: same email, same phone,
    /// same password, and the address still unverified. The first answer may never have reached
    /// the user (the account was written, then sending the code failed, or the connection
    /// dropped), and without this the retry would only hear "address taken" and no code would
    /// ever arrive. A mismatch is just the conflict: no failure is counted against the account,
    /// so nobody can lock a stranger out through the sign-up form.
    async fn sign_up_retry(
        &self,
        tenant_id: Uuid,
        email: &str,
        phone: Option<&str>,
        password: &str,
    ) -> Result<Option<Account>> {
        let Some(account) = self
            .find_account(tenant_id, AccountKey::Email(email.to_owned()))
            .await?
        else {
            return Ok(None);
        };
        let same_phone = match (phone, account.phone.as_deref()) {
            (None, None) => true,
            (Some(given), Some(stored)) => validate::phone(given).is_ok_and(|p| p == stored),
            _ => false,
        };
        if account.email_verified || !same_phone {
            return Ok(None);
        }
        self.throttle(super::Throttle::Account(account.id)).await?;
        let secrets = self
            .store
            .account_secrets(account.id)
            .await?
            .unwrap_or_default();
        let Some(hash) = secrets.password_hash else {
            return Ok(None);
        };
        let same_password = self.hasher.verify(password.as_bytes(), &hash).await?;
        Ok(same_password.then_some(account))
    }
}
