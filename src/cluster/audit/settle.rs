//! Settling audit intents whose outcome was lost (a crash between the engine call and the
//! outcome): the engines say how the action ended. [`verdict`] is the pure decision; the
//! `Cluster` method only reads the open intents and writes the outcomes.

use std::time::Duration;

use super::inventory::{Inventory, Located, Source};
use super::{Cluster, ClusterResult};
use crate::events::{Draft, Pending, actions};
use crate::store::IndexChange;
use crate::time::now_ms;

/// What the engines say about an action whose outcome was lost.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::cluster) enum Verdict {
    /// Cannot tell yet: an engine that may hold the answer did not answer.
    LeaveOpen,
    /// A schedule whose container exists: it succeeded.
    Created(Box<Located>),
    /// A destroy whose container is gone: it succeeded.
    Destroyed,
    /// It failed, or its result cannot be known from the engines.
    Failed(&'static str),
}

/// Decides how an intent ended from one look at the engines.
pub(in crate::cluster) fn verdict(intent: &Draft, inventory: &Inventory) -> Verdict {
    match intent.action {
        actions::CONTAINER_SCHEDULE | actions::CONTAINER_RESCHEDULE => {
            match inventory.by_op.get(&intent.op) {
                Some(found) => Verdict::Created(Box::new(found.clone())),
                // It may be on an engine that did not answer: ask again next pass.
                None if !inventory.unreachable.is_empty() => Verdict::LeaveOpen,
                None => Verdict::Failed("settled by reconcile: no container was created"),
            }
        }
        actions::CONTAINER_DESTROY => {
            let engine_down = intent
                .engine
                .as_ref()
                .is_some_and(|e| inventory.unreachable.contains_key(e));
            let still_there = intent
                .ref_op
                .as_ref()
                .is_some_and(|r| inventory.by_op.contains_key(r));
            if engine_down {
                Verdict::LeaveOpen
            } else if still_there {
                Verdict::Failed("settled by reconcile: the container still exists")
            } else {
                Verdict::Destroyed
            }
        }
        _ => Verdict::Failed("settled by reconcile: the outcome was lost; check the current state"),
    }
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
        let inventory = self.inventory(Source::Views).await?;
        self.settle_intents_in(&inventory, min_age).await
    }

    pub(in crate::cluster) async fn settle_intents_in(
        &self,
        inventory: &Inventory,
        min_age: Duration,
    ) -> ClusterResult<SettleReport> {
        let mut report = SettleReport::default();
        let newest = now_ms().saturating_sub(min_age.as_millis() as u64);
        for (op, id) in self.store.open_intents().await? {
            let Some(entry) = self.store.events_range(&id, &id, 1, false).await?.pop() else {
                continue;
            };
            let intent = crate::events::decode(entry);
            let (written_ms, _) = crate::events::query::id_key(&intent.id);
            let Some(draft) = Draft::from_intent(&intent).filter(|_| written_ms <= newest) else {
                report.left_open += 1;
                continue;
            };
            match verdict(&draft, inventory) {
                Verdict::LeaveOpen => report.left_open += 1,
                decided => {
                    self.write_settled(draft, decided).await;
                    report.settled.push(op);
                }
            }
        }
        if !report.settled.is_empty() {
            tracing::info!(
                settled = report.settled.len(),
                "settled audit intents without outcome"
            );
        }
        Ok(report)
    }

    /// Writes the outcome a verdict implies.
    async fn write_settled(&self, mut draft: Draft, verdict: Verdict) {
        draft.detail = Some(serde_json::json!({"settled_by": "reconcile"}).to_string());
        let (error, index) = match verdict {
            Verdict::Created(found) => {
                draft.engine = Some(found.engine.clone());
                draft.container = Some(found.container.clone());
                draft.name = Some(found.name.clone());
                let owner = draft.owner.clone().unwrap_or_default();
                let index = IndexChange::added(
                    &draft.op,
                    &found.container,
                    &found.engine,
                    &owner,
                    &found.name,
                );
                (None, index)
            }
            Verdict::Destroyed => {
                let index = draft
                    .ref_op
                    .clone()
                    .map_or(IndexChange::None, |op| IndexChange::Remove { op });
                (None, index)
            }
            Verdict::Failed(why) => (Some(why.to_string()), IndexChange::None),
            Verdict::LeaveOpen => return,
        };
        self.audit.outcome(Pending { draft }, error, index).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::labels::ContainerLabels;

    fn intent(action: &'static str) -> Draft {
        Draft {
            action,
            op: "op-new".into(),
            engine: Some("e1".into()),
            ref_op: Some("op-old".into()),
            ..Default::default()
        }
    }

    fn holding(op: &str) -> Inventory {
        let mut inventory = Inventory::default();
        let found = Located {
            engine: "e1".into(),
            container: "c1".into(),
            name: "/web".into(),
            labels: ContainerLabels::default(),
            created_ms: 0,
        };
        inventory.by_op.insert(op.to_string(), found);
        inventory
    }

    fn down(mut inventory: Inventory, engine: &str) -> Inventory {
        inventory
            .unreachable
            .insert(engine.to_string(), "refused".into());
        inventory
    }

    #[test]
    fn a_schedule_succeeded_when_its_container_exists() {
        let v = verdict(&intent(actions::CONTAINER_SCHEDULE), &holding("op-new"));
        assert!(matches!(v, Verdict::Created(found) if found.container == "c1"));
        let v = verdict(&intent(actions::CONTAINER_SCHEDULE), &Inventory::default());
        assert!(matches!(v, Verdict::Failed(_)));
        // Any engine down: the container may be there.
        let v = verdict(
            &intent(actions::CONTAINER_RESCHEDULE),
            &down(Inventory::default(), "e9"),
        );
        assert_eq!(v, Verdict::LeaveOpen);
    }

    #[test]
    fn a_destroy_succeeded_when_its_container_is_gone() {
        let destroy = intent(actions::CONTAINER_DESTROY);
        assert_eq!(verdict(&destroy, &Inventory::default()), Verdict::Destroyed);
        assert!(matches!(
            verdict(&destroy, &holding("op-old")),
            Verdict::Failed(_)
        ));
        // Only the destroy's own engine matters.
        assert_eq!(
            verdict(&destroy, &down(Inventory::default(), "e1")),
            Verdict::LeaveOpen
        );
        assert_eq!(
            verdict(&destroy, &down(Inventory::default(), "e2")),
            Verdict::Destroyed
        );
    }

    #[test]
    fn other_actions_cannot_be_known() {
        for action in [actions::CONTAINER_STOP, actions::ENGINE_ADD] {
            assert!(matches!(
                verdict(&intent(action), &Inventory::default()),
                Verdict::Failed(_)
            ));
        }
    }
}
