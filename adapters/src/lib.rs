//! Compatibility adapters: one module per vendor surface (`fintract`, `bioentrust`, `fintiv`,
//! `switch`), each owning its routes, request/response structs, envelope and error mapping, and
//! nothing else: every call becomes one idp-core operation.
//!
//! Empty until the adapter issues land; the crate exists so the tree shows the architecture of
//! DESIGN.md from the start.
