//! Compact JWS (RFC 7515) framing: building the signing input, and taking a token apart before
//! anything trusts it. Every failure is a message for logs; nothing here panics on any input.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::model::SigningAlg;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest token accepted (bytes). Ours are well under 4 KiB; this only bounds the work a
/// garbage input can cause.
pub(crate) const MAX_TOKEN_LEN: usize = 64 * 1024;
/// Longest encoded header accepted (bytes).
const MAX_HEADER_LEN: usize = 2 * 1024;
/// Longest `kid` accepted (ours are 22 characters).
const MAX_KID_LEN: usize = 128;

#[derive(Serialize)]
struct OutHeader<'a> {
    alg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
    kid: &'a str,
}

/// `base64url(header) . base64url(claims)`; an empty `typ` is left out of the header.
pub(crate) fn signing_input(
    alg: SigningAlg,
    typ: &str,
    kid: &str,
    claims: &Value,
) -> Result<String, String> {
    let header = OutHeader {
        alg: alg.as_str(),
        typ: (!typ.is_empty()).then_some(typ),
        kid,
    };
    let header = serde_json::to_vec(&header).map_err(|e| format!("header: {e}"))?;
    let claims = serde_json::to_vec(claims).map_err(|e| format!("claims: {e}"))?;
    let mut out = URL_SAFE_NO_PAD.encode(header);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut out);
    Ok(out)
}

pub(crate) fn encode_signature(signing_input: String, signature: &[u8]) -> String {
    let mut out = signing_input;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut out);
    out
}

#[derive(Deserialize)]
struct InHeader {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    /// Extensions we would be required to understand: we understand none.
    crit: Option<Value>,
    /// RFC 7797 unencoded payload: refused too (it also needs `crit`, but be explicit).
    b64: Option<Value>,
}

/// A token taken apart, nothing checked but its shape and header.
pub(crate) struct Parts<'a> {
    pub alg: SigningAlg,
    pub kid: String,
    pub typ: Option<String>,
    /// `header.payload` as it appears in the token: what the signature covers.
    pub signing_input: &'a str,
    pub payload: &'a str,
    pub signature: Vec<u8>,
}

pub(crate) fn split(token: &str) -> Result<Parts<'_>, String> {
    if token.len() > MAX_TOKEN_LEN {
        return Err("token too long".into());
    }
    let mut pieces = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err("not a compact JWS (three dot-separated parts)".into());
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err("empty JWS part".into());
    }
    if header.len() > MAX_HEADER_LEN {
        return Err("header too long".into());
    }
    // Both parts are ASCII-delimited slices of `token`, so this is a char boundary.
    let signing_input = &token[..header.len() + 1 + payload.len()];
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| "header is not base64url")?;
    let header: InHeader =
        serde_json::from_slice(&header).map_err(|e| format!("header is not a JWS header: {e}"))?;
    if header.crit.is_some() || header.b64.is_some() {
        return Err("header extensions (crit, b64) are not supported".into());
    }
    // Only our three asymmetric algorithms: `none`, HS* and everything else stop here.
    let alg: SigningAlg = header
        .alg
        .parse()
        .map_err(|_| format!("algorithm {:.32} refused", header.alg))?;
    let kid = header.kid.ok_or("header has no kid")?;
    if kid.is_empty() || kid.len() > MAX_KID_LEN {
        return Err("kid out of range".into());
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "signature is not base64url")?;
    Ok(Parts {
        alg,
        kid,
        typ: header.typ,
        signing_input,
        payload,
        signature,
    })
}

/// The claims of a token whose signature checked out: a JSON object.
pub(crate) fn claims(payload: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| "payload is not base64url")?;
    let claims: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("payload is not JSON: {e}"))?;
    if !claims.is_object() {
        return Err("claims are not a JSON object".into());
    }
    Ok(claims)
}
