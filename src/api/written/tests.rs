//! The bytes written here are the JSON `poem_openapi`'s `Json` writes, field for field, for
//! values with every optional part present and absent, and strings that need escapes or not
//! (drawn at random each run).

use std::collections::BTreeMap;

use poem_openapi::types::ToJSON;
use rand::Rng;

use super::*;
use serde_json::Value;

use crate::domain::{
    BindPort, CompactContainerList, ContainerList, ContainerOnEngine, ContainerState,
    EngineFailure, EngineSync, HealthState, ImageConfig, PlacementType, PullPolicy, RestartPolicy,
};
use crate::engine::labels::ContainerLabels;

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

/// A string that sometimes needs JSON's escapes (a quote, a backslash, a control character),
/// split at a random point so that each 16-byte chunk of the fast path is tried.
fn awkward(rng: &mut impl Rng, plain: String) -> String {
    let escapes = ["\"", "\\", "\u{1}", "\n", "é", "\u{7f}"];
    let escape = escapes[rng.random_range(0..escapes.len())];
    match maybe(rng, escape) {
        Some(escape) => {
            let at = rng.random_range(0..=plain.len());
            format!("{}{escape}{}", &plain[..at], &plain[at..])
        }
        None => plain,
    }
}

fn listed(rng: &mut impl Rng, i: usize) -> Listed {
    let config = awkward(rng, "web-frontend-of-the-shop".into());
    let owner = awkward(rng, "ann".into());
    let labels = ContainerLabels {
        cluster: "test:".into(),
        owner: "ann".into(),
        image: "busybox:latest".into(),
        placement: [PlacementType::Multi, PlacementType::Host][rng.random_range(0..2)],
        cpus: 0.25,
        memory: rng.random_range(1..4096),
        op: format!("op{i}"),
        ports: vec!["8080/tcp".into()],
        config: maybe(rng, config),
        name: maybe(rng, format!("n{i}")),
    };
    Listed {
        id: awkward(rng, format!("c{i}{}", "0123456789abcdef".repeat(4))),
        name: awkward(rng, format!("/n{i}")),
        image: "busybox".into(),
        state: [ContainerState::Running, ContainerState::Exited][rng.random_range(0..2)],
        ports: (0..rng.random_range(0..2))
            .map(|_| BindPort {
                proto: "tcp".into(),
                host_ip: maybe(rng, "127.0.0.11".into()),
                port: 8080,
                container_port: 80,
            })
            .collect(),
        created: "2026-12-03T21:00:00Z".into(),
        owner: maybe(rng, owner),
        labels: maybe(rng, labels),
    }
}

/// Engines' shares (some empty), and how current they are.
fn shares(rng: &mut impl Rng) -> (Vec<(Engine, Vec<Listed>)>, ListSync) {
    let shares = (0..4)
        .map(|e| {
            let record = engine(rng, &format!("e{e}"));
            let containers = (0..rng.random_range(0..4)).map(|i| listed(rng, e * 10 + i));
            (record, containers.collect())
        })
        .collect();
    let sync = ListSync {
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
    };
    (shares, sync)
}

/// The shares handed to a sink as list-all hands them.
fn fill(sink: &mut impl ListSink, shares: &[(Engine, Vec<Listed>)]) {
    for (engine, containers) in shares {
        sink.part(engine, containers.iter());
    }
}

fn written_json(shares: &[(Engine, Vec<Listed>)], sync: &ListSync, compact: bool) -> Value {
    let mut writer = ListWriter::new(compact);
    fill(&mut writer, shares);
    let written = writer.finish::<ContainerList>(sync).unwrap();
    let answer: Value = serde_json::from_slice(&written.bytes).unwrap();
    assert_eq!(answer["ok"], Value::Bool(true));
    answer["data"].clone()
}

fn built(shares: &[(Engine, Vec<Listed>)], sync: &ListSync) -> ContainerList {
    let mut containers = Vec::new();
    fill(&mut containers, shares);
    ContainerList {
        containers,
        failed: sync.failed.clone(),
        engines: sync.engines.clone(),
    }
}

#[test]
fn list_all_is_written_as_json_would_write_it() {
    let mut rng = rand::rng();
    for _ in 0..200 {
        let (shares, sync) = shares(&mut rng);
        let list = built(&shares, &sync);
        assert_eq!(written_json(&shares, &sync, false), list.to_json().unwrap());
    }
}

#[test]
fn the_compact_list_is_written_as_its_schema_says() {
    let mut rng = rand::rng();
    for _ in 0..200 {
        let (shares, sync) = shares(&mut rng);
        let list = built(&shares, &sync);
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
            written_json(&shares, &sync, true),
            compact.to_json().unwrap()
        );
    }
}

fn json_of(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

/// What a container's image config may hold beyond what list-all fills in from labels.
#[test]
fn image_configs_are_written_as_json_would_write_them() {
    let mut rng = rand::rng();
    for _ in 0..200 {
        let config = image(&mut rng);
        assert_eq!(json_of(&config), config.to_json().unwrap());
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
