//! idp-core: the identity engine. Tenants, accounts, credentials, roles and entitlements, app
//! clients and audit, as typed operations over a [`store::Store`]. It knows nothing of HTTP, SQL
//! or any vendor's API: every surface translates onto [`Idp`]'s operations.

pub mod model;
pub mod store;
