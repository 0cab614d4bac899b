//! Copying the write-ahead log back into the database file, off the request path.
//!
//! A commit only appends a few pages to the WAL. SQLite's automatic checkpoint would copy the
//! WAL back (and fsync twice) inside every ~250th commit, holding up that write and every write
//! queued behind it by several milliseconds: the p99 of the refresh benchmark. Here a thread of
//! its own does it, in two steps:
//!
//! 1. Every [`Policy::every`], a PASSIVE checkpoint on its own connection: it copies whatever frames no
//!    reader still needs, never waits for readers or the writer, and does the fsyncs.
//! 2. A PASSIVE checkpoint alone would let the WAL grow for as long as writes never pause: the
//!    log can only start over between two writes, once every frame is back in the database, and
//!    under steady writes a concurrent checkpoint never catches up (measured: 1 GB of WAL after
//!    10 s of refresh load). So when the WAL holds more than [`Policy::restart_after_frames`], the thread
//!    takes the writer's turn in the queue and runs a RESTART checkpoint on the writer
//!    connection: it copies the few frames written since step 1, and the next write starts the
//!    log from its beginning. Writes wait for that (1–8 ms measured, most of it two fsyncs),
//!    at most once every [`Policy::restart_at_most_every`]. The first commit after it also
//!    truncates the log back to [`WAL_SIZE_LIMIT`]; on a file system mounted with `discard`
//!    that waits for the device (80–110 ms on the benchmark VM). The alternatives measured
//!    (never truncating, truncating to zero, preallocating) were no better: see
//!    docs/performance.md.

use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use idp_core::store::StoreError;
use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::error::DbResult;
use super::pool::{BUSY_TIMEOUT, lock};

/// When the checkpointer works.
#[derive(Debug, Clone, Copy)]
pub(super) struct Policy {
    /// How often the WAL is copied back (step 1). Each round syncs the WAL, and while it is
    /// written back the writer's appends to it wait in the file system (5–11 ms on the
    /// benchmark VM), so fewer, larger rounds make fewer slow writes: every 2 s instead of
    /// 500 ms took the refresh benchmark's p99 from 10.8–16.9 to 9.6–13.3 ms in alternating
    /// runs. It is also how old the newest commits a power loss can take back may be
    /// (`synchronous=NORMAL` syncs the WAL only here); a crash of the process loses nothing.
    pub every: Duration,
    /// Above this many frames (one page each: 8 MiB with the store's 2 KiB pages), the log is
    /// started over (step 2)...
    pub restart_after_frames: i64,
    /// ...at most this often: each restart holds writes up for its fsyncs (1–8 ms on the
    /// benchmark machine) and the truncation after it, and at most one request in a few
    /// hundred should meet one. Under the
    /// refresh benchmark's 6,000 commits/s the WAL then peaks at a few hundred MB.
    pub restart_at_most_every: Duration,
}

impl Policy {
    pub(super) const DEFAULT: Policy = Policy {
        every: Duration::from_secs(2),
        restart_after_frames: 4096,
        restart_at_most_every: Duration::from_secs(2),
    };
}
/// How long step 2 waits for readers of old frames before it gives up for this round.
const RESTART_WAIT: Duration = Duration::from_millis(50);
/// A WAL file that grew larger than this (a burst, a long read) is cut back to it when reset.
pub(super) const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// Starts the checkpointer on `own` (a connection of its own); `writer` and `write_gate` are the
/// pool's, for step 2. It runs until the returned sender is dropped (with the pool).
pub(super) fn spawn(
    own: Connection,
    writer: Arc<Mutex<Connection>>,
    write_gate: Arc<Semaphore>,
    policy: Policy,
) -> DbResult<Sender<()>> {
    // Step 2 queues for the writer like any write: through the pool's semaphore, which needs a
    // runtime to wait on. Without one (never in the server) only step 1 runs.
    let runtime = tokio::runtime::Handle::try_current().ok();
    let (stop, stopped) = channel::<()>();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut restarted: Option<Instant> = None;
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(policy.every) {
                match passive(&own) {
                    Ok(frames)
                        if frames > policy.restart_after_frames
                            && restarted
                                .is_none_or(|at| at.elapsed() >= policy.restart_at_most_every) =>
                    {
                        if let Some(runtime) = &runtime {
                            // Copy what came since, so that the writers wait for less.
                            let _ = passive(&own);
                            restart(runtime, &writer, &write_gate);
                            restarted = Some(Instant::now());
                        }
                    }
                    Ok(_) => {}
                    // A failure (disk full, I/O error) leaves the frames in the WAL, where
                    // readers still find them; the next round tries again.
                    Err(e) => tracing::warn!(error = %e, "SQLite WAL checkpoint failed"),
                }
            }
        })
        .map_err(|e| StoreError::Unavailable(format!("cannot start the checkpointer: {e}")))?;
    Ok(stop)
}

/// Step 1; returns how many frames the WAL holds.
fn passive(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
}

/// Step 2: with the writer's turn, so no write runs meanwhile.
fn restart(runtime: &tokio::runtime::Handle, writer: &Mutex<Connection>, gate: &Arc<Semaphore>) {
    let Ok(_turn) = runtime.block_on(gate.clone().acquire_owned()) else {
        return; // the pool is closing
    };
    let conn = lock(writer);
    // It waits for readers still reading old frames to finish. Point look-ups take
    // microseconds, but a long read must not hold every write up: after RESTART_WAIT this round
    // gives up (the WAL keeps its frames, readers still find them) and a later one tries again.
    let waited = conn
        .busy_timeout(RESTART_WAIT)
        .and_then(|()| conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())));
    if let Err(e) = waited {
        tracing::warn!(error = %e, "SQLite WAL restart failed");
    }
    if let Err(e) = conn.busy_timeout(BUSY_TIMEOUT) {
        tracing::warn!(error = %e, "SQLite busy timeout not restored on the writer");
    }
}
