//! Uploaded files (avatars, documents): the storage contract ([`BlobStore`], implemented in
//! `idp-plugins::blobs`) and the rules every upload follows ([`Blobs`]): a size limit, and a
//! content-type allow-list decided from the file's own bytes (magic numbers), never from what
//! the client claims.

use std::sync::Arc;

use async_trait::async_trait;

use crate::authz::Context;
use crate::error::{Error, Result};

/// A stored file as read back.
#[derive(Clone, PartialEq, Eq)]
pub struct Blob {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blob")
            .field("len", &self.bytes.len())
            .field("content_type", &self.content_type)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The backing store failed (disk, network). The detail is for logs only.
    #[error("blob store: {0}")]
    Io(String),
}

impl From<BlobError> for Error {
    fn from(e: BlobError) -> Self {
        tracing::warn!(error = %e, "blob store failed");
        Self::Unavailable
    }
}

/// Where uploaded files live. Keys are chosen by the store, are unguessable, and are safe to
/// put in a URL path (`[0-9a-f]{32}.ext`).
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` of an allowed `content_type` (one of [`ALLOWED`]) and returns its key.
    async fn put(&self, bytes: Vec<u8>, content_type: &'static str) -> Result<String, BlobError>;
    /// The file under `key`, or None when there is none (or `key` is not a key this store
    /// could have made).
    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError>;
}

/// Content types an upload may have, with the file extension a key gets.
pub const ALLOWED: [(&str, &str); 4] = [
    ("image/png", "png"),
    ("image/jpeg", "jpg"),
    ("image/webp", "webp"),
    ("application/pdf", "pdf"),
];

/// Default largest upload: 2 MiB.
pub const DEFAULT_MAX_BYTES: usize = 2 * 1024 * 1024;

/// The content type of `bytes` by their magic number, if it is one of [`ALLOWED`].
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// The extension keys of `content_type` end with.
pub fn extension(content_type: &str) -> Option<&'static str> {
    ALLOWED
        .iter()
        .find(|(ct, _)| *ct == content_type)
        .map(|(_, ext)| *ext)
}

/// The content type of a key by its extension.
pub fn content_type_of_key(key: &str) -> Option<&'static str> {
    let (_, ext) = key.rsplit_once('.')?;
    ALLOWED.iter().find(|(_, e)| *e == ext).map(|(ct, _)| *ct)
}

/// True for keys of the form a store makes: 32 lower-case hex digits, a dot, an allowed
/// extension. Anything else (path separators, `..`) is never looked up.
pub fn is_valid_key(key: &str) -> bool {
    match key.split_once('.') {
        Some((id, _)) => {
            id.len() == 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                && content_type_of_key(key).is_some()
        }
        None => false,
    }
}

/// A stored upload: its key and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub key: String,
    pub content_type: &'static str,
    pub size: usize,
}

/// The upload service: a store and the rules uploads follow. Cheap to clone.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn BlobStore>,
    max_bytes: usize,
}

impl Blobs {
    pub fn new(store: Arc<dyn BlobStore>, max_bytes: usize) -> Self {
        Self { store, max_bytes }
    }

    /// The largest upload accepted, in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Stores a file uploaded by a signed-in account: at most [`Self::max_bytes`], and of an
    /// allowed type as its bytes say (what the client declared is not trusted).
    pub async fn upload(&self, ctx: &Context, bytes: Vec<u8>) -> Result<StoredBlob> {
        if ctx.principal.account_id().is_none() {
            return Err(Error::Unauthenticated);
        }
        if bytes.is_empty() {
            return Err(Error::invalid("file", "is empty"));
        }
        if bytes.len() > self.max_bytes {
            return Err(Error::invalid(
                "file",
                format!("is larger than {} bytes", self.max_bytes),
            ));
        }
        let content_type = sniff(&bytes).ok_or_else(|| {
            Error::invalid(
                "file",
                "must be a PNG, JPEG or WebP image or a PDF document",
            )
        })?;
        let size = bytes.len();
        let key = self.store.put(bytes, content_type).await?;
        tracing::info!(key, content_type, size, "file uploaded");
        Ok(StoredBlob {
            key,
            content_type,
            size,
        })
    }

    /// A stored file by key; None for unknown or malformed keys.
    pub async fn fetch(&self, key: &str) -> Result<Option<Blob>> {
        if !is_valid_key(key) {
            return Ok(None);
        }
        Ok(self.store.get(key).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_allowed_types_only() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"GIF89a"), None);
    }

    #[test]
    fn keys_are_strict() {
        assert!(is_valid_key("0123456789abcdef0123456789abcdef.png"));
        assert!(!is_valid_key("../../etc/passwd"));
        assert!(!is_valid_key("0123456789abcdef0123456789abcdef.html"));
        assert!(!is_valid_key("0123456789ABCDEF0123456789abcdef.png"));
        assert!(!is_valid_key("0123456789abcdef0123456789abcdef.png/x"));
    }
}
