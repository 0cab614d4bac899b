//! Notifier tests: the file outbox on disk, SMTP against a tiny in-test SMTP server, the SMS
//! webhook against a tiny in-test HTTP/1.1 receiver, the router, and that nothing logs a body.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::*;

const SECRET_CODE: &str = "482913";
const SECRET_TOKEN: &str = "tok_sEcReT-9f8e7d";

fn email(to: &str) -> Message {
    Message {
        channel: Channel::Email,
        to: to.into(),
        subject: "Your sign-in code".into(),
        body: format!(
            "Your code is {SECRET_CODE}. Or open https://idp.example/verify?token={SECRET_TOKEN}"
        ),
    }
}

fn sms(to: &str) -> Message {
    Message {
        channel: Channel::Sms,
        to: to.into(),
        subject: String::new(),
        body: format!("Your code is {SECRET_CODE}"),
    }
}

fn read_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "the outbox ends with a newline");
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

fn assert_outbox_line(line: &Value, channel: &str, message: &Message) {
    let object = line.as_object().expect("a JSON object");
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["ts", "channel", "to", "subject", "body"])
    );
    assert_eq!(object["channel"], channel);
    assert_eq!(object["to"], message.to.as_str());
    assert_eq!(object["subject"], message.subject.as_str());
    assert_eq!(object["body"], message.body.as_str());
    let ts = object["ts"].as_str().unwrap();
    assert!(ts.ends_with('Z'), "UTC with a Z: {ts}");
    let parsed = chrono::DateTime::parse_from_rfc3339(ts).unwrap();
    assert_eq!(parsed.offset().local_minus_utc(), 0);
    let age = chrono::Utc::now() - parsed.with_timezone(&chrono::Utc);
    assert!(age >= chrono::Duration::zero() && age < chrono::Duration::seconds(60));
}

// ---------------------------------------------------------------------------------------------
// File outbox

#[tokio::test]
async fn outbox_lines_are_json_with_exactly_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    // Parent directories are created.
    let path = dir.path().join("a/b/outbox.jsonl");
    let outbox = FileOutbox::new(&path).unwrap();
    assert_eq!(outbox.path(), path);

    let first = email("ann@example.com");
    let tricky = Message {
        channel: Channel::Sms,
        to: "+2348012345678".into(),
        subject: "line\nbreak \"quoted\" \\ é ✓".into(),
        body: "two\nlines\r\nand a tab\t and {\"json\": true}".into(),
    };
    outbox.send(&first).await.unwrap();
    outbox.send(&tricky).await.unwrap();

    let lines = read_lines(&path);
    assert_eq!(lines.len(), 2);
    assert_outbox_line(&lines[0], "email", &first);
    assert_outbox_line(&lines[1], "sms", &tricky);

    // Field order as in the contract.
    let raw = std::fs::read_to_string(&path).unwrap();
    let first_line = raw.lines().next().unwrap();
    let positions: Vec<usize> = ["\"ts\"", "\"channel\"", "\"to\"", "\"subject\"", "\"body\""]
        .iter()
        .map(|k| first_line.find(k).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{first_line}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn outbox_appends_to_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.jsonl");
    std::fs::write(&path, "{\"earlier\":1}\n").unwrap();
    FileOutbox::new(&path)
        .unwrap()
        .send(&sms("+15550001"))
        .await
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("{\"earlier\":1}\n"));
    assert_eq!(text.lines().count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_200_concurrent_sends_give_200_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.jsonl");
    let outbox = Arc::new(FileOutbox::new(&path).unwrap());

    let mut tasks = Vec::new();
    for i in 0..200 {
        let outbox = Arc::clone(&outbox);
        tasks.push(tokio::spawn(async move {
            // Bodies of varied size, some well past a pipe buffer, to catch torn writes.
            let message = Message {
                channel: if i % 2 == 0 {
                    Channel::Email
                } else {
                    Channel::Sms
                },
                to: format!("user{i}@example.com"),
                subject: format!("subject {i}"),
                body: format!("body {i} ") + &"x".repeat((i * 97) % 9000),
            };
            outbox.send(&message).await.unwrap();
            message
        }));
    }
    let mut expected = BTreeSet::new();
    for task in tasks {
        expected.insert(task.await.unwrap().body);
    }

    let lines = read_lines(&path);
    assert_eq!(lines.len(), 200);
    let got: BTreeSet<String> = lines
        .iter()
        .map(|l| l["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, expected);
}

/// Two outboxes on one path stand in for two processes: separate open file descriptions, each
/// with its own O_APPEND offset, and no shared mutex.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_separate_handles_on_one_file_keep_lines_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.jsonl");
    let a = Arc::new(FileOutbox::new(&path).unwrap());
    let b = Arc::new(FileOutbox::new(&path).unwrap());

    let mut tasks = Vec::new();
    for i in 0..200 {
        let outbox = Arc::clone(if i % 2 == 0 { &a } else { &b });
        tasks.push(tokio::spawn(async move {
            let message = Message {
                channel: Channel::Sms,
                to: format!("+1555{i:04}"),
                subject: String::new(),
                body: format!("{i}:") + &"y".repeat(4000 + i),
            };
            outbox.send(&message).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let lines = read_lines(&path);
    assert_eq!(lines.len(), 200);
    let ids: BTreeSet<usize> = lines
        .iter()
        .map(|l| {
            let body = l["body"].as_str().unwrap();
            let (id, rest) = body.split_once(':').unwrap();
            let id: usize = id.parse().unwrap();
            assert_eq!(rest.len(), 4000 + id);
            id
        })
        .collect();
    assert_eq!(ids, (0..200).collect());
}

#[tokio::test]
async fn outbox_recreates_a_removed_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.jsonl");
    let outbox = FileOutbox::new(&path).unwrap();
    outbox.send(&sms("+15550001")).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    outbox.send(&sms("+15550002")).await.unwrap();
    let lines = read_lines(&path);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["to"], "+15550002");

    // Rotated away (renamed): new lines go to a new file at the path.
    std::fs::rename(&path, dir.path().join("outbox.jsonl.1")).unwrap();
    outbox.send(&sms("+15550003")).await.unwrap();
    let lines = read_lines(&path);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["to"], "+15550003");
}

#[test]
fn outbox_reports_an_unusable_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let error = FileOutbox::new(blocker.join("outbox.jsonl")).unwrap_err();
    assert!(matches!(error, NotifyError::Failed(_)), "{error}");
}

// ---------------------------------------------------------------------------------------------
// In-test SMTP server: plain text, answers 220/250/235/354/221, captures the envelope and DATA.

#[derive(Debug, Default, Clone)]
struct SmtpCapture {
    ehlo: Option<String>,
    auth: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    data: String,
}

async fn spawn_smtp_server() -> (u16, mpsc::UnboundedReceiver<SmtpCapture>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut read = BufReader::new(read);
                let mut capture = SmtpCapture::default();
                write
                    .write_all(b"220 test.local ESMTP ready\r\n")
                    .await
                    .unwrap();
                let mut line = String::new();
                loop {
                    line.clear();
                    if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let command = line.trim_end().to_owned();
                    let upper = command.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        capture.ehlo = Some(command[5..].to_owned());
                        b"250-test.local\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("AUTH PLAIN ") {
                        capture.auth = Some(command[11..].to_owned());
                        b"235 2.7.0 Authentication successful\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        capture.mail_from = Some(command[10..].to_owned());
                        b"250 2.1.0 OK\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        capture.rcpt_to.push(command[8..].to_owned());
                        b"250 2.1.5 OK\r\n"
                    } else if upper == "DATA" {
                        write
                            .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                            .await
                            .unwrap();
                        loop {
                            line.clear();
                            if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" {
                                break;
                            }
                            capture.data.push_str(&line);
                        }
                        let _ = tx.send(capture.clone());
                        b"250 2.0.0 queued\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
                        return;
                    } else if upper == "RSET" || upper == "NOOP" {
                        b"250 OK\r\n"
                    } else {
                        b"502 5.5.2 not implemented\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, rx)
}

async fn next_capture<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the test server received nothing in 10 s")
        .expect("test server gone")
}

#[tokio::test]
async fn smtp_delivers_recipient_subject_and_body() {
    let (port, mut rx) = spawn_smtp_server().await;
    let url = format!(
        "smtp://mailer%40example.com:p%40ss%3Aword@127.0.0.1:{port}?from=IdP%20%3Cidp%40example.com%3E&tls=none"
    );
    let notifier = SmtpNotifier::from_url(&url).unwrap();
    let message = email("ann@example.com");
    notifier.send(&message).await.unwrap();

    let capture = next_capture(&mut rx).await;
    assert!(capture.ehlo.is_some());
    let auth = STANDARD
        .decode(capture.auth.expect("AUTH PLAIN was used"))
        .unwrap();
    assert_eq!(auth, b"\0mailer@example.com\0p@ss:word");
    assert_eq!(capture.mail_from.as_deref(), Some("<idp@example.com>"));
    assert_eq!(capture.rcpt_to, vec!["<ann@example.com>".to_owned()]);

    let data = capture.data;
    let (headers, body) = data.split_once("\r\n\r\n").expect("headers, then body");
    let header_lines: Vec<&str> = headers.lines().collect();
    assert!(header_lines.contains(&"To: ann@example.com"), "{headers}");
    assert!(
        header_lines.contains(&"Subject: Your sign-in code"),
        "{headers}"
    );
    assert!(
        header_lines
            .iter()
            .any(|h| h.starts_with("From:") && h.contains("idp@example.com")),
        "{headers}"
    );
    assert!(
        header_lines.iter().any(|h| h
            .to_ascii_lowercase()
            .starts_with("content-type: text/plain")),
        "{headers}"
    );
    // lettre picks 7bit or quoted-printable (here: a line over 76 characters).
    let body = if header_lines
        .iter()
        .any(|h| h.eq_ignore_ascii_case("content-transfer-encoding: quoted-printable"))
    {
        decode_quoted_printable(body)
    } else {
        body.to_owned()
    };
    assert_eq!(body.trim_end(), message.body);
}

fn decode_quoted_printable(text: &str) -> String {
    let text = text.replace("=\r\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn smtp_without_credentials_skips_auth_and_refuses_sms() {
    let (port, mut rx) = spawn_smtp_server().await;
    let notifier = SmtpNotifier::from_url(&format!(
        "smtp://127.0.0.1:{port}?tls=none&from=idp@example.com"
    ))
    .unwrap();
    let error = notifier.send(&sms("+15550001")).await.unwrap_err();
    assert!(
        matches!(error, NotifyError::NoChannel(Channel::Sms)),
        "{error}"
    );

    notifier.send(&email("bob@example.com")).await.unwrap();
    let capture = next_capture(&mut rx).await;
    assert_eq!(capture.auth, None);
    assert_eq!(capture.rcpt_to, vec!["<bob@example.com>".to_owned()]);
}

#[tokio::test]
async fn smtp_unreachable_server_and_bad_recipient_fail() {
    let port = closed_port().await;
    let notifier = SmtpNotifier::from_url(&format!(
        "smtp://127.0.0.1:{port}?tls=none&from=idp@example.com&timeout=2"
    ))
    .unwrap();
    let error = notifier.send(&email("ann@example.com")).await.unwrap_err();
    assert!(matches!(error, NotifyError::Failed(_)), "{error}");

    let error = notifier.send(&email("not an address")).await.unwrap_err();
    assert!(matches!(error, NotifyError::Failed(_)), "{error}");
}

#[test]
fn smtp_url_forms() {
    let s = SmtpSettings::from_url("smtps://u:p@mail.example?from=idp@example.com").unwrap();
    assert_eq!(
        (s.host(), s.port(), s.tls()),
        ("mail.example", 465, SmtpTls::Implicit)
    );
    assert_eq!(s.username(), Some("u"));
    assert_eq!(s.from().email.to_string(), "idp@example.com");
    assert_eq!(s.timeout(), Duration::from_secs(10));

    let s = SmtpSettings::from_url("smtp://mail.example/?from=idp@example.com").unwrap();
    assert_eq!((s.port(), s.tls()), (587, SmtpTls::StartTls));
    assert_eq!(s.username(), None);

    for (query, tls, port) in [
        ("tls=starttls", SmtpTls::StartTls, 587),
        ("tls=required", SmtpTls::StartTls, 587),
        ("tls=opportunistic", SmtpTls::Opportunistic, 587),
        ("tls=none", SmtpTls::None, 25),
    ] {
        let s = SmtpSettings::from_url(&format!(
            "smtp://mail.example?from=idp@example.com&{query}&timeout=3"
        ))
        .unwrap();
        assert_eq!((s.tls(), s.port()), (tls, port), "{query}");
        assert_eq!(s.timeout(), Duration::from_secs(3));
    }

    let s = SmtpSettings::from_url("smtp://[::1]:2525?from=idp@example.com&tls=none").unwrap();
    assert_eq!((s.host(), s.port()), ("::1", 2525));
    assert_eq!(s.to_string(), "smtp://[::1]:2525 (no TLS)");

    // Building the TLS variants works without a runtime and without connecting.
    for url in [
        "smtps://u:p@mail.example?from=idp@example.com",
        "smtp://u:p@mail.example?from=idp@example.com",
        "smtp://mail.example?from=idp@example.com&tls=opportunistic",
    ] {
        SmtpNotifier::from_url(url).unwrap();
    }
}

#[test]
fn smtp_bad_urls_are_rejected_without_echoing_the_password() {
    for url in [
        "smtp://u:hunter2pw@mail.example",                      // no from
        "smtp://u:hunter2pw@mail.example?from=not-an-address",  // bad from
        "http://u:hunter2pw@mail.example?from=idp@example.com", // scheme
        "smtp://u:hunter2pw@mail.example?from=idp@example.com&tls=yes", // tls value
        "smtps://u:hunter2pw@mail.example?from=idp@example.com&tls=none", // smtps + tls
        "smtp://u:hunter2pw@mail.example?from=idp@example.com&port=1", // unknown parameter
        "smtp://u:hunter2pw@mail.example/x?from=idp@example.com", // path
        "smtp://u:hunter2pw@mail.example?from=idp@example.com&timeout=0", // timeout
        "smtp://:hunter2pw@mail.example?from=idp@example.com",  // password, no user
        "smtp://hunter2pw@mail.example?from=idp@example.com",   // user, no password
        "smtp://u:hunter2pw@:25?from=idp@example.com",          // no host
        "not a url hunter2pw",
    ] {
        let error = SmtpNotifier::from_url(url).unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, NotifyError::Failed(_)), "{url}: {text}");
        assert!(
            text.starts_with("delivery failed: invalid SMTP URL"),
            "{url}: {text}"
        );
        assert!(!text.contains("hunter2pw"), "{url}: {text}");
    }

    let s = SmtpSettings::from_url("smtp://u:hunter2pw@mail.example?from=idp@example.com").unwrap();
    assert!(!format!("{s} {s:?}").contains("hunter2pw"));
    let n = SmtpNotifier::new(s).unwrap();
    assert!(!format!("{n:?}").contains("hunter2pw"));
}

// ---------------------------------------------------------------------------------------------
// In-test HTTP/1.1 receiver: answers each request with the next status of a script (the last
// one repeats), or never answers at all.

#[derive(Debug, Clone)]
struct HttpCapture {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

#[derive(Clone, Copy)]
enum Reply {
    Status(u16),
    Hang,
}

struct HttpServer {
    url: String,
    rx: mpsc::UnboundedReceiver<HttpCapture>,
    count: Arc<Mutex<usize>>,
}

async fn spawn_http_server(script: Vec<Reply>) -> HttpServer {
    assert!(!script.is_empty());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/send?key=abc", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let count = Arc::new(Mutex::new(0usize));
    let counter = Arc::clone(&count);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            let counter = Arc::clone(&counter);
            let script = script.clone();
            tokio::spawn(async move {
                let Some(capture) = read_request(&mut stream).await else {
                    return;
                };
                let reply = {
                    let mut n = counter.lock().unwrap();
                    let reply = script[(*n).min(script.len() - 1)];
                    *n += 1;
                    reply
                };
                let _ = tx.send(capture);
                match reply {
                    Reply::Status(code) => {
                        let response = format!(
                            "HTTP/1.1 {code} Scripted\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
                        );
                        let _ = stream.write_all(response.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    }
                    Reply::Hang => {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                }
            });
        }
    });
    HttpServer { url, rx, count }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<HttpCapture> {
    let mut buf = Vec::new();
    let header_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8(buf[..header_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[header_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(HttpCapture {
        method,
        path,
        headers,
        body,
    })
}

/// A port nothing listens on (bound, then released).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        initial_backoff: Duration::from_millis(20),
        timeout: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn sms_posts_json_with_the_auth_header() {
    let mut server = spawn_http_server(vec![Reply::Status(200)]).await;
    let webhook = SmsWebhook::new(&server.url, Some("Bearer gw-secret")).unwrap();
    let message = sms("+2348012345678");
    webhook.send(&message).await.unwrap();

    let request = next_capture(&mut server.rx).await;
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/send?key=abc");
    assert_eq!(request.headers["authorization"], "Bearer gw-secret");
    assert_eq!(request.headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "to": "+2348012345678", "body": message.body })
    );
    assert_eq!(*server.count.lock().unwrap(), 1);
}

#[tokio::test]
async fn sms_without_auth_sends_no_authorization_and_refuses_email() {
    let mut server = spawn_http_server(vec![Reply::Status(202)]).await;
    let webhook = SmsWebhook::new(&server.url, None).unwrap();
    let error = webhook.send(&email("ann@example.com")).await.unwrap_err();
    assert!(
        matches!(error, NotifyError::NoChannel(Channel::Email)),
        "{error}"
    );

    webhook.send(&sms("+15550001")).await.unwrap();
    let request = next_capture(&mut server.rx).await;
    assert!(!request.headers.contains_key("authorization"));
}

#[tokio::test]
async fn sms_retries_5xx_with_backoff_then_succeeds() {
    let mut server = spawn_http_server(vec![
        Reply::Status(503),
        Reply::Status(503),
        Reply::Status(200),
    ])
    .await;
    let webhook = SmsWebhook::new(&server.url, Some("Bearer gw-secret")).unwrap();
    assert_eq!(webhook.policy(), RetryPolicy::default());
    let started = Instant::now();
    webhook.send(&sms("+15550001")).await.unwrap();
    let elapsed = started.elapsed();

    assert_eq!(*server.count.lock().unwrap(), 3);
    for _ in 0..3 {
        let request = next_capture(&mut server.rx).await;
        assert_eq!(request.headers["authorization"], "Bearer gw-secret");
    }
    // 200 ms + 400 ms of backoff.
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn sms_4xx_is_not_retried() {
    let server = spawn_http_server(vec![Reply::Status(400), Reply::Status(200)]).await;
    let webhook = SmsWebhook::with_policy(&server.url, None, fast_policy()).unwrap();
    let error = webhook.send(&sms("+15550001")).await.unwrap_err();
    assert!(matches!(error, NotifyError::Failed(_)), "{error}");
    assert!(error.to_string().contains("400"), "{error}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*server.count.lock().unwrap(), 1);
}

#[tokio::test]
async fn sms_persistent_5xx_fails_after_all_attempts() {
    let server = spawn_http_server(vec![Reply::Status(502)]).await;
    let webhook = SmsWebhook::with_policy(&server.url, None, fast_policy()).unwrap();
    let error = webhook.send(&sms("+15550001")).await.unwrap_err();
    assert!(error.to_string().contains("after 3 attempts"), "{error}");
    assert_eq!(*server.count.lock().unwrap(), 3);
}

#[tokio::test]
async fn sms_unreachable_gateway_fails_after_retries_in_bounded_time() {
    let port = closed_port().await;
    let url = format!("http://127.0.0.1:{port}/send?key=url-secret");
    let webhook = SmsWebhook::new(&url, None).unwrap();
    let started = Instant::now();
    let error = webhook.send(&sms("+15550001")).await.unwrap_err();
    let elapsed = started.elapsed();
    let text = error.to_string();
    assert!(matches!(error, NotifyError::Failed(_)), "{text}");
    assert!(text.contains("after 3 attempts"), "{text}");
    assert!(
        !text.contains("url-secret"),
        "the URL stays out of errors: {text}"
    );
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn sms_silent_gateway_times_out_each_attempt() {
    let server = spawn_http_server(vec![Reply::Hang]).await;
    let webhook = SmsWebhook::with_policy(&server.url, None, fast_policy()).unwrap();
    let started = Instant::now();
    let error = webhook.send(&sms("+15550001")).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(error.to_string().contains("timed out"), "{error}");
    assert_eq!(*server.count.lock().unwrap(), 3);
    // 3 × 500 ms + 20 ms + 40 ms, with slack.
    assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn sms_bad_configuration_is_rejected() {
    for url in ["ftp://gw.example/send", "not a url", "mailto:x@example.com"] {
        let error = SmsWebhook::new(url, None).unwrap_err();
        assert!(
            error.to_string().contains("invalid SMS webhook URL"),
            "{url}: {error}"
        );
    }
    let error = SmsWebhook::new("https://gw.example/send", Some("bad\nvalue")).unwrap_err();
    assert!(!error.to_string().contains("bad"), "{error}");
    let webhook =
        SmsWebhook::new("https://u:p@gw.example/send?key=k", Some("Bearer s3cr3t")).unwrap();
    assert_eq!(webhook.endpoint(), "https://gw.example:443");
    let debug = format!("{webhook:?}");
    assert!(
        !debug.contains("s3cr3t") && !debug.contains("key=k"),
        "{debug}"
    );
}

// ---------------------------------------------------------------------------------------------
// Router and from_config

#[tokio::test]
async fn from_config_without_gateways_sends_everything_to_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("var");
    let notifier = from_config(&data_dir, None, Some("  "), Some("Bearer ignored")).unwrap();
    let (e, s) = (email("ann@example.com"), sms("+15550001"));
    notifier.send(&e).await.unwrap();
    notifier.send(&s).await.unwrap();
    let lines = read_lines(&data_dir.join(OUTBOX_FILE));
    assert_eq!(lines.len(), 2);
    assert_outbox_line(&lines[0], "email", &e);
    assert_outbox_line(&lines[1], "sms", &s);
}

#[tokio::test]
async fn from_config_routes_email_to_smtp_and_sms_to_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let (port, mut rx) = spawn_smtp_server().await;
    let smtp_url = format!("smtp://127.0.0.1:{port}?from=idp@example.com&tls=none");
    let notifier = from_config(dir.path(), Some(&smtp_url), None, None).unwrap();

    notifier.send(&email("ann@example.com")).await.unwrap();
    notifier.send(&sms("+15550001")).await.unwrap();

    let capture = next_capture(&mut rx).await;
    assert_eq!(capture.rcpt_to, vec!["<ann@example.com>".to_owned()]);
    let lines = read_lines(&dir.path().join(OUTBOX_FILE));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["channel"], "sms");
}

#[tokio::test]
async fn from_config_routes_sms_to_the_webhook_and_email_to_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn_http_server(vec![Reply::Status(200)]).await;
    let notifier = from_config(dir.path(), None, Some(&server.url), Some("Token t")).unwrap();

    notifier.send(&sms("+15550001")).await.unwrap();
    notifier.send(&email("ann@example.com")).await.unwrap();

    let request = next_capture(&mut server.rx).await;
    assert_eq!(request.headers["authorization"], "Token t");
    let lines = read_lines(&dir.path().join(OUTBOX_FILE));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["channel"], "email");
}

#[tokio::test]
async fn from_config_with_both_gateways_creates_no_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let (port, mut smtp_rx) = spawn_smtp_server().await;
    let mut http = spawn_http_server(vec![Reply::Status(200)]).await;
    let smtp_url = format!("smtp://127.0.0.1:{port}?from=idp@example.com&tls=none");
    let notifier = from_config(dir.path(), Some(&smtp_url), Some(&http.url), None).unwrap();
    notifier.send(&email("ann@example.com")).await.unwrap();
    notifier.send(&sms("+15550001")).await.unwrap();
    next_capture(&mut smtp_rx).await;
    next_capture(&mut http.rx).await;
    assert!(!dir.path().join(OUTBOX_FILE).exists());
}

#[test]
fn from_config_reports_bad_settings_and_needs_no_runtime() {
    let dir = tempfile::tempdir().unwrap();
    assert!(from_config(dir.path(), Some("smtp://mail.example"), None, None).is_err());
    assert!(from_config(dir.path(), None, Some("gw.example/send"), None).is_err());
    from_config(
        dir.path(),
        Some("smtps://u:p@mail.example?from=idp@example.com"),
        Some("https://gw.example/send"),
        Some("Bearer x"),
    )
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Nothing logs a body

/// A subscriber that renders every event (fields and message) into one string.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Render<'a>(&'a mut String);

impl tracing::field::Visit for Render<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut out = self.0.lock().unwrap();
        span.record(&mut Render(&mut out));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut out = self.0.lock().unwrap();
        values.record(&mut Render(&mut out));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut out = self.0.lock().unwrap();
        out.push('\n');
        event.record(&mut Render(&mut out));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Single-threaded runtime so that every task logs into this thread's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn no_body_reaches_the_logs_or_the_errors() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    let dir = tempfile::tempdir().unwrap();
    let (port, mut smtp_rx) = spawn_smtp_server().await;
    let smtp_url = format!("smtp://127.0.0.1:{port}?from=idp@example.com&tls=none");
    let flaky = spawn_http_server(vec![Reply::Status(503), Reply::Status(200)]).await;
    let refusing = spawn_http_server(vec![Reply::Status(403)]).await;
    let dead = format!("http://127.0.0.1:{}/", closed_port().await);

    let mut errors = Vec::new();
    let routed = from_config(
        dir.path(),
        Some(&smtp_url),
        Some(&flaky.url),
        Some("Bearer k"),
    )
    .unwrap();
    routed.send(&email("ann@example.com")).await.unwrap();
    routed.send(&sms("+15550001")).await.unwrap();
    next_capture(&mut smtp_rx).await;

    let outboxed = from_config(dir.path(), None, None, None).unwrap();
    outboxed.send(&email("ann@example.com")).await.unwrap();
    outboxed.send(&sms("+15550001")).await.unwrap();

    for url in [&refusing.url, &dead] {
        let webhook = SmsWebhook::with_policy(url, None, fast_policy()).unwrap();
        errors.push(
            webhook
                .send(&sms("+15550001"))
                .await
                .unwrap_err()
                .to_string(),
        );
    }
    let smtp_dead = SmtpNotifier::from_url(&format!(
        "smtp://127.0.0.1:{}?from=idp@example.com&tls=none",
        closed_port().await
    ))
    .unwrap();
    errors.push(
        smtp_dead
            .send(&email("ann@example.com"))
            .await
            .unwrap_err()
            .to_string(),
    );

    let logs = capture.0.lock().unwrap().clone();
    assert!(logs.contains("retrying"), "the capture works: {logs}");
    assert!(logs.contains("refused"), "{logs}");
    let everything = format!("{logs}\n{}", errors.join("\n"));
    for secret in [SECRET_CODE, SECRET_TOKEN, "ann@example.com", "+15550001"] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked: {everything}"
        );
    }
}
