//! What the scheduler sees of each engine: capacity, promises, labels, running images and
//! published ports, with strings interned to integers.

use std::collections::HashMap;

use super::Reason;

/// An interned string.
pub type Sym = u32;

/// Maps labels and image names to small integers, so placement compares integers.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    map: HashMap<String, Sym>,
}

impl Interner {
    /// The symbol for a string, adding it when new.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.map.get(s) {
            return sym;
        }
        let sym = self.map.len() as Sym;
        self.map.insert(s.to_string(), sym);
        sym
    }

    /// The symbol for a string, if any engine mentioned it.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.map.get(s).copied()
    }
}

/// A published host port: the number and protocol. Clementine treats an engine as one host, so
/// a port taken on any of its addresses is taken (conservative, and what Docker does for
/// `0.0.0.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortKey {
    pub port: u16,
    /// 0 tcp, 1 udp, 2 sctp.
    pub proto: u8,
}

impl PortKey {
    pub fn new(port: u16, proto: &str) -> Option<Self> {
        let proto = match proto {
            "tcp" | "" => 0,
            "udp" => 1,
            "sctp" => 2,
            _ => return None,
        };
        Some(Self { port, proto })
    }

    pub fn proto_name(&self) -> &'static str {
        match self.proto {
            1 => "udp",
            2 => "sctp",
            _ => "tcp",
        }
    }
}

/// One engine as the scheduler sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSnapshot {
    pub id: String,
    /// May the caller use it?
    pub granted: bool,
    /// Why it takes nothing new, if so.
    pub unavailable: Option<Unavailable>,
    pub labels: Vec<Sym>,
    /// Bit `s` set for every label symbol `s < 64` in `labels` (see [`EngineSnapshot::mask_of`]).
    pub label_mask: u64,
    /// Images with at least one container claimed there.
    pub images: Vec<Sym>,
    /// Host ports claimed there.
    pub ports: Vec<PortKey>,
    /// The caller's named volumes there (engine-side names, interned): data stays where it is
    /// made, so a run that mounts one must go where it is.
    pub volumes: Vec<Sym>,
    /// Whether the engine holds the request's image already (preferred: no pull).
    pub holds_image: bool,
    pub cpus: f64,
    pub memory: u64,
    pub reserved_cpus: f64,
    pub reserved_memory: u64,
}

/// Why an engine takes nothing new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    Disabled,
    Draining,
    Unhealthy,
}

impl From<Unavailable> for Reason {
    fn from(u: Unavailable) -> Self {
        match u {
            Unavailable::Disabled => Reason::Disabled,
            Unavailable::Draining => Reason::Draining,
            Unavailable::Unhealthy => Reason::Unhealthy,
        }
    }
}

impl EngineSnapshot {
    /// The fast-path mask of a label list.
    pub fn mask_of(labels: &[Sym]) -> u64 {
        labels
            .iter()
            .filter(|l| **l < 64)
            .fold(0, |mask, l| mask | 1 << l)
    }

    /// How full the engine would be with the request: the mean of the cpu and memory fill
    /// ratios (used only to rank engines that fit, never to decide whether one fits).
    pub fn fill_after(&self, cpus: f64, memory: u64) -> f64 {
        let c = if self.cpus > 0.0 {
            (self.reserved_cpus + cpus) / self.cpus
        } else {
            1.0
        };
        let m = if self.memory > 0 {
            (self.reserved_memory + memory) as f64 / self.memory as f64
        } else {
            1.0
        };
        (c + m) / 2.0
    }
}

/// Every candidate engine plus the interner their symbols came from.
#[derive(Debug, Default, Clone)]
pub struct ClusterSnapshot {
    pub engines: Vec<EngineSnapshot>,
    pub interner: Interner,
}
