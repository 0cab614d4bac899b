//! Blob storage behind [`idp_core::blobs::BlobStore`]: a local directory (the default,
//! `<data_dir>/blobs`), or an S3-compatible object store ([`S3Blobs`], `blob_url`) when the
//! replicas share no disk.
//!
//! In the local directory, files are written to a temporary name and renamed into place, so a reader never sees half a
//! file; keys are 128 random bits in hex plus the extension of the (sniffed) content type.

mod s3;
#[cfg(any(test, feature = "test-s3"))]
pub mod s3_test_server;

use std::path::PathBuf;

use async_trait::async_trait;
use idp_core::blobs::{Blob, BlobError, BlobStore, content_type_of_key, extension, is_valid_key};

pub use s3::{S3Blobs, S3UrlError};

/// Files in one directory, created on first use.
#[derive(Debug, Clone)]
pub struct LocalDirBlobs {
    dir: PathBuf,
}

impl LocalDirBlobs {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

fn io(e: std::io::Error) -> BlobError {
    BlobError::Io(e.to_string())
}

/// A new key for a file of `content_type`: 128 random bits in hex and the type's extension.
fn new_key(content_type: &str) -> Result<String, BlobError> {
    let ext = extension(content_type)
        .ok_or_else(|| BlobError::Io(format!("content type {content_type} not allowed")))?;
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("system random source");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{hex}.{ext}"))
}

#[async_trait]
impl BlobStore for LocalDirBlobs {
    async fn put(&self, bytes: Vec<u8>, content_type: &'static str) -> Result<String, BlobError> {
        let key = new_key(content_type)?;
        let dir = self.dir.clone();
        let path = dir.join(&key);
        let tmp = dir.join(format!(".{key}.tmp"));
        tokio::task::spawn_blocking(move || -> Result<(), BlobError> {
            std::fs::create_dir_all(&dir).map_err(io)?;
            std::fs::write(&tmp, &bytes).map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                io(e)
            })
        })
        .await
        .map_err(|e| BlobError::Io(e.to_string()))??;
        Ok(key)
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError> {
        let (true, Some(content_type)) = (is_valid_key(key), content_type_of_key(key)) else {
            return Ok(None);
        };
        match tokio::fs::read(self.dir.join(key)).await {
            Ok(bytes) => Ok(Some(Blob {
                bytes,
                content_type,
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_then_get() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalDirBlobs::new(dir.path().join("blobs"));
        let key = store
            .put(b"%PDF-1.4 hello".to_vec(), "application/pdf")
            .await
            .expect("put");
        assert!(key.ends_with(".pdf") && is_valid_key(&key), "{key}");
        let blob = store.get(&key).await.expect("get").expect("found");
        assert_eq!(blob.bytes, b"%PDF-1.4 hello");
        assert_eq!(blob.content_type, "application/pdf");
        assert!(store.get("../../etc/passwd").await.expect("get").is_none());
        let other = "0123456789abcdef0123456789abcdef.png";
        assert!(store.get(other).await.expect("get").is_none());
        assert!(store.put(b"x".to_vec(), "text/html").await.is_err());
    }
}
