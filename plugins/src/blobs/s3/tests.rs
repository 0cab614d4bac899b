//! Against a real S3 protocol server in process ([`s3_test_server`]), which checks every
//! request's Signature V4 against its one access key.

use std::net::SocketAddr;

use super::super::s3_test_server;
use super::*;

const ACCESS: &str = "idp-test";
/// With `/` and `+`, which the URL must carry percent-encoded.
const SECRET: &str = "s3cr/t+key-of-the-test";
const BUCKET: &str = "uploads";

async fn server(root: &std::path::Path) -> SocketAddr {
    s3_test_server::spawn(root, BUCKET, ACCESS, SECRET).await
}

fn url(addr: SocketAddr, secret: &str) -> String {
    let secret: String =
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    format!("s3+http://{ACCESS}:{secret}@{addr}/{BUCKET}?region=us-east-1")
}

#[tokio::test]
async fn uploads_go_to_the_bucket_and_come_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = server(dir.path()).await;
    let store = S3Blobs::from_url(&url(addr, SECRET)).expect("store");

    let png = b"\x89PNG\r\n\x1a\n not really an image".to_vec();
    let key = store.put(png.clone(), "image/png").await.expect("put");
    assert!(key.ends_with(".png") && is_valid_key(&key), "{key}");
    // It is in the object store, not somewhere local.
    let on_server = std::fs::read(dir.path().join(BUCKET).join(&key)).expect("object file");
    assert_eq!(on_server, png);

    let blob = store.get(&key).await.expect("get").expect("found");
    assert_eq!(blob.bytes, png);
    assert_eq!(blob.content_type, "image/png");

    let other = "0123456789abcdef0123456789abcdef.png";
    assert!(store.get(other).await.expect("get").is_none());
    // Keys the store could not have made are never sent.
    for bad in [
        "../uploads/x.png",
        "a/b.png",
        "0123456789abcdef0123456789abcdef.exe",
    ] {
        assert!(store.get(bad).await.expect("get").is_none(), "{bad}");
    }
    assert!(store.put(b"<html>".to_vec(), "text/html").await.is_err());
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_not_told() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = server(dir.path()).await;
    let store = S3Blobs::from_url(&url(addr, "not-the-secret")).expect("store");
    let err = store
        .put(b"%PDF-1.4".to_vec(), "application/pdf")
        .await
        .expect_err("refused");
    let msg = err.to_string();
    assert!(msg.contains("403"), "{msg}");
    assert!(
        !msg.contains("not-the-secret") && !msg.contains("Signature"),
        "{msg}"
    );
    let stored = std::fs::read_dir(dir.path().join(BUCKET))
        .expect("bucket")
        .count();
    assert_eq!(stored, 0, "nothing stored");
}

#[tokio::test]
async fn an_unreachable_store_fails_without_its_signed_url() {
    // A port nothing listens on.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let store = S3Blobs::from_url(&url(addr, SECRET)).expect("store");
    let err = store
        .get("0123456789abcdef0123456789abcdef.pdf")
        .await
        .expect_err("unreachable");
    let msg = err.to_string();
    assert!(msg.contains("S3 request failed"), "{msg}");
    assert!(!msg.contains("X-Amz") && !msg.contains(ACCESS), "{msg}");
}

#[test]
fn blob_urls_are_checked_and_never_echo_the_secret() {
    for (bad, why) in [
        ("https://k:s@host/b", "scheme"),
        ("s3://host/b", "access key"),
        ("s3://k@host/b", "secret key"),
        ("s3://k:s@host/", "bucket"),
        ("s3://k:s@host/b/c", "bucket"),
        ("s3://k:s@host/up", "not a bucket name"),
        ("s3://k:s@host/Uploads", "not a bucket name"),
        ("s3://k:s@host/-uploads", "not a bucket name"),
        ("s3://k:s@host/bbb?colour=red", "parameter"),
        ("not a url", "not a URL"),
    ] {
        let err = S3Blobs::from_url(bad).expect_err(bad).to_string();
        assert!(err.contains(why), "{bad}: {err}");
    }
    let store = S3Blobs::from_url(
        "s3://AKIA:very-secret@s3.eu-west-1.amazonaws.com/pics?region=eu-west-1&style=virtual",
    )
    .expect("virtual-host style");
    let shown = format!("{store:?}");
    assert!(
        shown.contains("https://pics.s3.eu-west-1.amazonaws.com"),
        "{shown}"
    );
    assert!(
        !shown.contains("very-secret") && !shown.contains("AKIA"),
        "{shown}"
    );
}
