//! Inclusion and consistency proofs (RFC 9162, as `tlog.CheckRecord` and `tlog.CheckTree`
//! check them) from the stored hashes: each one planned, fetched in one pipeline, then built.

use tlog_tiles::{Hash, prove_record, prove_tree, stored_hash_index};

use super::leaf::id_bytes;
use super::{Known, Planner, TreeError};
use crate::store::Store;

/// Where an entry is in a tree, and the hashes that prove it.
#[derive(Debug, Clone)]
pub struct Inclusion {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: Hash,
    pub hashes: Vec<Hash>,
}

/// The tree size a proof is asked for: positive and sequenced already.
async fn check_size(store: &Store, size: u64) -> Result<(), TreeError> {
    let (sequenced, _) = store.tlog_state().await?;
    if size == 0 || size > sequenced {
        let message = format!("must be 1 to {sequenced}, the entries in the tree");
        return Err(TreeError::Field {
            field: "size",
            message,
        });
    }
    Ok(())
}

/// Proves that the entry `id` is leaf `leaf_index` of the tree of `size` leaves.
pub async fn inclusion(store: &Store, id: &str, size: u64) -> Result<Inclusion, TreeError> {
    check_size(store, size).await?;
    let not_in = || TreeError::Missing(id.to_string());
    let bytes = id_bytes(id).ok_or_else(not_in)?;
    let leaf = store.tlog_leaf_of(&bytes, size).await?.ok_or_else(not_in)?;
    let leaf_at = stored_hash_index(0, leaf);
    let planner = Planner::default();
    prove_record(size, leaf, &planner)?;
    let mut indexes = planner.indexes();
    indexes.push(leaf_at);
    let known = Known::fetch(store, &indexes).await?;
    Ok(Inclusion {
        leaf_index: leaf,
        tree_size: size,
        leaf_hash: known.0[&leaf_at],
        hashes: prove_record(size, leaf, &known)?,
    })
}

/// Proves that the tree of `from` leaves is a prefix of the tree of `to` leaves.
pub async fn consistency(store: &Store, from: u64, to: u64) -> Result<Vec<Hash>, TreeError> {
    check_size(store, to).await.map_err(|e| match e {
        TreeError::Field { message, .. } => TreeError::Field {
            field: "to",
            message,
        },
        other => other,
    })?;
    if from == 0 || from > to {
        let message = format!("must be 1 to {to}, the size proven to");
        return Err(TreeError::Field {
            field: "from",
            message,
        });
    }
    let planner = Planner::default();
    prove_tree(to, from, &planner)?;
    let known = Known::fetch(store, &planner.indexes()).await?;
    Ok(prove_tree(to, from, &known)?)
}
