//! End-to-end figures on the real test bed (see BENCHMARKS.md for how to read them); run with
//! `scripts/bench.sh cluster`, which brings the test bed up first. Every comparison is paired:
//! clementine and the same work sent straight to the engines, back to back, the order flipped
//! every pair; each section reports the median of per-pair ratios with a bootstrap 95 % interval.
//!
//! 1. run: one container run through clementine (HTTP, auth, placement, Redis claim, audit)
//!    against create + start + inspect straight to the engine with bollard; plus the gateway's
//!    own time per run from its `/metrics` histogram (`clementine_run_overhead_seconds`);
//! 2. list-all over three engines (30 containers) against the slowest of the three engines
//!    listed at once, and with one engine hung against the per-engine timeout;
//! 3. 20 parallel runs across three engines against the same runs sent straight to the engines
//!    round-robin;
//! 4. a run that needs a pull (from the test bed's registry) against `pull` + create + start
//!    straight to the engine, the image removed before each.
//!
//! 5. (`ONLY=tls` only) the run path over the test bed's TLS Redis against the plain one, two
//!    servers interleaved pair by pair, and one `PING` over each.
//!
//! `ONLY=pull` (or `run`, `list`, `parallel`, `tls`) runs one section; `ROUNDS` (default 101) sets the
//! pairs of `run` and `list`, `PULL_ROUNDS` (31) and `PARALLEL_ROUNDS` (15) the others.

#[path = "../tests/api/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "support/paired.rs"]
#[allow(dead_code)] // each benchmark uses part of it
mod paired;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use clementine::domain::ImageConfig;
use clementine::engine::EngineClient;
use common::{TestApp, docker, sleeper, testbed};
use futures::future::join_all;
use paired::{median, pairs, ratio_and_difference};
use serde_json::{Value, json};

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

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(default)
}

async fn scrape(app: &TestApp) -> String {
    let answer = app.http.get(format!("{}/metrics", app.base)).send().await;
    answer.unwrap().text().await.unwrap()
}

fn report(what: &str, times: &[(f64, f64)], unit: &str) {
    let (ratio, difference) = ratio_and_difference(times);
    let ours: Vec<f64> = times.iter().map(|t| t.0).collect();
    let theirs: Vec<f64> = times.iter().map(|t| t.1).collect();
    println!(
        "{what}: {} pairs; clementine median {:.2} {unit}, direct median {:.2} {unit}; \
         paired ratio {ratio}; paired difference {difference} {unit}",
        times.len(),
        median(&ours),
        median(&theirs),
    );
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
    let config = sleeper(json!({"type": "host", "labels": ["host:e1"]}));
    let (_, warm) = app.run(&t, config.clone()).await;
    destroy(app, &warm["data"]).await;

    let before = scrape(app).await;
    let times = pairs(
        rounds,
        |_| async {
            let started = Instant::now();
            let (status, body) = app.run(&t, config.clone()).await;
            let took = ms(started.elapsed());
            assert_eq!(status, 200, "{body}");
            destroy(app, &body["data"]).await;
            took
        },
        |n| {
            let direct = &direct;
            async move {
                let started = Instant::now();
                let id = direct_run(direct, n + 1).await;
                // The API answers with the inspected container; the direct path inspects too.
                direct.inspect(&id).await.unwrap();
                let took = ms(started.elapsed());
                direct.remove(&id).await.unwrap();
                took
            }
        },
    )
    .await;
    let after = scrape(app).await;
    report("run", &times, "ms");
    let name = "clementine_run_overhead_seconds";
    let (b, a) = (
        paired::buckets(&before, name),
        paired::buckets(&after, name),
    );
    println!(
        "run overhead (server histogram, {} runs): p50 {:.2} ms, p99 {:.2} ms",
        paired::count_between(&b, &a),
        paired::quantile_between(&b, &a, 0.5) * 1000.0,
        paired::quantile_between(&b, &a, 0.99) * 1000.0,
    );
}

/// The run path over a TLS Redis (the test bed's, as its least-privileged ACL user, client
/// certificate and all) against the same path over the plain one: two servers in this process
/// on the same engine, their runs interleaved pair by pair. First the runs' wall time as the
/// caller sees it; then each run's own time, exactly: the change of its server's own-time
/// histogram sum across that one run. Beside it, the price of one Redis round trip over TLS,
/// paired (`PING`).
async fn tls_redis_overhead(plain: &TestApp, rounds: usize) {
    let id = common::short_id();
    let mut env = common::tls_redis_env(&id);
    // The same background work as the plain server's (`main`).
    env.insert("CLEMENTINE_ENGINE_TIMEOUT_MS".into(), "2000".into());
    env.insert("CLEMENTINE_MONITOR_INTERVAL_MS".into(), "5000".into());
    let tls = TestApp::spawn_env(id, env).await;
    tls.add_engine("e1", 1, &[]).await;
    let config = sleeper(json!({"type": "host", "labels": ["host:e1"]}));
    timed_run(plain, &config).await;
    timed_run(&tls, &config).await;
    let times = pairs(
        rounds,
        |_| timed_run(&tls, &config),
        |_| timed_run(plain, &config),
    )
    .await;
    report(
        "run over TLS Redis (ours) against plain Redis (theirs)",
        &times,
        "ms",
    );
    let own = pairs(
        rounds,
        |_| own_time_of_run(&tls, &config),
        |_| own_time_of_run(plain, &config),
    )
    .await;
    report(
        "run own time over TLS Redis (ours) against plain Redis (theirs)",
        &own,
        "ms",
    );
    redis_round_trips(rounds * 10).await;
}

/// The sum of a server's own-time histogram of runs, in seconds.
async fn own_time_sum(app: &TestApp) -> f64 {
    let text = scrape(app).await;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("clementine_run_overhead_seconds_sum "));
    line.unwrap().trim().parse().unwrap()
}

/// One admin run's own time in ms (its server's histogram sum before and after; the run is
/// that server's only one meanwhile), then destroyed.
async fn own_time_of_run(app: &TestApp, config: &Value) -> f64 {
    let before = own_time_sum(app).await;
    let (status, body) = app.run(&app.admin_token, config.clone()).await;
    assert_eq!(status, 200, "{body}");
    let after = own_time_sum(app).await;
    destroy(app, &body["data"]).await;
    (after - before) * 1000.0
}

/// One admin run, timed, then destroyed untimed.
async fn timed_run(app: &TestApp, config: &Value) -> f64 {
    let started = Instant::now();
    let (status, body) = app.run(&app.admin_token, config.clone()).await;
    let took = ms(started.elapsed());
    assert_eq!(status, 200, "{body}");
    destroy(app, &body["data"]).await;
    took
}

/// `PING` over TLS (client certificate, ACL login) against plain, paired, on connections
/// opened beforehand.
async fn redis_round_trips(rounds: usize) {
    let plain_url = std::env::var("CLEMENTINE_REDIS_URL").unwrap();
    let plain = redis::Client::open(plain_url).unwrap();
    let env = common::tls_redis_env("bench");
    let store = clementine::config::Settings::load(None, &|k: &str| env.get(k).cloned())
        .unwrap()
        .store;
    let tls = clementine::store::Store::connect(&store).await.unwrap();
    let plain = plain.get_multiplexed_async_connection().await.unwrap();
    let times = pairs(
        rounds,
        |_| {
            let tls = tls.clone();
            async move {
                let started = Instant::now();
                tls.ping().await.unwrap();
                ms(started.elapsed())
            }
        },
        |_| {
            let mut conn = plain.clone();
            async move {
                let started = Instant::now();
                let _: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
                ms(started.elapsed())
            }
        },
    )
    .await;
    report(
        "Redis PING over TLS (ours) against plain (theirs)",
        &times,
        "ms",
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
        let _ = (direct.docker())
            .remove_image(&image, Some(options), None)
            .await;
    };
    let config = json!({"name": image, "args": ["sleep", "600"], "cpus": 0.1, "memory": 16,
                        "type": "host", "labels": ["host:e1"], "pull": "missing"});
    let times = pairs(
        rounds,
        |_| async {
            forget().await;
            let started = Instant::now();
            let (status, body) = app.run(&app.admin_token, config.clone()).await;
            let took = ms(started.elapsed());
            assert_eq!(status, 200, "{body}");
            destroy(app, &body["data"]).await;
            took
        },
        |n| {
            let (direct, image, forget) = (&direct, &image, &forget);
            async move {
                forget().await;
                let started = Instant::now();
                (direct.pull(image, Duration::from_secs(120), None).await).unwrap();
                let mut c = direct_config(10_000 + n);
                c.name = image.clone();
                let labels =
                    HashMap::from([("clementine.owner".to_string(), "bench-direct".to_string())]);
                let id = direct.create_and_start(&c, labels, None).await.unwrap();
                direct.inspect(&id).await.unwrap();
                let took = ms(started.elapsed());
                direct.remove(&id).await.unwrap();
                took
            }
        },
    )
    .await;
    report("pull+run", &times, "ms");
}

async fn destroy(app: &TestApp, c: &Value) {
    let path = format!(
        "/apiv1/engine/{}/container/{}",
        c["engine"]["id"].as_str().unwrap(),
        c["id"].as_str().unwrap()
    );
    app.delete(&path, Some(&app.admin_token)).await;
}

/// `query`: `""` reads the views the engines' event streams keep, `"?fresh=true"` asks the
/// engines.
async fn list_all(app: &TestApp, rounds: usize, query: &str) {
    let t = app.admin_token.clone();
    // 30 containers over the three engines.
    let path = "/apiv1/container?count=30&strategy=spread";
    let (status, body) = app.post(path, Some(&t), sleeper(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    let clients: Vec<EngineClient> = (1..=3).map(docker).collect();
    for c in &clients {
        c.list_containers(None).await.unwrap();
    }
    let list = format!("/apiv1/containers{query}");
    // The health monitor starts the views; measure once every engine's is listed.
    let synced = common::eventually(30, || async {
        let (_, now) = app.get(&list, Some(&t)).await;
        let engines = now["data"]["engines"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        engines.len() == 3
            && engines
                .iter()
                .all(|e| e["source"] != "live" || !query.is_empty())
    })
    .await;
    assert!(synced, "the views never all listed");
    let times = pairs(
        rounds,
        |_| async {
            let started = Instant::now();
            let (status, _) = app.get(&list, Some(&t)).await;
            assert_eq!(status, 200);
            ms(started.elapsed())
        },
        |_| async {
            let each = join_all(clients.iter().map(|c| async move {
                let s = Instant::now();
                c.list_containers(None).await.unwrap();
                ms(s.elapsed())
            }))
            .await;
            each.into_iter().fold(0.0, f64::max)
        },
    )
    .await;
    let what = format!("list-all{query} (30 containers, 3 engines) against the slowest engine");
    report(&what, &times, "ms");
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
        let (_, body) = (app.get("/apiv1/containers?fresh=true", Some(&app.admin_token))).await;
        times.push(ms(started.elapsed()));
        assert_eq!(body["data"]["failed"][0]["engine"], json!("e7"));
    }
    testbed(&["thaw-engine", "7"]);
    println!(
        "list-all with one engine hung: median {:.0} ms for a per-engine timeout of {timeout_ms} ms",
        median(&times)
    );
    app.delete("/apiv1/engine/e7", Some(&app.admin_token)).await;
}

async fn parallel_runs(app: &TestApp, n: usize, rounds: usize) {
    let t = app.admin_token.clone();
    let clients: Vec<EngineClient> = (1..=3).map(docker).collect();
    let times = pairs(
        rounds,
        |_| async {
            let started = Instant::now();
            let path = "/apiv1/container?strategy=spread";
            let answers =
                join_all((0..n).map(|_| app.post(path, Some(&t), sleeper(json!({}))))).await;
            let took = started.elapsed().as_secs_f64();
            assert!(answers.iter().all(|(s, _)| *s == 200));
            for (_, body) in &answers {
                destroy(app, &body["data"]).await;
            }
            took
        },
        |round| {
            let clients = &clients;
            async move {
                let started = Instant::now();
                let ids = join_all((0..n).map(|i| {
                    let client = &clients[i % 3];
                    async move { (i % 3, direct_run(client, 1000 + round * n + i).await) }
                }))
                .await;
                let took = started.elapsed().as_secs_f64();
                for (engine, id) in ids {
                    clients[engine].remove(&id).await.unwrap();
                }
                took
            }
        },
    )
    .await;
    report(
        &format!("{n} parallel runs on 3 engines (wall time)"),
        &times,
        "s",
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
    let rounds = env_or("ROUNDS", 101);
    let only = std::env::var("ONLY").unwrap_or_default();
    let wanted = |section: &str| only.is_empty() || only == section;
    if wanted("run") {
        run_overhead(&app, rounds).await;
    }
    if wanted("list") {
        list_all(&app, rounds, "").await;
        list_all(&app, rounds, "?fresh=true").await;
        list_all_with_hung_engine(&app, timeout_ms).await;
    }
    if wanted("parallel") {
        parallel_runs(&app, 20, env_or("PARALLEL_ROUNDS", 15)).await;
    }
    if only == "tls" {
        tls_redis_overhead(&app, rounds).await;
    }
    if wanted("pull") {
        pull_overhead(&app, env_or("PULL_ROUNDS", 31)).await;
    }
}
