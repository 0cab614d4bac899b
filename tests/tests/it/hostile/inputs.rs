//! The hostile requests: one of each kind per round, values drawn from the seeded RNG.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::{digest, hmac};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};

use super::auth::{Auth, SWITCH_SECRET};
use super::ops::{BodyKind, Operation};

/// Rounds of every kind per operation when the time budget allows (`IDP_HOSTILE_ROUNDS` to
/// explore further).
const ROUNDS: usize = 5;
pub const KINDS: usize = 18;

/// Requests per operation when the time budget allows.
pub fn full() -> usize {
    let rounds = std::env::var("IDP_HOSTILE_ROUNDS")
        .ok()
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or(ROUNDS);
    rounds * KINDS
}
/// The server's body limit in the test configuration (`[http] body_limit` default).
pub const BODY_LIMIT: usize = 65_536;
const MIB: usize = 1 << 20;

/// One request, ready to send and to describe in a failure.
#[derive(Debug, Clone)]
pub struct HostileRequest {
    /// Kind and choices, for the failure message.
    pub label: String,
    pub method: Method,
    /// Path and query, percent-encoded.
    pub target: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Option<Arc<Vec<u8>>>,
    /// Headers beyond what any server reads: a refused connection or a 431 is the right answer.
    pub oversized_headers: bool,
}

/// What came back.
#[derive(Debug)]
pub enum Outcome {
    Answer {
        status: u16,
        headers: HeaderMap,
        body: Vec<u8>,
    },
    Transport(String),
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        // A fresh connection per request: the server may close one whose body it did not read,
        // and a reused connection would then fail for the next request, not this one.
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

pub async fn send(client: &reqwest::Client, base: &str, req: &HostileRequest) -> Outcome {
    let mut builder = client.request(req.method.clone(), format!("{base}{}", req.target));
    for (name, value) in &req.headers {
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) else {
            continue;
        };
        builder = builder.header(n, v);
    }
    if let Some(body) = &req.body {
        builder = builder.body(body.as_ref().clone());
    }
    match builder.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let headers = res.headers().clone();
            match res.bytes().await {
                Ok(b) => Outcome::Answer {
                    status,
                    headers,
                    body: b.to_vec(),
                },
                Err(e) => Outcome::Transport(format!("{status}, then the body broke off: {e}")),
            }
        }
        Err(e) => Outcome::Transport(format!("{e:?}")),
    }
}

/// `/healthz` answers 200.
pub async fn healthy(client: &reqwest::Client, base: &str) -> bool {
    match client.get(format!("{base}/healthz")).send().await {
        Ok(r) => r.status().as_u16() == 200,
        Err(_) => false,
    }
}

/// Path-parameter values, already percent-encoded.
fn weird_id(rng: &mut StdRng) -> String {
    let fixed = [
        "..%2f..%2f..%2fetc%2fpasswd",
        "%2e%2e%2f%2e%2e%2f",
        "..%5c..%5cwindows",
        "%00",
        "abc%00def",
        "%ED%A0%80",
        "%C0%AF",
        "%FF%FE",
        "%F0%9F%98%80",
        "%E2%80%AE",
        "1%27%20OR%20%271%27%3D%271",
        "1%3B%20DROP%20TABLE%20accounts%3B--",
        "-1",
        "0",
        "99999999999999999999999999",
        "1e400",
        "00000000-0000-0000-0000-000000000000",
        "%7B%7D",
        "null",
        "%20",
        "a%2Fb",
        "%25",
    ];
    if rng.random_bool(0.15) {
        return "x".repeat(rng.random_range(1_000..9_000));
    }
    fixed.choose(rng).copied().unwrap_or("x").to_owned()
}

/// Strings that are valid JSON strings but poison for parsers, stores and logs.
fn hostile_string(rng: &mut StdRng) -> String {
    let fixed = [
        "\u{0}",
        "admin\u{0}",
        "\u{202e}gnp.exe",
        "\u{feff}",
        "\u{200b}",
        "😀👩‍👩‍👧‍👦🇳🇬",
        "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫ",
        "' OR '1'='1",
        "'; DROP TABLE accounts; --",
        "\"\\",
        "%s%s%s%n",
        "${jndi:ldap://x}",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        "\r\nX-Injected: 1",
        "a@b",
        "@",
        "+",
        "2348097635343",
        "22123456789",
        "1900-02-30",
        "-0",
        "",
        " ",
        "\u{10ffff}",
        "\u{fffd}",
        "ǅ",
        "İ",
    ];
    match rng.random_range(0..10) {
        0 => "A".repeat(rng.random_range(256..20_000)),
        1 => {
            let n = rng.random_range(1..64);
            (0..n).map(|_| rng.random::<char>()).collect()
        }
        _ => fixed.choose(rng).copied().unwrap_or("").to_owned(),
    }
}

/// JSON values of every type but the string the fields want.
fn wrong_type(rng: &mut StdRng) -> Value {
    let fixed = [
        json!(1),
        json!(-1),
        json!(0.5),
        json!(true),
        json!([]),
        json!({}),
        json!([null]),
        json!({"$ne": null}),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(["a", 1, null]),
    ];
    fixed.choose(rng).cloned().unwrap_or(Value::Null)
}

fn object(op: &Operation, mut value: impl FnMut(&str) -> Value) -> Value {
    let map: Map<String, Value> = op.fields.iter().map(|f| (f.clone(), value(f))).collect();
    Value::Object(map)
}

fn form_bytes(pairs: &[(String, String)]) -> Vec<u8> {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish().into_bytes()
}

/// The fields as `(name, hostile value)` pairs.
fn pairs(rng: &mut StdRng, op: &Operation) -> Vec<(String, String)> {
    op.fields
        .iter()
        .map(|f| (f.clone(), hostile_string(rng)))
        .collect()
}

const BOUNDARY: &str = "hostileboundary7MA4YWxkTrZu0gW";

fn multipart(parts: &[(&str, Option<&str>, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, filename, ctype, data) in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let file = filename.map_or(String::new(), |f| format!("; filename=\"{f}\""));
        out.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"{file}\r\n").as_bytes(),
        );
        out.extend_from_slice(format!("Content-Type: {ctype}\r\n\r\n").as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// A body of the kind the operation takes, built from `pairs`, with its content type.
fn natural_body(op: &Operation, pairs: &[(String, String)]) -> (&'static str, Vec<u8>) {
    match op.body {
        BodyKind::Form => ("application/x-www-form-urlencoded", form_bytes(pairs)),
        BodyKind::Multipart => {
            let parts: Vec<_> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), None, "text/plain", v.as_bytes()))
                .collect();
            (multipart_type(), multipart(&parts))
        }
        BodyKind::Json | BodyKind::None => {
            let map: Map<String, Value> = pairs
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            (
                "application/json",
                Value::Object(map).to_string().into_bytes(),
            )
        }
    }
}

fn multipart_type() -> &'static str {
    "multipart/form-data; boundary=hostileboundary7MA4YWxkTrZu0gW"
}

/// Builds `cases` requests for `op`, cycling through every kind of hostility.
pub fn requests(
    rng: &mut StdRng,
    op: &Operation,
    auth: &Auth,
    cases: usize,
) -> Vec<HostileRequest> {
    (0..cases)
        .map(|i| {
            let kind = if cases >= KINDS {
                i % KINDS
            } else {
                rng.random_range(0..KINDS)
            };
            one(rng, op, auth, kind)
        })
        .collect()
}

fn one(rng: &mut StdRng, op: &Operation, auth: &Auth, kind: usize) -> HostileRequest {
    let mut label = format!("kind {kind}");
    // Path parameters: sometimes plausible, mostly weird.
    let mut target = String::new();
    let mut rest = op.path.as_str();
    while let Some(start) = rest.find('{') {
        target.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        let id = if rng.random_bool(0.2) {
            uuid::Uuid::new_v4().to_string()
        } else {
            weird_id(rng)
        };
        label.push_str(&format!(", path param {:?}", truncate(&id)));
        target.push_str(&id);
        rest = &rest[end..];
    }
    target.push_str(rest);

    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    let mut content_type: Option<String> = None;
    let mut oversized_headers = false;
    let body: Option<Vec<u8>> = match kind {
        0 => {
            let bad = [
                "{",
                "{\"a\":",
                "[1,2",
                "nul",
                "{\"a\":1,}",
                "\"unterminated",
                "{'a':1}",
                "{\"a\" 1}",
                "}",
                "{\"email\":\"x\"}}",
                "\u{feff}{}",
            ];
            let b = bad.choose(rng).copied().unwrap_or("{");
            label.push_str(&format!(", malformed {b:?}"));
            content_type = Some(json_or_natural(op));
            Some(b.as_bytes().to_vec())
        }
        1 => {
            label.push_str(", wrong types");
            content_type = Some("application/json".into());
            Some(object(op, |_| wrong_type(rng)).to_string().into_bytes())
        }
        2 => {
            let b = ["{}", "[]", "\"s\"", "0", "null", "true"]
                .choose(rng)
                .copied()
                .unwrap_or("{}");
            label.push_str(&format!(", missing fields {b}"));
            content_type = Some("application/json".into());
            Some(b.as_bytes().to_vec())
        }
        3 => {
            label.push_str(", nulls");
            content_type = Some("application/json".into());
            Some(object(op, |_| Value::Null).to_string().into_bytes())
        }
        4 => {
            let n = MIB + rng.random_range(1..4096);
            label.push_str(&format!(", {n}-byte string"));
            let mut p = pairs(rng, op);
            if let Some(first) = p.first_mut() {
                first.1 = "a".repeat(n);
            } else {
                p.push(("x".into(), "a".repeat(n)));
            }
            let (ct, b) = natural_body(op, &p);
            content_type = Some(ct.into());
            Some(b)
        }
        5 => {
            label.push_str(", body one byte above the limit");
            let pad = BODY_LIMIT + 1 - "{\"x\":\"\"}".len();
            content_type = Some(json_or_natural(op));
            Some(format!("{{\"x\":\"{}\"}}", "a".repeat(pad)).into_bytes())
        }
        6 => {
            let depth = rng.random_range(200..30_000);
            label.push_str(&format!(", nesting {depth} deep"));
            content_type = Some("application/json".into());
            let mut s = String::with_capacity(depth * 7);
            let first = op.fields.first().cloned().unwrap_or_else(|| "a".into());
            s.push_str(&format!("{{\"{first}\":"));
            for _ in 0..depth {
                s.push_str(if rng.random_bool(0.5) { "[" } else { "{\"a\":" });
            }
            Some(s.into_bytes())
        }
        7 => {
            label.push_str(", unicode escapes");
            content_type = Some("application/json".into());
            let escapes = [
                "\\u0000",
                "\\ud800",
                "\\udc00",
                "\\ud800\\u0041",
                "\\u202e",
                "\\ufeff",
                "\\ud83d\\ude00",
                "\\uffff",
                "a\\u0000b",
            ];
            let mut s = String::from("{");
            for (i, f) in op.fields.iter().enumerate() {
                let e = escapes.choose(rng).copied().unwrap_or("\\u0000");
                let sep = if i == 0 { "" } else { "," };
                s.push_str(&format!("{sep}\"{f}\":\"x{e}y\""));
            }
            s.push('}');
            Some(s.into_bytes())
        }
        8 => {
            label.push_str(", invalid UTF-8 bytes");
            content_type = Some(json_or_natural(op));
            let bad: [&[u8]; 5] = [
                b"\xC0\xAF",
                b"\xFF\xFE",
                b"\xED\xA0\x80",
                b"\xE0\x80\xAF",
                b"\x80",
            ];
            let mut b = Vec::new();
            b.extend_from_slice(b"{");
            for (i, f) in op.fields.iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                b.extend_from_slice(format!("\"{f}\":\"").as_bytes());
                b.extend_from_slice(bad.choose(rng).copied().unwrap_or(b"\x80"));
                b.push(b'"');
            }
            b.push(b'}');
            if op.body == BodyKind::Form {
                b = b"grant_type=\xC0\xAF&token=\xFF\xFE&client_id=%ED%A0%80".to_vec();
            }
            Some(b)
        }
        9 => {
            // The other encoding: a form on JSON routes, JSON on form routes.
            let p = pairs(rng, op);
            if op.body == BodyKind::Form {
                label.push_str(", JSON body on a form route");
                content_type = Some("application/json".into());
                Some(natural_body(&as_json(op), &p).1)
            } else {
                label.push_str(", form body on a JSON route");
                content_type = Some("application/x-www-form-urlencoded".into());
                Some(form_bytes(&p))
            }
        }
        10 => {
            let ct = [
                "text/plain",
                "application/json; charset=utf-16",
                "application/xml",
                "multipart/form-data",
                "application/jsonx",
                "application/x-www-form-urlencoded; charset=koi8-r",
                ";;;",
                "application/\u{7f}json",
            ]
            .choose(rng)
            .copied()
            .unwrap_or("text/plain");
            label.push_str(&format!(", content type {ct:?}"));
            content_type = Some(ct.into());
            Some(natural_body(op, &pairs(rng, op)).1)
        }
        11 => {
            let p = pairs(rng, op);
            label.push_str(&format!(", hostile values {}", truncate(&format!("{p:?}"))));
            let (ct, b) = natural_body(op, &p);
            content_type = Some(ct.into());
            Some(b)
        }
        12 => {
            let n = rng.random_range(100..300);
            label.push_str(&format!(", {n} extra headers"));
            for i in 0..n {
                headers.push((format!("x-hostile-{i}"), b"v".to_vec()));
            }
            let (ct, b) = natural_body(op, &pairs(rng, op));
            content_type = Some(ct.into());
            Some(b)
        }
        13 => {
            let n = if rng.random_bool(0.3) {
                MIB
            } else {
                rng.random_range(8_000..30_000)
            };
            oversized_headers = n >= 64 * 1024;
            label.push_str(&format!(", one {n}-byte header"));
            headers.push(("x-hostile".into(), vec![b'h'; n]));
            let (ct, b) = natural_body(op, &pairs(rng, op));
            content_type = Some(ct.into());
            Some(b)
        }
        14 => {
            // Within what a URI can carry (http's limit is 64 KiB).
            let short: Vec<_> = pairs(rng, op)
                .into_iter()
                .map(|(k, v)| (k, v.chars().take(300).collect::<String>()))
                .collect();
            let mut q = form_bytes(&short);
            q.extend_from_slice(b"&&&=&%zz&a[]=1&a[]=2&%00=%00&token=%ED%A0%80");
            let q = String::from_utf8_lossy(&q).into_owned();
            label.push_str(&format!(", query {}", truncate(&q)));
            target.push('?');
            target.push_str(&q);
            None
        }
        15 => {
            label.push_str(", empty body");
            content_type = Some(json_or_natural(op));
            Some(Vec::new())
        }
        16 => {
            let first = op.fields.first().cloned().unwrap_or_else(|| "a".into());
            let b = [
                format!("{{\"{first}\":\"a\",\"{first}\":\"b\"}}"),
                format!("{{\"{first}\":1e400}}"),
                format!("{{\"{first}\":-0}}"),
                format!("{{\"{first}\":18446744073709551616}}"),
                format!("{{\"{first}\":0.1e-999999}}"),
                format!("{{\"{first}\":\"a\"}}   trailing"),
            ]
            .choose(rng)
            .cloned()
            .unwrap_or_default();
            label.push_str(&format!(", odd JSON {}", truncate(&b)));
            content_type = Some("application/json".into());
            Some(b.into_bytes())
        }
        _ => {
            let names = ["file", "avatar", "x\u{0}", "../../f"];
            let name = names.choose(rng).copied().unwrap_or("file");
            let filenames = ["../../etc/passwd", "a\u{0}.png", "😀.png", "x.exe", ""];
            let filename = filenames.choose(rng).copied().unwrap_or("");
            let ctypes = [
                "image/png",
                "text/html",
                "application/x-msdownload",
                "",
                "a/b/c",
            ];
            let ctype = ctypes.choose(rng).copied().unwrap_or("");
            let data: &[u8] = [
                &b"\x89PNG\r\n\x1a\n\0\0"[..],
                b"<html>",
                b"\xff\xd8\xff",
                b"",
            ]
            .choose(rng)
            .copied()
            .unwrap_or(b"");
            label.push_str(&format!(
                ", multipart part {name:?} file {filename:?} type {ctype:?}"
            ));
            content_type = Some(
                if rng.random_bool(0.8) {
                    multipart_type()
                } else {
                    "multipart/form-data; boundary="
                }
                .into(),
            );
            let mut b = multipart(&[(name, Some(filename), ctype, data)]);
            if rng.random_bool(0.3) {
                b.truncate(b.len() / 2);
                label.push_str(", cut short");
            }
            Some(b)
        }
    };

    // Credentials: mostly valid (so that bodies get checked), sometimes none or garbage.
    let roll = rng.random_range(0..10);
    if roll < 6 {
        label.push_str(", valid auth");
        for (k, v) in &auth.headers {
            headers.push((k.clone(), v.clone().into_bytes()));
        }
        if auth.switch_checksum {
            let cs = checksum(body.as_deref().unwrap_or_default());
            headers.push(("swi-cs".into(), cs.into_bytes()));
        }
    } else if roll < 8 {
        let (name, value) = garbage_auth(rng);
        label.push_str(&format!(
            ", garbage {name} {:?}",
            truncate(&String::from_utf8_lossy(&value))
        ));
        headers.push((name.into(), value));
    } else {
        label.push_str(", no auth");
    }
    if let Some(ct) = content_type {
        headers.push(("content-type".into(), ct.into_bytes()));
    }
    HostileRequest {
        label,
        method: op.method.clone(),
        target,
        headers,
        body: body.map(Arc::new),
        oversized_headers,
    }
}

fn json_or_natural(op: &Operation) -> String {
    natural_body(op, &[]).0.to_owned()
}

fn as_json(op: &Operation) -> Operation {
    Operation {
        body: BodyKind::Json,
        ..op.clone()
    }
}

fn garbage_auth(rng: &mut StdRng) -> (&'static str, Vec<u8>) {
    let values: [&[u8]; 12] = [
        b"Bearer ",
        b"Bearer a.b.c",
        b"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        b"Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6Ii4uLy4uL2V0Yy9wYXNzd2QifQ.e30.AAAA",
        b"Bearer \xff\xfe",
        b"Basic !!!",
        b"Basic Og==",
        b"Basic \xc0\xaf",
        b"bearer  x  y",
        b"Digest x",
        b"\x01\x02",
        b"%00",
    ];
    let names = [
        "authorization",
        "api-key",
        "tenantName",
        "swi-cid",
        "swi-cs",
        "cookie",
    ];
    let name = names.choose(rng).copied().unwrap_or("authorization");
    let value = values.choose(rng).copied().unwrap_or(b"Bearer ").to_vec();
    if rng.random_bool(0.2) {
        return (
            name,
            "Bearer "
                .bytes()
                .chain(std::iter::repeat_n(b'A', 16_000))
                .collect(),
        );
    }
    (name, value)
}

/// `SWI-CS`: the hex HMAC-SHA512 of the body keyed with the hex SHA-256 of the client secret.
fn checksum(body: &[u8]) -> String {
    let key = hex(digest::digest(&digest::SHA256, SWITCH_SECRET.as_bytes()).as_ref());
    let key = hmac::Key::new(hmac::HMAC_SHA512, key.as_bytes());
    hex(hmac::sign(&key, body).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 80 {
        s.chars().take(80).collect::<String>() + "…"
    } else {
        s.to_owned()
    }
}
