//! Cluster-wide views: every visible container (asking all engines at once, each with its own
//! timeout) and the capacity report.

use futures::future::join_all;

use super::{Cluster, ClusterResult};
use crate::auth::Principal;
use crate::domain::{
    Capacity, ClusterCapacity, Container, ContainerList, ContainerState, EngineCapacity,
    EngineFailure, EngineStatus, HealthState, check_engine_id, image_with_tag,
};
use crate::engine::to_container;
use crate::telemetry::clock::phase;

/// Narrows a container listing.
#[derive(Debug, Clone, Default)]
pub struct ContainerFilter {
    pub engine: Option<String>,
    pub image: Option<String>,
    pub state: Option<ContainerState>,
    /// Only for admins; users always see only their own.
    pub owner: Option<String>,
    /// Only containers run from this saved config.
    pub config: Option<String>,
}

impl ContainerFilter {
    fn keeps(&self, c: &Container) -> bool {
        self.image
            .as_ref()
            .is_none_or(|i| image_with_tag(i) == image_with_tag(&c.image.name))
            && self.state.is_none_or(|s| s == c.state)
            && self
                .owner
                .as_ref()
                .is_none_or(|o| c.owner.as_ref() == Some(o))
            && self
                .config
                .as_deref()
                .is_none_or(|s| c.config.as_deref() == Some(s))
    }
}

impl Cluster {
    /// Asks every visible engine at once. One dead engine costs at most its timeout and shows
    /// up in `failed`; the others' containers are answered.
    pub async fn list_all(
        &self,
        principal: &Principal,
        filter: &ContainerFilter,
    ) -> ClusterResult<ContainerList> {
        let mut engines = phase("engines", self.list_engines(principal)).await?;
        if let Some(id) = &filter.engine {
            check_engine_id("engine", id)?;
            engines.retain(|e| &e.id == id);
        }
        if let Some(config) = &filter.config {
            check_engine_id("config", config)?;
        }
        let owner = principal
            .owner_filter()
            .map(str::to_string)
            .or_else(|| filter.owner.clone());
        let answers = join_all(engines.iter().map(|engine| {
            let owner = owner.clone();
            async move {
                let client = self.engines.client(engine);
                (engine, client.list_containers(owner.as_deref()).await)
            }
        }))
        .await;
        let mut list = ContainerList {
            containers: Vec::new(),
            failed: Vec::new(),
        };
        for (engine, answer) in answers {
            match answer {
                Ok(summaries) => {
                    for s in summaries {
                        let c = to_container(s, engine);
                        if principal.may_touch_container(c.owner.as_deref()) && filter.keeps(&c) {
                            list.containers.push(c);
                        }
                    }
                }
                Err(e) => list.failed.push(EngineFailure {
                    engine: engine.id.clone(),
                    error: e.to_string(),
                }),
            }
        }
        Ok(list)
    }

    /// Capacity, reservations and free room, per visible engine and in total.
    pub async fn capacity(&self, principal: &Principal) -> ClusterResult<ClusterCapacity> {
        let engines = self.list_engines(principal).await?;
        let ids: Vec<String> = engines.iter().map(|e| e.id.clone()).collect();
        let reservations = self.store.reservations(&ids).await?;
        let mut report = ClusterCapacity {
            available: Capacity::default(),
            total: Capacity::default(),
            engines: Vec::with_capacity(engines.len()),
        };
        for (engine, r) in engines.iter().zip(reservations) {
            let reserved_cpus = r.cpus_milli as f64 / 1000.0;
            let capacity = Capacity {
                cpus: engine.cpus,
                memory: engine.memory,
                reserved_cpus,
                reserved_memory: r.memory,
                free_cpus: ((engine.cpus - reserved_cpus) * 1000.0).round().max(0.0) / 1000.0,
                free_memory: engine.memory.saturating_sub(r.memory),
                containers: r.claims,
            };
            report.total.add(&capacity);
            if engine.status == EngineStatus::Active && engine.health.state == HealthState::Healthy
            {
                report.available.add(&capacity);
            }
            let mut ports = r.ports;
            ports.sort();
            report.engines.push(EngineCapacity {
                id: engine.id.clone(),
                status: engine.status,
                health: engine.health.state,
                capacity,
                ports,
            });
        }
        Ok(report)
    }
}
