//! The verdict on one answer: below 500, and every 4xx in the envelope of its surface.

use serde_json::Value;

use super::inputs::{BODY_LIMIT, HostileRequest, Outcome};
use super::ops::Surface;

/// `Ok` when the answer is acceptable for hostile input; `Err` says what is wrong.
pub fn judge(
    surface: Surface,
    takes_body: bool,
    req: &HostileRequest,
    outcome: &Outcome,
) -> Result<(), String> {
    let (status, headers, body) = match outcome {
        Outcome::Answer {
            status,
            headers,
            body,
        } => (*status, headers, body),
        // Headers past every server's limit: hyper may close the connection instead of answering.
        Outcome::Transport(_) if req.oversized_headers => return Ok(()),
        // A body the server does not read (over the limit, or sent to a route that takes none)
        // is left in the socket when the answer is done; hyper then closes the connection, and
        // Linux turns that close into a reset, which can reach the client before it has read
        // the whole answer (hyper has no lingering close). A transport artefact, not a crash:
        // `/healthz` is checked after every batch.
        Outcome::Transport(_) if unread_body(req, takes_body) => return Ok(()),
        Outcome::Transport(e) => return Err(format!("no answer: {e}")),
    };
    let text = String::from_utf8_lossy(body);
    let shown = text.chars().take(300).collect::<String>();
    if status >= 500 {
        return Err(format!("{status} {shown}"));
    }
    if !(400..500).contains(&status) {
        return Ok(());
    }
    // hyper's own answer to a request head it will not read: no surface saw it.
    if status == 431 || (status == 400 && req.oversized_headers) {
        return Ok(());
    }
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let html = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/html"));
    let ok = match &json {
        // Unknown routes and methods are the router's, not a surface's: `{"error","message"}`.
        Some(v) if (status == 404 || status == 405) && is_plain(v) => true,
        Some(v) => match surface {
            Surface::Fintract => str_at(v, "/detail"),
            Surface::BioEntrust => {
                str_at(v, "/error") || (v["status"] == "error" && str_at(v, "/message"))
            }
            Surface::Fintiv => {
                str_at(v, "/contextResponse/statusCode")
                    && str_at(v, "/contextResponse/statusMessage")
                    && v["responseData"].is_null()
            }
            Surface::Switch => str_at(v, "/message"),
            Surface::Oidc => str_at(v, "/error"),
            Surface::Root => is_plain(v),
        },
        // The OIDC pages answer browsers in HTML; a bearer challenge may come with no body.
        None if surface == Surface::Oidc => {
            html || (body.is_empty() && headers.contains_key("www-authenticate"))
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{status} not in the {surface:?} envelope: {shown:?}"
        ))
    }
}

/// Whether part of the request body may have been left unread by the server.
fn unread_body(req: &HostileRequest, takes_body: bool) -> bool {
    let len = req.body.as_ref().map_or(0, |b| b.len());
    len > BODY_LIMIT || (len > 0 && !takes_body)
}

fn str_at(v: &Value, pointer: &str) -> bool {
    v.pointer(pointer).is_some_and(Value::is_string)
}

fn is_plain(v: &Value) -> bool {
    str_at(v, "/error") && str_at(v, "/message")
}
