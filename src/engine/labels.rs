//! The Docker labels clementine puts on every container it starts, so that the engines
//! themselves say what is whose. The store keeps only what engines cannot.
//!
//! [`ContainerLabels`] is the one place that writes and reads them; the key names below are
//! public for label filters (`clementine.owner=ann`) and tests.

use std::collections::HashMap;

use crate::domain::PlacementType;

/// The clementine user who owns the container.
pub const OWNER: &str = "clementine.owner";
/// The image reference the container was started from.
pub const IMAGE: &str = "clementine.image";
/// The placement type it was scheduled with.
pub const TYPE: &str = "clementine.type";
/// CPUs reserved for it.
pub const CPUS: &str = "clementine.cpus";
/// Memory (MB) reserved for it.
pub const MEMORY: &str = "clementine.memory";
/// The audit operation id that created it.
pub const OP: &str = "clementine.op";
/// Host ports it publishes, `port/proto` joined by commas (list entries omit the ports of stopped
/// containers, so the reconcile pass reads them from here).
pub const PORTS: &str = "clementine.ports";
/// The saved image config it was run from, when it was.
pub const CONFIG: &str = "clementine.config";
/// The name the owner gave a container, volume or network (the engine-side name is scoped: see
/// `domain::Scope`).
pub const NAME: &str = "clementine.name";
/// The key prefix of the clementine deployment that placed it. Several deployments (or test
/// runs) may share engines; each accounts only for its own containers.
pub const CLUSTER: &str = "clementine.cluster";

/// Everything clementine records on a container it placed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerLabels {
    /// The deployment (key prefix) that placed it.
    pub cluster: String,
    pub owner: String,
    /// The image reference, tag included.
    pub image: String,
    pub placement: PlacementType,
    /// Reserved CPUs and memory (MB).
    pub cpus: f64,
    pub memory: u64,
    /// The audit op of the schedule that created it.
    pub op: String,
    /// Host ports, `port/proto`.
    pub ports: Vec<String>,
    /// The saved config it was run from.
    pub config: Option<String>,
    /// The name the owner gave it, when they gave one.
    pub name: Option<String>,
}

impl ContainerLabels {
    /// The labels as Docker takes them.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::from([
            (CLUSTER.to_string(), self.cluster.clone()),
            (OWNER.to_string(), self.owner.clone()),
            (IMAGE.to_string(), self.image.clone()),
            (TYPE.to_string(), self.placement.as_str().to_string()),
            (CPUS.to_string(), self.cpus.to_string()),
            (MEMORY.to_string(), self.memory.to_string()),
            (OP.to_string(), self.op.clone()),
            (PORTS.to_string(), self.ports.join(",")),
        ]);
        if let Some(config) = &self.config {
            map.insert(CONFIG.to_string(), config.clone());
        }
        if let Some(name) = &self.name {
            map.insert(NAME.to_string(), name.clone());
        }
        map
    }

    /// Reads the labels back; `None` for a container with neither an owner nor an op label
    /// (clementine knows nothing of it). Missing or garbled values read as their defaults (an
    /// empty `op`: not placed by clementine; an empty `owner`: nobody's), since labels can be
    /// set by anyone with the engine's API.
    pub fn from_map(map: &HashMap<String, String>) -> Option<Self> {
        if !map.contains_key(OWNER) && !map.contains_key(OP) {
            return None;
        }
        let text = |key: &str| map.get(key).cloned().unwrap_or_default();
        Some(Self {
            owner: text(OWNER),
            op: text(OP),
            cluster: text(CLUSTER),
            image: text(IMAGE),
            placement: map
                .get(TYPE)
                .and_then(|t| PlacementType::parse(t))
                .unwrap_or_default(),
            cpus: map.get(CPUS).and_then(|v| v.parse().ok()).unwrap_or(0.0),
            memory: map.get(MEMORY).and_then(|v| v.parse().ok()).unwrap_or(0),
            ports: text(PORTS)
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            config: map.get(CONFIG).cloned(),
            name: map.get(NAME).cloned(),
        })
    }

    /// The `key=value` filter that selects one deployment's containers.
    pub fn cluster_filter(deployment: &str) -> String {
        format!("{CLUSTER}={deployment}")
    }

    /// The `key=value` filter that selects one owner's containers.
    pub fn owner_filter(owner: &str) -> String {
        format!("{OWNER}={owner}")
    }
}

/// What clementine records on a tenant's volume or network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectLabels {
    pub cluster: String,
    pub owner: String,
    /// The name the owner gave it.
    pub name: String,
}

impl ObjectLabels {
    pub fn to_map(&self) -> HashMap<String, String> {
        HashMap::from([
            (CLUSTER.to_string(), self.cluster.clone()),
            (OWNER.to_string(), self.owner.clone()),
            (NAME.to_string(), self.name.clone()),
        ])
    }

    /// `None` unless all three labels are there.
    pub fn from_map(map: &HashMap<String, String>) -> Option<Self> {
        Some(Self {
            cluster: map.get(CLUSTER)?.clone(),
            owner: map.get(OWNER)?.clone(),
            name: map.get(NAME)?.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_map() {
        let labels = ContainerLabels {
            cluster: "clementine:".into(),
            owner: "ann".into(),
            image: "busybox:latest".into(),
            placement: PlacementType::Multi,
            cpus: 0.25,
            memory: 64,
            op: "op-1".into(),
            ports: vec!["80/tcp".into(), "53/udp".into()],
            config: Some("web".into()),
            name: Some("api".into()),
        };
        assert_eq!(ContainerLabels::from_map(&labels.to_map()), Some(labels));
    }

    #[test]
    fn foreign_containers_have_none() {
        assert_eq!(ContainerLabels::from_map(&HashMap::new()), None);
        let only_op = HashMap::from([(OP.to_string(), "x".to_string())]);
        assert_eq!(ContainerLabels::from_map(&only_op).unwrap().owner, "");
        let bare = HashMap::from([(OWNER.to_string(), "ann".to_string())]);
        let read = ContainerLabels::from_map(&bare).unwrap();
        assert_eq!(read.op, "");
        assert_eq!(read.ports, Vec::<String>::new());
        assert_eq!(read.placement, PlacementType::Service);
    }
}
