//! HTTP plumbing every idp surface shares: the hardening layers (body limit, deadline, request
//! id, panic guard, JSON 404/405, request metrics), the client's address behind trusted proxies
//! ([`client_addr`]), the [`Caller`] extractor that turns a request into the core's
//! [`idp_core::Context`], and clear messages for JSON bodies that cannot be read. Each surface
//! keeps its own envelope; this crate only supplies the parts that are the same everywhere.

mod bearer;
mod caller;
pub mod client_addr;
mod harden;
mod json;
mod metrics;
mod request_id;

pub use bearer::bearer;
pub use caller::Caller;
pub use client_addr::ClientAddr;
pub use harden::{HttpLimits, harden, plain_error};
pub use json::describe_json_rejection;
pub use metrics::{Surface, UNMATCHED, tag_surface};
pub use request_id::{REQUEST_ID, RequestId};

#[cfg(test)]
mod tests;
