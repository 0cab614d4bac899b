//! idp-core: the identity engine. Tenants, accounts, credentials, roles and entitlements, app
//! clients and audit, as typed operations ([`Idp`]) over a [`store::Store`]. It knows nothing of
//! HTTP, SQL or any vendor's API: every surface translates onto these operations.

pub mod authz;
pub mod blobs;
pub mod checksum;
pub mod error;
pub mod jose;
pub mod kyc;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod ops;
pub mod secrets;
pub mod store;
pub mod validate;

pub use authz::{Actor, Context, Principal};
pub use error::{Error, Result};
pub use ops::Idp;
