//! A tamper-evident audit log: an append-only Merkle tree over the audit stream (RFC 6962
//! hashing, as Certificate Transparency and Go's checksum database use), signed checkpoints in
//! the C2SP `tlog-checkpoint` text inside a C2SP `signed-note` (Ed25519), inclusion and
//! consistency proofs, a verifier that recomputes everything from the stream, and an export as
//! static C2SP `tlog-tiles` files that any tlog client can check.
//!
//! - [`leaf`]: the canonical bytes of an entry;
//! - [`sequencer`]: one process at a time grows the tree and signs checkpoints;
//! - [`note`]: the signing key, checkpoints and the verifier key;
//! - [`proofs`]: inclusion (by entry id) and consistency proofs from the stored hashes;
//! - [`verify`]: recompute the tree from the stream and name the first entry that differs;
//! - [`export`]: checkpoints, tiles and entry bundles as files.
//!
//! The tlog functions (`tlog_tiles`, a port of `golang.org/x/mod/sumdb/tlog`) read hashes
//! synchronously; here every read is planned first (the functions that list the indexes they
//! need), fetched from Redis in one pipeline, then handed over as [`Known`].

pub mod export;
pub mod leaf;
pub mod note;
pub mod proofs;
pub mod sequencer;
pub mod verify;

pub use sequencer::Sequencer;

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::{Error as TlogError, Hash, HashReader, sub_tree_index, tree_hash};

use crate::store::{Store, StoreError};

/// What can go wrong with the tree.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit tree: {0}")]
    Tlog(#[from] TlogError),
    #[error("the audit stream holds an entry with id {0:?}, not ms-seq")]
    BadId(String),
    #[error("audit signing key: {0}")]
    Key(String),
    /// A request field the tree cannot answer for (a size beyond it, an inverted range).
    #[error("{field}: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
    /// The entry is not in the tree (not sequenced yet, or no such entry).
    #[error("audit entry {0} is not in the tree")]
    Missing(String),
    /// Writing an export failed.
    #[error("{0}")]
    Io(String),
}

/// Stored hashes fetched beforehand, by stored hash index.
#[derive(Default)]
pub struct Known(HashMap<u64, Hash>);

impl Known {
    /// Fetches these stored hashes in one pipeline.
    pub async fn fetch(store: &Store, indexes: &[u64]) -> Result<Self, StoreError> {
        let hashes = store.tlog_hashes(indexes).await?;
        Ok(Self(
            (indexes.iter().copied())
                .zip(hashes.into_iter().map(Hash))
                .collect(),
        ))
    }

    /// Records hashes stored from index `first` on.
    pub fn insert_from(&mut self, first: u64, hashes: &[Hash]) {
        for (i, h) in (first..).zip(hashes) {
            self.0.insert(i, *h);
        }
    }
}

impl HashReader for Known {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TlogError> {
        (indexes.iter())
            .map(|i| self.0.get(i).copied().ok_or(TlogError::IndexesNotInTree))
            .collect()
    }
}

/// The stored hashes of the complete subtrees that make up the tree of `size` leaves: what
/// its root is computed from, and what the next leaves are hashed with.
pub fn frontier(size: u64) -> Vec<u64> {
    if size == 0 {
        return Vec::new();
    }
    sub_tree_index(0, size, Vec::new())
}

/// The root of the tree of the first `size` leaves, from the stored hashes.
pub async fn root_of(store: &Store, size: u64) -> Result<Hash, TreeError> {
    let known = Known::fetch(store, &frontier(size)).await?;
    Ok(tree_hash(size, &known)?)
}

/// Plans a tlog function's one read: running it over zero hashes notes the indexes it asks
/// for (which never depend on the hashes).
#[derive(Default)]
pub struct Planner(RefCell<Vec<u64>>);

impl Planner {
    pub fn indexes(self) -> Vec<u64> {
        self.0.into_inner()
    }
}

impl HashReader for Planner {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TlogError> {
        self.0.borrow_mut().extend_from_slice(indexes);
        Ok(vec![Hash::default(); indexes.len()])
    }
}
