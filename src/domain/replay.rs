//! The replay plan: what the log says should run, what the engines hold, and what to do.

use poem_openapi::Object;

/// The result of a replay (a dry run unless `applied`).
#[derive(Debug, Clone, PartialEq, Default, Object)]
pub struct ReplayPlan {
    /// Whether the plan was carried out.
    pub applied: bool,
    /// Containers the log says should exist (scheduled, not destroyed).
    pub desired: u32,
    /// Of those, found on their engines.
    pub present: u32,
    /// Those missing, and where each would go (or went).
    pub missing: Vec<Reschedule>,
    /// Containers with this deployment's labels that no schedule record accounts for.
    pub orphans: Vec<Orphan>,
    /// Engines the log knows that Redis lacked (re-added on apply).
    pub restored_engines: Vec<String>,
    /// Reservations recorded from the engines' labels (apply only).
    pub claims_recorded: u32,
    /// Entries written to the container index (apply only).
    pub indexed: u32,
}

/// A container to place again.
#[derive(Debug, Clone, PartialEq, Default, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Reschedule {
    /// The op that scheduled the missing container.
    pub op: String,
    pub container: String,
    pub name: Option<String>,
    pub owner: String,
    /// Where it was.
    pub engine: String,
    /// Why it is missing: its engine is unreachable, or it vanished.
    pub reason: String,
    /// Where it would go (dry run) or went (apply).
    pub target: Option<String>,
    /// Why it cannot be placed.
    pub error: Option<String>,
    /// The new container (apply).
    pub new_container: Option<String>,
}

/// A container no record accounts for.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct Orphan {
    pub engine: String,
    pub container: String,
    pub name: String,
    pub op: String,
}
