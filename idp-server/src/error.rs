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
    #[error("{0}")]
    Usage(String),
}
