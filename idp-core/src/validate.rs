//! Input rules shared by every surface: what a username, email, phone, password, PIN or security
//! answer must look like, and the canonical form each is stored in.

use crate::error::{Error, Result};
use crate::model::PasswordPolicy;

/// 3–64 characters: letters, digits and `. _ - @ +`.
pub fn username(raw: &str) -> Result<String> {
    let u = raw.trim();
    let len = u.chars().count();
    if !(3..=64).contains(&len) {
        return Err(Error::invalid("username", "must be 3 to 64 characters"));
    }
    if !u
        .chars()
        .all(|c| c.is_alphanumeric() || "._-@+".contains(c))
    {
        return Err(Error::invalid(
            "username",
            "may contain only letters, digits and . _ - @ +",
        ));
    }
    Ok(u.to_owned())
}

/// A plausible address (`local@domain.tld`, at most 254 characters), lower-cased.
pub fn email(raw: &str) -> Result<String> {
    let e = raw.trim().to_lowercase();
    let bad = || Error::invalid("email", "not a valid email address");
    if e.len() > 254 || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = e.rsplit_once('@').ok_or_else(bad)?;
    let labels_ok = domain
        .split('.')
        .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
    if local.is_empty()
        || local.len() > 64
        || local.contains('@')
        || !domain.contains('.')
        || !labels_ok
    {
        return Err(bad());
    }
    Ok(e)
}

/// 7–15 digits with an optional leading `+`; spaces, dashes, dots and parentheses are dropped.
pub fn phone(raw: &str) -> Result<String> {
    let t = raw.trim();
    let plus = t.starts_with('+');
    let body = if plus { &t[1..] } else { t };
    let mut digits = String::with_capacity(body.len() + 1);
    if plus {
        digits.push('+');
    }
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => {
                return Err(Error::invalid(
                    "phone",
                    "may contain only digits and a leading +",
                ));
            }
        }
    }
    let n = digits.trim_start_matches('+').len();
    if !(7..=15).contains(&n) {
        return Err(Error::invalid("phone", "must have 7 to 15 digits"));
    }
    Ok(digits)
}

/// Checks a new password against a tenant's policy. The message lists every unmet rule.
pub fn password(policy: &PasswordPolicy, pw: &str) -> Result<()> {
    let mut unmet = Vec::new();
    let len = pw.chars().count();
    if len < policy.min_length {
        unmet.push(format!("at least {} characters", policy.min_length));
    }
    if len > policy.max_length {
        unmet.push(format!("at most {} characters", policy.max_length));
    }
    if policy.require_upper && !pw.chars().any(char::is_uppercase) {
        unmet.push("an upper-case letter".into());
    }
    if policy.require_lower && !pw.chars().any(char::is_lowercase) {
        unmet.push("a lower-case letter".into());
    }
    if policy.require_digit && !pw.chars().any(|c| c.is_ascii_digit()) {
        unmet.push("a digit".into());
    }
    if policy.require_special
        && !pw
            .chars()
            .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
    {
        unmet.push("a special character".into());
    }
    if unmet.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(
            "password",
            format!("must contain {}", unmet.join(", ")),
        ))
    }
}

/// 4 to 12 digits.
pub fn pin(pin: &str) -> Result<()> {
    if (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::invalid("pin", "must be 4 to 12 digits"))
    }
}

/// Answers are compared case- and space-insensitively: "  New  York" == "new york".
pub fn normalize_answer(answer: &str) -> Result<String> {
    let norm = answer
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if norm.is_empty() || norm.chars().count() > 200 {
        return Err(Error::invalid("answer", "must be 1 to 200 characters"));
    }
    Ok(norm)
}

/// An absolute http(s) URL without a fragment (OAuth 2.0 §3.1.2).
pub fn redirect_uri(raw: &str) -> Result<String> {
    let url = url::Url::parse(raw)
        .map_err(|e| Error::invalid("redirect_uri", format!("not an absolute URL: {e}")))?;
    if url.fragment().is_some() {
        return Err(Error::invalid(
            "redirect_uri",
            "must not contain a fragment",
        ));
    }
    if url.cannot_be_a_base() {
        return Err(Error::invalid("redirect_uri", "must be a hierarchical URL"));
    }
    Ok(raw.to_owned())
}

/// Names of tenants, roles, entitlements and client ids: 1–64 of letters, digits, `_ - .`.
pub fn name(field: &'static str, raw: &str) -> Result<String> {
    let n = raw.trim();
    if n.is_empty()
        || n.len() > 64
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        return Err(Error::invalid(
            field,
            "must be 1 to 64 letters, digits, _ - or .",
        ));
    }
    Ok(n.to_owned())
}

/// Free text (descriptions, questions): trimmed, 1 to `max` characters, no control characters.
pub fn text(field: &'static str, raw: &str, max: usize) -> Result<String> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("must be 1 to {max} printable characters"),
        ));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(username(" John.Doe_1 ").unwrap(), "John.Doe_1");
        assert!(username("ab").is_err());
        assert!(username("has space").is_err());
        assert!(username("semi;colon").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(email(" John@Example.COM ").unwrap(), "john@example.com");
        for bad in [
            "", "no-at", "a@b", "a@@b.c", "a b@c.d", "@x.y", "a@-x.y", "a@x..y",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(phone("+234 809-763 5343").unwrap(), "+2348097635343");
        assert_eq!(phone("1234567890").unwrap(), "1234567890");
        assert!(phone("12345").is_err());
        assert!(phone("+12abc34567").is_err());
        assert!(phone("++1234567").is_err());
    }

    #[test]
    fn password_policy() {
        let p = PasswordPolicy::default();
        assert!(password(&p, "Abcdef1!").is_ok());
        let err = password(&p, "abc").unwrap_err().to_string();
        assert!(
            err.contains("at least 8") && err.contains("upper-case") && err.contains("digit"),
            "{err}"
        );
        assert!(password(&p, &format!("Aa1!{}", "x".repeat(200))).is_err());
        let lax = PasswordPolicy {
            require_special: false,
            require_upper: false,
            ..p
        };
        assert!(password(&lax, "abcdefg1").is_ok());
    }

    #[test]
    fn pins_answers_uris() {
        assert!(pin("1234").is_ok());
        assert!(pin("12a4").is_err());
        assert!(pin("123").is_err());
        assert_eq!(normalize_answer("  New   YORK ").unwrap(), "new york");
        assert!(normalize_answer("   ").is_err());
        assert!(redirect_uri("https://app.example/cb").is_ok());
        assert!(redirect_uri("/cb").is_err());
        assert!(redirect_uri("https://app.example/cb#frag").is_err());
    }
}
