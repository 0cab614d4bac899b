//! The idp server as a library, so tests can start it in-process: [`app::App`] builds the core
//! from configuration, [`routes`] mounts every surface, [`serve`] runs it until shutdown, and
//! [`cli`] is the admin command line.

pub mod app;
pub mod cli;
pub mod error;
pub mod routes;
pub mod serve;
pub mod telemetry;

pub use app::App;
pub use error::ServerError;
