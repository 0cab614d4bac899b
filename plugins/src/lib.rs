//! Plugins: implementations of the traits idp-core defines for the outside world — rate limits
//! and lockout counters (Redis, in-process fallback), notifications (SMTP, SMS webhook, file
//! outbox), blob storage, KYC/BVN verification and signing keys.
//!
//! Present so far:
//! - [`blobs`]: uploaded files behind [`idp_core::blobs::BlobStore`] (a local directory);
//! - [`keys`]: the signing-key ring behind [`idp_core::jose::TokenSigner`];
//! - [`kyc`]: BVN verification behind [`idp_core::kyc::BvnVerifier`] (an HTTP provider, or the
//!   local sandbox);
//! - [`limits`]: rate limits and failure counters behind [`idp_core::limits::Limiter`] (Redis,
//!   or in process);
//! - [`notify`]: message delivery behind [`idp_core::notify::Notifier`] (SMTP, SMS webhook, or
//!   the file outbox).

pub mod blobs;
pub mod keys;
pub mod kyc;
pub mod limits;
pub mod notify;

pub use keys::{KeyError, KeyRing};
