//! Sizing figures (BENCHMARKS.md, "Sizing"; the README's sizing table); run with
//! `scripts/bench.sh sizing`, which brings the test bed up first.
//!
//! - clementine: the resident memory (VmRSS) of one clementine process, the release binary
//!   started as a process of its own: idle with no engines, with the bed's 3 engines added,
//!   then with `CONTAINERS` (default 1,000) containers made on them behind its back (created,
//!   not started, labelled as this deployment's, so its views hold them), after one list-all.
//!   Each reading is taken once the process has settled (two readings 1 s apart within 1 %).
//! - Redis: the bytes `MEMORY USAGE` gives for every key of a fresh deployment, before and
//!   after `ENTRIES` audit entries (default 20,000: intent and outcome pairs, with the tree's
//!   stored hashes once its sequencer caught up), and before and after `CLAIMS` (default
//!   10,000) claims.

#[path = "support/appends.rs"]
#[allow(dead_code)]
mod appends;
#[path = "../tests/api/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "support/server.rs"]
#[allow(dead_code)]
mod server;

use std::collections::HashMap;
use std::time::Duration;

use clementine::domain::ImageConfig;
use clementine::store::Claim;
use common::{TestApp, docker, engine_addr};
use futures::future::join_all;
use serde_json::json;
use server::{Server, settled_rss};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` containers made on engines 1-3 behind clementine's back, as this deployment's.
async fn plant(prefix: &str, n: usize) -> Vec<(u8, String)> {
    let labels = HashMap::from([
        ("clementine.owner".to_string(), "sizing".to_string()),
        ("clementine.cluster".to_string(), prefix.to_string()),
    ]);
    let mut made = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(24) {
        let ids = join_all(chunk.iter().map(|&i| {
            let engine = (i % 3) as u8 + 1;
            let labels = labels.clone();
            async move {
                let config = ImageConfig {
                    name: "busybox:latest".into(),
                    args: vec!["true".into()],
                    container_name: Some(format!("sizing-{}-{i}", std::process::id())),
                    ..Default::default()
                };
                let id = docker(engine).create(&config, labels, None).await.unwrap();
                (engine, id)
            }
        }))
        .await;
        made.extend(ids);
    }
    made
}

async fn clementine_rss() {
    let containers = env_or("CONTAINERS", 1000);
    let server = Server::start().await;
    let pid = server.child.id();
    let idle = settled_rss(pid).await;
    for i in 1..=3u8 {
        let body = json!({"id": format!("e{i}"), "addr": engine_addr(i)});
        server
            .call(reqwest::Method::POST, "/engine", Some(body))
            .await;
    }
    let engines = settled_rss(pid).await;
    let planted = plant(&server.prefix, containers).await;
    let mut listed = 0;
    for _ in 0..120 {
        let all = server.call(reqwest::Method::GET, "/containers", None).await;
        listed = all["data"]["containers"].as_array().map_or(0, |a| a.len());
        if listed >= containers {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let full = settled_rss(pid).await;
    println!(
        "clementine VmRSS: idle {idle} KiB; 3 engines {engines} KiB ({:.0} KiB per engine); \
         {containers} containers (list-all shows {listed}) {full} KiB ({:.0} KiB per 1,000)",
        (engines as f64 - idle as f64) / 3.0,
        (full as f64 - engines as f64) * 1000.0 / containers as f64,
    );
    for chunk in planted.chunks(24) {
        join_all(chunk.iter().map(|(e, id)| async move {
            let _ = docker(*e).remove(id).await;
        }))
        .await;
    }
}

/// Bytes of every key under `prefix`, as MEMORY USAGE counts them.
async fn deployment_bytes(redis: &mut redis::aio::MultiplexedConnection, prefix: &str) -> u64 {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(redis)
        .await
        .unwrap();
    let mut total = 0;
    for key in keys {
        let bytes: Option<u64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(&key)
            .arg("SAMPLES")
            .arg(0)
            .query_async(redis)
            .await
            .unwrap();
        total += bytes.unwrap_or(0);
    }
    total
}

async fn redis_bytes() {
    let (entries, claims) = (env_or("ENTRIES", 20_000), env_or("CLAIMS", 10_000));
    let app = TestApp::spawn_with(|env| {
        env.insert("CLEMENTINE_AUDIT_CHECKPOINT_SECS".into(), "1".into());
    })
    .await;
    let mut redis = app.redis().await;
    let before = deployment_bytes(&mut redis, &app.prefix).await;
    for chunk in (0..entries / 2).collect::<Vec<_>>().chunks(64) {
        join_all(chunk.iter().map(|_| appends::append_pair(&app))).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await; // the sequencer catches up
    let audited = deployment_bytes(&mut redis, &app.prefix).await;
    let store = app.cluster.store();
    for chunk in (0..claims).collect::<Vec<_>>().chunks(64) {
        join_all(chunk.iter().map(|i| async move {
            let claim = Claim {
                op: format!("sizing-{i}"),
                engine: "e1".into(),
                owner: "ann".into(),
                image: "busybox:latest".into(),
                cpus_milli: 100,
                memory: 16,
                ports: Vec::new(),
                unique: false,
            };
            store
                .claim(&claim, 1_000_000_000, 1_000_000_000, 1)
                .await
                .unwrap()
                .unwrap();
        }))
        .await;
    }
    let claimed = deployment_bytes(&mut redis, &app.prefix).await;
    println!(
        "Redis: {entries} audit entries {} bytes ({:.0} KiB per 1,000); {claims} claims {} bytes \
         ({:.0} KiB per 1,000)",
        audited - before,
        (audited - before) as f64 / 1024.0 * 1000.0 / entries as f64,
        claimed - audited,
        (claimed - audited) as f64 / 1024.0 * 1000.0 / claims as f64,
    );
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` and `cargo bench -- --list` should not run this.
    }
    redis_bytes().await;
    clementine_rss().await;
}
