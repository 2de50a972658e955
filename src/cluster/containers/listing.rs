//! Cluster-wide views: every visible container (asking all engines at once, each with its own
//! timeout) and the capacity report.

use futures::future::join_all;

use super::{Cluster, ClusterResult};
use crate::auth::Principal;
use crate::domain::{
    Capacity, ClusterCapacity, Container, ContainerFacts, ContainerList, ContainerState, Engine,
    EngineCapacity, EngineFailure, EngineStatus, EngineSync, HealthState, check_engine_id,
    image_with_tag,
};
use crate::engine::Listed;
use crate::engine::labels::ContainerLabels;
use crate::engine::views::STALE_GRACE;
use crate::telemetry::clock::phase;
use crate::time::{now_ms, rfc3339_ms};
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
    /// Ask the engines now instead of reading this process's views of them.
    pub fresh: bool,
}

impl ContainerFilter {
    fn keeps(&self, c: &impl ContainerFacts) -> bool {
        (self.image.as_ref()).is_none_or(|i| image_with_tag(i) == image_with_tag(c.image_name()))
            && self.state.is_none_or(|s| s == c.state())
            && (self.owner.as_deref()).is_none_or(|o| c.owner() == Some(o))
            && (self.config.as_deref()).is_none_or(|s| c.config() == Some(s))
    }
}

/// What list-all hands each engine's share to as it reads it: the built containers (a
/// `Vec<Container>`, for [`Cluster::list_all`]), or an answer written as it goes
/// (`api::written::ListWriter`): at 10,000 containers, building each one only to write it
/// was most of a list-all's time.
pub trait ListSink {
    /// The containers of `engine` that the caller may see and the filter keeps.
    fn part<'a>(&mut self, engine: &Engine, containers: impl Iterator<Item = &'a Listed>);
}

impl ListSink for Vec<Container> {
    fn part<'a>(&mut self, engine: &Engine, containers: impl Iterator<Item = &'a Listed>) {
        self.extend(containers.map(|c| c.container(engine)));
    }
}

/// How current each engine's share of a list-all is, and the engines it could not list.
#[derive(Debug, Default)]
pub struct ListSync {
    pub failed: Vec<EngineFailure>,
    pub engines: Vec<EngineSync>,
}

impl ListSync {
    /// Adds one engine's share, synced at `at` (unix ms), from `source`, handing its
    /// containers to `sink`; a share stale past its grace is listed as failed instead.
    fn add<'a>(
        &mut self,
        engine: &Engine,
        (at, stale, source): (u64, bool, &'static str),
        containers: impl Iterator<Item = &'a Listed>,
        sink: &mut impl ListSink,
    ) {
        let synced = rfc3339_ms(at);
        if stale && now_ms().saturating_sub(at) > STALE_GRACE.as_millis() as u64 {
            self.failed.push(EngineFailure {
                engine: engine.id.clone(),
                error: format!(
                    "its event stream is down or it does not answer; last in sync at {synced}"
                ),
            });
            return;
        }
        sink.part(engine, containers);
        self.engines.push(EngineSync {
            engine: engine.id.clone(),
            synced_at: synced,
            stale,
            source: source.into(),
        });
    }
}

impl Cluster {
    /// Every container the caller may see, built: see [`list_into`](Self::list_into).
    pub async fn list_all(
        &self,
        principal: &Principal,
        filter: &ContainerFilter,
    ) -> ClusterResult<ContainerList> {
        let mut containers = Vec::new();
        let sync = self.list_into(principal, filter, &mut containers).await?;
        Ok(ContainerList {
            containers,
            failed: sync.failed,
            engines: sync.engines,
        })
    }

    /// Every container the caller may see, handed to `sink` engine by engine: from this
    /// process's views of the engines (kept by their event streams, see `engine::views`), or
    /// asking every engine at once when `fresh` is set or an engine's view is not listed yet.
    /// A dead engine costs at most its timeout and shows up in `failed`; so does a view stale
    /// for longer than its grace.
    pub async fn list_into(
        &self,
        principal: &Principal,
        filter: &ContainerFilter,
        sink: &mut impl ListSink,
    ) -> ClusterResult<ListSync> {
        let mut engines = phase("engines", self.list_engines(principal)).await?;
        if let Some(id) = &filter.engine {
            check_engine_id("engine", id)?;
            engines.retain(|e| &e.id == id);
        }
        if let Some(config) = &filter.config {
            check_engine_id("config", config)?;
        }
        let mut sync = ListSync::default();
        let mut ask = Vec::new();
        let wanted = |c: &&Listed| principal.may_touch_container(c.owner()) && filter.keeps(*c);
        for engine in engines {
            let read = (!filter.fresh).then(|| {
                self.views.read_with(&engine, |synced, all| {
                    let share = (synced.at, synced.stale, "events");
                    sync.add(&engine, share, all.map(|c| &**c).filter(wanted), sink)
                })
            });
            if read.flatten().is_none() {
                ask.push(engine);
            }
        }
        self.ask_live(&mut sync, &ask, principal, filter, sink)
            .await;
        Ok(sync)
    }

    /// Asks these engines at once; each answers within its timeout or is listed as failed.
    async fn ask_live(
        &self,
        sync: &mut ListSync,
        engines: &[Engine],
        principal: &Principal,
        filter: &ContainerFilter,
        sink: &mut impl ListSink,
    ) {
        // One owner's label when one owner is asked for; else every container of this
        // deployment, filtered after by who may see it.
        let owner = (principal.owner_filter().map(str::to_string)).or_else(|| filter.owner.clone());
        let answers = join_all(engines.iter().map(|engine| {
            let owner = owner.clone();
            async move {
                let client = self.engines.client(engine);
                let deployment = self.deployment();
                let owner = owner.as_deref().map(|o| (o, deployment));
                (engine, client.list_containers(owner).await)
            }
        }))
        .await;
        let wanted = |c: &&Listed| principal.may_touch_container(c.owner()) && filter.keeps(*c);
        for (engine, answer) in answers {
            match answer {
                Ok(summaries) => {
                    let listed: Vec<Listed> = (summaries.into_iter())
                        .map(|s| Listed::from_summary(s, self.deployment()))
                        .collect();
                    let share = (now_ms(), false, "live");
                    sync.add(engine, share, listed.iter().filter(wanted), sink);
                }
                Err(e) => sync.failed.push(EngineFailure {
                    engine: engine.id.clone(),
                    error: e.to_string(),
                }),
            }
        }
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

impl Cluster {
    /// Docker's own listing of every container the caller may touch on the engines they may use,
    /// each carrying every `key=value` label of `labels` too (the Docker API's `docker ps`).
    /// Engines that do not answer are left out (and logged).
    pub async fn list_summaries(
        &self,
        principal: &Principal,
        mut labels: Vec<String>,
    ) -> ClusterResult<Vec<(Engine, bollard::models::ContainerSummary)>> {
        let engines = self.list_engines(principal).await?;
        labels.push(crate::engine::labels::ContainerLabels::cluster_filter(
            self.deployment(),
        ));
        let answers = join_all(engines.iter().map(|engine| {
            let labels = labels.clone();
            async move {
                (
                    engine,
                    self.engines.client(engine).list_labelled(labels).await,
                )
            }
        }))
        .await;
        let mut listed = Vec::new();
        for (engine, answer) in answers {
            match answer {
                Ok(summaries) => listed.extend(summaries.into_iter().map(|s| (engine.clone(), s))),
                Err(e) => {
                    tracing::warn!(engine = %engine.id, error = %e, "engine left out of a listing")
                }
            }
        }
        listed.retain(|(_, s)| {
            let labels = s.labels.as_ref().and_then(ContainerLabels::from_map);
            let owner = crate::engine::owner_here(labels.as_ref(), self.deployment());
            principal.may_touch_container(owner.as_deref())
        });
        Ok(listed)
    }
}
