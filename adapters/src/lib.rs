//! Compatibility adapters: one module per vendor surface (`fintract`, `bioentrust`, `fintiv`,
//! `switch`), each owning its routes, request/response structs, envelope and error mapping, and
//! nothing else: every call becomes one idp-core operation.

mod json;
mod rejections;

pub mod bioentrust;
pub mod fintiv;
pub mod fintract;
pub mod switch;
