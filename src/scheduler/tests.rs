use proptest::prelude::{
    Just, ProptestConfig, any, prop, prop_assert, prop_assert_eq, prop_oneof, proptest,
};
use proptest::strategy::Strategy as _;

use super::*;
use crate::domain::PlacementType;

struct Builder {
    cluster: ClusterSnapshot,
}

impl Builder {
    fn new() -> Self {
        Self {
            cluster: ClusterSnapshot::default(),
        }
    }

    fn engine(mut self, id: &str, cpus: f64, memory: u64, labels: &[&str]) -> Self {
        let labels: Vec<Sym> = labels
            .iter()
            .map(|l| self.cluster.interner.intern(l))
            .collect();
        self.cluster.engines.push(EngineSnapshot {
            id: id.into(),
            granted: true,
            unavailable: None,
            label_mask: EngineSnapshot::mask_of(&labels),
            labels,
            images: vec![],
            ports: vec![],
            volumes: vec![],
            holds_image: true,
            cpus,
            memory,
            reserved_cpus: 0.0,
            reserved_memory: 0,
        });
        self
    }

    fn with(mut self, f: impl FnOnce(&mut EngineSnapshot, &mut Interner)) -> Self {
        let n = self.cluster.engines.len() - 1;
        f(&mut self.cluster.engines[n], &mut self.cluster.interner);
        self
    }

    fn request(
        &mut self,
        kind: PlacementType,
        image: &str,
        labels: &[&str],
        cpus: f64,
        memory: u64,
        ports: &[u16],
    ) -> PlacementRequest {
        PlacementRequest {
            kind,
            image: self.cluster.interner.intern(image),
            labels: labels
                .iter()
                .map(|l| self.cluster.interner.get(l))
                .collect(),
            label_names: labels.iter().map(|l| l.to_string()).collect(),
            hosts: labels
                .iter()
                .filter_map(|l| l.strip_prefix("host:"))
                .filter_map(|id| self.cluster.engines.iter().position(|e| e.id == id))
                .collect(),
            cpus,
            memory,
            ports: ports
                .iter()
                .map(|p| PortKey::new(*p, "tcp").unwrap())
                .collect(),
            volumes: vec![],
            volume_names: vec![],
            holders_only: false,
        }
    }
}

fn id(cluster: &ClusterSnapshot, choice: Result<Choice, Vec<Refusal>>) -> String {
    cluster.engines[choice.expect("a choice")].id.clone()
}

#[test]
fn service_honours_labels() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 4096, &["hdd"])
        .engine("e2", 4.0, 4096, &["ssd", "zone:a"])
        .engine("e3", 4.0, 4096, &["ssd"]);
    let req = b.request(
        PlacementType::Service,
        "redis:7",
        &["ssd", "zone:a"],
        1.0,
        256,
        &[],
    );
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Binpack, &[])),
        "e2"
    );
    let req = b.request(PlacementType::Service, "redis:7", &["gpu"], 1.0, 256, &[]);
    let refusals = place(&req, &b.cluster, Strategy::Binpack, &[]).unwrap_err();
    assert_eq!(refusals.len(), 3);
    assert_eq!(refusals[0].message, "e1: lacks label gpu");
}

#[test]
fn unique_refuses_a_second_copy() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 4096, &[])
        .with(|e, i| e.images.push(i.intern("redis:7")))
        .engine("e2", 4.0, 4096, &[]);
    let req = b.request(PlacementType::Unique, "redis:7", &[], 1.0, 256, &[]);
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Binpack, &[])),
        "e2"
    );
    // Service placement does not care.
    let req = b.request(PlacementType::Service, "redis:7", &[], 1.0, 256, &[]);
    assert!(place(&req, &b.cluster, Strategy::Binpack, &[]).is_ok());
}

#[test]
fn ports_move_a_second_publisher() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 4096, &[])
        .with(|e, _| e.ports.push(PortKey::new(6379, "tcp").unwrap()))
        .engine("e2", 4.0, 4096, &[]);
    let req = b.request(PlacementType::Port, "redis:7", &[], 0.5, 128, &[6379]);
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Binpack, &[])),
        "e2"
    );
    let req = b.request(PlacementType::Port, "redis:7", &[], 0.5, 128, &[6379]);
    let err = place(&req, &b.cluster, Strategy::Binpack, &[1]).unwrap_err();
    assert_eq!(err[0].message, "e1: port 6379/tcp taken");
    assert_eq!(err[1].message, "e2: claimed by a concurrent request");
}

#[test]
fn host_pins_and_multi_combines() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 4096, &["ssd"])
        .engine("e2", 4.0, 4096, &["ssd"])
        .with(|e, i| e.images.push(i.intern("web:1")))
        .engine("e3", 4.0, 4096, &["hdd"]);
    let req = b.request(PlacementType::Host, "web:1", &["host:e3"], 1.0, 128, &[]);
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Binpack, &[])),
        "e3"
    );
    let req = b.request(PlacementType::Multi, "web:1", &["ssd"], 1.0, 128, &[80]);
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Binpack, &[])),
        "e1"
    );
}

#[test]
fn capacity_is_per_resource_with_reasons() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 1024, &[])
        .with(|e, _| e.reserved_memory = 900)
        .engine("e2", 1.0, 8192, &[])
        .with(|e, _| e.reserved_cpus = 0.75);
    // e1 has cpus but not memory; e2 has memory but not cpus: averaging would wrongly accept.
    let req = b.request(PlacementType::Service, "x:1", &[], 0.5, 256, &[]);
    let err = place(&req, &b.cluster, Strategy::Binpack, &[]).unwrap_err();
    assert_eq!(err[0].message, "e1: memory 900+256 > 1024 MB");
    assert_eq!(err[1].message, "e2: cpus 0.75 + 0.5 > 1");
}

#[test]
fn only_active_healthy_granted_engines() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 4096, &[])
        .with(|e, _| e.granted = false)
        .engine("e2", 4.0, 4096, &[])
        .with(|e, _| e.unavailable = Some(Unavailable::Draining))
        .engine("e3", 4.0, 4096, &[])
        .with(|e, _| e.unavailable = Some(Unavailable::Unhealthy));
    let req = b.request(PlacementType::Service, "x:1", &[], 0.1, 1, &[]);
    let err = place(&req, &b.cluster, Strategy::Binpack, &[]).unwrap_err();
    let msgs: Vec<&str> = err.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(
        msgs,
        ["e1: not granted to you", "e2: draining", "e3: unhealthy"]
    );
}

#[test]
fn binpack_fills_spread_spreads() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 4096, &[])
        .with(|e, _| {
            e.reserved_cpus = 2.0;
            e.reserved_memory = 2048
        })
        .engine("e2", 4.0, 4096, &[]);
    let req = b.request(PlacementType::Service, "x:1", &[], 1.0, 512, &[]);
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Binpack, &[])),
        "e1"
    );
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Spread, &[])),
        "e2"
    );
}

#[test]
fn engines_holding_the_image_come_first() {
    let mut t = Builder::new()
        .engine("e1", 4.0, 4096, &[])
        .with(|e, _| e.holds_image = false)
        .engine("e2", 4.0, 4096, &[])
        .with(|e, _| {
            e.holds_image = true;
            e.reserved_memory = 3000;
        });
    let mut req = t.request(PlacementType::Service, "busybox:latest", &[], 1.0, 64, &[]);
    // Spread would pick the empty e1; e2 holds the image, so no pull: e2.
    assert_eq!(
        id(&t.cluster, place(&req, &t.cluster, Strategy::Spread, &[])),
        "e2"
    );
    // pull: never leaves only holders; their reason says so.
    req.holders_only = true;
    t.cluster.engines[1].reserved_memory = 4096;
    let refusals = place(&req, &t.cluster, Strategy::Spread, &[]).unwrap_err();
    assert_eq!(
        refusals[0].message,
        "e1: the image is not there (pull: never)"
    );
}

#[test]
fn volumes_pull_the_container_to_their_engine() {
    let mut t = Builder::new()
        .engine("e1", 4.0, 4096, &[])
        .engine("e2", 4.0, 4096, &[])
        .with(|e, interner| e.volumes = vec![interner.intern("clm.x.3.ann.data")]);
    let mut req = t.request(PlacementType::Service, "busybox:latest", &[], 1.0, 64, &[]);
    req.volumes = vec![t.cluster.interner.intern("clm.x.3.ann.data")];
    req.volume_names = vec!["data".into()];
    assert_eq!(
        id(&t.cluster, place(&req, &t.cluster, Strategy::Spread, &[])),
        "e2"
    );
    // Full there: the reason names the volume, not some other engine's room.
    t.cluster.engines[1].reserved_memory = 4096;
    let refusals = place(&req, &t.cluster, Strategy::Spread, &[]).unwrap_err();
    assert_eq!(refusals[0].message, "e1: volume data is on another engine");
    assert!(
        refusals[1].message.starts_with("e2: memory"),
        "{refusals:?}"
    );
}

fn arb_engine() -> impl proptest::strategy::Strategy<Value = EngineSnapshot> {
    (
        any::<bool>(),
        prop::option::of(prop_oneof![
            Just(Unavailable::Draining),
            Just(Unavailable::Disabled),
            Just(Unavailable::Unhealthy)
        ]),
        prop::collection::vec(prop_oneof![0u32..6, 62u32..68], 0..4),
        prop::collection::vec(0u32..4, 0..3),
        prop::collection::vec(0u16..4, 0..3),
        1u32..16,
        1u64..4096,
        0u32..16,
        0u64..4096,
        (prop::collection::vec(200u32..203, 0..3), any::<bool>()),
    )
        .prop_map(
            |(
                granted,
                unavailable,
                labels,
                images,
                ports,
                cpus,
                memory,
                rc,
                rm,
                (volumes, holds_image),
            )| {
                EngineSnapshot {
                    holds_image,
                    id: String::new(),
                    granted: granted || unavailable.is_none(),
                    unavailable,
                    label_mask: EngineSnapshot::mask_of(&labels),
                    labels,
                    images: images.into_iter().map(|i| 100 + i).collect(),
                    ports: ports
                        .into_iter()
                        .map(|p| PortKey {
                            port: 8000 + p,
                            proto: 0,
                        })
                        .collect(),
                    cpus: cpus as f64 / 2.0,
                    memory,
                    reserved_cpus: (rc.min(cpus)) as f64 / 2.0,
                    reserved_memory: rm.min(memory),
                    volumes,
                }
            },
        )
}

fn arb_request() -> impl proptest::strategy::Strategy<Value = PlacementRequest> {
    (
        prop_oneof![
            Just(PlacementType::Service),
            Just(PlacementType::Unique),
            Just(PlacementType::Host),
            Just(PlacementType::Port),
            Just(PlacementType::Multi)
        ],
        0u32..4,
        prop::collection::vec(
            prop::option::weighted(0.9, prop_oneof![0u32..6, 62u32..68]),
            0..3,
        ),
        prop::collection::vec(0usize..12, 0..3),
        0u32..8,
        0u64..2048,
        prop::collection::vec(0u16..4, 0..2),
        (prop::collection::vec(200u32..203, 0..2), any::<bool>()),
    )
        .prop_map(
            |(kind, image, labels, hosts, cpus, memory, ports, (volumes, holders_only))| {
                PlacementRequest {
                    holders_only,
                    volume_names: volumes.iter().map(|v| format!("v{v}")).collect(),
                    volumes,
                    kind,
                    image: 100 + image,
                    label_names: labels.iter().map(|l| format!("{l:?}")).collect(),
                    labels,
                    hosts,
                    cpus: cpus as f64 / 4.0,
                    memory,
                    ports: ports
                        .into_iter()
                        .map(|p| PortKey {
                            port: 8000 + p,
                            proto: 0,
                        })
                        .collect(),
                }
            },
        )
}

/// Every rule, written out a second time in the plainest way, as the oracle.
fn allowed(req: &PlacementRequest, e: &EngineSnapshot, i: usize) -> bool {
    let labels_ok = req
        .labels
        .iter()
        .all(|l| l.is_some_and(|l| e.labels.contains(&l)));
    let unique_ok = !e.images.contains(&req.image);
    let ports_ok = req.ports.iter().all(|p| !e.ports.contains(p));
    let volumes_ok =
        req.volumes.iter().all(|v| e.volumes.contains(v)) && (!req.holders_only || e.holds_image);
    let rule = match req.kind {
        PlacementType::Service => labels_ok,
        PlacementType::Unique => unique_ok,
        PlacementType::Host => req.hosts.contains(&i),
        PlacementType::Port => true,
        PlacementType::Multi => labels_ok && unique_ok,
    };
    e.granted
        && e.unavailable.is_none()
        && rule
        && ports_ok
        && volumes_ok
        && e.reserved_cpus + req.cpus <= e.cpus + 1e-9
        && e.reserved_memory + req.memory <= e.memory
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Never an engine that breaks a rule or capacity; always a choice when one exists; and a
    /// reason for every engine when there is none.
    /// The fast path and the reasoned path agree on every engine.
    #[test]
    fn fast_and_reasoned_checks_agree(
        engines in prop::collection::vec(arb_engine(), 0..12),
        req in arb_request(),
    ) {
        let need = LabelNeed::of(&req);
        for (i, e) in engines.iter().enumerate() {
            prop_assert_eq!(fits(&req, &need, e, i), check(&req, e, i).is_ok());
            prop_assert_eq!(fits(&req, &need, e, i), allowed(&req, e, i));
        }
    }

    #[test]
    fn placement_is_sound_and_complete(
        engines in prop::collection::vec(arb_engine(), 0..12),
        req in arb_request(),
        spread in any::<bool>(),
    ) {
        let cluster = ClusterSnapshot { engines, interner: Interner::default() };
        let strategy = if spread { Strategy::Spread } else { Strategy::Binpack };
        let any_fits = cluster.engines.iter().enumerate().any(|(i, e)| allowed(&req, e, i));
        match place(&req, &cluster, strategy, &[]) {
            Ok(i) => {
                prop_assert!(allowed(&req, &cluster.engines[i], i));
                // The pick holds the image if any engine that fits does, and is the best by the
                // strategy among those that fit and hold it as much.
                let chosen = &cluster.engines[i];
                let score = chosen.fill_after(req.cpus, req.memory);
                for (j, e) in cluster.engines.iter().enumerate() {
                    if allowed(&req, e, j) {
                        prop_assert!(chosen.holds_image || !e.holds_image);
                        if e.holds_image != chosen.holds_image {
                            continue;
                        }
                        let other = e.fill_after(req.cpus, req.memory);
                        if spread { prop_assert!(score <= other) } else { prop_assert!(score >= other) }
                    }
                }
            }
            Err(refusals) => {
                prop_assert!(!any_fits);
                prop_assert_eq!(refusals.len(), cluster.engines.len());
            }
        }
    }
}
