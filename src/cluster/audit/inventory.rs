//! What the engines hold of this deployment's containers, asked of every engine at once.

use std::collections::HashMap;

use bollard::models::ContainerSummary;
use futures::future::join_all;

use super::{Cluster, ClusterResult};
use crate::domain::Engine;
use crate::engine::labels::ContainerLabels;

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

fn located(engine: &str, c: ContainerSummary) -> Option<(String, Located)> {
    let labels = ContainerLabels::from_map(c.labels.as_ref()?).filter(|l| !l.op.is_empty())?;
    Some((
        labels.op.clone(),
        Located {
            engine: engine.to_string(),
            container: c.id.unwrap_or_default(),
            name: c
                .names
                .and_then(|n| n.into_iter().next())
                .unwrap_or_default(),
            created_ms: c.created.unwrap_or(0).max(0) as u64 * 1000,
            labels,
        },
    ))
}

impl Cluster {
    /// Lists this deployment's containers on every engine.
    pub(in crate::cluster) async fn inventory(&self) -> ClusterResult<Inventory> {
        let engines = self.store.list_engines().await?;
        let deployment = ContainerLabels::cluster_filter(self.store.keys().prefix());
        let answers = join_all(engines.iter().map(|e| {
            let filter = vec![deployment.clone()];
            async move { self.engines.client(e).list_labelled(filter).await }
        }))
        .await;
        let mut inventory = Inventory::default();
        for (engine, answer) in engines.iter().zip(answers) {
            match answer {
                Ok(list) => inventory
                    .by_op
                    .extend(list.into_iter().filter_map(|c| located(&engine.id, c))),
                Err(e) => {
                    inventory
                        .unreachable
                        .insert(engine.id.clone(), e.to_string());
                }
            }
        }
        inventory.engines = engines;
        Ok(inventory)
    }
}
