//! Rate limits on authentication: per client IP, per account and per app client, counted in the
//! shared limiter so that every replica enforces one budget.

use std::time::Duration;

use uuid::Uuid;

use super::Idp;
use crate::error::{Error, Result};

/// Whose budget an attempt spends.
#[derive(Debug, Clone, Copy)]
pub enum Throttle<'a> {
    Ip(&'a str),
    Account(Uuid),
    /// A login that names no account: limited like an account, so that a 429 does not tell
    /// known logins from unknown ones.
    Login(&'a str),
    Client(&'a str),
}

const MINUTE: Duration = Duration::from_secs(60);

impl Idp {
    /// Counts one attempt; `RateLimited` (with the wait) when the budget of the minute is spent,
    /// `Unavailable` when the counters cannot be reached (authentication fails closed).
    pub async fn throttle(&self, who: Throttle<'_>) -> Result<()> {
        let s = &self.services.security;
        let (key, limit) = match who {
            Throttle::Ip(ip) => (format!("rate:ip:{ip}"), s.rate_per_ip),
            Throttle::Account(id) => (format!("rate:acct:{id}"), s.rate_per_account),
            Throttle::Login(login) => {
                let key = crate::secrets::digest(&login.trim().to_lowercase());
                (format!("rate:login:{key}"), s.rate_per_account)
            }
            Throttle::Client(id) => (format!("rate:client:{id}"), s.rate_per_client),
        };
        let limiter = &self.services.limiter;
        let d = match who {
            // A client's budget is a quota on legitimate traffic (client secrets are too long
            // to guess): it may be leased. Every other one bounds guessing and stays exact.
            Throttle::Client(_) => limiter.hit_quota(&key, limit, MINUTE).await?,
            _ => limiter.hit(&key, limit, MINUTE).await?,
        };
        if d.allowed {
            Ok(())
        } else {
            let wait = d.retry_after.unwrap_or(MINUTE);
            Err(Error::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            })
        }
    }
}
