//! The reconcile pass: rebuilds the reservations from what the engines hold, so a crash between
//! a claim and its container (or a lost Redis) never leaks or loses capacity for long.
//!
//! For every engine that answers: each container labelled with this deployment's
//! `clementine.cluster` gets its claim recorded if it has none; each claim whose container is
//! gone is released, unless it is younger than the grace period (its container may be being
//! created right now). Engines that do not answer are left alone.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::task::JoinHandle;

use super::placement::{cpus_milli, is_unique};
use super::{Cluster, ClusterResult};
use crate::domain::{Engine, PlacementType};
use crate::engine::labels;
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

impl Cluster {
    /// One pass over every engine.
    pub async fn reconcile_claims(&self) -> ClusterResult<ReconcileReport> {
        let engines = self.store.list_engines().await?;
        let outcomes = join_all(engines.iter().map(|e| self.reconcile_engine(e))).await;
        let mut report = ReconcileReport {
            engines: engines.len(),
            ..Default::default()
        };
        for (engine, outcome) in engines.iter().zip(outcomes) {
            match outcome {
                Ok((recorded, released)) => {
                    report.recorded += recorded;
                    report.released += released;
                }
                Err(e) => report.failed.push((engine.id.clone(), e.to_string())),
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

    async fn reconcile_engine(&self, engine: &Engine) -> ClusterResult<(usize, usize)> {
        let client = self.engines.client(engine);
        let deployment = format!("{}={}", labels::CLUSTER, self.store.keys().prefix());
        let containers = client
            .list_labelled(vec![deployment])
            .await
            .map_err(|e| super::ClusterError::engine(&engine.id, e))?;
        let mut present = HashSet::new();
        let mut recorded = 0;
        for c in containers {
            let l = c.labels.unwrap_or_default();
            let Some(op) = l.get(labels::OP).cloned() else {
                continue;
            };
            present.insert(op.clone());
            let claim = Claim {
                op,
                engine: engine.id.clone(),
                owner: l.get(labels::OWNER).cloned().unwrap_or_default(),
                image: l.get(labels::IMAGE).cloned().unwrap_or_default(),
                cpus_milli: cpus_milli(
                    l.get(labels::CPUS)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0.0),
                ),
                memory: l
                    .get(labels::MEMORY)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                ports: l
                    .get(labels::PORTS)
                    .map(|p| {
                        p.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                unique: is_unique(
                    l.get(labels::TYPE)
                        .and_then(|t| PlacementType::parse(t))
                        .unwrap_or_default(),
                ),
            };
            let created_ms = c.created.unwrap_or(0).max(0) as u64 * 1000;
            if self.store.record_claim(&claim, created_ms).await? {
                recorded += 1;
            }
        }
        let mut released = 0;
        let oldest_kept = now_ms().saturating_sub(CLAIM_GRACE.as_millis() as u64);
        for (op, created) in self.store.claims_of(&engine.id).await? {
            if !present.contains(&op)
                && created < oldest_kept
                && self.store.release(&engine.id, &op).await?
            {
                released += 1;
            }
        }
        Ok((recorded, released))
    }
}

/// Runs the reconcile pass at start-up and then on an interval.
pub fn spawn_reconciler(cluster: Arc<Cluster>, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = cluster.reconcile_claims().await {
                tracing::warn!(error = %e, "reconcile pass failed");
            }
        }
    })
}
