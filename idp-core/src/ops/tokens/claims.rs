//! Standard OpenID Connect claims (Core §5.1) of an account, as its granted scopes allow.

use serde_json::{Map, Value, json};

use super::has_scope;
use crate::model::Account;

/// `sub` always; `profile`, `email`, `phone` and `address` claims when those scopes were granted.
/// Claims with no value are left out rather than sent as null.
pub fn standard_claims(account: &Account, scope: &str) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("sub".into(), json!(account.id));
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(v) = value {
            c.insert(name.into(), v);
        }
    };
    let p = &account.profile;
    if has_scope(scope, "profile") {
        let full = p
            .name
            .clone()
            .or_else(|| match (&p.first_name, &p.last_name) {
                (Some(f), Some(l)) => Some(format!("{f} {l}")),
                (Some(f), None) => Some(f.clone()),
                (None, Some(l)) => Some(l.clone()),
                (None, None) => None,
            });
        put("name", full.map(Value::from));
        put("given_name", p.first_name.clone().map(Value::from));
        put("family_name", p.last_name.clone().map(Value::from));
        put("preferred_username", Some(json!(account.username)));
        put("gender", p.gender.as_ref().map(|g| json!(g.to_lowercase())));
        put("birthdate", p.date_of_birth.map(|d| json!(d.to_string())));
        put("picture", p.avatar_url.clone().map(Value::from));
        put("locale", p.preferred_language.clone().map(Value::from));
        put("zoneinfo", p.time_zone.clone().map(Value::from));
        put("updated_at", Some(json!(account.updated_at.timestamp())));
    }
    if has_scope(scope, "email") && account.email.is_some() {
        put("email", account.email.clone().map(Value::from));
        put("email_verified", Some(json!(account.email_verified)));
    }
    if has_scope(scope, "phone") && account.phone.is_some() {
        put("phone_number", account.phone.clone().map(Value::from));
        put("phone_number_verified", Some(json!(account.phone_verified)));
    }
    if has_scope(scope, "address") {
        let mut a = Map::new();
        for (k, v) in [
            ("street_address", &p.address),
            ("locality", &p.city),
            ("region", &p.state),
            ("postal_code", &p.zipcode),
            ("country", &p.country),
        ] {
            if let Some(v) = v {
                a.insert(k.into(), json!(v));
            }
        }
        if !a.is_empty() {
            put("address", Some(Value::Object(a)));
        }
    }
    c
}
