//! The bytes written by serde are the JSON `poem_openapi`'s `Json` writes, field for field, for
//! values with every optional part present and absent (drawn at random each run).

use std::collections::BTreeMap;

use poem_openapi::types::ToJSON;
use rand::Rng;

use super::*;
use crate::domain::{
    CompactContainerList, ContainerOnEngine, HealthState, PlacementType, PullPolicy, RestartPolicy,
};

fn maybe<T>(rng: &mut impl Rng, value: T) -> Option<T> {
    rng.random_bool(0.5).then_some(value)
}

fn engine(rng: &mut impl Rng, id: &str) -> Engine {
    Engine {
        id: id.into(),
        addr: format!("https://127.0.0.{}:2376", rng.random_range(1..250)),
        cpus: rng.random_range(1..64) as f64 / 4.0,
        memory: rng.random_range(1..1_000_000),
        labels: (0..rng.random_range(0..3))
            .map(|i| format!("l{i}"))
            .collect(),
        status: [EngineStatus::Active, EngineStatus::Draining][rng.random_range(0..2)],
        publish_ips: vec!["127.0.0.11".into()],
        health: EngineHealth {
            state: HealthState::Suspect,
            last_seen: maybe(rng, "2026-12-03T21:00:00.123Z".into()),
            checked_at: maybe(rng, "2026-12-03T21:00:01Z".into()),
            last_error: maybe(rng, "a call timed out".into()),
            response_ms: maybe(rng, 1.25),
            docker_version: maybe(rng, "28.2.2".into()),
            api_version: maybe(rng, "1.50".into()),
            certificate_expires_at: maybe(rng, "2027-01-01T00:00:00Z".into()),
            certificate_expiring: maybe(rng, true),
        },
    }
}

fn image(rng: &mut impl Rng) -> ImageConfig {
    let mut strings = |n: usize| -> Vec<String> {
        (0..rng.random_range(0..n))
            .map(|i| format!("s{i}"))
            .collect()
    };
    let [args, entrypoint, volumes, cap_add, devices, aliases, labels] =
        [3, 2, 2, 2, 2, 2, 2].map(&mut strings);
    ImageConfig {
        name: "busybox:latest".into(),
        r#type: PlacementType::Multi,
        labels,
        args,
        entrypoint,
        environment: BTreeMap::from([("A".into(), "1".into())]),
        hostname: maybe(rng, "h".into()),
        domain: maybe(rng, "d".into()),
        cpus: maybe(rng, 0.5),
        memory: maybe(rng, 64),
        bind_ports: vec![BindPort {
            proto: "tcp".into(),
            host_ip: maybe(rng, "127.0.0.11".into()),
            port: 8080,
            container_port: 80,
        }],
        publish: rng.random_bool(0.5),
        network_mode: maybe(rng, "bridge".into()),
        volumes,
        restart_policy: maybe(
            rng,
            RestartPolicy {
                name: "on-failure".into(),
                maximum_retry: 3,
            },
        ),
        container_name: maybe(rng, "web".into()),
        pull: [PullPolicy::Missing, PullPolicy::Always][rng.random_range(0..2)],
        tty: rng.random_bool(0.5),
        open_stdin: rng.random_bool(0.5),
        stdin_once: rng.random_bool(0.5),
        working_dir: maybe(rng, "/w".into()),
        user: maybe(rng, "1000".into()),
        container_labels: BTreeMap::from([("team".into(), "a".into())]),
        network_aliases: aliases,
        auto_remove: rng.random_bool(0.5),
        privileged: rng.random_bool(0.5),
        cap_add,
        devices,
        pid_mode: maybe(rng, "host".into()),
        ipc_mode: maybe(rng, "host".into()),
    }
}

fn list(rng: &mut impl Rng) -> ContainerList {
    let engines: Vec<Engine> = (0..3).map(|i| engine(rng, &format!("e{i}"))).collect();
    let containers = (0..8)
        .map(|i| Container {
            id: format!("c{i}"),
            name: format!("/n{i}"),
            image: image(rng),
            engine: engines[rng.random_range(0..3)].clone(),
            state: ContainerState::Running,
            ports: vec![],
            owner: maybe(rng, "ann".into()),
            config: maybe(rng, "web".into()),
            created: "2026-12-03T21:00:00Z".into(),
        })
        .collect();
    ContainerList {
        containers,
        failed: vec![EngineFailure {
            engine: "e9".into(),
            error: "down".into(),
        }],
        engines: vec![EngineSync {
            engine: "e0".into(),
            synced_at: "2026-12-03T21:00:00Z".into(),
            stale: false,
            source: "events".into(),
        }],
    }
}

fn json_of(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn list_all_is_written_as_json_would_write_it() {
    let mut rng = rand::rng();
    for _ in 0..200 {
        let list = list(&mut rng);
        assert_eq!(json_of(&list_out(&list)), list.to_json().unwrap());
    }
}

#[test]
fn the_compact_list_is_written_as_its_schema_says() {
    let mut rng = rand::rng();
    for _ in 0..200 {
        let list = list(&mut rng);
        let mut records: Vec<Engine> = Vec::new();
        for c in &list.containers {
            if !records.iter().any(|e| e.id == c.engine.id) {
                records.push(c.engine.clone());
            }
        }
        let compact = CompactContainerList {
            containers: (list.containers.iter())
                .map(|c| ContainerOnEngine {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    image: c.image.clone(),
                    engine: c.engine.id.clone(),
                    state: c.state,
                    ports: c.ports.clone(),
                    owner: c.owner.clone(),
                    config: c.config.clone(),
                    created: c.created.clone(),
                })
                .collect(),
            failed: list.failed.clone(),
            engines: list.engines.clone(),
            engine_records: records,
        };
        assert_eq!(
            json_of(&compact_list_out(&list)),
            compact.to_json().unwrap()
        );
    }
}

#[test]
fn engines_are_written_as_json_would_write_them() {
    let mut rng = rand::rng();
    for _ in 0..200 {
        let engines: Vec<Engine> = (0..4).map(|i| engine(&mut rng, &format!("e{i}"))).collect();
        assert_eq!(json_of(&engines_out(&engines)), engines.to_json().unwrap());
    }
}
