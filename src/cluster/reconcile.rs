//! The reconcile pass: rebuilds the reservations from what the engines hold, so a crash between
//! a claim and its container (or a lost Redis) never leaks or loses capacity for long.
//!
//! For every engine that answers: each container labelled with this deployment's
//! `clementine.cluster` gets its claim recorded if it has none; each claim whose container is
//! gone is released, unless it is younger than the grace period (its container may be being
//! created right now). Engines that do not answer are left alone.
//!
//! The same pass settles audit intents that never got an outcome (a crash between the engine
//! call and the outcome) from what the engines show, and logs orphans: containers carrying this
//! deployment's labels that no schedule record accounts for.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::inventory::{Inventory, Located};
use super::placement::{cpus_milli, is_unique};
use super::{Cluster, ClusterResult};
use crate::domain::PlacementType;
use crate::engine::labels;
use crate::events::{Draft, actions};
use crate::store::{Claim, IndexChange};
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
fn claim_of(op: &str, found: &Located) -> Claim {
    let l = &found.labels;
    Claim {
        op: op.to_string(),
        engine: found.engine.clone(),
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
    }
}

impl Cluster {
    /// One pass over every engine.
    pub async fn reconcile_claims(&self) -> ClusterResult<ReconcileReport> {
        let inventory = self.inventory().await?;
        self.reconcile_claims_in(&inventory).await
    }

    /// Records and releases claims from an inventory already taken.
    pub(super) async fn reconcile_claims_in(
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
        for (op, found) in &inventory.by_op {
            if self
                .store
                .record_claim(&claim_of(op, found), found.created_ms)
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

    /// The whole pass: reservations, intents without outcome and orphans, from one look at
    /// the engines.
    pub async fn reconcile(&self) -> ClusterResult<()> {
        let inventory = self.inventory().await?;
        self.reconcile_claims_in(&inventory).await?;
        self.settle_intents_in(&inventory, CLAIM_GRACE).await?;
        let orphans = self.orphans_in(&inventory).await?;
        if !orphans.is_empty() {
            tracing::warn!(
                count = orphans.len(),
                ?orphans,
                "containers with clementine labels but no schedule record"
            );
        }
        Ok(())
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
            if let Err(e) = cluster.settle_intents(CLAIM_GRACE).await {
                tracing::warn!(error = %e, "settling audit intents failed");
            }
            match cluster.orphans().await {
                Ok(orphans) if !orphans.is_empty() => {
                    tracing::warn!(
                        count = orphans.len(),
                        ?orphans,
                        "containers with clementine labels but no schedule record"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "orphan check failed"),
            }
        }
    })
}

/// Outcome of settling intents.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SettleReport {
    /// Intents given an outcome, by op.
    pub settled: Vec<String>,
    /// Intents left open (too young, or their engine did not answer).
    pub left_open: usize,
}

impl Cluster {
    /// Gives intents without outcome (older than `min_age`) the outcome the engines show: a
    /// schedule whose container exists succeeded; a destroy whose container is gone succeeded;
    /// anything else is recorded as an error, since its result cannot be known.
    pub async fn settle_intents(&self, min_age: Duration) -> ClusterResult<SettleReport> {
        if self.store.open_intents().await?.is_empty() {
            return Ok(SettleReport::default());
        }
        let inventory = self.inventory().await?;
        self.settle_intents_in(&inventory, min_age).await
    }

    async fn settle_intents_in(
        &self,
        inventory: &Inventory,
        min_age: Duration,
    ) -> ClusterResult<SettleReport> {
        let open = self.store.open_intents().await?;
        let mut report = SettleReport::default();
        let newest = now_ms().saturating_sub(min_age.as_millis() as u64);
        for (op, id) in open {
            let Some(entry) = self.store.events_range(&id, &id, 1, false).await?.pop() else {
                continue;
            };
            let intent = crate::events::decode(entry);
            let (ms, _) = crate::events::query::id_key(&intent.id);
            let Some(mut draft) = Draft::from_intent(&intent).filter(|_| ms <= newest) else {
                report.left_open += 1;
                continue;
            };
            let engine_down = |engine: &Option<String>| {
                engine
                    .as_ref()
                    .is_some_and(|e| inventory.unreachable.contains_key(e))
            };
            draft.detail = Some(serde_json::json!({"settled_by": "reconcile"}).to_string());
            let (error, index) = match draft.action {
                actions::CONTAINER_SCHEDULE | actions::CONTAINER_RESCHEDULE => {
                    match inventory.by_op.get(&op) {
                        Some(found) => {
                            draft.engine = Some(found.engine.clone());
                            draft.container = Some(found.container.clone());
                            draft.name = Some(found.name.clone());
                            let json = serde_json::json!({
                                "container": found.container, "engine": found.engine,
                                "owner": draft.owner, "name": found.name,
                            });
                            (
                                None,
                                IndexChange::Add {
                                    op: op.clone(),
                                    json: json.to_string(),
                                },
                            )
                        }
                        None if !inventory.unreachable.is_empty() => {
                            // It may be on an engine that did not answer: ask again next pass.
                            report.left_open += 1;
                            continue;
                        }
                        None => (
                            Some("settled by reconcile: no container was created".to_string()),
                            IndexChange::None,
                        ),
                    }
                }
                actions::CONTAINER_DESTROY if engine_down(&draft.engine) => {
                    report.left_open += 1;
                    continue;
                }
                actions::CONTAINER_DESTROY => {
                    let still_there = draft
                        .ref_op
                        .as_ref()
                        .is_some_and(|r| inventory.by_op.contains_key(r));
                    if still_there {
                        (
                            Some("settled by reconcile: the container still exists".to_string()),
                            IndexChange::None,
                        )
                    } else {
                        let index = draft
                            .ref_op
                            .clone()
                            .map_or(IndexChange::None, |op| IndexChange::Remove { op });
                        (None, index)
                    }
                }
                _ => (
                    Some(
                        "settled by reconcile: the outcome was lost; check the current state"
                            .to_string(),
                    ),
                    IndexChange::None,
                ),
            };
            self.audit
                .outcome(crate::events::Pending { draft }, error, index)
                .await;
            report.settled.push(op);
        }
        if !report.settled.is_empty() {
            tracing::info!(
                settled = report.settled.len(),
                "settled audit intents without outcome"
            );
        }
        Ok(report)
    }

    /// Containers of this deployment that no schedule record accounts for.
    pub async fn orphans(&self) -> ClusterResult<Vec<(String, String)>> {
        let inventory = self.inventory().await?;
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
