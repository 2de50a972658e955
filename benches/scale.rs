//! Figures at 3, 10 and 30 engines (see BENCHMARKS.md); run with `scripts/bench.sh scale`, which
//! brings the test bed up with 30 engines first.
//!
//! For each size: 10 containers per engine; list-all p50/p99 from the views (200 requests) and
//! with `?fresh=true` (50); run throughput with 40 parallel clients (120 runs); one health
//! monitor tick and one reconcile pass (median of 5 and 3); authenticated `GET
//! /apiv1/engines` under `wrk -t2 -c32 -d10s` (requests/s and p99) against `/healthz` the same
//! way; and the compact list-all (`?engines=ref`, 200 requests).
//!
//! `SCALES=3,10` picks the sizes.

#[path = "../tests/api/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "support/paired.rs"]
#[allow(dead_code)]
mod paired;

use std::time::{Duration, Instant};

use clementine::engine::HealthMonitor;
use clementine::shutdown::Shutdown;
use common::{TestApp, sleeper};
use futures::future::join_all;
use paired::quantile;
use serde_json::{Value, json};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn timed_list(app: &TestApp, path: &str, rounds: usize) -> (f64, f64) {
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        // The answer's bytes, timed; not the client's parsing of them.
        let started = Instant::now();
        let answer = (app.http.get(format!("{}{path}", app.base)))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        answer.bytes().await.unwrap();
        times.push(ms(started.elapsed()));
    }
    (quantile(&times, 0.5), quantile(&times, 0.99))
}

async fn destroy_all(app: &TestApp, containers: &[Value]) {
    for chunk in containers.chunks(20) {
        join_all(chunk.iter().map(|c| {
            let path = format!(
                "/apiv1/engine/{}/container/{}",
                c["engine"]["id"].as_str().unwrap(),
                c["id"].as_str().unwrap()
            );
            async move { app.delete(&path, Some(&app.admin_token)).await }
        }))
        .await;
    }
}

/// 40 clients, 3 runs each, all at once: containers started per second.
async fn throughput(app: &TestApp) -> f64 {
    let started = Instant::now();
    let runs = join_all((0..40).map(|_| async {
        let mut made = Vec::new();
        for _ in 0..3 {
            let (status, body) = app
                .post(
                    "/apiv1/container?strategy=spread",
                    Some(&app.admin_token),
                    sleeper(json!({"cpus": 0.01, "memory": 8})),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            made.push(body["data"].clone());
        }
        made
    }))
    .await;
    let rate = 120.0 / started.elapsed().as_secs_f64();
    destroy_all(app, &runs.concat()).await;
    rate
}

/// `wrk` on `path` with the admin's token: (requests/s, p99 ms).
fn wrk(app: &TestApp, path: &str) -> (f64, f64) {
    let out = std::process::Command::new("wrk")
        .args(["-t2", "-c32", "-d10s", "--latency", "-H"])
        .arg(format!("Authorization: Bearer {}", app.admin_token))
        .arg(format!("{}{path}", app.base))
        .output()
        .expect("wrk (scripts/bench.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| -> Option<&str> {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    let rate = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let p99 = field("99%").map_or(f64::NAN, |v| {
        let (number, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
        let number: f64 = number.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => number / 1000.0,
            "s" => number * 1000.0,
            _ => number,
        }
    });
    (rate, p99)
}

async fn at_scale(n: u8) {
    let app = TestApp::spawn_with(|env| {
        env.insert("CLEMENTINE_MONITOR_INTERVAL_MS".into(), "1000".into());
        env.insert("CLEMENTINE_RECONCILE_INTERVAL_MS".into(), "3600000".into());
    })
    .await;
    for i in 1..=n {
        app.add_engine(&format!("e{i}"), i, &[]).await;
    }
    let mut containers = Vec::new();
    let mut left = 10 * n as usize;
    while left > 0 {
        let count = left.min(100);
        let path = format!("/apiv1/container?count={count}&strategy=spread");
        let (status, body) = app
            .post(
                &path,
                Some(&app.admin_token),
                sleeper(json!({"cpus": 0.01, "memory": 8})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        containers.extend(body["data"].as_array().unwrap().iter().cloned());
        left -= count;
    }
    let synced = common::eventually(30, || async {
        let (_, list) = app.get("/apiv1/containers", Some(&app.admin_token)).await;
        let engines = list["data"]["engines"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        engines.len() == n as usize && engines.iter().all(|e| e["source"] == "events")
    })
    .await;
    assert!(synced, "the views never all listed");
    let (p50, p99) = timed_list(&app, "/apiv1/containers", 200).await;
    let (fresh50, fresh99) = timed_list(&app, "/apiv1/containers?fresh=true", 50).await;
    let cluster = &app.cluster;
    let monitor = HealthMonitor::new(
        cluster.store().clone(),
        cluster.engine_pool().clone(),
        cluster.views().clone(),
        Duration::from_secs(3600),
    );
    let shutdown = Shutdown::new();
    let mut ticks = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        monitor.check_all(&shutdown).await;
        ticks.push(ms(started.elapsed()));
    }
    let mut passes = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        cluster
            .reconcile(clementine::cluster::Source::Views)
            .await
            .unwrap();
        passes.push(ms(started.elapsed()));
    }
    let rate = throughput(&app).await;
    let (healthz, _) = wrk(&app, "/healthz");
    let (rps, wrk99) = wrk(&app, "/apiv1/engines");
    let (compact50, _) = timed_list(&app, "/apiv1/containers?engines=ref", 200).await;
    println!(
        "{n} engines, {} containers: list-all (views) p50 {p50:.2} ms p99 {p99:.2} ms; \
         fresh p50 {fresh50:.2} ms p99 {fresh99:.2} ms; 40 parallel clients {rate:.1} runs/s; \
         monitor tick {:.1} ms; reconcile pass {:.1} ms; GET /engines {rps:.0} req/s p99 {wrk99:.2} ms \
         ({:.2}x /healthz at {healthz:.0} req/s); compact list-all p50 {compact50:.2} ms",
        containers.len(),
        paired::median(&ticks),
        paired::median(&passes),
        rps / healthz,
    );
    destroy_all(&app, &containers).await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let scales = std::env::var("SCALES").unwrap_or_else(|_| "3,10,30".into());
    for n in scales.split(',').filter_map(|s| s.trim().parse().ok()) {
        at_scale(n).await;
    }
}
