//! Black-box tests of the `idp-server` binary: its command line, its configuration errors and
//! `serve` (health, readiness, SIGTERM), run as a child process with a temp data dir of its own.
//! The PostgreSQL variants need `IDP_TEST_POSTGRES_URL` (set by `scripts/test`); without it they
//! are skipped with a notice, except under CI, where they fail.

mod support;

mod admin;
mod config;
mod help;
mod postgres;
mod serve;
