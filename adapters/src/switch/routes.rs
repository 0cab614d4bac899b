//! The handlers: request struct → one core call → response struct.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use idp_core::model::{Account, AuthContext, now};
use idp_core::ops::tokens::DirectSignIn;
use idp_core::{Error, Principal};
use idp_http::Caller;
use serde_json::Value;

use super::error::{ApiError, Op, at};
use super::wire::*;
use super::{SwitchState, paths};

type Answer<T> = Result<Json<Envelope<T>>, ApiError>;

/// `data` of register and login: the token and the user object.
async fn session(s: &SwitchState, account: &Account, auth_token: String) -> Result<Session, Error> {
    let factors = s.idp().factor_summary(account).await?;
    Ok(Session {
        auth_token,
        user: User::new(account, &factors),
    })
}

pub async fn register(
    State(s): State<SwitchState>,
    caller: Caller,
    SwitchJson(req): SwitchJson<RegisterRequest>,
) -> Answer<Session> {
    let op = Op::Register;
    let new = req.into_core().map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    let ctx = caller.context(Principal::Anonymous);
    let account = s
        .idp()
        .register_with_kyc(&ctx, client.tenant_id, s.kyc.as_ref(), new)
        .await
        .map_err(at(op))?;
    // Registered with the password just chosen: signed in by it.
    let auth = AuthContext {
        auth_time: Some(now()),
        amr: vec!["pwd".into()],
        acr: None,
    };
    let tokens = s
        .tokens
        .issue_for(&client, &account, auth)
        .await
        .map_err(at(op))?;
    let data = session(&s, &account, tokens.access_token)
        .await
        .map_err(at(op))?;
    Ok(Json(Envelope::data("User created successfully", data)))
}

/// Signs in; see docs/compat/switch.md for the two-factor forms.
pub async fn login(
    State(s): State<SwitchState>,
    caller: Caller,
    SwitchJson(req): SwitchJson<LoginRequest>,
) -> Result<Json<Envelope<Value>>, ApiError> {
    let op = Op::Login;
    let client = s.client().await.map_err(at(op))?;
    let ctx = caller.context(Principal::Anonymous);
    let tokens = if let Some(pending) = req.two_factor_token.as_deref() {
        let code = req
            .two_factor_code
            .ok_or_else(|| Error::invalid("two_factor_code", "is required"))
            .map_err(at(op))?;
        s.tokens
            .finish_direct_sign_in(&ctx, &client, pending, &code)
            .await
            .map_err(at(op))?
    } else {
        let email = req
            .email
            .ok_or_else(|| Error::invalid("email", "is required"))
            .map_err(at(op))?;
        let password = req
            .password
            .ok_or_else(|| Error::invalid("password", "is required"))
            .map_err(at(op))?;
        match s
            .tokens
            .password_sign_in(&ctx, &client, &email, &password)
            .await
            .map_err(at(op))?
        {
            DirectSignIn::Tokens(t) => t,
            DirectSignIn::Pending(p) => match req.two_factor_code {
                Some(code) => s
                    .tokens
                    .finish_direct_sign_in(&ctx, &client, &p.token, &code)
                    .await
                    .map_err(at(op))?,
                None => {
                    let data = serde_json::to_value(SecondFactor::from(p))
                        .map_err(|e| ApiError::core(op, Error::Internal(e.to_string())))?;
                    return Ok(Json(Envelope::data(
                        "Two factor authentication required",
                        data,
                    )));
                }
            },
        }
    };
    let account = tokens
        .account
        .ok_or_else(|| Error::Internal("signed-in tokens without their account".into()))
        .map_err(at(op))?;
    let data = session(&s, &account, tokens.access_token)
        .await
        .map_err(at(op))?;
    let data = serde_json::to_value(data)
        .map_err(|e| ApiError::core(op, Error::Internal(e.to_string())))?;
    Ok(Json(Envelope::data("User login successful", data)))
}

pub async fn forgot_password(
    State(s): State<SwitchState>,
    caller: Caller,
    SwitchJson(req): SwitchJson<EmailRequest>,
) -> Answer<Value> {
    let op = Op::ForgotPassword;
    let email = req.email().map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    s.idp()
        .request_password_reset(
            &caller.context(Principal::Anonymous),
            client.tenant_id,
            &email,
            &s.link(paths::RESET_PASSWORD),
        )
        .await
        .map_err(at(op))?;
    Ok(Json(Envelope::message(
        "If this email exists, a password reset email will be sent to it",
    )))
}

pub async fn reset_password(
    State(s): State<SwitchState>,
    caller: Caller,
    SwitchJson(req): SwitchJson<ResetPasswordRequest>,
) -> Answer<Value> {
    let op = Op::ResetPassword;
    let (token, password, answer) = req.checked().map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    s.idp()
        .reset_password_with_answer(
            &caller.context(Principal::Anonymous),
            client.tenant_id,
            &token,
            &password,
            answer,
        )
        .await
        .map_err(at(op))?;
    Ok(Json(Envelope::message("Password changed successfully")))
}

pub async fn unlock_account(
    State(s): State<SwitchState>,
    caller: Caller,
    SwitchJson(req): SwitchJson<TokenRequest>,
) -> Answer<Value> {
    let op = Op::UnlockAccount;
    let token = req.token("unlock_token").map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    let account = s
        .idp()
        .unlock_with_token(&caller.context(Principal::Anonymous), &token)
        .await
        .map_err(at(op))?;
    if account.tenant_id != client.tenant_id {
        return Err(ApiError::core(op, Error::ChallengeClosed));
    }
    Ok(Json(Envelope::message("Account unlocked successfully")))
}

pub async fn resend_unlock_email(
    State(s): State<SwitchState>,
    caller: Caller,
    SwitchJson(req): SwitchJson<EmailRequest>,
) -> Answer<Value> {
    let op = Op::ResendUnlockEmail;
    let email = req.email().map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    s.idp()
        .request_unlock_link(
            &caller.context(Principal::Anonymous),
            client.tenant_id,
            &email,
            &s.link(paths::UNLOCK_ACCOUNT),
        )
        .await
        .map_err(at(op))?;
    Ok(Json(Envelope::message(
        "If this email exists and there's a lock, unlock instructions will be sent to it",
    )))
}

pub async fn logout(State(s): State<SwitchState>, headers: HeaderMap) -> Answer<Value> {
    let op = Op::Logout;
    let token = idp_http::bearer(&headers)
        .ok_or(Error::Unauthenticated)
        .map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    s.tokens
        .sign_out_access_token(token, client.tenant_id)
        .await
        .map_err(at(op))?;
    Ok(Json(Envelope::message("User session invalidated")))
}

pub async fn validate_user_bvn(
    State(s): State<SwitchState>,
    SwitchJson(req): SwitchJson<BvnRequest>,
) -> Answer<Value> {
    let op = Op::ValidateBvn;
    let (bvn, first_name, last_name, dob) = req.checked().map_err(at(op))?;
    s.idp()
        .confirm_bvn(s.kyc.as_ref(), &bvn, &first_name, &last_name, dob)
        .await
        .map_err(at(op))?;
    Ok(Json(Envelope::message("BVN validated successfully")))
}

pub async fn send_email_confirmation(
    State(s): State<SwitchState>,
    caller: Caller,
    SwitchJson(req): SwitchJson<EmailRequest>,
) -> Answer<Value> {
    let op = Op::SendEmailConfirmation;
    let email = req.email().map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    s.idp()
        .request_email_confirmation(
            &caller.context(Principal::Anonymous),
            client.tenant_id,
            &email,
            &s.link(paths::CONFIRM_EMAIL),
        )
        .await
        .map_err(at(op))?;
    Ok(Json(Envelope::message("Confirmation email sent")))
}

pub async fn confirm_email(
    State(s): State<SwitchState>,
    caller: Caller,
    SwitchJson(req): SwitchJson<TokenRequest>,
) -> Answer<Value> {
    let op = Op::ConfirmEmail;
    let token = req.token("token").map_err(at(op))?;
    s.idp()
        .verify_email_with_token(&caller.context(Principal::Anonymous), &token)
        .await
        .map_err(at(op))?;
    Ok(Json(Envelope::message("Email confirmed successfully")))
}

pub async fn referrer(
    State(s): State<SwitchState>,
    Path(switch_id): Path<String>,
) -> Answer<Referrer> {
    let op = Op::Referrer;
    let number: i64 = switch_id
        .trim()
        .parse()
        .map_err(|_| ApiError::core(op, Error::NotFound("referrer")))?;
    let client = s.client().await.map_err(at(op))?;
    let names = s
        .idp()
        .public_names(client.tenant_id, number)
        .await
        .map_err(|_| ApiError::core(op, Error::NotFound("referrer")))?;
    Ok(Json(Envelope::data(
        "Referrer retrieved successfully",
        names.into(),
    )))
}
