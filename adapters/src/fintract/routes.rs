//! The handlers: request struct → core call → response struct.

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::Principal;
use idp_core::blobs::StoredBlob;
use idp_core::model::Account;
use idp_http::Caller;
use serde::Deserialize;

use super::error::{ApiError, Op, at};
use super::wire::*;
use super::{FinState, SignedIn};

type Answer<T> = Result<Json<T>, ApiError>;
type Created<T> = Result<(StatusCode, Json<T>), ApiError>;

/// The `{id}` of a path: an account number. Anything else names no account of the caller.
fn number(raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "account not found"))
}

pub async fn register(
    State(s): State<FinState>,
    caller: Caller,
    FinJson(req): FinJson<RegisterRequest>,
) -> Created<Registered> {
    let op = Op::Other;
    let reg = req.into_core().map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    let account = s
        .idp()
        .register(&caller.context(Principal::Anonymous), client.tenant_id, reg)
        .await
        .map_err(at(op))?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

pub async fn login(
    State(s): State<FinState>,
    caller: Caller,
    FinJson(req): FinJson<LoginRequest>,
) -> Answer<LoginStarted> {
    let op = Op::Login;
    let channel = req.channel().map_err(at(op))?;
    let client = s.client().await.map_err(at(op))?;
    let started = s
        .tokens
        .start_code_sign_in(
            &caller.context(Principal::Anonymous),
            &client,
            &req.email,
            &req.password,
            channel,
        )
        .await
        .map_err(at(op))?;
    Ok(Json(LoginStarted {
        data: LoginData {
            id: started.account.number,
        },
    }))
}

pub async fn verify_otp(
    State(s): State<FinState>,
    caller: Caller,
    Path(id): Path<String>,
    FinJson(req): FinJson<VerifyOtpRequest>,
) -> Answer<LoggedIn> {
    let op = Op::VerifyOtp;
    // A number that is not one names no pending sign-in.
    let number = number(&id).map_err(|_| ApiError::core(op, idp_core::Error::ChallengeClosed))?;
    let client = s.client().await.map_err(at(op))?;
    let (account, tokens) = s
        .tokens
        .finish_code_sign_in(
            &caller.context(Principal::Anonymous),
            &client,
            number,
            &req.otp,
        )
        .await
        .map_err(at(op))?;
    Ok(Json(LoggedIn::new(account, tokens)))
}

pub async fn admin_approval(
    State(s): State<FinState>,
    me: SignedIn,
    FinJson(req): FinJson<ApprovalRequest>,
) -> Answer<Msg> {
    let op = Op::Other;
    // A customer id that is not one of ours names no account: the entitlement is still checked
    // first, so that only approvers learn which ids exist.
    let number = number_of_customer_id(&req.customer_id).unwrap_or(-1);
    s.idp()
        .approve_number(&me.ctx, number)
        .await
        .map_err(at(op))?;
    Ok(Json(Msg {
        msg: "User admin approved",
    }))
}

pub async fn deactivate(State(s): State<FinState>, me: SignedIn) -> Answer<Msg> {
    s.idp()
        .deactivate(&me.ctx, me.account.id)
        .await
        .map_err(at(Op::Other))?;
    Ok(Json(Msg {
        msg: "Account deactivate request submitted!",
    }))
}

pub async fn delete_account(State(s): State<FinState>, me: SignedIn) -> Answer<Msg> {
    s.idp()
        .delete_account(&me.ctx, me.account.id)
        .await
        .map_err(at(Op::Other))?;
    Ok(Json(Msg {
        msg: "Account Successfully deleted",
    }))
}

pub async fn reverify_email(
    State(s): State<FinState>,
    me: SignedIn,
    FinJson(req): FinJson<ReverifyRequest>,
) -> Created<Message> {
    s.idp()
        .send_email_verification(
            &me.ctx,
            me.account.id,
            Some(&req.email),
            &s.verify_email_path(),
        )
        .await
        .map_err(at(Op::Other))?;
    Ok((
        StatusCode::CREATED,
        Json(Message {
            message: "New token sent",
        }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub async fn verify_email(
    State(s): State<FinState>,
    caller: Caller,
    Query(q): Query<TokenQuery>,
) -> Answer<Message> {
    s.idp()
        .verify_email_with_token(&caller.context(Principal::Anonymous), &q.token)
        .await
        .map_err(at(Op::VerifyEmail))?;
    Ok(Json(Message {
        message: "Email verified",
    }))
}

pub async fn info(
    State(s): State<FinState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Answer<UserInfo> {
    let account = s
        .idp()
        .account_by_number_for(&me.ctx, number(&id)?)
        .await
        .map_err(at(Op::Other))?;
    Ok(Json(account.into()))
}

pub async fn update_usr(
    State(s): State<FinState>,
    me: SignedIn,
    Path(id): Path<String>,
    FinJson(req): FinJson<UpdateUsrRequest>,
) -> Answer<Message> {
    let op = Op::Other;
    let account = s
        .idp()
        .account_by_number_for(&me.ctx, number(&id)?)
        .await
        .map_err(at(op))?;
    let update = req.into_core(&account);
    s.idp()
        .update_account(&me.ctx, account.id, update)
        .await
        .map_err(at(op))?;
    Ok(Json(Message {
        message: "Updated Successfully",
    }))
}

pub async fn user_update(
    State(s): State<FinState>,
    me: SignedIn,
    FinJson(req): FinJson<UserUpdateRequest>,
) -> Answer<Message> {
    let update = req.into_core(&me.account);
    s.idp()
        .update_account(&me.ctx, me.account.id, update)
        .await
        .map_err(at(Op::Other))?;
    Ok(Json(Message {
        message: "Account Successfully Updated",
    }))
}

/// Reads the `file` part, refusing (413) as soon as it grows past the upload limit, and
/// stores it through the blob service.
async fn store_file(
    s: &FinState,
    me: &SignedIn,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<StoredBlob, ApiError> {
    let mut multipart = multipart.map_err(|r| ApiError::multipart_rejection(&r))?;
    let max = s.blobs.max_bytes();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::multipart(&e))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| ApiError::multipart(&e))? {
            if bytes.len() + chunk.len() > max {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("file larger than {max} bytes"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        return s.blobs.upload(&me.ctx, bytes).await.map_err(at(Op::Other));
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "a `file` part is required",
    ))
}

pub async fn avatar(
    State(s): State<FinState>,
    me: SignedIn,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Created<AvatarSet> {
    let op = Op::Other;
    // Whose avatar is checked before the file is read or stored.
    let account: Account = s
        .idp()
        .account_by_number_for(&me.ctx, number(&id)?)
        .await
        .map_err(at(op))?;
    let blob = store_file(&s, &me, multipart).await?;
    let account = s
        .idp()
        .set_avatar(&me.ctx, account.id, &s.media_url(&blob.key))
        .await
        .map_err(at(op))?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

pub async fn upload(
    State(s): State<FinState>,
    me: SignedIn,
    multipart: Result<Multipart, MultipartRejection>,
) -> Created<Uploaded> {
    let blob = store_file(&s, &me, multipart).await?;
    Ok((
        StatusCode::CREATED,
        Json(Uploaded {
            url: s.media_url(&blob.key),
        }),
    ))
}

/// An uploaded file, as stored: its sniffed type, never rendered as anything else.
pub async fn media(State(s): State<FinState>, Path(key): Path<String>) -> Response {
    match s.blobs.fetch(&key).await {
        Ok(Some(blob)) => {
            let mut res = Response::new(Body::from(blob.bytes));
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(blob.content_type),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            );
            res
        }
        Ok(None) => ApiError::new(StatusCode::NOT_FOUND, "file not found").into_response(),
        Err(e) => ApiError::core(Op::Other, e).into_response(),
    }
}
