//! Bearer checks batched into one statement.
//!
//! Every use of an access token reads its revocation and its account ([`BearerState`]), so
//! that a revocation or a lock is seen at once by every replica. On PostgreSQL each read was
//! one statement, and under load the statements' fixed cost (the protocol, planning the
//! prepared statement, the backend's wake-up) dominated: about 47 µs of backend time per
//! introspection. Here the checks that are waiting at the same moment share one statement over
//! arrays (`unnest ... WITH ORDINALITY`), so that cost is paid once per batch.
//!
//! The batches run on their own small pool whose sessions always plan generically
//! (`plan_cache_mode=force_generic_plan`). With the default, PostgreSQL re-plans a statement
//! over array parameters on every execution, because a custom plan that knows the arrays'
//! lengths looks cheaper than the generic one for batches under ten: the re-planning tripled
//! the statement's cost (pgbench, 20,000 accounts and 50,000 families: 4,900 statements/s for
//! one check against 9,100/s with the generic plan, which is index lookups in a nested loop).
//! Setting that for the main pool would also freeze the plans of its searches.
//!
//! Freshness is unchanged: a check is queued after its request arrived and its statement starts
//! after that, so it sees every revocation committed before the request. Nothing waits to fill a
//! batch: a batch is whatever queued while earlier batches were in flight or while the runtime
//! was busy with other requests, so an idle server answers a lone check with one statement as
//! before.

use std::sync::Arc;

use deadpool_postgres::Pool;
use idp_core::model::BearerState;
use idp_core::store::{StoreError, StoreResult};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::rows::{account_cols, get, joined_account};
use super::{pooled, query};

/// Most checks answered by one statement.
const MAX_BATCH: usize = 128;
/// Batches in flight at once: the size of the bearer checks' own pool.
const MAX_IN_FLIGHT: usize = 2;
/// Checks that may queue before callers wait to queue.
const QUEUE: usize = 4096;

/// One queued check and where its answer goes.
struct Check {
    jti: String,
    family_id: Option<Uuid>,
    account_id: Option<Uuid>,
    reply: oneshot::Sender<StoreResult<BearerState>>,
}

/// The queue of bearer checks. Cheap to clone; the task that answers it ends once every clone
/// is dropped.
#[derive(Clone)]
pub(super) struct BearerChecks {
    queue: mpsc::Sender<Check>,
    pool: Pool,
}

impl BearerChecks {
    /// Starts the task that answers the checks (on the current Tokio runtime), with a pool of
    /// [`MAX_IN_FLIGHT`] connections made from `config`. Connections open on first use.
    pub(super) fn start(mut config: tokio_postgres::Config) -> StoreResult<BearerChecks> {
        let options = config.get_options().unwrap_or_default().to_owned();
        config.options(format!("{options} -c plan_cache_mode=force_generic_plan").trim_start());
        let pool = super::pool(config, MAX_IN_FLIGHT)?;
        let (queue, checks) = mpsc::channel(QUEUE);
        tokio::spawn(answer_checks(pool.clone(), checks));
        Ok(BearerChecks { queue, pool })
    }

    /// After a migration: statements prepared against the old schema may no longer describe it.
    pub(super) fn clear_statement_caches(&self) {
        self.pool.manager().statement_caches.clear();
    }

    pub(super) async fn check(
        &self,
        jti: &str,
        family_id: Option<Uuid>,
        account_id: Option<Uuid>,
    ) -> StoreResult<BearerState> {
        let (reply, answer) = oneshot::channel();
        let check = Check {
            jti: jti.to_owned(),
            family_id,
            account_id,
            reply,
        };
        let gone = || StoreError::Unavailable("bearer checks stopped".into());
        self.queue.send(check).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// Takes whatever checks are queued (at least one, at most [`MAX_BATCH`]) whenever fewer than
/// [`MAX_IN_FLIGHT`] batches are running, and answers them with one statement.
async fn answer_checks(pool: Pool, mut checks: mpsc::Receiver<Check>) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if checks.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return; // every store clone is gone
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            answer_batch(&pool, batch).await;
            drop(slot);
        });
    }
}

async fn answer_batch(pool: &Pool, batch: Vec<Check>) {
    match read_batch(pool, &batch).await {
        Ok(states) => {
            for (check, state) in batch.into_iter().zip(states) {
                // A caller that gave up (its request was dropped) no longer listens.
                let _ = check.reply.send(Ok(state));
            }
        }
        Err(e) => {
            for check in batch {
                let _ = check.reply.send(Err(e.clone()));
            }
        }
    }
}

/// The state of each check, in the batch's order.
async fn read_batch(pool: &Pool, batch: &[Check]) -> StoreResult<Vec<BearerState>> {
    // PostgreSQL text cannot hold NUL and would refuse the whole batch for one such jti. No
    // stored jti holds one, so it is sent as NULL, which matches no revocation either.
    let jtis: Vec<Option<&str>> = batch
        .iter()
        .map(|c| Some(c.jti.as_str()).filter(|j| !j.contains('\0')))
        .collect();
    let families: Vec<Option<Uuid>> = batch.iter().map(|c| c.family_id).collect();
    let accounts: Vec<Option<Uuid>> = batch.iter().map(|c| c.account_id).collect();
    let c = pooled(pool).await?;
    let rows = query(
        &c,
        concat!(
            "SELECT k.i, \
               EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = k.jti) \
               OR EXISTS (SELECT 1 FROM token_families \
                          WHERE id = k.family AND revoked_at IS NOT NULL) AS revoked, \
               a.* \
             FROM unnest($1::text[], $2::uuid[], $3::uuid[]) WITH ORDINALITY AS k(jti, family, account, i) \
             LEFT JOIN LATERAL (SELECT ",
            account_cols!(),
            " FROM accounts WHERE id = k.account) a ON true"
        ),
        &[&jtis, &families, &accounts],
    )
    .await?;
    let mut states: Vec<Option<BearerState>> = batch.iter().map(|_| None).collect();
    for row in &rows {
        let i: i64 = get(row, "i")?;
        let slot = usize::try_from(i - 1)
            .ok()
            .and_then(|i| states.get_mut(i))
            .ok_or_else(|| StoreError::Internal(format!("bearer batch row {i} out of range")))?;
        *slot = Some(BearerState {
            revoked: get(row, "revoked")?,
            account: joined_account(row)?,
        });
    }
    states
        .into_iter()
        .map(|s| s.ok_or_else(|| StoreError::Internal("bearer batch row missing".into())))
        .collect()
}
