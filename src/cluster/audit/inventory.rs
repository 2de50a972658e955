//! What the engines hold of this deployment's containers, for the passes that check the
//! store against them (reconcile, settle, replay): read from the event-fed views, and asked
//! live of an engine whose view is stale or has not listed yet, or of every engine in the one
//! explicit live pass at start-up (before the views have listed, and to catch up on whatever
//! happened while no clementine ran).

use std::collections::HashMap;

use futures::future::join_all;

use super::{Cluster, ClusterResult};
use crate::domain::Engine;
use crate::engine::Listed;
use crate::engine::labels::ContainerLabels;
use crate::engine::views::Read;

/// A container found on an engine, by the op that created it.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub engine: String,
    pub container: String,
    pub name: String,
    /// The container's labels (what the reconcile pass records claims from).
    pub labels: ContainerLabels,
    /// Creation time, unix ms.
    pub created_ms: u64,
}

/// Every labelled container of the engines that answered, and the engines that did not.
#[derive(Debug, Default)]
pub struct Inventory {
    pub engines: Vec<Engine>,
    pub by_op: HashMap<String, Located>,
    /// Engine id -> error.
    pub unreachable: HashMap<String, String>,
}

/// Where an inventory comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The views, and live only the engines whose view cannot answer.
    Views,
    /// Every engine, live.
    Live,
}

impl Inventory {
    /// Adds one engine's containers: those this deployment placed, with an op.
    fn add(&mut self, engine: &str, found: impl IntoIterator<Item = Listed>, deployment: &str) {
        for c in found {
            let Some(labels) = c.labels.as_ref().filter(|l| placed_here(l, deployment)) else {
                continue;
            };
            let located = Located {
                engine: engine.to_string(),
                created_ms: c.created_ms(),
                labels: labels.clone(),
                name: c.name,
                container: c.id,
            };
            self.by_op.insert(labels.op.clone(), located);
        }
    }
}

fn placed_here(labels: &ContainerLabels, deployment: &str) -> bool {
    labels.cluster == deployment && !labels.op.is_empty()
}

impl Cluster {
    /// This deployment's containers on every engine, from `source`.
    pub(in crate::cluster) async fn inventory(&self, source: Source) -> ClusterResult<Inventory> {
        let engines = self.store.list_engines().await?;
        let deployment = self.deployment();
        let mut inventory = Inventory::default();
        let mut ask = Vec::new();
        for engine in &engines {
            let ours = |c: &Listed| {
                c.labels
                    .as_ref()
                    .is_some_and(|l| placed_here(l, deployment))
            };
            match (source, self.views.read_as(engine, ours, Listed::clone)) {
                (
                    Source::Views,
                    Read::Known {
                        containers,
                        stale: false,
                        ..
                    },
                ) => inventory.add(&engine.id, containers, deployment),
                _ => ask.push(engine),
            }
        }
        let filter = vec![ContainerLabels::cluster_filter(deployment)];
        let answers = join_all(ask.iter().map(|e| {
            let filter = filter.clone();
            async move { self.engines.client(e).list_labelled(filter).await }
        }))
        .await;
        for (engine, answer) in ask.into_iter().zip(answers) {
            match answer {
                Ok(list) => {
                    let found = list
                        .into_iter()
                        .map(|s| Listed::from_summary(s, deployment));
                    inventory.add(&engine.id, found, deployment)
                }
                Err(e) => drop(
                    inventory
                        .unreachable
                        .insert(engine.id.clone(), e.to_string()),
                ),
            }
        }
        inventory.engines = engines;
        Ok(inventory)
    }
}
