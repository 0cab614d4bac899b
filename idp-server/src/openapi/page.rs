//! `/docs`: the OpenAPI document rendered on the server as one HTML page — operations grouped
//! by surface (tag) with their parameters, bodies, responses and security, then every schema.
//! No script, no external asset: the stylesheet is inline and allowed by its hash alone, so the
//! page works offline and its CSP forbids everything else. maud escapes every interpolated
//! string.

use base64::Engine;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;
use sha2::{Digest, Sha256};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

const STYLE: &str = "\
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 2rem;color:#1b1f24}\
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #d0d7de;padding-bottom:.3rem;margin-top:2.5rem}\
code,.mono{font-family:ui-monospace,monospace;font-size:.92em}\
details.op{border:1px solid #d0d7de;border-radius:6px;margin:.5rem 0}\
details.op>summary{cursor:pointer;padding:.45rem .7rem;list-style:none}\
details.op[open]>summary{border-bottom:1px solid #d0d7de;background:#f6f8fa}\
details.op>div{padding:.4rem .9rem .8rem}\
.m{display:inline-block;min-width:4.2rem;font-weight:700;text-transform:uppercase;font-family:ui-monospace,monospace}\
.get{color:#0969da}.post{color:#1a7f37}.put{color:#9a6700}.patch{color:#8250df}.delete{color:#cf222e}\
table{border-collapse:collapse;margin:.3rem 0 .7rem;width:100%}\
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}.req{color:#cf222e}.muted{color:#57606a}\
nav a{margin-right:1rem}";

/// The CSP of the page: nothing but its own inline stylesheet.
pub fn content_security_policy() -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'none'; script-src 'none'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// The page for `doc`.
pub fn render(doc: &Value) -> String {
    let info = &doc["info"];
    let tags: Vec<&Value> = doc["tags"].as_array().into_iter().flatten().collect();
    let schemas = doc["components"]["schemas"].as_object();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (str_of(&info["title"])) " API" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (str_of(&info["title"])) " API " span.muted { (str_of(&info["version"])) } }
                p { (str_of(&info["description"])) }
                p.muted {
                    "OpenAPI " (str_of(&doc["openapi"])) " — the machine-readable document is "
                    a href="openapi.json" { "openapi.json" } "."
                }
                nav {
                    @for t in &tags {
                        a href=(format!("#tag-{}", str_of(&t["name"]))) { (str_of(&t["name"])) }
                    }
                    a href="#schemas" { "schemas" }
                }
                @for t in &tags {
                    (tag_section(doc, t))
                }
                h2 #schemas { "Schemas" }
                @for (name, schema) in schemas.into_iter().flatten() {
                    h3 id=(format!("schema-{name}")) { code { (name) } }
                    (schema_block(schema))
                }
            }
        }
    };
    page.into_string()
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn tag_section(doc: &Value, tag: &Value) -> Markup {
    let name = str_of(&tag["name"]);
    let ops = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            METHODS.iter().filter_map(move |m| {
                let op = item.get(*m)?;
                let tagged = op["tags"]
                    .as_array()
                    .is_some_and(|ts| ts.iter().any(|t| t == name));
                tagged.then_some((path, *m, op))
            })
        });
    html! {
        h2 id=(format!("tag-{name}")) { (name) }
        p { (str_of(&tag["description"])) }
        @for (path, method, op) in ops {
            (operation(doc, path, method, op))
        }
    }
}

fn operation(doc: &Value, path: &str, method: &str, op: &Value) -> Markup {
    let params = op["parameters"].as_array().filter(|p| !p.is_empty());
    html! {
        details.op id=(format!("op-{}", str_of(&op["operationId"]))) {
            summary {
                span.m.(method) { (method) } " " code { (path) } " "
                span.muted { (str_of(&op["summary"])) }
            }
            div {
                @if let Some(d) = op["description"].as_str() { p { (d) } }
                p.muted { "operationId " code { (str_of(&op["operationId"])) } }
                (security(doc, op))
                @if let Some(params) = params {
                    h4 { "Parameters" }
                    table {
                        tr { th { "name" } th { "in" } th { "type" } th { "description" } }
                        @for p in params {
                            tr {
                                td { code { (str_of(&p["name"])) }
                                    @if p["required"] == Value::Bool(true) { " " span.req { "required" } } }
                                td { (str_of(&p["in"])) }
                                td { (type_label(&p["schema"])) }
                                td { (str_of(&p["description"])) }
                            }
                        }
                    }
                }
                @if let Some(body) = op.get("requestBody") {
                    h4 { "Request body"
                        @if body["required"] == Value::Bool(true) { " " span.req { "required" } } }
                    (content(&body["content"]))
                }
                h4 { "Responses" }
                table {
                    tr { th { "status" } th { "description" } th { "body" } }
                    @for (status, r) in op["responses"].as_object().into_iter().flatten() {
                        tr {
                            td { code { (status) } }
                            td { (str_of(&r["description"])) }
                            td { (content(&r["content"])) }
                        }
                    }
                }
            }
        }
    }
}

/// What the operation requires: alternatives separated by "or", schemes of one by "and".
fn security(doc: &Value, op: &Value) -> Markup {
    let Some(reqs) = op["security"].as_array() else {
        return html! { p.muted { "No authentication." } };
    };
    let schemes = &doc["components"]["securitySchemes"];
    let alternatives: Vec<String> = reqs
        .iter()
        .map(|r| {
            let names: Vec<String> = r
                .as_object()
                .into_iter()
                .flatten()
                .map(|(n, _)| scheme_label(n, &schemes[n.as_str()]))
                .collect();
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(" and ")
            }
        })
        .collect();
    html! { p { "Authentication: " (alternatives.join(", or ")) } }
}

fn scheme_label(name: &str, s: &Value) -> String {
    match (str_of(&s["type"]), str_of(&s["scheme"])) {
        ("http", "bearer") => "Bearer token".to_owned(),
        ("http", "basic") => "HTTP Basic (client id and secret)".to_owned(),
        ("apiKey", _) => format!("header {}", str_of(&s["name"])),
        _ => name.to_owned(),
    }
}

/// A `content` map: each media type and its schema.
fn content(c: &Value) -> Markup {
    html! {
        @for (media, m) in c.as_object().into_iter().flatten() {
            div {
                span.muted.mono { (media) } " "
                (type_label(&m["schema"]))
                @if m["schema"].get("$ref").is_none() && m["schema"].get("properties").is_some() {
                    (schema_block(&m["schema"]))
                }
            }
        }
    }
}

/// A short, inline description of a schema: a link for a reference, else its type.
fn type_label(s: &Value) -> Markup {
    if let Some(r) = s["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r);
        return html! { a href=(format!("#schema-{name}")) { code { (name) } } };
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(items) = s[key].as_array() {
            let word = match key {
                "oneOf" => "one of",
                "anyOf" => "any of",
                _ => "all of",
            };
            return html! {
                (word) " ("
                @for (i, item) in items.iter().enumerate() {
                    @if i > 0 { " | " }
                    (type_label(item))
                }
                ")"
            };
        }
    }
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    html! {
        @for (i, t) in types.iter().enumerate() {
            @if i > 0 { " | " }
            @if *t == "array" {
                "array of " (type_label(&s["items"]))
            } @else {
                code { (t) }
            }
        }
        @if types.is_empty() { code { "any" } }
        @if let Some(f) = s["format"].as_str() { " " span.muted { "(" (f) ")" } }
        @if let Some(e) = s["enum"].as_array() {
            " " span.muted { "one of " (e.iter().map(Value::to_string).collect::<Vec<_>>().join(", ")) }
        }
    }
}

/// A schema in full: its description, its properties (type, required, description), or the
/// type of what it is.
fn schema_block(s: &Value) -> Markup {
    let required: Vec<&str> = s["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    html! {
        @if let Some(d) = s["description"].as_str() { p { (d) } }
        @if let Some(props) = s["properties"].as_object() {
            table {
                tr { th { "field" } th { "type" } th { "description" } }
                @for (name, p) in props {
                    tr {
                        td { code { (name) }
                            @if required.contains(&name.as_str()) { " " span.req { "required" } } }
                        td { (type_label(p)) }
                        td { (str_of(&p["description"])) }
                    }
                }
            }
        } @else {
            p { (type_label(s)) }
        }
    }
}
