//! Uploads in an S3-compatible object store (AWS S3, MinIO, Ceph, R2, …), for deployments whose
//! replicas share no disk.
//!
//! Requests are signed with AWS Signature V4 by `rusty-s3` (sans-IO: it only builds presigned
//! URLs, valid for [`SIGNED_FOR`]) and sent with reqwest. Keys are made as in the local store
//! (128 random bits in hex plus the extension of the sniffed content type), so a key read back
//! is checked before any request and never names another object.
//!
//! Configured by one URL (`blob_url`):
//! `s3://ACCESS_KEY:SECRET_KEY@HOST[:PORT]/BUCKET?region=REGION&style=path|virtual`. `s3://`
//! speaks HTTPS; `s3+http://` speaks plain HTTP, for a store on the same host or network. Keys
//! with `/` or `+` must be percent-encoded. `region` defaults to `us-east-1`, `style` to `path`
//! (`BUCKET` in the path, which every S3-compatible store accepts; `virtual` puts it in the
//! host name, as AWS prefers).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use idp_core::blobs::{Blob, BlobError, BlobStore, content_type_of_key, is_valid_key};
use percent_encoding::percent_decode_str;
use reqwest::StatusCode;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use url::Url;

use super::new_key;

/// How long a signed request stays valid: long enough for a slow upload to start, short
/// enough that a URL seen in transit is useless soon after.
const SIGNED_FOR: Duration = Duration::from_secs(60);
/// The longest one request may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Objects in one bucket of an S3-compatible store.
#[derive(Clone)]
pub struct S3Blobs {
    bucket: Bucket,
    credentials: Credentials,
    http: reqwest::Client,
}

/// Not derived: the credentials must not reach a log.
impl fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Blobs")
            .field("bucket", &self.bucket.base_url().as_str())
            .finish_non_exhaustive()
    }
}

/// A `blob_url` that cannot be used; the message names what is wrong, never the secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("blob_url: {0}")]
pub struct S3UrlError(String);

fn bad(msg: impl Into<String>) -> S3UrlError {
    S3UrlError(msg.into())
}

fn decoded(part: &str, what: &str) -> Result<String, S3UrlError> {
    let s = percent_decode_str(part)
        .decode_utf8()
        .map_err(|_| bad(format!("the {what} is not UTF-8 once percent-decoded")))?;
    if s.is_empty() {
        return Err(bad(format!("the {what} is missing")));
    }
    Ok(s.into_owned())
}

impl S3Blobs {
    /// The store a `blob_url` names (see the module documentation). Only checks the URL: an
    /// unreachable store or a missing bucket shows at the first upload.
    pub fn from_url(blob_url: &str) -> Result<Self, S3UrlError> {
        let url = Url::parse(blob_url).map_err(|e| bad(format!("not a URL: {e}")))?;
        let scheme = match url.scheme() {
            "s3" => "https",
            "s3+http" => "http",
            other => return Err(bad(format!("scheme `{other}`: use s3:// or s3+http://"))),
        };
        let host = url.host_str().ok_or_else(|| bad("the host is missing"))?;
        let key = decoded(url.username(), "access key")?;
        let secret = decoded(url.password().unwrap_or(""), "secret key")?;
        let bucket = url.path().trim_matches('/');
        if bucket.is_empty() || bucket.contains('/') {
            return Err(bad("the path must be the bucket's name alone"));
        }
        if !is_bucket_name(bucket) {
            return Err(bad(format!(
                "`{bucket}` is not a bucket name (3 to 63 of a-z, 0-9, `.` and `-`, starting \
                 and ending with a letter or digit)"
            )));
        }
        let (mut region, mut style) = ("us-east-1".to_owned(), UrlStyle::Path);
        for (name, value) in url.query_pairs() {
            match (name.as_ref(), value.as_ref()) {
                ("region", r) if !r.is_empty() => region = r.to_owned(),
                ("style", "path") => style = UrlStyle::Path,
                ("style", "virtual") => style = UrlStyle::VirtualHost,
                (n, _) => return Err(bad(format!("unknown or empty parameter `{n}`"))),
            }
        }
        let endpoint = match url.port() {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        };
        let endpoint = Url::parse(&endpoint).map_err(|e| bad(format!("endpoint: {e}")))?;
        let bucket = Bucket::new(endpoint, style, bucket.to_owned(), region)
            .map_err(|e| bad(format!("bucket: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| bad(format!("HTTP client: {e}")))?;
        Ok(Self {
            bucket,
            credentials: Credentials::new(key, secret),
            http,
        })
    }
}

/// S3's rule for bucket names; a store refuses any other name only at the first request.
fn is_bucket_name(name: &str) -> bool {
    let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && edge(name.bytes().next())
        && edge(name.bytes().last())
}

/// A failed request, without its URL: a presigned URL carries a signature.
fn request_failed(e: reqwest::Error) -> BlobError {
    BlobError::Io(format!("S3 request failed: {}", e.without_url()))
}

fn refused(op: &str, status: StatusCode) -> BlobError {
    BlobError::Io(format!("S3 {op} answered {status}"))
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, bytes: Vec<u8>, content_type: &'static str) -> Result<String, BlobError> {
        let key = new_key(content_type)?;
        let url = self
            .bucket
            .put_object(Some(&self.credentials), &key)
            .sign(SIGNED_FOR);
        let res = self
            .http
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes)
            .send()
            .await
            .map_err(request_failed)?;
        if !res.status().is_success() {
            return Err(refused("PUT", res.status()));
        }
        Ok(key)
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError> {
        let (true, Some(content_type)) = (is_valid_key(key), content_type_of_key(key)) else {
            return Ok(None);
        };
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        let res = self.http.get(url).send().await.map_err(request_failed)?;
        match res.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let bytes = res.bytes().await.map_err(request_failed)?;
                Ok(Some(Blob {
                    bytes: bytes.to_vec(),
                    content_type,
                }))
            }
            s => Err(refused("GET", s)),
        }
    }
}

#[cfg(test)]
mod tests;
