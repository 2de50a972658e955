//! Why an engine was refused, in words a user can act on.

use std::fmt;

use super::{PlacementRequest, PortKey};

/// The first rule an engine failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reason {
    /// The caller has no grant for this engine.
    NotGranted,
    /// Status `disabled`.
    Disabled,
    /// Status `draining`.
    Draining,
    /// The health monitor last saw it fail (or has not checked it yet).
    Unhealthy,
    /// A call to it just timed out; the monitor has not heard from it since.
    Suspect,
    /// `host` placement pinned the container elsewhere.
    NotPinned,
    /// Lacks the request's label with this index.
    MissingLabel(usize),
    /// The request's volume (or named network) with this index is on another engine.
    VolumeElsewhere(usize),
    /// `pull: never` and the engine lacks the image.
    ImageMissing,
    /// `unique`: a container of the image already runs there.
    ImageRunning,
    /// The host port is published there already.
    PortTaken(PortKey),
    Cpus {
        reserved: f64,
        requested: f64,
        capacity: f64,
    },
    Memory {
        reserved: u64,
        requested: u64,
        capacity: u64,
    },
    /// It fitted, but a concurrent request claimed the room first.
    LostRace,
}

/// One engine's refusal, rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub engine: String,
    pub reason: Reason,
    /// `e3: memory 900+256 > 1024 MB`.
    pub message: String,
}

impl Refusal {
    pub(super) fn rendered(mut self, req: &PlacementRequest) -> Self {
        self.message = format!("{}: {}", self.engine, describe(self.reason, req));
        self
    }
}

fn describe(reason: Reason, req: &PlacementRequest) -> String {
    match reason {
        Reason::NotGranted => "not granted to you".into(),
        Reason::Disabled => "disabled".into(),
        Reason::Draining => "draining".into(),
        Reason::Unhealthy => "unhealthy".into(),
        Reason::Suspect => "suspect: a call to it timed out".into(),
        Reason::NotPinned => "not named by a host: label".into(),
        Reason::MissingLabel(n) => format!(
            "lacks label {}",
            req.label_names.get(n).map(String::as_str).unwrap_or("?")
        ),
        Reason::VolumeElsewhere(n) => format!(
            "{} is on another engine",
            req.volume_names.get(n).map(String::as_str).unwrap_or("?")
        ),
        Reason::ImageMissing => "the image is not there (pull: never)".into(),
        Reason::ImageRunning => "a container of this image runs there (unique)".into(),
        Reason::PortTaken(port) => format!("port {port} taken"),
        Reason::Cpus {
            reserved,
            requested,
            capacity,
        } => format!(
            "cpus {} + {} > {}",
            round(reserved),
            round(requested),
            round(capacity)
        ),
        Reason::Memory {
            reserved,
            requested,
            capacity,
        } => format!("memory {reserved}+{requested} > {capacity} MB"),
        Reason::LostRace => "claimed by a concurrent request".into(),
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl fmt::Display for PortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.proto_name())
    }
}
