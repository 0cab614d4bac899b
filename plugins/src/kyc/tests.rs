use std::time::Duration;

use idp_core::kyc::{BvnCheck, BvnVerifier};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{HttpProvider, Sandbox, from_config};

#[tokio::test]
async fn sandbox_is_deterministic() {
    match Sandbox.verify_bvn("22123456789").await {
        BvnCheck::Verified(h) => {
            assert_eq!(
                (h.first_name.as_str(), h.last_name.as_str()),
                ("Test", "User6789")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        Sandbox.verify_bvn("22123456789").await,
        Sandbox.verify_bvn("22123456789").await
    );
    assert_eq!(Sandbox.verify_bvn("12345678901").await, BvnCheck::NotFound);
    assert_eq!(Sandbox.verify_bvn("2212345678").await, BvnCheck::NotFound);
    assert!(matches!(
        from_config(None, None)
            .unwrap()
            .verify_bvn("22000000001")
            .await,
        BvnCheck::Verified(_)
    ));
    assert!(from_config(Some("ftp://x"), None).is_err());
}

/// One-request HTTP receiver answering `status` with `body`; hands back the request it saw.
async fn receiver(
    status: u16,
    body: &'static str,
    delay: Duration,
) -> (String, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bvn", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if rest.len() >= len || n == 0 {
                    break;
                }
            }
        }
        tokio::time::sleep(delay).await;
        let res = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = sock.write_all(res.as_bytes()).await;
        String::from_utf8_lossy(&buf).to_string()
    });
    (url, task)
}

#[tokio::test]
async fn http_provider_verified() {
    let (url, seen) = receiver(
        200,
        r#"{"data":{"first_name":"Ada","last_name":"Obi","date_of_birth":"1990-02-03"}}"#,
        Duration::ZERO,
    )
    .await;
    let p = HttpProvider::new(&url, Some("k3y"), Duration::from_secs(2)).unwrap();
    match p.verify_bvn("22123456789").await {
        BvnCheck::Verified(h) => {
            assert_eq!(h.first_name, "Ada");
            assert_eq!(h.date_of_birth.unwrap().to_string(), "1990-02-03");
        }
        other => panic!("{other:?}"),
    }
    let req = seen.await.unwrap();
    assert!(req.starts_with("POST /bvn "), "{req}");
    assert!(
        req.to_ascii_lowercase()
            .contains("authorization: bearer k3y"),
        "{req}"
    );
    let body: Value = serde_json::from_str(req.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body, json!({ "bvn": "22123456789" }));
}

#[tokio::test]
async fn http_provider_not_found_and_unavailable() {
    let (url, _) = receiver(404, "{}", Duration::ZERO).await;
    let p = HttpProvider::new(&url, None, Duration::from_secs(2)).unwrap();
    assert_eq!(p.verify_bvn("12345678901").await, BvnCheck::NotFound);

    let (url, _) = receiver(200, r#"{"found":false}"#, Duration::ZERO).await;
    let p = HttpProvider::new(&url, None, Duration::from_secs(2)).unwrap();
    assert_eq!(p.verify_bvn("12345678901").await, BvnCheck::NotFound);

    let (url, _) = receiver(500, "{}", Duration::ZERO).await;
    let p = HttpProvider::new(&url, None, Duration::from_secs(2)).unwrap();
    assert_eq!(p.verify_bvn("22123456789").await, BvnCheck::Unavailable);

    let (url, _) = receiver(200, "not json", Duration::ZERO).await;
    let p = HttpProvider::new(&url, None, Duration::from_secs(2)).unwrap();
    assert_eq!(p.verify_bvn("22123456789").await, BvnCheck::Unavailable);

    // Slower than the timeout.
    let (url, _) = receiver(
        200,
        r#"{"first_name":"A","last_name":"B"}"#,
        Duration::from_secs(3),
    )
    .await;
    let p = HttpProvider::new(&url, None, Duration::from_millis(300)).unwrap();
    assert_eq!(p.verify_bvn("22123456789").await, BvnCheck::Unavailable);

    // Nobody listening.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bvn", listener.local_addr().unwrap());
    drop(listener);
    let p = HttpProvider::new(&url, None, Duration::from_secs(2)).unwrap();
    assert_eq!(p.verify_bvn("22123456789").await, BvnCheck::Unavailable);
}
