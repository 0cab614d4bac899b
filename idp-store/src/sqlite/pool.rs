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

use super::error::DbResult;

const READERS: usize = 4;

pub(super) struct Pool {
    writer: Arc<Mutex<Connection>>,
    /// One permit: at most one blocking thread waits for the writer at a time.
    write_gate: Arc<Semaphore>,
    readers: Arc<Mutex<Vec<Connection>>>,
    /// As many permits as reader connections, so a permit holder always finds one.
    read_gate: Arc<Semaphore>,
}

impl Pool {
    /// Opens (creating if needed) the file and its connections. Blocking.
    pub(super) fn open(path: &Path) -> DbResult<Pool> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        // The writer first: it switches the file to WAL, which the readers then share.
        let writer = connect(path)?;
        let readers = (0..READERS)
            .map(|_| {
                let conn = connect(path)?;
                // A query that tries to write on a reader is a bug; make it fail loudly.
                conn.pragma_update(None, "query_only", true)?;
                Ok(conn)
            })
            .collect::<DbResult<Vec<_>>>()?;
        Ok(Pool {
            writer: Arc::new(Mutex::new(writer)),
            write_gate: Arc::new(Semaphore::new(1)),
            readers: Arc::new(Mutex::new(readers)),
            read_gate: Arc::new(Semaphore::new(READERS)),
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

fn connect(path: &Path) -> DbResult<Connection> {
    let conn = Connection::open(path)?;
    // busy_timeout first: the other pragmas may need a lock another process holds briefly.
    conn.pragma_update(None, "busy_timeout", 5000)?;
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
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
}
