//! Who is on the other end of a request: the peer address and request id, ready to become the
//! core's [`Context`] once a surface has authenticated the caller.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use idp_core::{Context, Principal};

use crate::client_addr::ClientAddr;
use crate::metrics::Surface;
use crate::request_id::RequestId;

#[derive(Debug, Clone)]
pub struct Caller {
    /// The client's address: the TCP peer, or behind trusted proxies the address they forwarded
    /// ([`crate::client_addr`]).
    pub ip: Option<String>,
    pub request_id: Option<String>,
    /// The surface serving the request (see [`crate::tag_surface`]), for the core's metrics.
    pub surface: &'static str,
}

impl Default for Caller {
    fn default() -> Self {
        Self {
            ip: None,
            request_id: None,
            surface: idp_core::metrics::NO_SURFACE,
        }
    }
}

impl Caller {
    pub fn context(&self, principal: Principal) -> Context {
        Context {
            principal,
            client_ip: self.ip.clone(),
            request_id: self.request_id.clone(),
            surface: self.surface,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            ip: match parts.extensions.get::<ClientAddr>() {
                Some(client) => Some(client.0.to_string()),
                None => parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip().to_string()),
            },
            request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
            surface: parts
                .extensions
                .get::<Surface>()
                .map_or(idp_core::metrics::NO_SURFACE, |s| s.0),
        })
    }
}
