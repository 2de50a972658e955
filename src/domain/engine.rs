//! An engine: one Docker daemon reached over mutual TLS.

use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

/// A Docker engine in the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Object)]
pub struct Engine {
    /// Unique id of the engine (letters, digits, `_`, `-`, `.`; at most 64 characters).
    pub id: String,
    /// Docker API address, always `https://host:port` (mutual TLS).
    pub addr: String,
    /// CPUs the scheduler may hand out on this engine.
    pub cpus: f64,
    /// Memory in MB the scheduler may hand out on this engine.
    pub memory: u64,
    /// Free-form labels matched by `service` placement (for example `ssd`, `zone:a`).
    pub labels: Vec<String>,
    /// Set by admins: `active` engines take new containers, `draining` ones keep what they run
    /// but take nothing new, `disabled` ones are ignored.
    pub status: EngineStatus,
    /// Kept by the health monitor.
    #[serde(skip)]
    pub health: EngineHealth,
}

/// Whether an engine takes new containers; set by admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum EngineStatus {
    #[default]
    Active,
    Draining,
    Disabled,
}

/// What the health monitor last saw of an engine.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Object)]
pub struct EngineHealth {
    /// `healthy` when the last check answered, `unhealthy` when it failed, `unknown` before the
    /// first check.
    pub state: HealthState,
    /// When the engine last answered (RFC 3339).
    #[oai(skip_serializing_if_is_none)]
    pub last_seen: Option<String>,
    /// When the monitor last checked (RFC 3339).
    #[oai(skip_serializing_if_is_none)]
    pub checked_at: Option<String>,
    /// The error of the last failed check; absent when the last check succeeded.
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    /// How long the last successful check took, in milliseconds.
    #[oai(skip_serializing_if_is_none)]
    pub response_ms: Option<f64>,
    /// The Docker version the engine reported.
    #[oai(skip_serializing_if_is_none)]
    pub docker_version: Option<String>,
    /// The Docker API version the engine reported.
    #[oai(skip_serializing_if_is_none)]
    pub api_version: Option<String>,
}

/// Health of an engine as the monitor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum HealthState {
    #[default]
    Unknown,
    Healthy,
    Unhealthy,
}

impl Engine {
    /// True when the scheduler may place new containers here.
    pub fn is_schedulable(&self) -> bool {
        self.status == EngineStatus::Active && self.health.state == HealthState::Healthy
    }
}

/// An engine as the audit log records it in the `detail` of `engine.add` and `engine.update`
/// outcomes: enough for replay to add it again to an empty Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineRecord {
    pub addr: String,
    pub cpus: f64,
    pub memory: u64,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub status: EngineStatus,
}

impl EngineRecord {
    pub fn of(e: &Engine) -> Self {
        Self {
            addr: e.addr.clone(),
            cpus: e.cpus,
            memory: e.memory,
            labels: e.labels.clone(),
            status: e.status,
        }
    }

    /// The engine again, with its health not yet known.
    pub fn into_engine(self, id: &str) -> Engine {
        Engine {
            id: id.to_string(),
            addr: self.addr,
            cpus: self.cpus,
            memory: self.memory,
            labels: self.labels,
            status: self.status,
            health: EngineHealth::default(),
        }
    }
}
