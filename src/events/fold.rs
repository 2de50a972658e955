//! Folding the stream into the desired set: the containers that were scheduled (or
//! rescheduled) with success and not destroyed since, each with the config to run it again.

use std::collections::BTreeMap;

use crate::domain::AuditEvent;

use super::actions;

/// A container the log says should exist.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The op that scheduled it (its `clementine.op` label).
    pub op: String,
    pub engine: String,
    pub container: String,
    pub name: Option<String>,
    pub owner: String,
    /// The image config, JSON.
    pub image: String,
    /// The saved config it was run from, if any.
    pub saved_as: Option<String>,
}

/// Folds entries (oldest first) into the desired set, keyed by op, and the engines the log
/// knows, as their last `engine.add`/`engine.update` outcome recorded them.
#[derive(Debug, Default, Clone)]
pub struct Fold {
    pub desired: BTreeMap<String, Desired>,
    pub engines: BTreeMap<String, crate::domain::EngineRecord>,
}

impl Fold {
    pub fn apply(&mut self, e: &AuditEvent) {
        if e.outcome.as_deref() != Some("ok") {
            return;
        }
        match e.action.as_str() {
            actions::CONTAINER_SCHEDULE | actions::CONTAINER_RESCHEDULE => {
                let (Some(engine), Some(container), Some(image)) =
                    (&e.engine, &e.container, &e.image)
                else {
                    return;
                };
                // A reschedule replaces the container it points back to.
                if let Some(previous) = &e.ref_op {
                    self.desired.remove(previous);
                }
                self.desired.insert(
                    e.op.clone(),
                    Desired {
                        op: e.op.clone(),
                        engine: engine.clone(),
                        container: container.clone(),
                        name: e.name.clone(),
                        owner: e.owner.clone().unwrap_or_else(|| e.actor.clone()),
                        image: image.clone(),
                        saved_as: e.target.clone(),
                    },
                );
            }
            actions::CONTAINER_DESTROY => {
                if let Some(op) = &e.ref_op {
                    self.desired.remove(op);
                } else if let Some(c) = &e.container {
                    self.desired.retain(|_, d| &d.container != c);
                }
            }
            actions::ENGINE_ADD | actions::ENGINE_UPDATE => {
                let detail = e
                    .detail
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok());
                if let (Some(id), Some(detail)) = (&e.target, detail) {
                    self.engines.insert(id.clone(), detail);
                }
            }
            actions::ENGINE_REMOVE => {
                if let Some(id) = &e.target {
                    self.engines.remove(id);
                }
            }
            _ => {}
        }
    }

    /// The container index this fold implies: op -> JSON.
    pub fn index(&self) -> std::collections::HashMap<String, String> {
        self.desired
            .values()
            .map(|d| {
                let json = crate::store::index_entry(
                    &d.container,
                    &d.engine,
                    &d.owner,
                    d.name.as_deref().unwrap_or_default(),
                );
                (d.op.clone(), json)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(action: &str, op: &str, container: &str, ref_op: Option<&str>) -> AuditEvent {
        AuditEvent {
            action: action.into(),
            op: op.into(),
            outcome: Some("ok".into()),
            engine: Some("e1".into()),
            container: Some(container.into()),
            image: Some("{}".into()),
            actor: "ann".into(),
            ref_op: ref_op.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn schedule_destroy_reschedule() {
        let mut f = Fold::default();
        f.apply(&ok("container.schedule", "a", "c1", None));
        f.apply(&ok("container.schedule", "b", "c2", None));
        f.apply(&ok("container.destroy", "d", "c1", Some("a")));
        f.apply(&ok("container.reschedule", "r", "c3", Some("b")));
        let failed = AuditEvent {
            outcome: Some("error".into()),
            ..ok("container.schedule", "x", "c9", None)
        };
        f.apply(&failed);
        let ops: Vec<&str> = f.desired.keys().map(String::as_str).collect();
        assert_eq!(ops, ["r"]);
        assert_eq!(f.desired["r"].owner, "ann");
    }
}
