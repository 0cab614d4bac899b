//! Argon2id hashing for secrets people choose (passwords, PINs, security answers).
//!
//! Hashing is deliberately slow (about 13 ms and 19 MiB at the defaults), so it never runs on the
//! async runtime's workers: a fixed set of OS threads, at most one per core, takes jobs from a
//! bounded queue. Each thread keeps its argon2 memory blocks between jobs instead of allocating
//! 19 MiB per hash. When the queue is full callers get [`HashError::Overloaded`] at once rather
//! than piling up behind a burst of logins.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use zeroize::Zeroize;

/// Longest secret accepted for hashing or verification, in bytes: longer inputs are refused
/// before any work is done, so that nobody can make the pool hash megabytes.
pub const MAX_SECRET_BYTES: usize = 1024;
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for HashParams {
    /// OWASP's argon2id baseline: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        Self {
            m_cost: 19_456,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

impl HashParams {
    fn to_argon2(self) -> Result<Params, HashError> {
        Params::new(self.m_cost, self.t_cost, self.p_cost, Some(OUTPUT_LEN))
            .map_err(|e| HashError::BadParams(e.to_string()))
    }

    /// Checks the parameters without building a pool (for configuration validation).
    pub fn validate(self) -> Result<(), HashError> {
        self.to_argon2().map(|_| ())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HashError {
    #[error("invalid argon2 parameters: {0}")]
    BadParams(String),
    #[error("secret too long")]
    TooLong,
    #[error("hashing pool is overloaded")]
    Overloaded,
    #[error("hashing failed: {0}")]
    Failed(String),
}

enum Job {
    Hash {
        secret: Vec<u8>,
        reply: oneshot::Sender<Result<String, HashError>>,
    },
    Verify {
        secret: Vec<u8>,
        phc: String,
        reply: oneshot::Sender<bool>,
    },
}

/// Handle to the hashing threads. Cheap to clone; the threads stop when the last handle drops.
#[derive(Clone)]
pub struct SecretHasher {
    queue: SyncSender<Job>,
    dummy: Arc<str>,
}

impl SecretHasher {
    /// Starts `threads` hashing threads (0 = one per core) with a queue of `queue_len` jobs.
    pub fn new(params: HashParams, threads: usize, queue_len: usize) -> Result<Self, HashError> {
        let argon_params = params.to_argon2()?;
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        let (queue, jobs) = std::sync::mpsc::sync_channel::<Job>(queue_len.max(1));
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let jobs = jobs.clone();
            let params = argon_params.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(params, jobs))
                .map_err(|e| HashError::Failed(e.to_string()))?;
        }
        // A hash of a random secret: unknown accounts are verified against it so that they
        // cost the same time as known ones.
        let mut random = [0u8; 32];
        rand::rng().fill_bytes(&mut random);
        let dummy = hash_with(&argon_params, &random, &mut Vec::new())?;
        Ok(Self {
            queue,
            dummy: dummy.into(),
        })
    }

    pub async fn hash(&self, secret: &[u8]) -> Result<String, HashError> {
        if secret.len() > MAX_SECRET_BYTES {
            return Err(HashError::TooLong);
        }
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash {
            secret: secret.to_vec(),
            reply,
        })?;
        answer
            .await
            .map_err(|_| HashError::Failed("hashing thread gone".into()))?
    }

    /// True when `secret` matches `phc`. Compares in constant time; an unparsable hash or an
    /// overlong secret is simply a mismatch (after the same amount of work as a real check).
    pub async fn verify(&self, secret: &[u8], phc: &str) -> Result<bool, HashError> {
        let too_long = secret.len() > MAX_SECRET_BYTES;
        let (secret, phc) = if too_long {
            (&b""[..], &*self.dummy)
        } else {
            (secret, phc)
        };
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            secret: secret.to_vec(),
            phc: phc.to_owned(),
            reply,
        })?;
        let ok = answer
            .await
            .map_err(|_| HashError::Failed("hashing thread gone".into()))?;
        Ok(ok && !too_long)
    }

    /// Spends the time of one verification and answers false: for unknown accounts.
    pub async fn verify_dummy(&self, secret: &[u8]) -> Result<bool, HashError> {
        let dummy = self.dummy.clone();
        self.verify(secret, &dummy).await.map(|_| false)
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        self.queue.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => HashError::Overloaded,
            TrySendError::Disconnected(_) => HashError::Failed("hashing threads stopped".into()),
        })
    }
}

/// A hashing thread that has had nothing to do for this long gives its memory back.
const IDLE_RELEASE: Duration = Duration::from_secs(5);

fn worker(params: Params, jobs: Arc<Mutex<Receiver<Job>>>) {
    lower_priority();
    // Allocated by the first job and kept while jobs keep coming: a busy thread never pays for
    // 19 MiB of page faults per hash, an idle server does not hold them.
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // Hold the lock only while taking a job, never while hashing.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv_timeout(IDLE_RELEASE),
            Err(_) => return,
        };
        let job = match job {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                memory = Vec::new();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        match job {
            Job::Hash { mut secret, reply } => {
                let result = hash_with(&params, &secret, &mut memory);
                secret.zeroize();
                let _ = reply.send(result);
            }
            Job::Verify {
                mut secret,
                phc,
                reply,
            } => {
                let ok = verify_with(&secret, &phc, &mut memory);
                secret.zeroize();
                let _ = reply.send(ok);
            }
        }
    }
}

/// Hashing threads run at a lower scheduling priority (nice 10) than the async runtime: when
/// sign-ins saturate them, token, JWKS and introspection requests still get the CPU at once,
/// and the hashing threads take what is left (all of it when nothing else runs). Measured with
/// the load benchmark's mixed scenario; see docs/performance.md.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority has no memory-safety preconditions. On Linux, PRIO_PROCESS with
    // who = 0 applies to the calling thread only (threads are scheduled as tasks).
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

fn argon2id(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes into a PHC string (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`), reusing `memory`.
fn hash_with(params: &Params, secret: &[u8], memory: &mut Vec<Block>) -> Result<String, HashError> {
    let mut salt = [0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    let mut out = [0u8; OUTPUT_LEN];
    fill(params, secret, &salt, &mut out, memory)?;
    let fail = |e: argon2::password_hash::phc::Error| HashError::Failed(e.to_string());
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| HashError::Failed(e.to_string()))?,
        salt: Some(Salt::new(&salt).map_err(fail)?),
        hash: Some(Output::new(&out).map_err(fail)?),
    };
    Ok(phc.to_string())
}

fn verify_with(secret: &[u8], phc: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    if parsed.algorithm != ARGON2ID_IDENT {
        return false;
    }
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let expected = expected.as_bytes();
    let Ok(params) = Params::new(
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        Some(expected.len()),
    ) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    if fill(&params, secret, salt.as_ref(), &mut out, memory).is_err() {
        return false;
    }
    out.ct_eq(expected).into()
}

fn fill(
    params: &Params,
    secret: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), HashError> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    argon2id(params.clone())
        .hash_password_into_with_memory(secret, salt, out, &mut memory[..blocks])
        .map_err(|e| HashError::Failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> HashParams {
        HashParams {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = SecretHasher::new(cheap(), 2, 16).unwrap();
        let phc = h.hash(b"Secret#123").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(h.verify(b"Secret#123", &phc).await.unwrap());
        assert!(!h.verify(b"Secret#124", &phc).await.unwrap());
        assert!(!h.verify(b"Secret#123", "not a hash").await.unwrap());
        assert!(!h.verify_dummy(b"anything").await.unwrap());
    }

    #[tokio::test]
    async fn salts_differ_and_other_params_still_verify() {
        let h = SecretHasher::new(cheap(), 1, 16).unwrap();
        let a = h.hash(b"same").await.unwrap();
        let b = h.hash(b"same").await.unwrap();
        assert_ne!(a, b);
        // A hash made with other parameters (e.g. before a config change) still verifies.
        let other = SecretHasher::new(
            HashParams {
                m_cost: 128,
                t_cost: 2,
                p_cost: 1,
            },
            1,
            4,
        )
        .unwrap();
        let c = other.hash(b"same").await.unwrap();
        assert!(h.verify(b"same", &c).await.unwrap());
    }

    #[tokio::test]
    async fn overlong_secret_is_refused() {
        let h = SecretHasher::new(cheap(), 1, 4).unwrap();
        let long = vec![b'a'; MAX_SECRET_BYTES + 1];
        assert_eq!(h.hash(&long).await, Err(HashError::TooLong));
        let phc = h.hash(b"a").await.unwrap();
        assert!(!h.verify(&long, &phc).await.unwrap());
    }

    #[test]
    fn bad_params_are_reported() {
        assert!(
            HashParams {
                m_cost: 1,
                t_cost: 1,
                p_cost: 1
            }
            .validate()
            .is_err()
        );
        assert!(HashParams::default().validate().is_ok());
    }
}
