//! The handlers: request struct → one core call → response struct.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use idp_core::Principal;
use idp_core::notify::Channel;
use idp_http::Caller;

use super::BioState;
use super::error::{ApiError, Op, at};
use super::wire::*;

type Answer<T> = Result<Json<T>, ApiError>;

pub async fn home() -> Json<NewData> {
    Json(NewData {
        new_data: "Welcome to BioEntrust Auth server",
    })
}

pub async fn protected(State(s): State<BioState>, headers: HeaderMap) -> Answer<NewData> {
    let op = Op::Protected;
    let token = bearer(&headers).map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    s.tokens
        .account_bearer(token, client.tenant_id)
        .await
        .map_err(at(op))?;
    Ok(Json(NewData {
        new_data: "Protected data",
    }))
}

pub async fn signup(
    State(s): State<BioState>,
    caller: Caller,
    BioJson(req): BioJson<SignupRequest>,
) -> Answer<OtpSent> {
    let op = Op::Signup;
    let new = req.into_core().map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    let done = s
        .idp()
        .sign_up(&caller.context(Principal::Anonymous), client.tenant_id, new)
        .await
        .map_err(at(op))?;
    Ok(Json(done.into()))
}

pub async fn verify_email(
    State(s): State<BioState>,
    caller: Caller,
    BioJson(req): BioJson<VerifyEmailRequest>,
) -> Answer<LoggedIn> {
    let op = Op::VerifyEmail;
    let client = s.client().await.map_err(at(op))?;
    let tokens = s
        .tokens
        .redeem_code(
            &caller.context(Principal::Anonymous),
            &client,
            &req.otp_request_id,
            &req.otp,
        )
        .await
        .map_err(at(op))?;
    Ok(Json(tokens.into()))
}

pub async fn signin(
    State(s): State<BioState>,
    caller: Caller,
    BioJson(req): BioJson<SigninRequest>,
) -> Answer<SigninAnswer> {
    let op = Op::Signin;
    let client = s.client().await.map_err(at(op))?;
    let signed_in = s
        .tokens
        .password_sign_in(
            &caller.context(Principal::Anonymous),
            &client,
            &req.email,
            &req.password,
        )
        .await
        .map_err(at(op))?;
    Ok(Json(signed_in.into()))
}

pub async fn verify_sms(
    State(s): State<BioState>,
    caller: Caller,
    BioJson(req): BioJson<VerifySmsRequest>,
) -> Answer<Message> {
    let op = Op::VerifySms;
    let challenge_id = req.challenge_id().map_err(at(op))?;
    s.idp()
        .verify_contact(
            &caller.context(Principal::Anonymous),
            Channel::Sms,
            challenge_id,
            &req.otp,
        )
        .await
        .map_err(at(op))?;
    Ok(Json(Message::new("Phone number verified")))
}

pub async fn signout(State(s): State<BioState>, headers: HeaderMap) -> Answer<Message> {
    let op = Op::Signout;
    let refresh_token = bearer(&headers).map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    s.tokens
        .sign_out(&client, refresh_token)
        .await
        .map_err(at(op))?;
    Ok(Json(Message::new("Signed out successfully")))
}

pub async fn refresh(State(s): State<BioState>, headers: HeaderMap) -> Answer<Refreshed> {
    let op = Op::Refresh;
    let refresh_token = bearer(&headers).map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    let tokens = s
        .tokens
        .refresh(&client, refresh_token, None)
        .await
        .map_err(at(op))?;
    Ok(Json(tokens.into()))
}

pub async fn forgot_password(
    State(s): State<BioState>,
    caller: Caller,
    BioJson(req): BioJson<ForgotPasswordRequest>,
) -> Answer<Message> {
    let op = Op::ForgotPassword;
    let client = s.client().await.map_err(at(op))?;
    s.idp()
        .request_password_reset(
            &caller.context(Principal::Anonymous),
            client.tenant_id,
            &req.email,
            &s.reset_link_path(),
        )
        .await
        .map_err(at(op))?;
    Ok(Json(Message::new("Password reset link sent")))
}

pub async fn reset_password(
    State(s): State<BioState>,
    caller: Caller,
    headers: HeaderMap,
    BioJson(req): BioJson<ResetPasswordRequest>,
) -> Answer<Message> {
    let op = Op::ResetPassword;
    let token = bearer(&headers).map_err(at(op))?;
    let (email, password) = req.checked().map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    s.tokens
        .reset_password_with_bearer(
            &caller.context(Principal::Anonymous),
            client.tenant_id,
            token,
            email,
            password,
        )
        .await
        .map_err(at(op))?;
    Ok(Json(Message::new("Password reset successfully")))
}
