//! The server's one error type: what can stop start-up or an admin command.

use idp_config::ConfigError;
use idp_core::secrets::hasher::HashError;
use idp_core::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Core(#[from] idp_core::Error),
    #[error("password hashing: {0}")]
    Hash(#[from] HashError),
    #[error("signing keys: {0}")]
    Keys(#[from] idp_plugins::keys::KeyError),
    #[error("rate limiter: {0}")]
    Limiter(#[from] idp_core::limits::LimitError),
    #[error("notifications: {0}")]
    Notifier(#[from] idp_core::notify::NotifyError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    #[error("telemetry: {0}")]
    Telemetry(String),
    #[error("{0}")]
    Usage(String),
}

impl ServerError {
    /// A stable word for scripts (`--json` errors): what kind of thing went wrong.
    pub fn kind(&self) -> &'static str {
        use idp_core::Error as E;
        match self {
            Self::Config(_) => "config",
            Self::Store(_) => "store",
            Self::Core(E::Invalid { .. }) => "invalid",
            Self::Core(E::Conflict(_)) => "conflict",
            Self::Core(E::NotFound(_)) => "not_found",
            Self::Core(E::Forbidden(_)) => "forbidden",
            Self::Core(E::Unavailable | E::Overloaded) => "unavailable",
            Self::Core(_) => "failed",
            Self::Hash(_) => "hashing",
            Self::Keys(_) => "keys",
            Self::Limiter(_) => "limiter",
            Self::Notifier(_) => "notifier",
            Self::Bind { .. } => "bind",
            Self::Io(_) => "io",
            Self::Telemetry(_) => "telemetry",
            Self::Usage(_) => "usage",
        }
    }
}
