//! Views of the whole cluster: the list of all containers and the capacity report.

use poem_openapi::{Object, Union};
use serde::Serialize;

use super::{BindPort, Container, ContainerState, Engine, EngineStatus, HealthState, ImageConfig};

/// Every visible container, and the engines that did not answer.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct ContainerList {
    /// Containers of the engines that answered.
    pub containers: Vec<Container>,
    /// Engines that did not answer in time or failed, with the error.
    pub failed: Vec<EngineFailure>,
    /// How current each engine's part of the answer is.
    pub engines: Vec<EngineSync>,
}

/// `GET /containers?engines=ref`: the same answer, with each engine listed once
/// (`engine_records`) and each container naming its engine by id, so that an engine's fields are
/// not repeated for each of its containers.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct CompactContainerList {
    /// Containers of the engines that answered, each with its engine's id.
    pub containers: Vec<ContainerOnEngine>,
    /// Engines that did not answer in time or failed, with the error.
    pub failed: Vec<EngineFailure>,
    /// How current each engine's part of the answer is.
    pub engines: Vec<EngineSync>,
    /// Every engine a container above names, once.
    pub engine_records: Vec<Engine>,
}

/// A container, naming its engine by id (see `engine_records`); otherwise as `Container`.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct ContainerOnEngine {
    pub id: String,
    pub name: String,
    pub image: ImageConfig,
    /// The id of the engine it runs on.
    pub engine: String,
    pub state: ContainerState,
    pub ports: Vec<BindPort>,
    #[oai(skip_serializing_if_is_none)]
    pub owner: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub config: Option<String>,
    pub created: String,
}

/// The list-all answer: the seed's shape by default, the compact one with `engines=ref`.
#[derive(Debug, Clone, PartialEq, Union)]
pub enum ContainerListing {
    Full(ContainerList),
    Compact(CompactContainerList),
}

/// How current one engine's containers in an answer are.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct EngineSync {
    pub engine: String,
    /// When what is shown was last known to match the engine (RFC 3339): now for an engine asked
    /// live or followed by a working event stream; earlier for a stale one.
    pub synced_at: String,
    /// The engine's event stream is down or the engine does not answer its health checks: what
    /// is shown may be out of date. Past a grace (10 s) the engine is listed in `failed` instead.
    pub stale: bool,
    /// `live` (asked now) or `events` (this process's view, kept by the engine's event stream).
    pub source: String,
}

/// An engine that could not be asked.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct EngineFailure {
    pub engine: String,
    pub error: String,
}

/// Capacity: totals over the visible engines and each engine's share.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct ClusterCapacity {
    /// Sum over the engines that take new containers (active and healthy).
    pub available: Capacity,
    /// Sum over every visible engine.
    pub total: Capacity,
    pub engines: Vec<EngineCapacity>,
}

/// Cpus and memory (MB): capacity, reserved by containers, and free.
#[derive(Debug, Clone, PartialEq, Default, Object)]
pub struct Capacity {
    pub cpus: f64,
    pub memory: u64,
    pub reserved_cpus: f64,
    pub reserved_memory: u64,
    pub free_cpus: f64,
    pub free_memory: u64,
    /// Containers holding a reservation.
    pub containers: u64,
}

/// One engine's capacity.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct EngineCapacity {
    pub id: String,
    pub status: EngineStatus,
    pub health: HealthState,
    #[oai(flatten)]
    pub capacity: Capacity,
    /// Host ports reserved, as `port/proto`.
    pub ports: Vec<String>,
}

impl Capacity {
    pub fn add(&mut self, other: &Capacity) {
        self.cpus += other.cpus;
        self.memory += other.memory;
        self.reserved_cpus += other.reserved_cpus;
        self.reserved_memory += other.reserved_memory;
        self.free_cpus += other.free_cpus;
        self.free_memory += other.free_memory;
        self.containers += other.containers;
    }
}
