//! Who is calling, and may they? Every operation gets a [`Context`]; admin operations call
//! [`Principal::require`] with the entitlement they need and the tenant they touch.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::error::{Error, Result};

/// Entitlement names checked by the core. Roles carry them; tenants may define more.
pub mod entitlements {
    /// Read and update the tenant itself (settings, question catalogue, app clients).
    pub const MANAGE_TENANT: &str = "ADMIN_MANAGE_CLIENT";
    pub const MANAGE_ROLES: &str = "ADMIN_MANAGE_CLIENT_ROLE";
    /// Create, read, update accounts of the tenant.
    pub const MANAGE_USERS: &str = "ADMIN_MANAGE_CLIENT_USER";
    pub const MANAGE_USER_ROLES: &str = "ADMIN_MANAGE_CLIENT_USER_ROLE";
    /// Lock, unlock, change status.
    pub const MANAGE_USER_STATUS: &str = "ADMIN_MANAGE_CLIENT_USER_STATUS";
    pub const RESET_USER_PASSWORD: &str = "ADMIN_RESET_USER_PASSWORD";
    pub const RESET_USER_PIN: &str = "ADMIN_RESET_USER_PIN";
    /// Delete another account (anyone may delete their own).
    pub const DEREGISTER_ACCOUNT: &str = "DEREGISTER_ACCOUNT";
    pub const VIEW_AUDIT: &str = "ADMIN_VIEW_AUDIT";

    pub const ALL: [&str; 9] = [
        MANAGE_TENANT,
        MANAGE_ROLES,
        MANAGE_USERS,
        MANAGE_USER_ROLES,
        MANAGE_USER_STATUS,
        RESET_USER_PASSWORD,
        RESET_USER_PIN,
        DEREGISTER_ACCOUNT,
        VIEW_AUDIT,
    ];
}

/// A signed-in account with the entitlements of its roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub account_id: Uuid,
    pub tenant_id: Uuid,
    pub entitlements: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Nobody signed in (registration, login, password reset by token).
    Anonymous,
    /// The operator: the admin CLI and server start-up. Allowed everything.
    System,
    Account(Actor),
}

impl Principal {
    /// Ok if the caller holds `entitlement` inside `tenant_id` (or is the system).
    pub fn require(&self, entitlement: &str, tenant_id: Uuid) -> Result<()> {
        match self {
            Self::System => Ok(()),
            Self::Anonymous => Err(Error::Unauthenticated),
            Self::Account(a) if a.tenant_id != tenant_id => {
                Err(Error::Forbidden("object belongs to another tenant".into()))
            }
            Self::Account(a) if a.entitlements.contains(entitlement) => Ok(()),
            Self::Account(_) => Err(Error::Forbidden(format!("requires {entitlement}"))),
        }
    }

    /// Ok if the caller is `account_id` itself, or holds `entitlement` in `tenant_id`.
    pub fn require_self_or(
        &self,
        account_id: Uuid,
        entitlement: &str,
        tenant_id: Uuid,
    ) -> Result<()> {
        if self.account_id() == Some(account_id) {
            return Ok(());
        }
        self.require(entitlement, tenant_id)
    }

    /// Only the operator.
    pub fn require_system(&self) -> Result<()> {
        match self {
            Self::System => Ok(()),
            Self::Anonymous => Err(Error::Unauthenticated),
            Self::Account(_) => Err(Error::Forbidden("operator only".into())),
        }
    }

    pub fn account_id(&self) -> Option<Uuid> {
        match self {
            Self::Account(a) => Some(a.account_id),
            _ => None,
        }
    }

    /// True when the caller may hand out roles and statuses: the system or a user manager.
    pub fn can(&self, entitlement: &str, tenant_id: Uuid) -> bool {
        self.require(entitlement, tenant_id).is_ok()
    }
}

/// Everything an operation needs to know about the call besides its arguments.
#[derive(Debug, Clone)]
pub struct Context {
    pub principal: Principal,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    /// The HTTP surface the call came through (`oidc`, or a compatibility adapter's name), for
    /// metrics; [`crate::metrics::NO_SURFACE`] for the CLI and background work.
    pub surface: &'static str,
}

impl Context {
    pub fn system() -> Self {
        Self {
            principal: Principal::System,
            client_ip: None,
            request_id: None,
            surface: crate::metrics::NO_SURFACE,
        }
    }

    pub fn anonymous() -> Self {
        Self {
            principal: Principal::Anonymous,
            client_ip: None,
            request_id: None,
            surface: crate::metrics::NO_SURFACE,
        }
    }

    pub fn as_actor(actor: Actor) -> Self {
        Self {
            principal: Principal::Account(actor),
            client_ip: None,
            request_id: None,
            surface: crate::metrics::NO_SURFACE,
        }
    }

    pub fn with_request(mut self, client_ip: Option<String>, request_id: Option<String>) -> Self {
        self.client_ip = client_ip;
        self.request_id = request_id;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_checks_tenant_and_entitlement() {
        let t = Uuid::new_v4();
        let other = Uuid::new_v4();
        let me = Uuid::new_v4();
        let admin = Principal::Account(Actor {
            account_id: me,
            tenant_id: t,
            entitlements: [entitlements::MANAGE_USERS.to_string()].into(),
        });
        assert!(admin.require(entitlements::MANAGE_USERS, t).is_ok());
        assert!(matches!(
            admin.require(entitlements::MANAGE_USERS, other),
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            admin.require(entitlements::MANAGE_ROLES, t),
            Err(Error::Forbidden(_))
        ));
        assert!(
            admin
                .require_self_or(me, entitlements::DEREGISTER_ACCOUNT, t)
                .is_ok()
        );
        assert!(
            admin
                .require_self_or(Uuid::new_v4(), entitlements::DEREGISTER_ACCOUNT, t)
                .is_err()
        );
        assert!(
            Principal::System
                .require(entitlements::MANAGE_ROLES, other)
                .is_ok()
        );
        assert!(matches!(
            Principal::Anonymous.require(entitlements::MANAGE_ROLES, t),
            Err(Error::Unauthenticated)
        ));
        assert!(admin.require_system().is_err());
    }
}
