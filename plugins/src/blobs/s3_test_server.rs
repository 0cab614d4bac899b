//! An S3-compatible server for tests (`s3s-fs`: each bucket a directory, each object a file),
//! which checks every request's Signature V4 against one access key. For the tests of
//! [`super::S3Blobs`] here and of the server's uploads (feature `test-s3`); never in production.

use std::net::SocketAddr;
use std::path::Path;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

/// Serves `root` on a free loopback port, with `bucket` created, until the runtime ends.
///
/// # Panics
/// When the directory or the port cannot be had: it is for tests.
pub async fn spawn(root: &Path, bucket: &str, access_key: &str, secret_key: &str) -> SocketAddr {
    std::fs::create_dir_all(root.join(bucket)).expect("bucket directory");
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs root");
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                let http = ConnBuilder::new(TokioExecutor::new());
                let _ = http.serve_connection(TokioIo::new(socket), service).await;
            });
        }
    });
    addr
}
