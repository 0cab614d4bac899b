//! One test binary for the store crate: the conformance suite (`conformance`) and the core
//! operations (`ops`), each run against both stores through the `store_tests!` macro.

mod support;

mod conformance;
mod grants;
mod mfa;
mod mfa_ops;
mod ops;
mod races;
mod tokens;
