//! Black-box tests of the `idp-server` binary: its command line, its configuration errors and
//! `serve` (health, readiness, SIGTERM), run as a child process with a temp data dir of its own.
//! The PostgreSQL variants need `IDP_TEST_POSTGRES_URL` (set by `scripts/test`); without it they
//! are skipped with a notice, except under CI, where they fail.

mod api;
mod cluster;
mod support;

mod admin;
mod cli_output;
mod config;
mod faults;
mod help;
mod observability;
mod postgres;
mod replicas;
mod serve;
