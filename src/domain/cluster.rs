//! Views of the whole cluster: the list of all containers and the capacity report.

use poem_openapi::Object;

use super::{Container, EngineStatus, HealthState};

/// Every visible container, and the engines that did not answer.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct ContainerList {
    /// Containers of the engines that answered.
    pub containers: Vec<Container>,
    /// Engines that did not answer in time or failed, with the error.
    pub failed: Vec<EngineFailure>,
}

/// An engine that could not be asked.
#[derive(Debug, Clone, PartialEq, Object)]
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
