//! The reconcile pass: rebuilds the reservations from what the engines hold, so a crash between
//! a claim and its container (or a lost Redis) never leaks or loses capacity for long.
//!
//! For every engine that answers: each container labelled with this deployment's
//! `clementine.cluster` gets its claim recorded if it has none; each claim whose container is
//! gone is released, unless it is younger than the grace period (its container may be being
//! created right now). Engines that do not answer are left alone.
//!
//! Quota use follows: claims are recorded and released through the same scripts that keep it,
//! and every owner's volumes are counted on the engines (`reconcile_volume_use`).
//!
//! The pass reads the engines' event-fed views; the first pass after start-up asks every
//! engine live (see `inventory`).
//!
//! The same pass settles audit intents that never got an outcome (a crash between the engine
//! call and the outcome) from what the engines show, and logs orphans: containers carrying this
//! deployment's labels that no schedule record accounts for.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::inventory::{Inventory, Located, Source};
use super::placement::{cpus_milli, is_unique};
use super::{Cluster, ClusterResult};
use crate::shutdown::Shutdown;
use crate::store::Claim;
use crate::time::now_ms;

/// Claims younger than this are kept even when their container is not (yet) on the engine.
pub const CLAIM_GRACE: Duration = Duration::from_secs(120);

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    pub engines: usize,
    pub recorded: usize,
    pub released: usize,
    /// Engines that could not be asked, with the error.
    pub failed: Vec<(String, String)>,
}

/// The claim a labelled container holds.
fn claim_of(found: &Located) -> Claim {
    let l = &found.labels;
    Claim {
        op: l.op.clone(),
        engine: found.engine.clone(),
        owner: l.owner.clone(),
        image: l.image.clone(),
        cpus_milli: cpus_milli(l.cpus),
        memory: l.memory,
        ports: l.ports.clone(),
        unique: is_unique(l.placement),
    }
}

impl Cluster {
    /// One pass over every engine, from `source`.
    pub async fn reconcile_claims(&self, source: Source) -> ClusterResult<ReconcileReport> {
        let inventory = self.inventory(source).await?;
        self.reconcile_claims_in(&inventory).await
    }

    /// Records and releases claims from an inventory already taken.
    pub(in crate::cluster) async fn reconcile_claims_in(
        &self,
        inventory: &Inventory,
    ) -> ClusterResult<ReconcileReport> {
        let mut report = ReconcileReport {
            engines: inventory.engines.len(),
            failed: inventory
                .unreachable
                .iter()
                .map(|(e, err)| (e.clone(), err.clone()))
                .collect(),
            ..Default::default()
        };
        for found in inventory.by_op.values() {
            if self
                .store
                .record_claim(&claim_of(found), found.created_ms)
                .await?
            {
                report.recorded += 1;
            }
        }
        let oldest_kept = now_ms().saturating_sub(CLAIM_GRACE.as_millis() as u64);
        for engine in &inventory.engines {
            if inventory.unreachable.contains_key(&engine.id) {
                continue;
            }
            for (op, created) in self.store.claims_of(&engine.id).await? {
                let present = inventory
                    .by_op
                    .get(&op)
                    .is_some_and(|f| f.engine == engine.id);
                if !present && created < oldest_kept && self.store.release(&engine.id, &op).await? {
                    report.released += 1;
                }
            }
        }
        if report.recorded + report.released > 0 {
            tracing::info!(
                recorded = report.recorded,
                released = report.released,
                "reconciled reservations"
            );
        }
        Ok(report)
    }

    /// The whole pass, from one inventory of the engines (from `source`): reservations,
    /// intents without outcome, orphans. Each step runs even when another failed, and logs
    /// its own error.
    pub async fn reconcile(&self, source: Source) -> ClusterResult<ReconcileReport> {
        let inventory = self.inventory(source).await?;
        let claims = self.reconcile_claims_in(&inventory).await;
        if let Err(e) = &claims {
            tracing::warn!(error = %e, "reconciling reservations failed");
        }
        if let Err(e) = self.reconcile_volume_use().await {
            tracing::warn!(error = %e, "counting volumes for quotas failed");
        }
        if let Err(e) = self.settle_intents_in(&inventory, CLAIM_GRACE).await {
            tracing::warn!(error = %e, "settling audit intents failed");
        }
        match self.orphans_in(&inventory).await {
            Ok(orphans) if !orphans.is_empty() => tracing::warn!(
                count = orphans.len(),
                ?orphans,
                "containers with clementine labels but no schedule record"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "orphan check failed"),
        }
        self.metrics.reconcile_pass();
        claims
    }
}

/// Runs the reconcile pass at start-up, asking every engine live, and then on an interval
/// from the views, until `shutdown`.
pub fn spawn_reconciler(
    cluster: Arc<Cluster>,
    interval: Duration,
    shutdown: Shutdown,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut source = Source::Live;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.begun() => return,
            }
            let pass = cluster.reconcile(source).await;
            source = Source::Views;
            if let Err(e) = pass {
                tracing::warn!(error = %e, "reconcile pass failed: the engine list cannot be read");
            }
        }
    })
}

impl Cluster {
    /// Containers of this deployment that no schedule record accounts for, from `source`.
    pub async fn orphans(&self, source: Source) -> ClusterResult<Vec<(String, String)>> {
        let inventory = self.inventory(source).await?;
        self.orphans_in(&inventory).await
    }

    async fn orphans_in(&self, inventory: &Inventory) -> ClusterResult<Vec<(String, String)>> {
        let index = self.store.container_index().await?;
        let open = self.store.open_intents().await?;
        let mut orphans: Vec<(String, String)> = inventory
            .by_op
            .iter()
            .filter(|(op, _)| !index.contains_key(*op) && !open.contains_key(*op))
            .map(|(_, l)| (l.engine.clone(), l.container.clone()))
            .collect();
        orphans.sort();
        Ok(orphans)
    }
}
