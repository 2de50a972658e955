//! From a run request to a claimed engine: build the snapshot the scheduler needs, ask it, claim
//! the room atomically, and when the claim loses a race read the reservations again and place
//! again (the engine may still have room).

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::join_all;

use super::publish::unpublishable;
use super::quotas::quota_exceeded;
use super::tenancy::TenantObject;
use super::{Cluster, ClusterError, ClusterResult};
use crate::auth::Principal;
use crate::domain::{Engine, EngineStatus, HealthState, ImageConfig, PlacementType};
use crate::engine::labels::ContainerLabels;
use crate::engine::views::image_refs;
use crate::scheduler::{
    ClusterSnapshot, EngineSnapshot, PlacementRequest, PortKey, Strategy, Unavailable, place,
};
use crate::store::{Claim, ClaimRefused, Reservations};
use crate::telemetry::clock::phase;

/// Claim races one request tolerates before it reports what it saw.
pub(in crate::cluster) const MAX_ATTEMPTS: usize = 8;

/// The engines a caller may schedule onto (admins: all; users: granted), each with its snapshot.
/// Users are not shown engines they have no grant for, not even in refusal reasons.
pub(in crate::cluster) struct Candidates {
    /// Shared with the store's copy unless a filter or a suspect engine made it a copy.
    pub engines: Arc<Vec<Engine>>,
    pub snapshot: ClusterSnapshot,
}

fn snapshot_of(
    engine: &Engine,
    r: &Reservations,
    interner: &mut crate::scheduler::Interner,
) -> EngineSnapshot {
    let labels: Vec<u32> = engine.labels.iter().map(|l| interner.intern(l)).collect();
    EngineSnapshot {
        id: engine.id.clone(),
        granted: true,
        unavailable: match (engine.status, engine.health.state) {
            (EngineStatus::Disabled, _) => Some(Unavailable::Disabled),
            (EngineStatus::Draining, _) => Some(Unavailable::Draining),
            (_, HealthState::Healthy) => None,
            (_, HealthState::Suspect) => Some(Unavailable::Suspect),
            _ => Some(Unavailable::Unhealthy),
        },
        labels,
        images: r.images.iter().map(|i| interner.intern(i)).collect(),
        ports: r.ports.iter().filter_map(|p| parse_port_key(p)).collect(),
        volumes: Vec::new(),
        holds_image: false,
        cpus: engine.cpus,
        memory: engine.memory,
        reserved_cpus: r.cpus_milli as f64 / 1000.0,
        reserved_memory: r.memory,
    }
}

/// `6379/tcp` -> PortKey.
pub(in crate::cluster) fn parse_port_key(s: &str) -> Option<PortKey> {
    let (port, proto) = s.split_once('/')?;
    PortKey::new(port.parse().ok()?, proto)
}

/// The host ports a (checked) config publishes.
pub(in crate::cluster) fn ports_of(config: &ImageConfig) -> Vec<PortKey> {
    config
        .bind_ports
        .iter()
        .filter_map(|p| PortKey::new(p.port, &p.proto))
        .collect()
}

pub(in crate::cluster) fn port_text(p: &PortKey) -> String {
    p.to_string()
}

pub(in crate::cluster) fn cpus_milli(cpus: f64) -> u64 {
    (cpus * 1000.0).round().max(0.0) as u64
}

impl Cluster {
    /// Reads the candidate engines and their reservations: from this process's young copies
    /// of both unless `fresh` (after a lost claim), else one round trip to Redis while its copy
    /// of the engine records holds (and one more for a user's grants).
    pub(in crate::cluster) async fn candidates(
        &self,
        principal: &Principal,
        fresh: bool,
    ) -> ClusterResult<Candidates> {
        let granted = match principal.is_admin() {
            true => None,
            false => Some(self.granted_ids(principal).await?),
        };
        let keep = |e: &Engine| granted.as_ref().is_none_or(|ids| ids.contains(&e.id));
        let (mut engines, reservations) = self.store.engines_and_reservations(keep, fresh).await?;
        if !self.engines.suspects().is_empty() {
            Arc::make_mut(&mut engines)
                .iter_mut()
                .for_each(|e| self.passive_health(e));
        }
        let mut snapshot = ClusterSnapshot::default();
        // Labels first, so that they get the small symbols the scheduler keeps bit sets for.
        for label in engines.iter().flat_map(|e| &e.labels) {
            snapshot.interner.intern(label);
        }
        for (engine, r) in engines.iter().zip(&reservations) {
            let s = snapshot_of(engine, r, &mut snapshot.interner);
            snapshot.push(s);
        }
        Ok(Candidates { engines, snapshot })
    }

    /// The scheduler's view of a config.
    pub(in crate::cluster) fn placement_request(
        &self,
        config: &ImageConfig,
        image: &str,
        ports: &[PortKey],
        snapshot: &ClusterSnapshot,
        engines: &[Engine],
    ) -> PlacementRequest {
        let defaults = self.placement;
        let (pins, labels): (Vec<&String>, Vec<&String>) =
            config.labels.iter().partition(|l| l.starts_with("host:"));
        let hosts = pins
            .iter()
            .filter_map(|l| l.strip_prefix("host:"))
            .filter_map(|id| engines.iter().position(|e| e.id == id))
            .collect();
        PlacementRequest {
            kind: config.r#type,
            image: snapshot.interner.get(image).unwrap_or(u32::MAX),
            labels: labels.iter().map(|l| snapshot.interner.get(l)).collect(),
            label_names: labels.iter().map(|l| l.to_string()).collect(),
            hosts,
            cpus: config.cpus.unwrap_or(defaults.default_cpus),
            memory: config.memory.unwrap_or(defaults.default_memory_mb),
            ports: ports.to_vec(),
            volumes: Vec::new(),
            volume_names: Vec::new(),
            holders_only: false,
            ties_from: rand::random::<u32>() as usize,
        }
    }

    /// Places and claims: returns the engine whose room is now held under `claim.op`, and the
    /// request it was chosen for. The first placement uses `snapshot` when given; when a claim
    /// loses a race the snapshot is read again and placement runs again.
    pub(in crate::cluster) async fn place_and_claim(
        &self,
        attempt: &Attempt<'_>,
        claim: &mut Claim,
        mut snapshot: Option<Candidates>,
    ) -> ClusterResult<(Engine, PlacementRequest)> {
        for _ in 0..MAX_ATTEMPTS {
            let candidates = match snapshot.take() {
                Some(read) => read,
                // A lost claim: the room as Redis holds it now, not as this process last saw it.
                None => phase("snapshot", self.candidates(attempt.principal, true)).await?,
            };
            let (engine, req) = self.choose(attempt, candidates).await?;
            claim.engine = engine.id.clone();
            claim.cpus_milli = cpus_milli(req.cpus);
            claim.memory = req.memory;
            let now = crate::time::now_ms();
            let capacity = (cpus_milli(engine.cpus), engine.memory);
            let claimed = self.store.claim(claim, capacity.0, capacity.1, now);
            match phase("claim", claimed).await? {
                Ok(()) => return Ok((engine, req)),
                Err(ClaimRefused::Quota {
                    resource,
                    used,
                    limit,
                }) => return Err(quota_exceeded(&claim.owner, resource, used, limit)),
                Err(refused) => {
                    tracing::debug!(engine = %engine.id, ?refused, "claim lost a race; placing again");
                }
            }
        }
        Err(attempt.no_fit(vec![format!(
            "gave up after losing {MAX_ATTEMPTS} claim races to concurrent requests"
        )]))
    }

    /// Asks the scheduler, over the caller's candidates as read.
    async fn choose(
        &self,
        attempt: &Attempt<'_>,
        mut candidates: Candidates,
    ) -> ClusterResult<(Engine, PlacementRequest)> {
        if !attempt.volumes.is_empty() || attempt.network.is_some() {
            phase("volumes", self.note_volumes(&mut candidates, attempt)).await;
        }
        phase("images", self.note_images(&mut candidates, attempt.image)).await;
        if candidates.engines.is_empty() {
            return Err(attempt.no_fit(vec![if attempt.principal.is_admin() {
                "the cluster has no engine".into()
            } else {
                "no engine is granted to you".into()
            }]));
        }
        let mut req = self.placement_request(
            attempt.config,
            attempt.image,
            attempt.ports,
            &candidates.snapshot,
            &candidates.engines,
        );
        req.holders_only = attempt.holders_only;
        // Only volumes some engine holds bind the choice; the others are made where it lands.
        let volumes = attempt.volumes.iter().map(|v| ("volume", v));
        for (kind, object) in volumes.chain(attempt.network.map(|n| ("network", n))) {
            if let Some(sym) = candidates.snapshot.interner.get(&object.engine_name) {
                req.volumes.push(sym);
                req.volume_names.push(format!("{kind} {}", object.given));
            }
        }
        // A user's host_ip keeps the run to engines that publish there.
        let unpublishable: HashMap<&str, String> = (candidates.engines.iter())
            .filter(|_| !attempt.principal.is_admin())
            .filter_map(|e| Some((e.id.as_str(), unpublishable(e, attempt.config)?)))
            .collect();
        let why_not = |id: &str| {
            (attempt.ruled_out.get(id))
                .or_else(|| unpublishable.get(id))
                .cloned()
        };
        let skip: Vec<usize> = (candidates.engines.iter().enumerate())
            .filter(|(_, e)| why_not(&e.id).is_some())
            .map(|(i, _)| i)
            .collect();
        let placed = phase("place", async {
            place(&req, &candidates.snapshot, attempt.strategy, &skip)
        });
        match placed.await {
            Ok(i) => Ok((candidates.engines[i].clone(), req)),
            Err(refusals) => Err(attempt.no_fit(
                (refusals.into_iter())
                    .map(|r| why_not(&r.engine).unwrap_or(r.message))
                    .collect(),
            )),
        }
    }
}

impl Cluster {
    /// Records on each candidate's snapshot which of the run's volumes it holds, and whether
    /// it holds the named network with a container of this deployment on it (an empty network
    /// binds nothing). An engine that does not answer holds none as far as placement knows (it
    /// is skipped anyway once the monitor sees it down).
    async fn note_volumes(&self, candidates: &mut Candidates, attempt: &Attempt<'_>) {
        let owner = ContainerLabels::owner_filter(&attempt.principal.username);
        let cluster = ContainerLabels::cluster_filter(self.store.keys().prefix());
        let listings = join_all(candidates.engines.iter().map(|engine| {
            let filters = vec![owner.clone(), cluster.clone()];
            async move {
                let client = self.engines.client(engine);
                let volumes = client.list_volumes(filters).await.unwrap_or_default();
                let network = match attempt.network {
                    Some(n) => self.network_in_use(engine, &n.engine_name).await,
                    None => false,
                };
                (volumes, network)
            }
        }))
        .await;
        for (i, (volumes, network)) in listings.into_iter().enumerate() {
            candidates.snapshot.update(i, |engine, interner| {
                for volume in volumes {
                    if attempt.volumes.iter().any(|v| v.engine_name == volume.name) {
                        engine.volumes.push(interner.intern(&volume.name));
                    }
                }
                if let (true, Some(n)) = (network, attempt.network) {
                    engine.volumes.push(interner.intern(&n.engine_name));
                }
            });
        }
    }

    /// Whether the engine holds the network with a container on it (with the engine's timeout:
    /// one that does not answer holds nothing as far as placement knows).
    async fn network_in_use(&self, engine: &Engine, network: &str) -> bool {
        let client = self.engines.client(engine);
        let inspect = client.docker().inspect_network(network, None);
        match client.call("network_inspect", inspect).await {
            Ok(n) => n.containers.is_some_and(|c| !c.is_empty()),
            Err(_) => false,
        }
    }
}

impl Cluster {
    /// Records on each candidate's snapshot whether it holds the image already: those come
    /// first (no pull). The views say what each engine holds (kept by its image events); an
    /// engine whose view has not listed yet is asked, and one that does not answer holds
    /// nothing as far as placement knows.
    async fn note_images(&self, candidates: &mut Candidates, image: &str) {
        // The views answer at once; only the engines they cannot answer for are asked, so a
        // run over 1,000 listed engines makes no future per engine.
        let mut unlisted = Vec::new();
        let held = self.views.hold_image(&candidates.engines, image);
        for (i, holds) in held.into_iter().enumerate() {
            match holds {
                Some(holds) => candidates.snapshot.set_holds_image(i, holds),
                None => unlisted.push(i),
            }
        }
        let engines = &candidates.engines;
        let asked = join_all(unlisted.iter().map(|&i| async move {
            (self.engines.client(&engines[i]).list_images().await)
                .is_ok_and(|listed| image_refs(listed).contains(image))
        }))
        .await;
        for (i, holds) in unlisted.into_iter().zip(asked) {
            candidates.snapshot.set_holds_image(i, holds);
        }
    }
}

/// One run's placement: what is asked, and the engines earlier tries ruled out.
pub(in crate::cluster) struct Attempt<'a> {
    pub principal: &'a Principal,
    pub config: &'a ImageConfig,
    /// The image reference, tag included.
    pub image: &'a str,
    pub ports: &'a [PortKey],
    pub strategy: Strategy,
    /// The caller's named volumes the config mounts: the run goes where they are.
    pub volumes: &'a [TenantObject],
    /// The network the caller named (not their default one): the run goes where its other
    /// containers on it are, since engines share no network (compose's services find each
    /// other by name only on one engine).
    pub network: Option<&'a TenantObject>,
    /// Only engines that hold the image (`pull: never`, or a registry pulls may not use).
    pub holders_only: bool,
    /// Engine id -> why it was ruled out (the image is missing there ...), given as its reason
    /// when nothing fits.
    pub ruled_out: HashMap<String, String>,
}

impl Attempt<'_> {
    fn no_fit(&self, reasons: Vec<String>) -> ClusterError {
        ClusterError::NoFit {
            image: self.image.to_string(),
            reasons,
        }
    }
}

/// Whether a placement type keeps the image alone on its engine.
pub(in crate::cluster) fn is_unique(kind: PlacementType) -> bool {
    matches!(kind, PlacementType::Unique | PlacementType::Multi)
}
