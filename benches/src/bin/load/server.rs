//! The server under load: CPU pinning, the process, its environment and admin CLI.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::BoxError;

/// CPU pinning through `taskset`: the server on core 0, this process on core 1.
pub(super) struct Pinning {
    taskset: bool,
}

impl Pinning {
    pub(super) fn detect() -> Self {
        let taskset = Command::new("taskset")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !taskset {
            eprintln!("warning: taskset not found; the server and the load run unpinned");
        }
        Pinning { taskset }
    }

    /// Moves every thread of this process to `core`.
    pub(super) fn pin_self(&self, core: usize) {
        if !self.taskset {
            return;
        }
        let ok = Command::new("taskset")
            .args([
                "-a",
                "-p",
                "-c",
                &core.to_string(),
                &std::process::id().to_string(),
            ])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("warning: could not pin the load generator to core {core}");
        }
    }

    pub(super) fn command(&self, program: &Path, core: usize) -> Command {
        if self.taskset {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(core.to_string()).arg(program);
            c
        } else {
            Command::new(program)
        }
    }
}

/// The running server: its process and what the benchmark needs to reach it.
pub(super) struct Server {
    pub(super) child: Child,
    pub(super) base: String,
    pub(super) data_dir: PathBuf,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `VmHWM` (peak RSS) and `VmRSS`, in KiB.
    pub(super) fn memory(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    /// Resets the peak RSS (`VmHWM`) to the current RSS, so each scenario reports its own.
    pub(super) fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM for a graceful stop, then make sure.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn server_env(
    data_dir: &Path,
    port: u16,
    database_url: Option<&str>,
) -> Vec<(String, String)> {
    let mut env = vec![
        ("IDP_DATA_DIR".into(), data_dir.display().to_string()),
        ("IDP_LISTEN".into(), format!("127.0.0.1:{port}")),
        ("IDP_ISSUER".into(), format!("http://127.0.0.1:{port}")),
        // The benchmark measures throughput, not the limits (which answer 429 past them).
        ("IDP_SECURITY__RATE_PER_IP".into(), "1000000000".into()),
        ("IDP_SECURITY__RATE_PER_ACCOUNT".into(), "1000000000".into()),
        ("IDP_SECURITY__RATE_PER_CLIENT".into(), "1000000000".into()),
        ("IDP_SECURITY__OTP_RESEND_SECS".into(), "1".into()),
        ("RUST_LOG".into(), "warn".into()),
    ];
    if let Some(url) = database_url {
        env.push(("IDP_DATABASE_URL".into(), url.into()));
    }
    env
}

pub(super) fn cli(
    server_bin: &Path,
    env: &[(String, String)],
    args: &[&str],
) -> Result<(), BoxError> {
    let out = Command::new(server_bin)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("IDP_CONFIG")
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "idp-server {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

pub(super) fn free_port() -> Result<u16, BoxError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
