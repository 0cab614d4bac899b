//! Identity verification against a national register (KYC). For now: the Nigerian Bank
//! Verification Number (BVN), 11 digits. The core defines the contract and the rules (when a BVN
//! is required, what a well-formed one is, what a match means); providers live in plugins (an
//! HTTP provider, and the deterministic local sandbox that is the default).

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::error::{Error, Result};

/// What the register knows about a BVN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BvnCheck {
    /// The BVN exists; the names (and birth date, when the provider gives it) it is held under.
    Verified(BvnHolder),
    /// A well-formed BVN the register does not know.
    NotFound,
    /// The register could not answer (down, timed out, refused our key).
    Unavailable,
}

/// The holder of a BVN as the register records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BvnHolder {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
}

/// A BVN register. `verify_bvn` is only called with a well-formed BVN ([`normalize_bvn`]).
#[async_trait]
pub trait BvnVerifier: Send + Sync {
    async fn verify_bvn(&self, bvn: &str) -> BvnCheck;
}

/// A well-formed BVN: exactly 11 ASCII digits (surrounding spaces ignored). Anything else is
/// `Invalid("bvn")`.
pub fn normalize_bvn(bvn: &str) -> Result<String> {
    let bvn = bvn.trim();
    if bvn.len() == 11 && bvn.bytes().all(|b| b.is_ascii_digit()) {
        Ok(bvn.to_owned())
    } else {
        Err(Error::invalid("bvn", "must be exactly 11 digits"))
    }
}

/// Whether a user of `country` (ISO code or English name, any case) must give a BVN: Nigerian
/// users must. A missing country counts as Nigeria where a surface says so (it normalises first).
pub fn bvn_required(country: &str) -> bool {
    matches!(
        country.trim().to_ascii_lowercase().as_str(),
        "ng" | "nga" | "nigeria"
    )
}

/// The country as an ISO 3166-1 alpha-2 code where it is Nigeria; other values are kept as given.
pub fn normalize_country(country: &str) -> String {
    if bvn_required(country) {
        "NG".into()
    } else {
        country.trim().to_owned()
    }
}

/// Checks `bvn` with the register: `Ok(holder)` when it exists; an unknown BVN is
/// `Invalid("bvn")`, a register that cannot answer `Unavailable`.
pub async fn check_bvn(verifier: &dyn BvnVerifier, bvn: &str) -> Result<(String, BvnHolder)> {
    let bvn = normalize_bvn(bvn)?;
    match verifier.verify_bvn(&bvn).await {
        BvnCheck::Verified(holder) => Ok((bvn, holder)),
        BvnCheck::NotFound => Err(Error::invalid("bvn", "was not found")),
        BvnCheck::Unavailable => Err(Error::Unavailable),
    }
}

/// The claimed names (and birth date, when both sides have one) are the holder's: names compared
/// case-insensitively with surrounding spaces ignored. A mismatch is `Invalid("bvn")`, worded so
/// that it does not say which detail differs.
pub fn holder_matches(
    holder: &BvnHolder,
    first_name: &str,
    last_name: &str,
    date_of_birth: Option<NaiveDate>,
) -> Result<()> {
    let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    let dob_ok = match (holder.date_of_birth, date_of_birth) {
        (Some(h), Some(c)) => h == c,
        _ => true,
    };
    if same(&holder.first_name, first_name) && same(&holder.last_name, last_name) && dob_ok {
        Ok(())
    } else {
        Err(Error::invalid("bvn", "details do not match the BVN record"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bvn_shape() {
        assert_eq!(normalize_bvn(" 22123456789 ").unwrap(), "22123456789");
        for bad in [
            "2212345678",
            "221234567890",
            "2212345678x",
            "",
            "٢٢١٢٣٤٥٦٧٨٩",
        ] {
            assert!(normalize_bvn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nigeria_needs_a_bvn() {
        for c in ["NG", "ng", "Nigeria", " nigeria ", "NGA"] {
            assert!(bvn_required(c), "{c}");
            assert_eq!(normalize_country(c), "NG");
        }
        assert!(!bvn_required("GH"));
        assert_eq!(normalize_country("GH"), "GH");
    }

    #[test]
    fn holder_matching() {
        let h = BvnHolder {
            first_name: "Ada".into(),
            last_name: "Obi".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1990, 1, 2),
        };
        assert!(holder_matches(&h, " ada", "OBI", None).is_ok());
        assert!(holder_matches(&h, "Ada", "Obi", NaiveDate::from_ymd_opt(1990, 1, 2)).is_ok());
        assert!(holder_matches(&h, "Ada", "Obi", NaiveDate::from_ymd_opt(1990, 1, 3)).is_err());
        assert!(holder_matches(&h, "Bola", "Obi", None).is_err());
    }
}
