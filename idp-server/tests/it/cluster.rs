//! Throw-away PostgreSQL and Redis servers owned by one test, which the test may stop and start
//! again (the shared servers of `scripts/test` are never stopped), and `idp-server` replicas
//! on them.
//!
//! These tests run where the PostgreSQL tests run (`IDP_TEST_POSTGRES_URL` set, i.e. under
//! `scripts/test`): they need the PostgreSQL server binaries (`IDP_TEST_PG_BINDIR`, else the
//! newest `/usr/lib/postgresql/*/bin`, else `pg_config --bindir`) and `redis-server`
//! (`IDP_TEST_REDIS_SERVER`, else on the `PATH`). Missing binaries skip with a notice, or fail
//! under CI.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::support::{Sandbox, Server, free_port, postgres_url, wait_healthy};

/// Skips (returns `None` with a notice) or, under CI, fails.
fn missing<T>(what: &str) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("{what} (scripts/test installs it)");
    }
    eprintln!("skipped: {what}");
    None
}

fn pg_bindir() -> Option<PathBuf> {
    let has_initdb = |d: &Path| d.join("initdb").is_file();
    if let Some(dir) = std::env::var_os("IDP_TEST_PG_BINDIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir)).filter(|d| has_initdb(d));
    }
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, d)| has_initdb(d))
        .collect();
    dirs.sort();
    if let Some((_, dir)) = dirs.pop() {
        return Some(dir);
    }
    let out = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    has_initdb(&dir).then_some(dir)
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A PostgreSQL cluster of one test: its own data dir and port, fsync off.
///
/// `synchronous_commit` stays on: a commit is then written to the kernel before it is
/// acknowledged, so it survives `pg_ctl stop -m immediate` (a crash of PostgreSQL, not of the
/// machine), which is what the fault tests check. With it off, the last ~600 ms of acknowledged
/// commits live only in PostgreSQL's WAL buffers and a crash loses them.
pub struct TestPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// initdb refuses to run as root: then every pg command runs as the `postgres` user.
    as_postgres: bool,
}

impl TestPostgres {
    /// initdb + start; `None` (skipped) where the PostgreSQL tests do not run.
    pub async fn start() -> Option<Self> {
        postgres_url()?;
        let Some(bin) = pg_bindir() else {
            return missing("PostgreSQL server binaries not found (set IDP_TEST_PG_BINDIR)");
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let as_postgres = is_root();
        if as_postgres {
            let status = std::process::Command::new("chown")
                .args(["postgres:"])
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(status.success(), "chown postgres {}", dir.path().display());
        }
        let mut pg = Self {
            bin,
            dir,
            port: 0,
            as_postgres,
        };
        let data = pg.data().to_string_lossy().into_owned();
        pg.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        )
        .await;
        // A port taken between choosing and binding: try another.
        for _ in 0..5 {
            pg.port = free_port();
            if pg.try_start().await {
                return Some(pg);
            }
        }
        panic!("PostgreSQL did not start\n{}", pg.log());
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pg.log")).unwrap_or_default()
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.stdin(Stdio::null()).kill_on_drop(true);
        cmd
    }

    async fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool)
            .args(args)
            .output()
            .await
            .unwrap_or_else(|e| panic!("run {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn try_start(&self) -> bool {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off \
             -c synchronous_commit=on -c full_page_writes=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let data = self.data().to_string_lossy().into_owned();
        let log = self
            .dir
            .path()
            .join("pg.log")
            .to_string_lossy()
            .into_owned();
        self.command("pg_ctl")
            .args([
                "-D", &data, "-l", &log, "-w", "-t", "30", "-o", &options, "start",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success())
    }

    /// `pg_ctl stop -m MODE` (`fast`: clients disconnected, clean shutdown; `immediate`: a
    /// crash, recovery at the next start). Returns when the server is down.
    pub async fn stop(&self, mode: &str) {
        let data = self.data().to_string_lossy().into_owned();
        self.run("pg_ctl", &["-D", &data, "-m", mode, "-w", "stop"])
            .await;
    }

    /// Starts the stopped server again on the same port; returns when it accepts connections.
    pub async fn restart(&self) {
        for _ in 0..20 {
            if self.try_start().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "PostgreSQL did not restart on port {}\n{}",
            self.port,
            self.log()
        );
    }

    /// A connection for checks from the test; the connection task runs in the background.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls)
            .await
            .expect("connect to the test's PostgreSQL");
        tokio::spawn(conn);
        client
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let data = self.data();
        let mut cmd = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            c
        } else {
            std::process::Command::new(self.bin.join("pg_ctl"))
        };
        let _ = cmd
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn redis_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("IDP_TEST_REDIS_SERVER").filter(|p| !p.is_empty()) {
        return Some(p.into());
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("redis-server"))
                .find(|p| p.is_file())
        })
        .or_else(|| Some(PathBuf::from("/usr/bin/redis-server")).filter(|p| p.is_file()))
}

/// A `redis-server` of one test, without persistence; killed when dropped.
pub struct TestRedis {
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<tokio::process::Child>,
}

impl TestRedis {
    /// `None` (skipped) where the Redis tests do not run (`IDP_TEST_REDIS_URL` unset).
    pub async fn start() -> Option<Self> {
        if std::env::var("IDP_TEST_REDIS_URL").map_or(true, |u| u.is_empty()) {
            return missing("IDP_TEST_REDIS_URL is not set (run scripts/test)");
        }
        let Some(binary) = redis_binary() else {
            return missing("redis-server not found (set IDP_TEST_REDIS_SERVER)");
        };
        let mut redis = Self {
            binary,
            dir: tempfile::tempdir().expect("temp dir"),
            port: 0,
            child: None,
        };
        for _ in 0..5 {
            redis.port = free_port();
            if redis.spawn().await {
                return Some(redis);
            }
        }
        panic!("redis-server did not start");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// SIGKILL: an outage, not a shutdown.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again on the same port, empty.
    pub async fn restart(&mut self) {
        self.kill().await;
        for _ in 0..20 {
            if self.spawn().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("redis-server did not restart on port {}", self.port);
    }

    async fn spawn(&mut self) -> bool {
        let Ok(mut child) = Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
        else {
            return false;
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if redis_ping(self.port).await {
                self.child = Some(child);
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill().await;
        false
    }
}

async fn redis_ping(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        conn.write_all(b"PING\r\n").await.ok()?;
        let mut buf = [0u8; 8];
        let n = conn.read(&mut buf).await.ok()?;
        Some(buf[..n].starts_with(b"+PONG"))
    };
    matches!(
        tokio::time::timeout(Duration::from_millis(500), attempt).await,
        Ok(Some(true))
    )
}

/// One `idp-server serve` process with its own data dir (and so its own outbox).
pub struct Replica {
    pub sandbox: Sandbox,
    pub server: Server,
    pub base: String,
}

impl Replica {
    /// Starts `serve` on a free port over `database_url` (and `redis_url`), with rate limits
    /// high enough for a load test from one address, and waits until it is healthy.
    pub async fn start(
        database_url: &str,
        redis_url: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Self {
        let port = free_port();
        let mut sandbox = Sandbox::new()
            .env("IDP_LISTEN", format!("127.0.0.1:{port}"))
            .env("IDP_DATABASE_URL", database_url)
            .env("IDP_DATABASE_POOL_SIZE", "8")
            .env("IDP_SECURITY__RATE_PER_IP", "1000000")
            .env("IDP_SECURITY__RATE_PER_CLIENT", "1000000");
        if let Some(url) = redis_url {
            sandbox = sandbox.env("IDP_REDIS_URL", url);
        }
        for (k, v) in extra {
            sandbox = sandbox.env(k, v);
        }
        let mut server = sandbox.spawn(&["serve"]);
        let base = format!("http://127.0.0.1:{port}");
        wait_healthy(&mut server, &base).await;
        Self {
            sandbox,
            server,
            base,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The newest outbox line to `to` (this replica's outbox only).
    pub fn last_message_to(&self, to: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(self.sandbox.data_dir().join("outbox.jsonl"))
            .unwrap_or_default();
        text.lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|m| m["to"] == to)
            .unwrap_or_else(|| panic!("no message to {to} in the outbox of {}", self.base))
    }
}
