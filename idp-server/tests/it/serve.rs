//! `serve` as an operator runs it: healthy, ready on the embedded store, and a clean exit on
//! SIGTERM.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use crate::support::{Sandbox, Server, free_port, http, wait_healthy};

/// Starts `idp-server ARGS` on a free port and waits until `/healthz` answers.
async fn start(sandbox: Sandbox, args: &[&str]) -> (Sandbox, Server, String) {
    let port = free_port();
    let sandbox = sandbox.env("IDP_LISTEN", format!("127.0.0.1:{port}"));
    let mut server = sandbox.spawn(args);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&mut server, &base).await;
    (sandbox, server, base)
}

/// `/readyz` answers 200 with the expected store kind.
pub async fn assert_ready(base: &str, kind: &str, server: &Server) {
    let res = http()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("GET /readyz");
    assert_eq!(res.status(), 200, "{}", server.output());
    let body: serde_json::Value = res.json().await.expect("readyz JSON");
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["checks"]["database"]["kind"], kind, "{body}");
    assert_eq!(body["checks"]["database"]["state"], "ok", "{body}");
}

/// SIGTERM: the process finishes and exits 0 within 10 s.
pub async fn assert_terminates_cleanly(server: Server) {
    assert_stops_on(server, "TERM").await;
}

/// `SIG{signal}`: the process finishes and exits 0 within 10 s.
async fn assert_stops_on(mut server: Server, signal: &str) {
    server.signal(signal);
    match server.wait_for_exit(Duration::from_secs(10)).await {
        Some(status) => assert!(
            status.success(),
            "idp-server exited with {status} after SIG{signal}\n{}",
            server.output()
        ),
        None => panic!(
            "idp-server still running 10 s after SIG{signal}\n{}",
            server.output()
        ),
    }
}

#[tokio::test]
async fn serve_is_healthy_ready_and_stops_on_sigterm() {
    let (_sandbox, server, base) = start(Sandbox::new(), &["serve"]).await;
    let res = http()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("healthz JSON");
    assert_eq!(body, serde_json::json!({ "status": "ok" }));
    assert_ready(&base, "sqlite", &server).await;
    assert_terminates_cleanly(server).await;
}

#[tokio::test]
async fn serve_is_the_default_command() {
    let (sandbox, server, base) = start(Sandbox::new(), &[]).await;
    assert_ready(&base, "sqlite", &server).await;
    assert!(
        sandbox.data_dir().join("idp.db").is_file(),
        "no database under IDP_DATA_DIR"
    );
    assert_terminates_cleanly(server).await;
}

#[tokio::test]
async fn serve_sees_what_admin_commands_wrote() {
    // The admin commands work on the same database: a tenant created first is still taken.
    let sandbox = Sandbox::new();
    sandbox.run(&["tenant", "create", "acme"]).ok();
    let (sandbox, server, base) = start(sandbox, &["serve"]).await;
    assert_ready(&base, "sqlite", &server).await;
    sandbox
        .run(&["tenant", "create", "acme"])
        .code(1)
        .stderr_has("already in use");
    assert_terminates_cleanly(server).await;
}

#[tokio::test]
async fn serve_reports_an_address_in_use() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let sandbox = Sandbox::new().env("IDP_LISTEN", &addr);
    let mut server = sandbox.spawn(&["serve"]);
    let status = server
        .wait_for_exit(Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("serve kept running on a taken port\n{}", server.output()));
    assert_eq!(status.code(), Some(1), "{}", server.output());
    let out = server.output();
    assert!(out.contains(&format!("cannot listen on {addr}")), "{out}");
    drop(taken);
}

#[tokio::test]
async fn serve_stops_on_sigint() {
    let (_sandbox, server, base) = start(Sandbox::new(), &["serve"]).await;
    assert_ready(&base, "sqlite", &server).await;
    assert_stops_on(server, "INT").await;
}

#[tokio::test]
async fn idle_connection_does_not_delay_sigterm() {
    let (_sandbox, server, base) = start(Sandbox::new(), &["serve"]).await;
    let addr = base.trim_start_matches("http://");
    // Connected, nothing sent.
    let idle = TcpStream::connect(addr).expect("connect");
    assert_terminates_cleanly(server).await;
    drop(idle);
}

/// A client that sends part of its request headers and then stalls must not keep `serve` from
/// exiting after SIGTERM: the drain is bounded by `http.shutdown_grace_secs`.
#[tokio::test]
async fn stalled_client_does_not_block_sigterm() {
    let sandbox = Sandbox::new().env("IDP_HTTP__SHUTDOWN_GRACE_SECS", "2");
    let (_sandbox, server, base) = start(sandbox, &["serve"]).await;
    let addr = base.trim_start_matches("http://");
    let mut stalled = TcpStream::connect(addr).expect("connect");
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .expect("send partial headers");
    assert_terminates_cleanly(server).await;
    drop(stalled);
}
