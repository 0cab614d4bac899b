//! Who is on the other end of a request: the peer address and request id, ready to become the
//! core's [`Context`] once a surface has authenticated the caller.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use idp_core::{Context, Principal};

use crate::request_id::RequestId;

#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The TCP peer. (Behind a proxy this is the proxy; trusted forwarding headers come later.)
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Caller {
    pub fn context(&self, principal: Principal) -> Context {
        Context {
            principal,
            client_ip: self.ip.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
            request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
        })
    }
}
