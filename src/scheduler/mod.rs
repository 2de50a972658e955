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
//! 2. the caller's named volumes the request mounts are there (data stays where it was made),
//!    and so is the named network it joins, when containers use it (engines share no network);
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
//! (default) the fullest, `spread` the emptiest; ties go to the first engine at or after the
//! request's `ties_from` index, so a decision is deterministic for a given request.
//!
//! Speed: a decision reads the engines 64 at a time from bit sets (candidate, holds the image,
//! one per common label; see [`ClusterSnapshot`]), so most engines that do not fit cost a
//! fraction of an AND; only the survivors' room, summaries and lists are read. Labels and
//! images are interned to integers by [`Interner`] when snapshots are built, so the pass
//! compares integers, not strings. No allocation on the success path, unless a request names
//! labels past the bit sets.

mod reason;
mod snapshot;

pub use reason::{Reason, Refusal};
pub use snapshot::{ClusterSnapshot, EngineSnapshot, Interner, PortKey, Sym, Unavailable};

use snapshot::{Columns, Hot, MASKED_LABELS, cpu_room, mb, memory_room, milli};

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
    /// Named volumes the request mounts that already exist on some engine, and the named
    /// network it joins where containers already use it (interned): the engine must hold every
    /// one. What exists nowhere yet is made where it lands.
    pub volumes: Vec<Sym>,
    /// The same, as `volume <name>` or `network <name>` (the caller's names), for refusal
    /// messages.
    pub volume_names: Vec<String>,
    /// `pull: never`: only engines that hold the image already.
    pub holders_only: bool,
    /// Among engines ranked equal, the first at or after this index wins (wrapping). Callers
    /// vary it per request so that concurrent requests reading the same snapshot do not all
    /// pick one engine (at 64 parallel runs on equal engines, `spread` piled every run onto
    /// the lowest index until the claims caught up); 0 gives the lowest index.
    pub ties_from: usize,
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
    let need = Need::of(req);
    // One number to rank by, higher is better: the strategy's fill (negated for `spread`),
    // lifted by 4 for an engine that holds the image, so holders come first (no pull) and the
    // strategy ranks within each group. Fill of an engine that fits is at most 1.
    let sign = match strategy {
        Strategy::Binpack => 1.0,
        Strategy::Spread => -1.0,
    };
    let (columns, hot, engines) = (cluster.columns(), cluster.hot(), cluster.engines());
    let n = engines.len().max(1);
    let order = |i: usize| (i + n - req.ties_from % n) % n;
    let mut best: Option<(usize, f64)> = None;
    // 64 engines at a time: first which of them carry the bits the request needs, a few ANDs
    // of bit sets; then room and the rest, only for those.
    for word in 0..engines.len().div_ceil(64) {
        let mut bits = block_fits(&need, columns, word);
        while bits != 0 {
            let i = word * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if !room_fits(&need, columns, i)
                || !details_fit(req, &need, &hot[i], &engines[i], i)
                || excluded.contains(&i)
            {
                continue;
            }
            let lift = if hot[i].holds_image { 4.0 } else { 0.0 };
            let rank = lift + sign * hot[i].fill_after(req.cpus, req.memory);
            if best.is_none_or(|(j, b)| rank > b || (rank == b && order(i) < order(j))) {
                best = Some((i, rank));
            }
        }
    }
    match best {
        Some((i, _)) => Ok(i),
        None => Err(refusals(req, cluster)),
    }
}

/// The request as the fast path reads it: its labels as a mask of the first
/// [`MASKED_LABELS`] symbols and the rest to look up (`impossible` when a label is carried by no
/// engine at all), and the bits its image and ports set in an engine's [`Hot`] summary.
struct Need {
    /// Label symbols whose [`Columns::labels`] set an engine must be in.
    labels: u64,
    holders_only: bool,
    /// Thousandths of a cpu, and MB.
    cpus: i32,
    memory: i32,
    /// Labels past the mask, looked up in the list.
    rest: Vec<Sym>,
    /// A label no engine carries: nothing fits.
    impossible: bool,
    /// The image's bit when the type keeps it unique on its engine, else 0.
    image_bit: u32,
    port_bits: u32,
    /// Nothing but ports to check past the bits and room (no pins, labels past the mask,
    /// volumes or unique image).
    summary_suffices: bool,
}

impl Need {
    fn of(req: &PlacementRequest) -> Self {
        let mut need = Need {
            labels: 0,
            holders_only: req.holders_only,
            cpus: snapshot::milli(req.cpus),
            memory: snapshot::mb(req.memory),
            rest: Vec::new(),
            impossible: false,
            image_bit: 0,
            port_bits: req.ports.iter().fold(0, |m, p| m | snapshot::port_bit(p)),
            summary_suffices: false,
        };
        if matches!(req.kind, PlacementType::Service | PlacementType::Multi) {
            for label in &req.labels {
                match label {
                    Some(l) if *l < MASKED_LABELS => need.labels |= 1 << l,
                    Some(l) => need.rest.push(*l),
                    None => need.impossible = true,
                }
            }
        }
        if matches!(req.kind, PlacementType::Unique | PlacementType::Multi) {
            need.image_bit = snapshot::bloom_bit(req.image);
        }
        need.summary_suffices = req.kind != PlacementType::Host
            && need.rest.is_empty()
            && req.volumes.is_empty()
            && need.image_bit == 0;
        need
    }
}

/// The same rules as [`check`], ordered for speed and without the reason: the bit sets
/// ([`block_fits`]), room ([`room_fits`]), then the lists ([`details_fit`]). Property tests
/// hold the two to the same answers.
#[cfg(test)]
fn fits(req: &PlacementRequest, need: &Need, cluster: &ClusterSnapshot, i: usize) -> bool {
    let (columns, hot, engine) = (cluster.columns(), &cluster.hot()[i], &cluster.engines()[i]);
    block_fits(need, columns, i / 64) >> (i % 64) & 1 == 1
        && room_fits(need, columns, i)
        && details_fit(req, need, hot, engine, i)
}

/// Bit `j` for every engine `64 * word + j` that is a candidate, carries the request's masked
/// labels and, for `pull: never`, holds the image.
fn block_fits(need: &Need, columns: &Columns, word: usize) -> u64 {
    if need.impossible {
        return 0;
    }
    let mut bits = Columns::word(&columns.candidate, word);
    if need.holders_only {
        bits &= Columns::word(&columns.holders, word);
    }
    let mut labels = need.labels;
    while labels != 0 && bits != 0 {
        bits &= Columns::word(&columns.labels[labels.trailing_zeros() as usize], word);
        labels &= labels - 1;
    }
    bits
}

/// Room for the request's cpus and memory (both compared, one branch).
fn room_fits(need: &Need, columns: &Columns, i: usize) -> bool {
    (need.cpus <= columns.cpu_room[i]) & (need.memory <= columns.memory_room[i])
}

/// The rest, for an engine whose bits and room fit: each list is read only when the request
/// asks for it and the [`Hot`] summary's bits cannot rule it out.
#[inline]
fn details_fit(
    req: &PlacementRequest,
    need: &Need,
    hot: &Hot,
    e: &EngineSnapshot,
    index: usize,
) -> bool {
    let ports_free =
        || hot.ports & need.port_bits == 0 || !req.ports.iter().any(|p| e.ports.contains(p));
    if need.summary_suffices {
        return ports_free();
    }
    if req.kind == PlacementType::Host && !req.hosts.contains(&index) {
        return false;
    }
    if !need.rest.iter().all(|l| e.labels.contains(l)) {
        return false;
    }
    if !req.volumes.iter().all(|v| e.volumes.contains(v)) {
        return false;
    }
    if hot.images & need.image_bit != 0 && e.images.contains(&req.image) {
        return false;
    }
    ports_free()
}

/// Every engine's reason for refusing; only computed when nothing fits.
pub fn refusals(req: &PlacementRequest, cluster: &ClusterSnapshot) -> Vec<Refusal> {
    cluster
        .engines()
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
    if milli(req.cpus) > cpu_room(engine.cpus, engine.reserved_cpus) {
        return Err(Reason::Cpus {
            reserved: engine.reserved_cpus,
            requested: req.cpus,
            capacity: engine.cpus,
        });
    }
    if mb(req.memory) > memory_room(engine.memory, engine.reserved_memory) {
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
