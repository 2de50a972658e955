//! Property tests: the fast check and the reasoned one agree on every engine, and placement is
//! sound and complete against a plainly written oracle, over random clusters and requests.

use proptest::prelude::{
    Just, ProptestConfig, any, prop, prop_assert, prop_assert_eq, prop_oneof, proptest,
};
use proptest::strategy::Strategy as _;

use super::*;
use crate::domain::PlacementType;

fn arb_engine() -> impl proptest::strategy::Strategy<Value = EngineSnapshot> {
    (
        any::<bool>(),
        prop::option::of(prop_oneof![
            Just(Unavailable::Draining),
            Just(Unavailable::Disabled),
            Just(Unavailable::Unhealthy),
            Just(Unavailable::Suspect)
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
                    granted,
                    unavailable,
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
        (
            prop::collection::vec(200u32..203, 0..2),
            any::<bool>(),
            0usize..40,
        ),
    )
        .prop_map(
            |(
                kind,
                image,
                labels,
                hosts,
                cpus,
                memory,
                ports,
                (volumes, holders_only, ties_from),
            )| {
                PlacementRequest {
                    holders_only,
                    ties_from,
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
        let need = Need::of(&req);
        let cluster = ClusterSnapshot::new(engines, Interner::default());
        for (i, e) in cluster.engines().iter().enumerate() {
            prop_assert_eq!(fits(&req, &need, &cluster, i), check(&req, e, i).is_ok());
            prop_assert_eq!(fits(&req, &need, &cluster, i), allowed(&req, e, i));
        }
    }

    #[test]
    fn placement_is_sound_and_complete(
        engines in prop::collection::vec(arb_engine(), 0..12),
        req in arb_request(),
        spread in any::<bool>(),
    ) {
        let cluster = ClusterSnapshot::new(engines, Interner::default());
        let strategy = if spread { Strategy::Spread } else { Strategy::Binpack };
        let any_fits = cluster.engines().iter().enumerate().any(|(i, e)| allowed(&req, e, i));
        match place(&req, &cluster, strategy, &[]) {
            Ok(i) => {
                prop_assert!(allowed(&req, &cluster.engines()[i], i));
                // The pick holds the image if any engine that fits does, and is the best by the
                // strategy among those that fit and hold it as much.
                let chosen = &cluster.engines()[i];
                let score = chosen.fill_after(req.cpus, req.memory);
                for (j, e) in cluster.engines().iter().enumerate() {
                    if allowed(&req, e, j) {
                        prop_assert!(chosen.holds_image || !e.holds_image);
                        if e.holds_image != chosen.holds_image {
                            continue;
                        }
                        let other = e.fill_after(req.cpus, req.memory);
                        if spread { prop_assert!(score <= other) } else { prop_assert!(score >= other) }
                        // Among equals, the first at or after `ties_from` (wrapping).
                        let n = cluster.engines().len();
                        let order = |k: usize| (k + n - req.ties_from % n) % n;
                        if other == score {
                            prop_assert!(order(i) <= order(j));
                        }
                    }
                }
            }
            Err(refusals) => {
                prop_assert!(!any_fits);
                prop_assert_eq!(refusals.len(), cluster.engines().len());
            }
        }
    }
}

proptest! {
    // Clusters of a few hundred engines: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The same across several 64-engine blocks, after engines were changed in place: what
    /// `update` derives follows the change (a label, a claim or health taken away included).
    #[test]
    fn checks_agree_across_blocks_after_updates(
        engines in prop::collection::vec(arb_engine(), 60..200),
        changes in prop::collection::vec((0usize..200, arb_engine()), 0..20),
        req in arb_request(),
    ) {
        let need = Need::of(&req);
        let mut cluster = ClusterSnapshot::new(engines, Interner::default());
        for (i, replacement) in changes {
            let i = i % cluster.engines().len();
            cluster.update(i, |e, _| *e = replacement);
        }
        for (i, e) in cluster.engines().iter().enumerate() {
            prop_assert_eq!(fits(&req, &need, &cluster, i), allowed(&req, e, i));
        }
    }
}
