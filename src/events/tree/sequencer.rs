//! The sequencer: one process at a time (a Redis lease) extends the tree over entries appended
//! since, and signs a checkpoint when anything is new and the last is old enough.
//!
//! Appends are untouched: they stay one Lua script each and never wait on the tree. The
//! sequencer reads the stream behind them, so a leaf's number is its entry's place in the
//! stream. Each round reads at most [`BATCH`] entries, hashes them with the tree's right edge
//! (read once), and writes the new hashes, ids and size in one script that checks the lease
//! first: a process that lost its lease writes nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tlog_tiles::{stored_hash_index, stored_hashes_for_record_hash};

use super::leaf::{id_bytes, leaf_hash};
use super::note::Signer;
use super::{Known, TreeError, frontier, root_of};
use crate::shutdown::Shutdown;
use crate::store::{Growth, Store};

/// Entries hashed per round trip.
const BATCH: usize = 2000;
/// How long a lease lasts unrenewed: another process takes over this long after a holder dies.
const LEASE_MS: u64 = 3000;
/// How often the sequencer looks for new entries.
const EVERY: Duration = Duration::from_millis(200);

/// Extends the tree and signs checkpoints while it holds the lease.
pub struct Sequencer {
    store: Store,
    signer: Arc<Signer>,
    /// At most one checkpoint per this much time.
    checkpoint_every: Duration,
    /// This process's lease token.
    token: String,
    last_checkpoint: Option<Instant>,
}

impl Sequencer {
    pub fn new(store: Store, signer: Arc<Signer>, checkpoint_every: Duration) -> Self {
        Self {
            store,
            signer,
            checkpoint_every,
            token: uuid::Uuid::new_v4().to_string(),
            last_checkpoint: None,
        }
    }

    /// Runs until `shutdown` begins; Redis errors are logged and retried next round.
    pub fn spawn(mut self, shutdown: Shutdown) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.begun() => return,
                    _ = tokio::time::sleep(EVERY) => {}
                }
                if let Err(e) = self.round().await {
                    tracing::warn!(error = %e, "audit sequencer round failed; retrying");
                }
            }
        })
    }

    /// Takes or keeps the lease; extends the tree over everything new; maybe signs.
    pub async fn round(&mut self) -> Result<(), TreeError> {
        if !self.store.tlog_lease(&self.token, LEASE_MS).await? {
            return Ok(());
        }
        // Bounded, so that the lease is renewed well before it lapses.
        for _ in 0..10 {
            if self.extend().await? < BATCH {
                break;
            }
        }
        let due = (self.last_checkpoint).is_none_or(|at| at.elapsed() >= self.checkpoint_every);
        if due && self.checkpoint().await? {
            self.last_checkpoint = Some(Instant::now());
        }
        Ok(())
    }

    /// Hashes up to [`BATCH`] new entries into the tree; how many.
    async fn extend(&self) -> Result<usize, TreeError> {
        let (size, last) = self.store.tlog_state().await?;
        let after = last.map_or_else(|| "-".to_string(), |id| format!("({id}"));
        let entries = self.store.events_range(&after, "+", BATCH, false).await?;
        let Some((last, _)) = entries.last() else {
            return Ok(0);
        };
        let mut known = Known::fetch(&self.store, &frontier(size)).await?;
        let first_hash = stored_hash_index(0, size);
        let (mut hashes, mut ids) = (Vec::new(), Vec::new());
        for (n, (id, fields)) in (size..).zip(&entries) {
            let stored = stored_hashes_for_record_hash(n, leaf_hash(id, fields), &known)?;
            known.insert_from(stored_hash_index(0, n), &stored);
            hashes.extend(stored.iter().flat_map(|h| h.0));
            ids.extend(id_bytes(id).ok_or_else(|| TreeError::BadId(id.clone()))?);
        }
        let growth = Growth {
            size: size + entries.len() as u64,
            last,
            first_hash,
            hashes: &hashes,
            first_leaf: size,
            ids: &ids,
        };
        if !self.store.tlog_extend(&self.token, &growth).await? {
            return Ok(0); // The lease went to another process: it goes on from here.
        }
        Ok(entries.len())
    }

    /// Signs a checkpoint of the tree as it is, unless the latest already covers it.
    async fn checkpoint(&self) -> Result<bool, TreeError> {
        let (size, _) = self.store.tlog_state().await?;
        let latest = self.store.tlog_latest_checkpoint().await?;
        let signed_size = latest.as_deref().and_then(super::note::size_of);
        if size == 0 || signed_size == Some(size) {
            return Ok(false);
        }
        let root = root_of(&self.store, size).await?;
        let note = self.signer.sign(size, &root)?;
        Ok(self.store.tlog_add_checkpoint(&self.token, &note).await?)
    }
}
