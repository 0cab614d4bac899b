//! Plugins: implementations of the traits idp-core defines for the outside world — rate limits
//! and lockout counters (Redis, in-process fallback), notifications (SMTP, SMS webhook, file
//! outbox), blob storage, KYC/BVN verification and signing keys.
//!
//! Empty until the MFA/notification and adapter issues land; the crate exists so the tree shows
//! the architecture of DESIGN.md from the start.
