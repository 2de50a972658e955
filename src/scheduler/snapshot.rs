//! What the scheduler sees of each engine: capacity, promises, labels, running images and
//! published ports, with strings interned to integers.
//!
//! A [`ClusterSnapshot`] keeps, beside the [`EngineSnapshot`]s, what the placement pass reads
//! first, derived from them: bit sets over the engines ([`Columns`]: candidate, holds the image,
//! one set per common label) and the room left for cpus and memory, then a small [`Hot`] summary
//! per engine (bits of its claimed ports and running images, and its fill for ranking). The pass
//! ANDs the sets 64 engines at a time and reads the summaries, and the full snapshot with its
//! heap-held lists, only for engines the bits do not rule out. The derived parts are never
//! written by hand: engines go in through [`ClusterSnapshot::push`] and change through
//! [`ClusterSnapshot::update`], which recompute them.

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
    Suspect,
}

impl From<Unavailable> for Reason {
    fn from(u: Unavailable) -> Self {
        match u {
            Unavailable::Disabled => Reason::Disabled,
            Unavailable::Draining => Reason::Draining,
            Unavailable::Unhealthy => Reason::Unhealthy,
            Unavailable::Suspect => Reason::Suspect,
        }
    }
}

impl EngineSnapshot {
    /// How full the engine would be with the request: the mean of the cpu and memory fill
    /// ratios (used only to rank engines that fit, never to decide whether one fits).
    pub fn fill_after(&self, cpus: f64, memory: u64) -> f64 {
        Hot::of(self).fill_after(cpus, memory)
    }
}

/// Label symbols below this have a bit set in [`Columns::labels`]; larger ones are looked up
/// in the engine's list.
pub(super) const MASKED_LABELS: Sym = 64;

/// The mask of a label list: bit `s` for every symbol `s <` [`MASKED_LABELS`].
pub(super) fn label_mask(labels: &[Sym]) -> u64 {
    labels
        .iter()
        .filter(|l| **l < MASKED_LABELS)
        .fold(0, |mask, l| mask | 1 << l)
}

/// A one-bit-of-32 hash: two values with different bits are surely different; the same bit
/// says nothing (the list itself is then checked).
pub(super) fn bloom_bit(value: u32) -> u32 {
    1 << (value.wrapping_mul(0x9E37_79B1) >> 27)
}

pub(super) fn port_bit(port: &PortKey) -> u32 {
    bloom_bit((port.port as u32) << 2 | port.proto as u32)
}

/// Thousandths of a cpu, the unit claims are counted in (see `store::claims`), saturated to
/// what a column holds.
pub(super) fn milli(cpus: f64) -> i32 {
    (cpus * 1000.0)
        .round()
        .clamp(i32::MIN as f64, i32::MAX as f64) as i32
}

/// Room left for cpus, in thousandths: an engine takes `cpus` when `milli(cpus) <= cpu_room`.
pub(super) fn cpu_room(capacity: f64, reserved: f64) -> i32 {
    milli(capacity).saturating_sub(milli(reserved))
}

/// Memory (MB) saturated to what a column holds; engines hold at most 2^30 MB.
pub(super) fn mb(memory: u64) -> i32 {
    i32::try_from(memory).unwrap_or(i32::MAX)
}

/// Room left for memory (MB); negative when an engine's capacity was lowered below what it has
/// promised.
pub(super) fn memory_room(capacity: u64, reserved: u64) -> i32 {
    mb(capacity).saturating_sub(mb(reserved))
}

/// What the first pass reads, 64 engines at a time: one bit an engine in each of a few bit sets
/// (candidate, holds the image, and one set per label symbol below [`MASKED_LABELS`]), so a
/// block's survivors are a handful of ANDs; then two columns of room, read only for those.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Columns {
    /// Granted, and not disabled, draining or unhealthy.
    pub candidate: Vec<u64>,
    /// Holds the request's image already.
    pub holders: Vec<u64>,
    /// Per label symbol `s <` [`MASKED_LABELS`], the engines that carry it (empty when none).
    pub labels: Vec<Vec<u64>>,
    pub cpu_room: Vec<i32>,
    pub memory_room: Vec<i32>,
}

/// Bit `i` of a bit set, growing it as needed.
fn set_bit(set: &mut Vec<u64>, i: usize, on: bool) {
    let word = i / 64;
    if set.len() <= word {
        set.resize(word + 1, 0);
    }
    let bit = 1 << (i % 64);
    if on {
        set[word] |= bit;
    } else {
        set[word] &= !bit;
    }
}

impl Columns {
    fn set(&mut self, i: usize, e: &EngineSnapshot) {
        set_bit(&mut self.candidate, i, e.granted && e.unavailable.is_none());
        set_bit(&mut self.holders, i, e.holds_image);
        let mask = label_mask(&e.labels);
        if self.labels.is_empty() {
            self.labels.resize(MASKED_LABELS as usize, Vec::new());
        }
        for (l, set) in self.labels.iter_mut().enumerate() {
            let on = mask & 1 << l != 0;
            if on || set.len() > i / 64 {
                set_bit(set, i, on);
            }
        }
        let room = (
            cpu_room(e.cpus, e.reserved_cpus),
            memory_room(e.memory, e.reserved_memory),
        );
        if i == self.cpu_room.len() {
            self.cpu_room.push(room.0);
            self.memory_room.push(room.1);
        } else {
            (self.cpu_room[i], self.memory_room[i]) = room;
        }
    }

    /// Word `w` of a bit set; words past its end are empty.
    pub fn word(set: &[u64], w: usize) -> u64 {
        set.get(w).copied().unwrap_or(0)
    }
}

/// What the second pass reads of an engine whose bits and room fit: the bits of its lists, and
/// its fill in the form ranking reads fastest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Hot {
    /// [`port_bit`]s of the claimed ports.
    pub ports: u32,
    /// [`bloom_bit`]s of the running images.
    pub images: u32,
    pub holds_image: bool,
    /// The fill now, and what each cpu and MB adds to it: `fill_after` is then two multiplications
    /// and no division, since every engine that fits is ranked.
    pub fill: f64,
    pub fill_per_cpu: f64,
    pub fill_per_mb: f64,
}

impl Hot {
    pub fn of(e: &EngineSnapshot) -> Self {
        // The mean of the two ratios; a resource without a capacity counts as full.
        let half_per = |capacity: f64| if capacity > 0.0 { 0.5 / capacity } else { 0.0 };
        let full = |capacity: f64| if capacity > 0.0 { 0.0 } else { 0.5 };
        let (per_cpu, per_mb) = (half_per(e.cpus), half_per(e.memory as f64));
        Self {
            ports: e.ports.iter().fold(0, |m, p| m | port_bit(p)),
            images: e.images.iter().fold(0, |m, i| m | bloom_bit(*i)),
            holds_image: e.holds_image,
            fill: e.reserved_cpus * per_cpu
                + e.reserved_memory as f64 * per_mb
                + full(e.cpus)
                + full(e.memory as f64),
            fill_per_cpu: per_cpu,
            fill_per_mb: per_mb,
        }
    }

    /// See [`EngineSnapshot::fill_after`].
    pub fn fill_after(&self, cpus: f64, memory: u64) -> f64 {
        self.fill + cpus * self.fill_per_cpu + memory as f64 * self.fill_per_mb
    }
}

/// Every candidate engine plus the interner their symbols came from.
#[derive(Debug, Default, Clone)]
pub struct ClusterSnapshot {
    engines: Vec<EngineSnapshot>,
    /// Derived from `engines`, entry for entry, always.
    columns: Columns,
    hot: Vec<Hot>,
    pub interner: Interner,
}

impl ClusterSnapshot {
    pub fn new(engines: Vec<EngineSnapshot>, interner: Interner) -> Self {
        let mut snapshot = Self {
            interner,
            ..Default::default()
        };
        for engine in engines {
            snapshot.push(engine);
        }
        snapshot
    }

    pub fn push(&mut self, engine: EngineSnapshot) {
        self.columns.set(self.engines.len(), &engine);
        self.hot.push(Hot::of(&engine));
        self.engines.push(engine);
    }

    /// Changes engine `i` (what is derived from it follows).
    pub fn update(&mut self, i: usize, change: impl FnOnce(&mut EngineSnapshot, &mut Interner)) {
        change(&mut self.engines[i], &mut self.interner);
        self.columns.set(i, &self.engines[i]);
        self.hot[i] = Hot::of(&self.engines[i]);
    }

    /// Engine `i` holds the request's image, or not: [`Self::update`] for that one field,
    /// without deriving the rest again (placement sets it on every engine, every run).
    pub fn set_holds_image(&mut self, i: usize, holds: bool) {
        self.engines[i].holds_image = holds;
        self.hot[i].holds_image = holds;
        set_bit(&mut self.columns.holders, i, holds);
    }

    pub fn engines(&self) -> &[EngineSnapshot] {
        &self.engines
    }

    pub(super) fn columns(&self) -> &Columns {
        &self.columns
    }

    pub(super) fn hot(&self) -> &[Hot] {
        &self.hot
    }
}
