//! The audit tree through the cluster: checkpoints, the verifier key and proofs for the API,
//! verification and export for the command line. Whoever may read the log may read checkpoints
//! and consistency proofs (hashes only); an inclusion proof is for an entry the caller may see,
//! and any other answers 404, exactly like an entry that does not exist.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::domain::InvalidInput;
use crate::events::tree::export::{Exported, export};
use crate::events::tree::leaf::id_bytes;
use crate::events::tree::note::{Signer, Verifier, size_of};
use crate::events::tree::proofs::{Inclusion, consistency, inclusion};
use crate::events::tree::verify::{Report, verify};
use crate::events::tree::{Sequencer, TreeError};
use crate::events::{EventFilter, decode};
use crate::store::StoreError;

impl From<TreeError> for ClusterError {
    fn from(e: TreeError) -> Self {
        match e {
            TreeError::Store(e) => ClusterError::Store(e),
            TreeError::Field { field, message } => InvalidInput::new(field, message).into(),
            TreeError::Missing(id) => ClusterError::not_found("entry", id),
            other => ClusterError::Store(StoreError::Corrupt {
                key: "tlog".into(),
                reason: other.to_string(),
            }),
        }
    }
}

impl Cluster {
    /// The checkpoint signer; every audited deployment has one (see `startup`).
    fn signer(&self) -> ClusterResult<&Arc<Signer>> {
        (self.audit_signer.as_ref()).ok_or_else(|| ClusterError::not_found("audit key", "signer"))
    }

    /// A sequencer for this deployment's tree, signing with its key.
    pub fn sequencer(&self, every: std::time::Duration) -> ClusterResult<Sequencer> {
        Ok(Sequencer::new(
            self.store.clone(),
            self.signer()?.clone(),
            every,
        ))
    }

    /// The verifier key, `name+id+key`.
    pub fn audit_key(&self) -> ClusterResult<String> {
        Ok(self.signer()?.verifier_key().to_string())
    }

    /// The latest signed checkpoint (404 before the first).
    pub async fn audit_checkpoint(&self) -> ClusterResult<String> {
        (self.store.tlog_latest_checkpoint().await?)
            .ok_or_else(|| ClusterError::not_found("checkpoint", "latest"))
    }

    /// Proves entry `id` is in the tree of `size` leaves, if the caller may see the entry.
    pub async fn audit_inclusion(
        &self,
        principal: &Principal,
        id: &str,
        size: Option<u64>,
    ) -> ClusterResult<Inclusion> {
        let hidden = || ClusterError::not_found("entry", id);
        if id_bytes(id).is_none() {
            return Err(InvalidInput::new("id", "must be an audit entry id (ms-seq)").into());
        }
        let entry = self.store.events_range(id, id, 1, false).await?.pop();
        let visible = EventFilter {
            visible_to: principal.visible_owners(),
            ..EventFilter::default()
        };
        match entry.map(decode) {
            Some(event) if visible.keeps(&event) => {
                let size = match size {
                    Some(size) => size,
                    None => (size_of(&self.audit_checkpoint().await?)).unwrap_or_default(),
                };
                Ok(inclusion(&self.store, id, size).await?)
            }
            _ => Err(hidden()),
        }
    }

    /// Proves the tree of `from` leaves is a prefix of the tree of `to` leaves.
    pub async fn audit_consistency(
        &self,
        from: u64,
        to: u64,
    ) -> ClusterResult<Vec<tlog_tiles::Hash>> {
        Ok(consistency(&self.store, from, to).await?)
    }

    /// Recomputes the tree from the stream and checks every checkpoint, and `outside`.
    pub async fn audit_verify(&self, outside: Option<&str>) -> ClusterResult<Report> {
        let verifier: Verifier = self.signer()?.verifier()?;
        Ok(verify(&self.store, &verifier, outside).await?)
    }

    /// Writes checkpoints, tiles and entry bundles into `dir`.
    pub async fn audit_export(&self, dir: &Path) -> ClusterResult<Exported> {
        let verifier: Verifier = self.signer()?.verifier()?;
        Ok(export(&self.store, &verifier, dir).await?)
    }
}
