//! The scheduler: pure placement logic, no I/O.
//!
//! Given a [`PlacementRequest`] and a [`ClusterSnapshot`] (what every candidate engine has and
//! has promised), [`place`] returns the best engine, or, when none fits, the reason every engine
//! was refused. The cluster layer then claims the capacity atomically in Redis; if that claim
//! loses a race it reads the reservations again and asks again (the engine may still have
//! room). Engines the cluster layer ruled out (the image is missing there) are skipped.
//!
//! Rules, in the order they are checked (the first failing one is the engine's reason):
//!
//! 1. the engine is a candidate: granted to the caller, `active` and `healthy`;
//! 2. the caller's named volumes the request mounts are there (data stays where it was made);
//! 3. the placement type's rule ([`PlacementType`]):
//!    `service` — the engine carries every label of the request;
//!    `unique` — no container of the same image runs there;
//!    `host` — the engine is one of the `host:<id>` labels;
//!    `port` — the requested host ports are free there;
//!    `multi` — service, unique and port together;
//! 4. host ports are free (for every type: Docker cannot publish one port twice on a host);
//! 5. capacity, per resource: reserved + request <= capacity, for cpus and for memory alike.
//!
//! Among the engines that pass, those that hold the image already come first (no pull; with
//! `pull: never` the others do not pass at all); within them the strategy picks: `binpack`
//! (default) the fullest, `spread` the emptiest; ties go to the lower engine index, so a
//! decision is deterministic.
//!
//! Speed: a decision is one pass over the snapshots with no allocation on the success path. Labels
//! and images are interned to integers by [`Interner`] when snapshots are built, so the pass
//! compares integers, not strings.

mod reason;
mod snapshot;

pub use reason::{Reason, Refusal};
pub use snapshot::{ClusterSnapshot, EngineSnapshot, Interner, PortKey, Sym, Unavailable};

use crate::domain::PlacementType;

/// How to choose among engines that fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The fullest engine that fits: keeps whole engines free for big containers.
    #[default]
    Binpack,
    /// The emptiest engine: spreads load and failure impact.
    Spread,
}

impl Strategy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "binpack" => Some(Self::Binpack),
            "spread" => Some(Self::Spread),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Binpack => "binpack",
            Self::Spread => "spread",
        }
    }
}

/// What to place, with labels and image interned against the snapshot's [`Interner`].
#[derive(Debug, Clone, PartialEq)]
pub struct PlacementRequest {
    pub kind: PlacementType,
    /// The image (`name:tag`), interned.
    pub image: Sym,
    /// Labels the engine must carry (`service`, `multi`), interned; `None` for a label no engine
    /// carries (so nothing can match it).
    pub labels: Vec<Option<Sym>>,
    /// The same labels as text, for refusal messages.
    pub label_names: Vec<String>,
    /// Engine indexes a `host` request is pinned to.
    pub hosts: Vec<usize>,
    pub cpus: f64,
    pub memory: u64,
    pub ports: Vec<PortKey>,
    /// Named volumes the request mounts that already exist on some engine (interned): the
    /// engine must hold every one. Volumes that exist nowhere yet are made where it lands.
    pub volumes: Vec<Sym>,
    /// The same volumes by the names the caller gave, for refusal messages.
    pub volume_names: Vec<String>,
    /// `pull: never`: only engines that hold the image already.
    pub holders_only: bool,
}

/// The engine chosen, by index into the snapshot.
pub type Choice = usize;

/// Picks an engine, skipping the excluded indexes.
pub fn place(
    req: &PlacementRequest,
    cluster: &ClusterSnapshot,
    strategy: Strategy,
    excluded: &[usize],
) -> Result<Choice, Vec<Refusal>> {
    let need = LabelNeed::of(req);
    // One number to rank by, higher is better: the strategy's fill (negated for `spread`),
    // lifted by 4 for an engine that holds the image, so holders come first (no pull) and the
    // strategy ranks within each group. Fill of an engine that fits is at most 1.
    let sign = match strategy {
        Strategy::Binpack => 1.0,
        Strategy::Spread => -1.0,
    };
    let mut best: Option<(usize, f64)> = None;
    for (i, engine) in cluster.engines.iter().enumerate() {
        if !fits(req, &need, engine, i) || excluded.contains(&i) {
            continue;
        }
        let lift = if engine.holds_image { 4.0 } else { 0.0 };
        let rank = lift + sign * engine.fill_after(req.cpus, req.memory);
        if best.is_none_or(|(_, b)| rank > b) {
            best = Some((i, rank));
        }
    }
    match best {
        Some((i, _)) => Ok(i),
        None => Err(refusals(req, cluster)),
    }
}

/// The request's labels split for the fast path: a bit mask for the first 64 symbols, the rest
/// to look up; `impossible` when a label is carried by no engine at all.
struct LabelNeed {
    mask: u64,
    rest: Vec<Sym>,
    impossible: bool,
}

impl LabelNeed {
    fn of(req: &PlacementRequest) -> Self {
        let mut need = LabelNeed {
            mask: 0,
            rest: Vec::new(),
            impossible: false,
        };
        if matches!(req.kind, PlacementType::Service | PlacementType::Multi) {
            for label in &req.labels {
                match label {
                    Some(l) if *l < 64 => need.mask |= 1 << l,
                    Some(l) => need.rest.push(*l),
                    None => need.impossible = true,
                }
            }
        }
        need
    }
}

/// The same rules as [`check`], ordered for speed (cheap inline fields first) and without the
/// reason. Property tests hold the two to the same answers.
#[inline]
fn fits(req: &PlacementRequest, need: &LabelNeed, e: &EngineSnapshot, index: usize) -> bool {
    if !e.granted
        || e.unavailable.is_some()
        || e.reserved_cpus + req.cpus > e.cpus + CPU_EPSILON
        || e.reserved_memory + req.memory > e.memory
        || need.impossible
        || e.label_mask & need.mask != need.mask
    {
        return false;
    }
    if req.kind == PlacementType::Host && !req.hosts.contains(&index) {
        return false;
    }
    if !need.rest.iter().all(|l| e.labels.contains(l)) {
        return false;
    }
    if !req.volumes.iter().all(|v| e.volumes.contains(v)) || (req.holders_only && !e.holds_image) {
        return false;
    }
    if matches!(req.kind, PlacementType::Unique | PlacementType::Multi)
        && e.images.contains(&req.image)
    {
        return false;
    }
    !req.ports.iter().any(|p| e.ports.contains(p))
}

/// Tolerance when adding fractional cpus.
const CPU_EPSILON: f64 = 1e-9;

/// Every engine's reason for refusing; only computed when nothing fits.
pub fn refusals(req: &PlacementRequest, cluster: &ClusterSnapshot) -> Vec<Refusal> {
    cluster
        .engines
        .iter()
        .enumerate()
        .map(|(i, engine)| {
            // An engine that passes every rule was refused only because it was excluded:
            // a concurrent request claimed the room first.
            let reason = check(req, engine, i).err().unwrap_or(Reason::LostRace);
            Refusal {
                engine: engine.id.clone(),
                reason,
                message: String::new(),
            }
            .rendered(req)
        })
        .collect()
}

/// Does this engine take the request? The first rule that fails is the reason.
pub fn check(req: &PlacementRequest, engine: &EngineSnapshot, index: usize) -> Result<(), Reason> {
    if !engine.granted {
        return Err(Reason::NotGranted);
    }
    if let Some(why) = engine.unavailable {
        return Err(why.into());
    }
    let kind = req.kind;
    let labels = matches!(kind, PlacementType::Service | PlacementType::Multi);
    let unique = matches!(kind, PlacementType::Unique | PlacementType::Multi);
    if kind == PlacementType::Host && !req.hosts.contains(&index) {
        return Err(Reason::NotPinned);
    }
    if let Some(n) = req.volumes.iter().position(|v| !engine.volumes.contains(v)) {
        return Err(Reason::VolumeElsewhere(n));
    }
    if req.holders_only && !engine.holds_image {
        return Err(Reason::ImageMissing);
    }
    if labels {
        for (n, label) in req.labels.iter().enumerate() {
            match label {
                Some(l) if engine.labels.contains(l) => {}
                _ => return Err(Reason::MissingLabel(n)),
            }
        }
    }
    if unique && engine.images.contains(&req.image) {
        return Err(Reason::ImageRunning);
    }
    if let Some(port) = req.ports.iter().find(|p| engine.ports.contains(p)) {
        return Err(Reason::PortTaken(*port));
    }
    if engine.reserved_cpus + req.cpus > engine.cpus + CPU_EPSILON {
        return Err(Reason::Cpus {
            reserved: engine.reserved_cpus,
            requested: req.cpus,
            capacity: engine.cpus,
        });
    }
    if engine.reserved_memory + req.memory > engine.memory {
        return Err(Reason::Memory {
            reserved: engine.reserved_memory,
            requested: req.memory,
            capacity: engine.memory,
        });
    }
    Ok(())
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
