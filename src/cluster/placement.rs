//! From a run request to a claimed engine: build the snapshot the scheduler needs, ask it, claim
//! the room atomically, and on a lost race ask again without the engine that was lost.

use std::collections::HashMap;

use super::{Cluster, ClusterError, ClusterResult};
use crate::auth::Principal;
use crate::domain::{Engine, EngineStatus, HealthState, ImageConfig, PlacementType};
use crate::scheduler::{
    ClusterSnapshot, EngineSnapshot, PlacementRequest, PortKey, Strategy, Unavailable, place,
};
use crate::store::{Claim, Reservations};

/// Claim races one request tolerates before it reports what it saw.
pub(super) const MAX_ATTEMPTS: usize = 8;

/// The engines a caller may schedule onto (admins: all; users: granted), each with its snapshot.
/// Users are not shown engines they have no grant for, not even in refusal reasons.
pub(super) struct Candidates {
    pub engines: Vec<Engine>,
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
            _ => Some(Unavailable::Unhealthy),
        },
        label_mask: EngineSnapshot::mask_of(&labels),
        labels,
        images: r.images.iter().map(|i| interner.intern(i)).collect(),
        ports: r.ports.iter().filter_map(|p| parse_port_key(p)).collect(),
        cpus: engine.cpus,
        memory: engine.memory,
        reserved_cpus: r.cpus_milli as f64 / 1000.0,
        reserved_memory: r.memory,
    }
}

/// `6379/tcp` -> PortKey.
pub(super) fn parse_port_key(s: &str) -> Option<PortKey> {
    let (port, proto) = s.split_once('/')?;
    PortKey::new(port.parse().ok()?, proto)
}

pub(super) fn port_text(p: &PortKey) -> String {
    p.to_string()
}

pub(super) fn cpus_milli(cpus: f64) -> u64 {
    (cpus * 1000.0).round().max(0.0) as u64
}

impl Cluster {
    /// Reads the candidate engines and their reservations (two round trips to Redis).
    pub(super) async fn candidates(&self, principal: &Principal) -> ClusterResult<Candidates> {
        let engines = self.list_engines(principal).await?;
        let ids: Vec<String> = engines.iter().map(|e| e.id.clone()).collect();
        let reservations = self.store.reservations(&ids).await?;
        let mut snapshot = ClusterSnapshot::default();
        for (engine, r) in engines.iter().zip(&reservations) {
            let s = snapshot_of(engine, r, &mut snapshot.interner);
            snapshot.engines.push(s);
        }
        Ok(Candidates { engines, snapshot })
    }

    /// The scheduler's view of a config.
    pub(super) fn placement_request(
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
        }
    }

    /// Places and claims: returns the engine whose room is now held under `claim.op`, and the
    /// candidates it was chosen from. When a claim loses a race the snapshot is read again (the
    /// engine may still have room) and placement runs again. `excluded` names engines ruled out
    /// by the caller (the image is missing there ...), `notes` their reasons for a refusal.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn place_and_claim(
        &self,
        principal: &Principal,
        config: &ImageConfig,
        image: &str,
        ports: &[PortKey],
        strategy: Strategy,
        claim: &mut Claim,
        excluded: &[String],
        notes: &HashMap<String, String>,
    ) -> ClusterResult<(Engine, PlacementRequest)> {
        for _ in 0..MAX_ATTEMPTS {
            let candidates = self.candidates(principal).await?;
            if candidates.engines.is_empty() {
                return Err(ClusterError::NoFit {
                    image: image.to_string(),
                    reasons: vec![if principal.is_admin() {
                        "the cluster has no engine".into()
                    } else {
                        "no engine is granted to you".into()
                    }],
                });
            }
            let req = self.placement_request(
                config,
                image,
                ports,
                &candidates.snapshot,
                &candidates.engines,
            );
            let skip: Vec<usize> = candidates
                .engines
                .iter()
                .enumerate()
                .filter(|(_, e)| excluded.contains(&e.id))
                .map(|(i, _)| i)
                .collect();
            let i = match place(&req, &candidates.snapshot, strategy, &skip) {
                Ok(i) => i,
                Err(refusals) => {
                    let reasons = refusals
                        .into_iter()
                        .map(|r| notes.get(&r.engine).cloned().unwrap_or(r.message))
                        .collect();
                    return Err(ClusterError::NoFit {
                        image: image.to_string(),
                        reasons,
                    });
                }
            };
            let engine = candidates.engines[i].clone();
            claim.engine = engine.id.clone();
            claim.cpus_milli = cpus_milli(req.cpus);
            claim.memory = req.memory;
            let taken = self
                .store
                .claim(
                    claim,
                    cpus_milli(engine.cpus),
                    engine.memory,
                    crate::time::now_ms(),
                )
                .await?;
            match taken {
                Ok(()) => return Ok((engine, req)),
                Err(refused) => {
                    tracing::debug!(engine = %engine.id, ?refused, "claim lost a race; placing again");
                }
            }
        }
        Err(ClusterError::NoFit {
            image: image.to_string(),
            reasons: vec![format!(
                "gave up after losing {MAX_ATTEMPTS} claim races to concurrent requests"
            )],
        })
    }
}

/// Whether a placement type keeps the image alone on its engine.
pub(super) fn is_unique(kind: PlacementType) -> bool {
    matches!(kind, PlacementType::Unique | PlacementType::Multi)
}
