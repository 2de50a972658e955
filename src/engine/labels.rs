//! The Docker labels clementine puts on every container it starts, so that the engines
//! themselves say what is whose. The store keeps only what engines cannot.

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
/// The key prefix of the clementine deployment that placed it. Several deployments (or test
/// runs) may share engines; each accounts only for its own containers.
pub const CLUSTER: &str = "clementine.cluster";
