//! The configuration reference, rendered from the code: the keys and types come from the JSON
//! schema of [`Config`] (derived with `schemars`, doc comments become descriptions) and the
//! defaults from `Config::default()`, so a new key shows up in `docs/operations.md` without
//! anyone writing it down (the test below fails until the doc is regenerated).

use serde_json::Value;

use crate::Config;

/// One configuration key: where it lives in TOML and in the environment, and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDoc {
    /// Dotted TOML path (`argon2.m_cost`).
    pub path: String,
    /// The environment variable that sets it (`IDP_ARGON2__M_COST`).
    pub env: String,
    /// `string`, `integer`, `boolean`, or the allowed values of an enumeration.
    pub ty: String,
    /// The built-in default as TOML would write it, or `unset`.
    pub default: String,
    /// The doc comment of the field (empty when there is none).
    pub description: String,
}

/// Every leaf key of [`Config`]: top-level keys first, then each section, by name.
pub fn keys() -> Vec<KeyDoc> {
    let schema = schemars::schema_for!(Config);
    let root = schema.as_value();
    let defaults = serde_json::to_value(Config::default()).unwrap_or(Value::Null);
    let mut out = Vec::new();
    walk(root, root, &defaults, &mut Vec::new(), &mut out);
    out.sort_by(|a, b| (a.path.contains('.'), &a.path).cmp(&(b.path.contains('.'), &b.path)));
    out
}

fn walk(
    root: &Value,
    node: &Value,
    defaults: &Value,
    path: &mut Vec<String>,
    out: &mut Vec<KeyDoc>,
) {
    let Some(props) = resolve(root, node)
        .get("properties")
        .and_then(Value::as_object)
    else {
        return;
    };
    for (name, field) in props {
        path.push(name.clone());
        let target = resolve(root, non_null(field));
        let default = &defaults[name.as_str()];
        if target.get("properties").is_some() {
            walk(root, target, default, path, out);
        } else {
            out.push(KeyDoc {
                path: path.join("."),
                env: format!("IDP_{}", path.join("__").to_uppercase()),
                ty: type_name(root, field),
                default: toml_value(default),
                description: description(field),
            });
        }
        path.pop();
    }
}

/// Follows a local `$ref` (`#/$defs/Name`).
fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/")
            .map(|p| p.split('/').fold(root, |v, seg| &v[seg]))
            .unwrap_or(node),
        None => node,
    }
}

/// The non-null branch of an `Option<T>` (`anyOf: [T, {type: null}]`).
fn non_null(node: &Value) -> &Value {
    node.get("anyOf")
        .and_then(Value::as_array)
        .and_then(|alts| alts.iter().find(|a| a["type"] != "null"))
        .unwrap_or(node)
}

fn type_name(root: &Value, field: &Value) -> String {
    let t = resolve(root, non_null(field));
    let consts: Vec<String> = match (t.get("enum"), t.get("oneOf")) {
        (Some(Value::Array(values)), _) => values.iter().map(toml_value).collect(),
        (_, Some(Value::Array(alts))) => alts.iter().map(|a| toml_value(&a["const"])).collect(),
        _ => Vec::new(),
    };
    if !consts.is_empty() {
        return consts.join(" \\| ");
    }
    match &t["type"] {
        Value::String(s) => s.clone(),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|s| *s != "null")
            .unwrap_or("any")
            .to_owned(),
        _ => "any".into(),
    }
}

fn description(field: &Value) -> String {
    let text = [&field["title"], &field["description"]]
        .iter()
        .filter_map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn toml_value(v: &Value) -> String {
    match v {
        Value::Null => "unset".into(),
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// The Markdown reference: one table per TOML section, top-level keys first.
pub fn reference_markdown() -> String {
    let keys = keys();
    let mut out = String::from(
        "Generated from the code (`idp_config::reference_markdown`); regenerate with \
         `IDP_BLESS=1 cargo test -p idp-config reference`.\n",
    );
    // `None` before the first table; then the section of the table being written.
    let mut current: Option<Option<String>> = None;
    for key in &keys {
        let section = key.path.split_once('.').map(|(s, _)| s.to_owned());
        if current.as_ref() != Some(&section) {
            let title = match &section {
                Some(s) => format!("`[{s}]`"),
                None => "Top-level keys".into(),
            };
            out.push_str(&format!(
                "\n#### {title}\n\n| key | environment | type | default | meaning |\n| --- | --- | --- | --- | --- |\n"
            ));
            current = Some(section);
        }
        out.push_str(&format!(
            "| `{}` | `{}` | {} | `{}` | {} |\n",
            key.path, key.env, key.ty, key.default, key.description
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "<!-- config-reference:begin -->\n";
    const END: &str = "<!-- config-reference:end -->";

    #[test]
    fn every_key_is_described() {
        let keys = keys();
        assert!(keys.iter().any(|k| k.path == "argon2.m_cost"), "{keys:?}");
        assert!(
            keys.iter().any(|k| k.path == "adapters.fintiv.prefix"),
            "{keys:?}"
        );
        let undocumented: Vec<&str> = keys
            .iter()
            .filter(|k| k.description.is_empty())
            .map(|k| k.path.as_str())
            .collect();
        assert!(
            undocumented.is_empty(),
            "add a doc comment to: {undocumented:?}"
        );
    }

    #[test]
    fn every_top_level_key_is_settable_from_the_environment() {
        for key in keys() {
            let top = key.path.split('.').next().unwrap_or_default();
            assert!(
                crate::ENV_KEYS.contains(&top),
                "`{top}` is missing from ENV_KEYS in config/src/lib.rs"
            );
        }
    }

    #[test]
    fn rendering_names_types_and_defaults() {
        let md = reference_markdown();
        assert!(
            md.contains("| `listen` | `IDP_LISTEN` | string | `\"127.0.0.1:8080\"` |"),
            "{md}"
        );
        assert!(
            md.contains("| `redis_url` | `IDP_REDIS_URL` | string | `unset` |"),
            "{md}"
        );
        assert!(
            md.contains("| `log_format` | `IDP_LOG_FORMAT` | \"text\" \\| \"json\" | `\"text\"` |"),
            "{md}"
        );
        assert!(
            md.contains("| `argon2.m_cost` | `IDP_ARGON2__M_COST` | integer | `19456` |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| `adapters.switch.enabled` | `IDP_ADAPTERS__SWITCH__ENABLED` | boolean | `true` |"
            ),
            "{md}"
        );
    }

    /// `docs/operations.md` holds the current reference between its markers. `IDP_BLESS=1`
    /// rewrites it instead of failing.
    #[test]
    fn reference_in_operations_md_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md");
        let doc = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("{} lacks the markers {BEGIN:?} … {END:?}", path.display());
        };
        let current = &doc[b + BEGIN.len()..e];
        let fresh = reference_markdown();
        if current == fresh {
            return;
        }
        if std::env::var_os("IDP_BLESS").is_some() {
            let updated = format!("{}{fresh}{}", &doc[..b + BEGIN.len()], &doc[e..]);
            std::fs::write(&path, updated)
                .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            return;
        }
        panic!(
            "the configuration reference in docs/operations.md is out of date; regenerate it with \
             `IDP_BLESS=1 cargo test -p idp-config reference`"
        );
    }
}
