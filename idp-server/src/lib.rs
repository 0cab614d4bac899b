//! The idp server as a library, so tests can start it in-process: [`app::App`] builds the core
//! from configuration, [`routes`] mounts every surface, [`serve`] runs it until shutdown, and
//! [`cli`] is the admin command line ([`output`] its two output formats); [`telemetry`] sets up
//! logs, traces and metrics; [`openapi`] assembles the OpenAPI document and its `/docs` page.

pub mod app;
pub mod cli;
pub mod error;
pub mod openapi;
pub mod output;
pub mod routes;
pub mod serve;
pub mod telemetry;

pub use app::App;
pub use error::ServerError;
