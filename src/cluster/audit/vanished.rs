//! Containers the engines remove themselves (Docker's `AutoRemove`, `docker run --rm`), or that
//! are removed behind clementine's back: their claims are released as soon as an engine's event
//! stream tells, instead of at the next reconcile pass, and the log records the removal as a
//! `container.destroy` by `engine`, so that the container index (and a replay) forgets them.
//! The claim's release is atomic, so of several replicas seeing the same event one records it;
//! and it waits [`SETTLE`] first, so that a destroy clementine did itself (whose engine call
//! raises the same event just before it releases the claim) is not recorded twice.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::audited::Settle;
use super::{Cluster, ClusterResult};
use crate::engine::views::Vanished;
use crate::events::{Draft, actions};
use crate::shutdown::Shutdown;
use crate::store::IndexChange;

/// The actor of removals the engine did.
const ENGINE_ACTOR: &str = "engine";
/// How long a removal waits before its claim is released here.
pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(3);

impl Cluster {
    /// Releases a vanished container's claim; records it when this process released it.
    pub async fn release_vanished(&self, gone: &Vanished) -> ClusterResult<bool> {
        if !self.store.release(&gone.engine, &gone.op).await? {
            return Ok(false);
        }
        let draft = Draft {
            action: actions::CONTAINER_DESTROY,
            actor: ENGINE_ACTOR.into(),
            engine: Some(gone.engine.clone()),
            container: Some(gone.container.clone()),
            owner: gone.owner.clone(),
            ref_op: Some(gone.op.clone()),
            op: uuid::Uuid::now_v7().to_string(),
            detail: Some(serde_json::json!({ "removed_by": "engine" }).to_string()),
            ..Default::default()
        };
        let op = gone.op.clone();
        let settle = |_: &(), _: &mut Draft| Settle {
            index: IndexChange::Remove { op },
            ..Default::default()
        };
        self.audited(draft, async { Ok(()) }, settle).await?;
        Ok(true)
    }
}

/// Releases what the engines remove, until `shutdown`.
pub fn spawn_vanished_releaser(cluster: Arc<Cluster>, shutdown: Shutdown) -> JoinHandle<()> {
    let mut vanished = cluster.views.vanished();
    tokio::spawn(async move {
        loop {
            let gone = tokio::select! {
                gone = vanished.recv() => gone,
                _ = shutdown.begun() => return,
            };
            match gone {
                Ok(gone) => {
                    let cluster = cluster.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(SETTLE).await;
                        if let Err(e) = cluster.release_vanished(&gone).await {
                            tracing::warn!(error = %e, op = %gone.op, "claim of a removed container not released; reconcile will");
                        }
                    });
                }
                Err(RecvError::Lagged(n)) => tracing::warn!(
                    missed = n,
                    "removed containers missed; reconcile will release their claims"
                ),
                Err(RecvError::Closed) => return,
            }
        }
    })
}
