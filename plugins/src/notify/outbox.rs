//! The file outbox: one JSON line per message, appended to a file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{SecondsFormat, Utc};
use idp_core::notify::{Channel, Message, Notifier, NotifyError};
use serde::Serialize;
use tokio::sync::Mutex;

/// Appends every message, whatever its channel, as one line
/// `{"ts","channel","to","subject","body"}` to a file (see the [module docs](super)).
pub struct FileOutbox {
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

/// One line of the outbox, in this field order.
#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    channel: Channel,
    to: &'a str,
    subject: &'a str,
    body: &'a str,
}

impl FileOutbox {
    /// Opens (creating it and its parent directories if needed) the outbox file at `path` for
    /// appending. Needs no Tokio runtime.
    pub fn new(path: impl Into<PathBuf>) -> Result<Self, NotifyError> {
        let path = path.into();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                NotifyError::Failed(format!(
                    "cannot create the outbox directory {}: {e}",
                    parent.display()
                ))
            })?;
        }
        let file = open_append(&path)?;
        Ok(Self {
            path,
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// The file this outbox appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::fmt::Debug for FileOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileOutbox")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Notifier for FileOutbox {
    async fn send(&self, message: &Message) -> Result<(), NotifyError> {
        let mut line = serde_json::to_string(&Line {
            ts: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            channel: message.channel,
            to: &message.to,
            subject: &message.subject,
            body: &message.body,
        })
        .map_err(|e| NotifyError::Failed(format!("cannot encode the outbox line: {e}")))?;
        line.push('\n');

        // The guard moves into the blocking task: if this future is dropped mid-write, the
        // write still finishes before the next one starts.
        let mut file = Arc::clone(&self.file).lock_owned().await;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            reopen_if_replaced(&path, &mut file)?;
            // One write_all of the whole line on an O_APPEND file: for a regular file this is a
            // single write(2), so concurrent writers in other processes never split a line.
            file.write_all(line.as_bytes()).map_err(|e| {
                NotifyError::Failed(format!("cannot append to {}: {e}", path.display()))
            })
        })
        .await
        .map_err(|e| NotifyError::Failed(format!("outbox write task failed: {e}")))??;

        tracing::debug!(channel = ?message.channel, "message appended to the outbox");
        Ok(())
    }
}

fn open_append(path: &Path) -> Result<File, NotifyError> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // The outbox holds one-time codes and reset links.
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|e| NotifyError::Failed(format!("cannot open the outbox {}: {e}", path.display())))
}

/// Reopens the outbox when the path no longer names the open file (removed or rotated), so
/// that lines never go to an unlinked file.
#[cfg(unix)]
fn reopen_if_replaced(path: &Path, file: &mut File) -> Result<(), NotifyError> {
    use std::os::unix::fs::MetadataExt;
    let same = match (std::fs::metadata(path), file.metadata()) {
        (Ok(on_disk), Ok(open)) => on_disk.dev() == open.dev() && on_disk.ino() == open.ino(),
        _ => false,
    };
    if !same {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(parent);
        }
        *file = open_append(path)?;
        tracing::info!(path = %path.display(), "outbox file was removed or replaced; reopened");
    }
    Ok(())
}

#[cfg(not(unix))]
fn reopen_if_replaced(_path: &Path, _file: &mut File) -> Result<(), NotifyError> {
    Ok(())
}
