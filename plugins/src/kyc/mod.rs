//! BVN verification behind [`idp_core::kyc::BvnVerifier`]:
//! - [`Sandbox`] (the default): deterministic, no network. Every 11-digit BVN that begins with
//!   `22` is verified, held by `Test` `User<last four digits>` born 1990-01-01; every other
//!   well-formed BVN is not found.
//! - [`HttpProvider`]: a KYC provider over HTTP. `POST {url}` with the JSON body `{"bvn": "..."}`
//!   and the header `Authorization: Bearer {key}`; a 2xx answer
//!   `{"first_name","last_name","date_of_birth"?}` (or the same fields under `data`) verifies,
//!   404 (or a 2xx with `"found": false`) is not found, and anything else — other statuses,
//!   unreadable bodies, connection errors, timeouts (5 s by default) — is unavailable.

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use idp_core::kyc::{BvnCheck, BvnHolder, BvnVerifier};
use reqwest::{Client, StatusCode, Url};
use serde_json::{Value, json};

/// The local sandbox (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sandbox;

#[async_trait]
impl BvnVerifier for Sandbox {
    async fn verify_bvn(&self, bvn: &str) -> BvnCheck {
        if bvn.len() == 11 && bvn.bytes().all(|b| b.is_ascii_digit()) && bvn.starts_with("22") {
            BvnCheck::Verified(BvnHolder {
                first_name: "Test".into(),
                last_name: format!("User{}", &bvn[7..]),
                date_of_birth: NaiveDate::from_ymd_opt(1990, 1, 1),
            })
        } else {
            BvnCheck::NotFound
        }
    }
}

/// A KYC provider over HTTP (see the module docs).
pub struct HttpProvider {
    client: Client,
    url: Url,
    key: Option<String>,
}

/// Why an [`HttpProvider`] could not be built.
#[derive(Debug, thiserror::Error)]
#[error("KYC provider: {0}")]
pub struct KycConfigError(String);

impl HttpProvider {
    /// A provider at `url` (http or https) with `key` as its bearer credential, each request
    /// bounded by `timeout`.
    pub fn new(url: &str, key: Option<&str>, timeout: Duration) -> Result<Self, KycConfigError> {
        let url = Url::parse(url).map_err(|e| KycConfigError(format!("not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(KycConfigError("the scheme must be http or https".into()));
        }
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| KycConfigError(e.to_string()))?;
        Ok(Self {
            client,
            url,
            key: key.map(str::to_owned),
        })
    }
}

#[async_trait]
impl BvnVerifier for HttpProvider {
    async fn verify_bvn(&self, bvn: &str) -> BvnCheck {
        let mut req = self
            .client
            .post(self.url.clone())
            .json(&json!({ "bvn": bvn }));
        if let Some(key) = &self.key {
            req = req.bearer_auth(key);
        }
        let res = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "KYC provider unreachable");
                return BvnCheck::Unavailable;
            }
        };
        let status = res.status();
        if status == StatusCode::NOT_FOUND {
            return BvnCheck::NotFound;
        }
        if !status.is_success() {
            tracing::warn!(%status, "KYC provider refused the request");
            return BvnCheck::Unavailable;
        }
        let body: Value = match res.json().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "KYC provider answer unreadable");
                return BvnCheck::Unavailable;
            }
        };
        holder_from(&body)
    }
}

fn holder_from(body: &Value) -> BvnCheck {
    let data = if body["data"].is_object() {
        &body["data"]
    } else {
        body
    };
    if data["found"] == Value::Bool(false) {
        return BvnCheck::NotFound;
    }
    match (data["first_name"].as_str(), data["last_name"].as_str()) {
        (Some(f), Some(l)) => BvnCheck::Verified(BvnHolder {
            first_name: f.to_owned(),
            last_name: l.to_owned(),
            date_of_birth: data["date_of_birth"]
                .as_str()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        }),
        _ => {
            tracing::warn!("KYC provider answer without names");
            BvnCheck::Unavailable
        }
    }
}

/// The configured provider: [`HttpProvider`] at `url` when given (5 s timeout), else the
/// [`Sandbox`].
pub fn from_config(
    url: Option<&str>,
    key: Option<&str>,
) -> Result<Arc<dyn BvnVerifier>, KycConfigError> {
    Ok(match url.filter(|u| !u.trim().is_empty()) {
        Some(u) => Arc::new(HttpProvider::new(u, key, Duration::from_secs(5))?),
        None => Arc::new(Sandbox),
    })
}
