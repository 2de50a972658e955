//! End-to-end figures on the real test bed (see BENCHMARKS.md); run with
//! `scripts/bench.sh cluster`, which brings the test bed up first.
//!
//! 1. run overhead: one container run through clementine (HTTP, auth, placement, Redis claim)
//!    versus the same create+start sent straight to the engine with bollard, alternating;
//! 2. list-all over three engines versus the slowest single engine, and with one engine hung
//!    versus the per-engine timeout;
//! 3. 20 parallel runs across three engines versus the same runs sent straight to the engines
//!    round-robin;
//! 4. a run that needs a pull (from the test bed's registry) versus `pull` + create + start
//!    straight to the engine, the image removed before each, alternating.
//!
//! `ONLY=pull` (or `run`, `list`, `parallel`) runs one section.

#[path = "../tests/api/common.rs"]
#[allow(dead_code)]
mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use clementine::domain::ImageConfig;
use clementine::engine::EngineClient;
use common::{TestApp, docker, sleeper, testbed};
use futures::future::join_all;
use serde_json::{Value, json};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn direct_config(n: usize) -> ImageConfig {
    ImageConfig {
        name: "busybox:latest".into(),
        args: vec!["sleep".into(), "600".into()],
        cpus: Some(0.1),
        memory: Some(16),
        container_name: Some(format!("bench-direct-{}-{n}", std::process::id())),
        ..Default::default()
    }
}

async fn direct_run(client: &EngineClient, n: usize) -> String {
    let labels = HashMap::from([("clementine.owner".to_string(), "bench-direct".to_string())]);
    client
        .create_and_start(&direct_config(n), labels, None)
        .await
        .unwrap()
}

async fn run_overhead(app: &TestApp, rounds: usize) {
    let t = app.admin_token.clone();
    let direct = docker(1);
    // Warm both paths (TLS connections, first create).
    let id = direct_run(&direct, 0).await;
    direct.remove(&id).await.unwrap();
    let (_, warm) = app
        .run(&t, sleeper(json!({"type": "host", "labels": ["host:e1"]})))
        .await;
    destroy(app, &warm["data"]).await;

    let (mut via, mut straight) = (Vec::new(), Vec::new());
    for n in 0..rounds {
        let started = Instant::now();
        let (status, body) = app
            .run(&t, sleeper(json!({"type": "host", "labels": ["host:e1"]})))
            .await;
        via.push(ms(started.elapsed()));
        assert_eq!(status, 200, "{body}");
        destroy(app, &body["data"]).await;

        let started = Instant::now();
        let id = direct_run(&direct, n + 1).await;
        // The API answers with the inspected container; the direct path inspects too.
        direct.inspect(&id).await.unwrap();
        straight.push(ms(started.elapsed()));
        direct.remove(&id).await.unwrap();
    }
    let (mv, ms_) = (median(via), median(straight));
    println!(
        "run: clementine median {mv:.1} ms, direct median {ms_:.1} ms, ratio {:.3} ({rounds} runs each, alternating)",
        mv / ms_
    );
}

async fn pull_overhead(app: &TestApp, rounds: usize) {
    let registry = std::env::var("CLEMENTINE_TESTBED_REGISTRY").unwrap_or("127.0.0.1:5000".into());
    let image = format!("{registry}/clementine/pulltest:1");
    let direct = docker(1);
    let forget = || async {
        let options = bollard::query_parameters::RemoveImageOptions {
            force: true,
            ..Default::default()
        };
        let _ = direct
            .docker()
            .remove_image(&image, Some(options), None)
            .await;
    };
    let config = json!({"name": image, "args": ["sleep", "600"], "cpus": 0.1, "memory": 16,
                        "type": "host", "labels": ["host:e1"], "pull": "missing"});
    let (mut via, mut straight) = (Vec::new(), Vec::new());
    for n in 0..rounds {
        forget().await;
        let started = Instant::now();
        let (status, body) = app.run(&app.admin_token, config.clone()).await;
        via.push(ms(started.elapsed()));
        assert_eq!(status, 200, "{body}");
        destroy(app, &body["data"]).await;

        forget().await;
        let started = Instant::now();
        direct
            .pull(&image, Duration::from_secs(120), None)
            .await
            .unwrap();
        let mut c = direct_config(10_000 + n);
        c.name = image.clone();
        let labels = HashMap::from([("clementine.owner".to_string(), "bench-direct".to_string())]);
        let id = direct.create_and_start(&c, labels, None).await.unwrap();
        direct.inspect(&id).await.unwrap();
        straight.push(ms(started.elapsed()));
        direct.remove(&id).await.unwrap();
    }
    let (mv, ms_) = (median(via), median(straight));
    println!(
        "pull+run: clementine median {mv:.1} ms, direct pull+create+start median {ms_:.1} ms, ratio {:.3} ({rounds} runs each, alternating)",
        mv / ms_
    );
}

async fn destroy(app: &TestApp, c: &Value) {
    let path = format!(
        "/apiv1/engine/{}/container/{}",
        c["engine"]["id"].as_str().unwrap(),
        c["id"].as_str().unwrap()
    );
    app.delete(&path, Some(&app.admin_token)).await;
}

async fn list_all(app: &TestApp, rounds: usize) {
    let t = app.admin_token.clone();
    // 30 containers over the three engines.
    let (status, body) = app
        .post(
            "/apiv1/container?count=30&strategy=spread",
            Some(&t),
            sleeper(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let clients: Vec<EngineClient> = (1..=3).map(docker).collect();
    for c in &clients {
        c.list_containers(None).await.unwrap();
    }
    app.get("/apiv1/containers", Some(&t)).await;
    let (mut via, mut slowest) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        let (status, _) = app.get("/apiv1/containers", Some(&t)).await;
        via.push(ms(started.elapsed()));
        assert_eq!(status, 200);
        let each = join_all(clients.iter().map(|c| async move {
            let s = Instant::now();
            c.list_containers(None).await.unwrap();
            ms(s.elapsed())
        }))
        .await;
        slowest.push(each.into_iter().fold(0.0, f64::max));
    }
    println!(
        "list-all (30 containers, 3 engines): clementine median {:.2} ms, slowest single engine median {:.2} ms",
        median(via),
        median(slowest)
    );
    for c in body["data"].as_array().unwrap() {
        destroy(app, c).await;
    }
}

async fn list_all_with_hung_engine(app: &TestApp, timeout_ms: u64) {
    testbed(&["start-engine", "7"]);
    app.add_engine("e7", 7, &[]).await;
    testbed(&["freeze-engine", "7"]);
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let (_, body) = app.get("/apiv1/containers", Some(&app.admin_token)).await;
        times.push(ms(started.elapsed()));
        assert_eq!(body["data"]["failed"][0]["engine"], json!("e7"));
    }
    testbed(&["thaw-engine", "7"]);
    println!(
        "list-all with one engine hung: median {:.0} ms for a per-engine timeout of {timeout_ms} ms",
        median(times)
    );
    app.delete("/apiv1/engine/e7", Some(&app.admin_token)).await;
}

async fn parallel_runs(app: &TestApp, n: usize) {
    let t = app.admin_token.clone();
    let started = Instant::now();
    let answers = join_all((0..n).map(|_| app.run(&t, sleeper(json!({}))))).await;
    let via = started.elapsed().as_secs_f64();
    assert!(answers.iter().all(|(s, _)| *s == 200));
    for (_, body) in &answers {
        destroy(app, &body["data"]).await;
    }
    let clients: Vec<EngineClient> = (1..=3).map(docker).collect();
    let started = Instant::now();
    let ids = join_all((0..n).map(|i| {
        let client = &clients[i % 3];
        async move { (i % 3, direct_run(client, 1000 + i).await) }
    }))
    .await;
    let direct = started.elapsed().as_secs_f64();
    for (engine, id) in ids {
        clients[engine].remove(&id).await.unwrap();
    }
    println!(
        "{n} parallel runs on 3 engines: clementine {:.1} containers/s, direct round-robin {:.1} containers/s",
        n as f64 / via,
        n as f64 / direct
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` and `cargo bench -- --list` should not run this.
    }
    let timeout_ms = 2000;
    let app = TestApp::spawn_with(|env| {
        env.insert(
            "CLEMENTINE_ENGINE_TIMEOUT_MS".into(),
            timeout_ms.to_string(),
        );
        env.insert("CLEMENTINE_MONITOR_INTERVAL_MS".into(), "5000".into());
    })
    .await;
    for (id, i) in [("e1", 1u8), ("e2", 2), ("e3", 3)] {
        app.add_engine(id, i, &[]).await;
    }
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(31);
    let only = std::env::var("ONLY").unwrap_or_default();
    let wanted = |section: &str| only.is_empty() || only == section;
    if wanted("run") {
        run_overhead(&app, rounds).await;
    }
    if wanted("list") {
        list_all(&app, rounds).await;
        list_all_with_hung_engine(&app, timeout_ms).await;
    }
    if wanted("parallel") {
        parallel_runs(&app, 20).await;
    }
    if wanted("pull") {
        pull_overhead(&app, rounds).await;
    }
}
