//! Connections to the database file, used from async code without blocking the runtime.
//!
//! SQLite allows one writer at a time, so the store keeps exactly one writer connection: writes
//! queue on a semaphore instead of spinning on SQLITE_BUSY, and each runs in a
//! `BEGIN IMMEDIATE` transaction (which takes the write lock up front, so a transaction never
//! has to upgrade a read lock and fail half-way). Reads use a few connections of their own; in
//! WAL mode they see the last committed state and neither block nor are blocked by the writer.
//! Writes and longer reads run on tokio's blocking pool; point lookups by key run on the calling
//! thread when a reader is free (see [`Pool::lookup`]).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use idp_core::store::{StoreError, StoreResult};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::Semaphore;

use super::checkpoint;
use super::error::DbResult;

const READERS: usize = 4;

pub(super) struct Pool {
    writer: Arc<Mutex<Connection>>,
    /// One permit: at most one blocking thread waits for the writer at a time.
    write_gate: Arc<Semaphore>,
    readers: Arc<Mutex<Vec<Connection>>>,
    /// As many permits as reader connections, so a permit holder always finds one.
    read_gate: Arc<Semaphore>,
    /// Dropped with the pool, which stops the checkpointer thread.
    _checkpointer: std::sync::mpsc::Sender<()>,
}

impl Pool {
    /// Opens (creating if needed) the file and its connections. Blocking.
    pub(super) fn open(path: &Path) -> DbResult<Pool> {
        Self::open_with(path, checkpoint::Policy::DEFAULT)
    }

    fn open_with(path: &Path, checkpointing: checkpoint::Policy) -> DbResult<Pool> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        // The writer first: it switches the file to WAL, which the readers then share.
        let writer = connect(path)?;
        // Commits only append to the WAL; copying it back into the database file is the
        // checkpointer thread's job (see the checkpoint module).
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        writer.pragma_update(None, "journal_size_limit", checkpoint::WAL_SIZE_LIMIT)?;
        let writer = Arc::new(Mutex::new(writer));
        let write_gate = Arc::new(Semaphore::new(1));
        let checkpointer = checkpoint::spawn(
            connect(path)?,
            writer.clone(),
            write_gate.clone(),
            checkpointing,
        )?;
        let readers = (0..READERS)
            .map(|_| {
                let conn = connect(path)?;
                // A query that tries to write on a reader is a bug; make it fail loudly.
                conn.pragma_update(None, "query_only", true)?;
                Ok(conn)
            })
            .collect::<DbResult<Vec<_>>>()?;
        Ok(Pool {
            writer,
            write_gate,
            readers: Arc::new(Mutex::new(readers)),
            read_gate: Arc::new(Semaphore::new(READERS)),
            _checkpointer: checkpointer,
        })
    }

    /// Runs `f` in a read transaction, so that multi-statement reads see one snapshot.
    pub(super) async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Transaction<'_>) -> DbResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let started = Instant::now();
        let permit = acquire(&self.read_gate).await?;
        let readers = self.readers.clone();
        let out = blocking(move || {
            let _permit = permit;
            read_on(&readers, f)
        })
        .await;
        // Waiting for a connection included: that is what the caller waited.
        idp_core::metrics::store_call("sqlite", "read", started.elapsed());
        out
    }

    /// [`Pool::read`] for a lookup by key (one row or a handful, through an index): runs on the
    /// calling thread when a reader connection is free at once. Such a query takes a few
    /// microseconds on a warm page cache, while handing it to the blocking pool costs two thread
    /// switches and a wake-up, several times the query itself on a busy core (measured: the
    /// introspection benchmark spent more in the scheduler than in SQLite). When every reader is
    /// busy it queues on the blocking pool like any read, so a burst never blocks the runtime.
    pub(super) async fn lookup<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Transaction<'_>) -> DbResult<T> + Send + 'static,
        T: Send + 'static,
    {
        match self.read_gate.try_acquire() {
            Ok(_permit) => {
                let started = Instant::now();
                let out = read_on(&self.readers, f).map_err(StoreError::from);
                idp_core::metrics::store_call("sqlite", "read", started.elapsed());
                out
            }
            Err(_) => self.read(f).await,
        }
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer; commits if it returns Ok.
    pub(super) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Transaction<'_>) -> DbResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.with_writer(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// [`Pool::write`] for a write of a few rows by key (a token rotation, a revocation, a
    /// login's bookkeeping): runs on the calling thread when the writer is free and the file's
    /// write lock can be taken without waiting. Such a write appends a few pages to the WAL
    /// (no fsync: that is the checkpointer's), tens of microseconds, while the trip through the
    /// blocking pool costs two thread switches on the same core. When the writer is busy, or
    /// another process (an admin command) holds the lock, it queues like any write, so the
    /// runtime thread never waits on a lock.
    pub(super) async fn quick_write<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Transaction<'_>) -> DbResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let f = match self.write_gate.try_acquire() {
            Ok(_permit) => {
                let started = Instant::now();
                match write_now(&lock(&self.writer), f) {
                    Ok(out) => {
                        idp_core::metrics::store_call("sqlite", "write", started.elapsed());
                        return out.map_err(StoreError::from);
                    }
                    Err(f) => f,
                }
            }
            Err(_) => f,
        };
        self.write(f).await
    }

    /// Hands `f` the writer connection itself (migrations manage their own transactions).
    pub(super) async fn with_writer<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&mut Connection) -> DbResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let started = Instant::now();
        let permit = acquire(&self.write_gate).await?;
        let writer = self.writer.clone();
        let out = blocking(move || {
            let _permit = permit;
            f(&mut lock(&writer))
        })
        .await;
        idp_core::metrics::store_call("sqlite", "write", started.elapsed());
        out
    }
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer `conn` if the file's write lock
/// is free now; hands `f` back, untouched, when another process holds it.
fn write_now<T, F>(conn: &Connection, f: F) -> Result<DbResult<T>, F>
where
    F: FnOnce(&Transaction<'_>) -> DbResult<T>,
{
    if let Err(e) = conn.busy_timeout(std::time::Duration::ZERO) {
        return Ok(Err(e.into()));
    }
    // `new_unchecked`: the writer is never inside a transaction here (we hold its lock).
    let tx = match Transaction::new_unchecked(conn, TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let restored = conn.busy_timeout(BUSY_TIMEOUT);
            return match restored {
                Ok(()) if is_busy(&e) => Err(f),
                Ok(()) => Ok(Err(e.into())),
                Err(restore) => Ok(Err(restore.into())),
            };
        }
    };
    Ok((|| {
        tx.busy_timeout(BUSY_TIMEOUT)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    })())
}

/// Runs `f` in a read transaction on a reader connection; the caller holds a read permit.
fn read_on<T>(
    readers: &Mutex<Vec<Connection>>,
    f: impl FnOnce(&Transaction<'_>) -> DbResult<T>,
) -> DbResult<T> {
    let mut lease = Lease::take(readers)?;
    let tx = lease.conn()?.transaction()?;
    // Dropping the transaction ends it; nothing was written.
    f(&tx)
}

/// Page size of a new database file, in bytes (SQLite's default is 4096). A refresh rotation
/// dirties four or five pages at scattered places (a token row and three index entries keyed by
/// random digests and ids), and every dirty page is appended whole to the WAL and later written
/// back and checkpointed: with 2 KiB pages the server writes 40% less per rotation (15.6 KB
/// instead of 25.8 KB, from `/proc/<pid>/io`), and the writer's stalls while the WAL is synced
/// shrink with it (refresh p99 lower in 9 of 10 alternating runs; docs/performance.md). Index
/// keys up to about 480 bytes (every email, id and digest) stay within a page; longer rows,
/// such as a signing key, continue on overflow pages as they would anyway.
pub(super) const PAGE_SIZE: i64 = 2048;

/// How long a statement waits for a lock another process holds before it fails (busy).
pub(super) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy)
    )
}

fn connect(path: &Path) -> DbResult<Connection> {
    let conn = Connection::open(path)?;
    // busy_timeout first: the other pragmas may need a lock another process holds briefly.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Takes effect only when this connection creates the file; an existing file keeps its size.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Internal(format!("journal_mode is {mode}, not wal")).into());
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.set_prepared_statement_cache_capacity(64);
    // Query-planner stability: plans do not depend on the values bound. Without it SQLite
    // (3.54) marks a statement with an `= ?` term it estimates by value as "re-prepare when
    // the binding changes", and `sqlite3_clear_bindings` (which rusqlite's statement cache
    // calls on every statement it takes back) then expires it outright: every cached statement
    // of that shape was parsed and planned again on each use. perf showed it as 16% of the
    // server's CPU in the refresh benchmark. Our queries are key look-ups with no statistics
    // to exploit, so a fixed plan loses nothing.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

async fn acquire(gate: &Arc<Semaphore>) -> StoreResult<tokio::sync::OwnedSemaphorePermit> {
    gate.clone()
        .acquire_owned()
        .await
        .map_err(|_| StoreError::Unavailable("store is closed".into()))
}

async fn blocking<T, F>(f: F) -> StoreResult<T>
where
    F: FnOnce() -> DbResult<T> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(StoreError::from),
        Err(e) => Err(StoreError::Internal(format!("store task failed: {e}"))),
    }
}

/// A panic while a connection was in use leaves the connection itself sound (an open
/// transaction is rolled back when dropped), so a poisoned lock is still usable.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A reader connection on loan; goes back to the pool even if the query panics.
struct Lease<'a> {
    pool: &'a Mutex<Vec<Connection>>,
    conn: Option<Connection>,
}

impl<'a> Lease<'a> {
    fn take(pool: &'a Mutex<Vec<Connection>>) -> DbResult<Self> {
        let conn = lock(pool).pop();
        if conn.is_none() {
            return Err(StoreError::Internal("no reader connection left".into()).into());
        }
        Ok(Lease { pool, conn })
    }

    fn conn(&mut self) -> DbResult<&mut Connection> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Internal("reader connection already returned".into()).into())
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            lock(self.pool).push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;

    /// A cached statement is reused as prepared, not parsed again on every call (see the
    /// `ENABLE_QPSG` comment in [`connect`]). The query has the shape that triggered it: a join
    /// on a key plus an `= ?` term the index does not consume.
    #[test]
    fn cached_statements_are_not_prepared_again() {
        let dir = tempfile::tempdir().unwrap();
        let Ok(conn) = connect(&dir.path().join("t.db")) else {
            panic!("cannot open the test database");
        };
        conn.execute_batch(
            "CREATE TABLE f (id TEXT NOT NULL PRIMARY KEY, revoked_at INTEGER) STRICT;
             CREATE TABLE t (digest TEXT NOT NULL PRIMARY KEY, family_id TEXT NOT NULL) STRICT;
             INSERT INTO f VALUES ('f1', NULL);
             INSERT INTO t VALUES ('d1', 'f1'), ('d2', 'f1');",
        )
        .unwrap();
        let sql = "SELECT t.digest, f.id FROM t JOIN f ON f.id = t.family_id
                   WHERE t.digest = ?1 AND f.revoked_at IS NULL";
        for digest in ["d1", "d2", "d1", "nope"] {
            let mut stmt = conn.prepare_cached(sql).unwrap();
            let _ = stmt.query_row([digest], |r| r.get::<_, String>(0));
        }
        let stmt = conn.prepare_cached(sql).unwrap();
        assert_eq!(stmt.get_status(StatementStatus::Run), 4);
        assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
    }

    /// New files get [`PAGE_SIZE`]; a file created with another page size keeps it (SQLite
    /// cannot change it in WAL mode), so existing databases open as before.
    #[test]
    fn new_files_use_the_store_page_size_and_old_files_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let page_size = |path: &Path| {
            let Ok(conn) = connect(path) else {
                panic!("cannot open {}", path.display());
            };
            conn.execute_batch("CREATE TABLE IF NOT EXISTS t (n INTEGER) STRICT")
                .unwrap();
            conn.pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0))
                .unwrap()
        };
        let new = dir.path().join("new.db");
        assert_eq!(page_size(&new), PAGE_SIZE);
        assert_eq!(page_size(&new), PAGE_SIZE, "reopened");

        let old = dir.path().join("old.db");
        let conn = rusqlite::Connection::open(&old).unwrap();
        conn.execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (n INTEGER) STRICT")
            .unwrap();
        drop(conn);
        assert_eq!(page_size(&old), 4096);
    }

    /// While another process holds the file's write lock, a quick write must not wait for it on
    /// the runtime's thread: on this one-thread runtime the task that releases the lock could
    /// then never run, and the write would fail after the busy timeout instead of succeeding
    /// as soon as the lock is free.
    #[tokio::test(flavor = "current_thread")]
    async fn quick_write_queues_instead_of_blocking_when_another_process_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let Ok(pool) = Pool::open(&path) else {
            panic!("cannot open the pool");
        };
        let created = pool
            .write(|tx| Ok(tx.execute_batch("CREATE TABLE t (n INTEGER NOT NULL) STRICT")?))
            .await;
        assert!(created.is_ok());
        // Another process: its own connection holding the write lock.
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let release = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            other.execute_batch("COMMIT").unwrap();
        });
        let started = Instant::now();
        let wrote = pool
            .quick_write(|tx| Ok(tx.execute("INSERT INTO t VALUES (1)", [])?))
            .await;
        assert!(matches!(wrote, Ok(1)), "{:?}", wrote.err());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        release.await.unwrap();
        // And with the lock free it writes at once, on this thread.
        let wrote = pool
            .quick_write(|tx| Ok(tx.execute("INSERT INTO t VALUES (2)", [])?))
            .await;
        assert!(matches!(wrote, Ok(1)));
        let n = pool
            .read(|tx| Ok(tx.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))?))
            .await;
        assert!(matches!(n, Ok(2)));
    }

    /// Under writes that never pause, the WAL still starts over (see the checkpoint module):
    /// a concurrent checkpoint alone never catches up with the writer, and the log would grow
    /// by every commit until the load stops.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wal_starts_over_under_steady_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        // The default policy's rhythm, ten times faster.
        let policy = checkpoint::Policy {
            every: std::time::Duration::from_millis(50),
            restart_after_frames: 400,
            restart_at_most_every: std::time::Duration::from_millis(200),
        };
        let Ok(pool) = Pool::open_with(&path, policy) else {
            panic!("cannot open the pool");
        };
        let pool = Arc::new(pool);
        let created = pool
            .write(|tx| {
                Ok(tx.execute_batch(
                    "CREATE TABLE t (n INTEGER NOT NULL PRIMARY KEY, pad TEXT NOT NULL) STRICT",
                )?)
            })
            .await;
        assert!(created.is_ok());
        let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let reader = {
            let (pool, writing) = (pool.clone(), writing.clone());
            tokio::spawn(async move {
                while writing.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = pool
                        .lookup(|tx| {
                            Ok(tx.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))?)
                        })
                        .await;
                    tokio::task::yield_now().await;
                }
            })
        };
        // Each commit adds at least one frame: a second and a half of commits, and at least
        // ten times the restart threshold (a slow machine just takes longer).
        let started = Instant::now();
        let mut commits = 0i64;
        while started.elapsed() < std::time::Duration::from_millis(1500) || commits < 10 * 400 {
            assert!(started.elapsed() < std::time::Duration::from_secs(60));
            // Bursts with a pause: steady, but not a gigabyte of WAL on a fast machine.
            if commits % 20 == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            let n = commits;
            let wrote = pool
                .quick_write(move |tx| {
                    Ok(tx.execute("INSERT INTO t VALUES (?1, printf('%.500c', 'x'))", [n])?)
                })
                .await;
            assert!(matches!(wrote, Ok(1)));
            commits += 1;
        }
        writing.store(false, std::sync::atomic::Ordering::Relaxed);
        reader.await.unwrap();
        let frames = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
            .unwrap();
        // Every commit appends at least one frame, so a log that never started over holds at
        // least as many frames as there were commits.
        assert!(
            frames < commits,
            "{frames} frames in the WAL after {commits} commits: it never started over"
        );
    }
}
