//! The control plane at 1,000 engines (BENCHMARKS.md, "At 1,000 hollow engines"); run with
//! `scripts/bench.sh thousand`. `ENGINES` (default 1,000) hollow engines are served by this
//! process (benches/hollow); clementine is the release binary in a process of its own, so that
//! its CPU and memory are read from /proc apart from the engines' and the driver's.
//!
//! In order, in one sitting:
//! 1. memory idle, then the engines added (32 at a time) and every view listed;
//! 2. `CONTAINERS` (default 10,000) containers made on the engines behind clementine's back,
//!    labelled as its own, spread evenly: first one per engine, then the rest, memory again
//!    once every view shows each batch. The first batch's cost is mostly per engine (the
//!    connection each view opens beside its event stream to ask about a changed container);
//!    the second's is what each further container costs (the views' own cost, apart from the
//!    allocator's growth under a burst of runs); the process's open sockets after each step
//!    (engine connections: one per view's event stream, one more for its calls);
//! 3. list-all from the views, full and `engines=ref`, alternated (p50, p99, bytes); with
//!    `LIST_ONLY` set, once more and nothing after (memory and list-all, paired quickly);
//! 4. `wrk -t2 -c32 -d10s` on `/healthz` then on `GET /apiv1/engines` with the admin's token;
//! 5. idle CPU over 20 s (event streams and the monitor only);
//! 6. `RUNS` (default 5,000) runs through the API from 64 parallel clients (runs/s, p50, p99),
//!    then runs started at `RATE` a second (default 500) for 10 s, whatever the answers (p50,
//!    p99, each from the moment the run was due);
//! 7. one engine killed: how long until list-all shows it stale, then failed;
//! 8. clementine restarted: how long until every engine's view is listed (first full sync).

#[path = "../tests/api/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "hollow/mod.rs"]
#[allow(dead_code)]
mod hollow;
#[path = "support/paired.rs"]
#[allow(dead_code)]
mod paired;
#[path = "support/server.rs"]
#[allow(dead_code)]
mod server;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use paired::quantile;
use serde_json::{Value, json};
use server::{Server, settled_rss};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// user + system CPU seconds of a process so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// Open sockets of a process (its engine connections, mostly).
fn sockets(pid: u32) -> usize {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap();
    (fds.flatten())
        .filter(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

/// The settings for many engines: the monitor every 5 s, no reconcile pass during the run.
fn settings(env: &mut std::collections::HashMap<String, String>) {
    env.insert("CLEMENTINE_MONITOR_INTERVAL_MS".into(), "5000".into());
    env.insert("CLEMENTINE_RECONCILE_INTERVAL_MS".into(), "3600000".into());
}

/// List-all's answer as bytes (what the figures time: not the client's parsing).
async fn fetch(server: &Server, query: &str) -> bytes::Bytes {
    let answer = (server.http)
        .get(format!("{}/apiv1/containers{query}", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    answer.bytes().await.unwrap()
}

async fn list(server: &Server, query: &str) -> (Value, usize) {
    let bytes = fetch(server, query).await;
    (serde_json::from_slice(&bytes).unwrap(), bytes.len())
}

/// Engines whose view is listed and current, and containers shown.
async fn synced(server: &Server) -> (usize, usize) {
    let (list, _) = list(server, "?engines=ref").await;
    let engines = list["data"]["engines"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let current = (engines.iter())
        .filter(|e| e["source"] == "events" && e["stale"] == false)
        .count();
    (
        current,
        list["data"]["containers"].as_array().map_or(0, Vec::len),
    )
}

async fn wait_synced(server: &Server, engines: usize, containers: usize) -> Duration {
    let started = Instant::now();
    while synced(server).await != (engines, containers) {
        assert!(started.elapsed() < Duration::from_secs(300), "never synced");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

async fn add_engines(server: &Server, set: &hollow::HollowSet) {
    for (chunk_no, chunk) in set.engines.chunks(32).enumerate() {
        join_all(chunk.iter().enumerate().map(|(i, e)| {
            let body = json!({"id": format!("h{}", chunk_no * 32 + i), "addr": format!("https://{}", e.addr)});
            server.call(reqwest::Method::POST, "/engine", Some(body))
        }))
        .await;
    }
}

/// `n` running containers of this deployment's admin, made on the engines directly.
fn plant(server: &Server, set: &hollow::HollowSet, from: usize, to: usize) {
    let labels = std::collections::HashMap::from([
        ("clementine.owner".to_string(), "admin".to_string()),
        ("clementine.cluster".to_string(), server.prefix.clone()),
    ]);
    for i in from..to {
        let engine = &set.engines[i % set.engines.len()];
        engine
            .objects
            .plant(&format!("planted-{i}"), "busybox:latest", labels.clone());
    }
}

/// One run through the API, as every figure here makes it.
async fn run_one(server: &Server) {
    let config =
        json!({"name": "busybox:latest", "args": ["sleep", "3600"], "cpus": 0.01, "memory": 8});
    let answer = (server.http)
        .post(format!("{}/apiv1/container?strategy=spread", server.base))
        .bearer_auth(&server.token)
        .json(&config)
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success(),
        "run: {}",
        answer.text().await.unwrap()
    );
}

/// `total` runs from 64 clients, each running one container at a time: runs/s and the
/// latencies (ms).
async fn runs(server: &Server, total: usize) -> (f64, Vec<f64>) {
    let left = Arc::new(AtomicUsize::new(total));
    let started = Instant::now();
    let clients = (0..64).map(|_| {
        let left = left.clone();
        async move {
            let mut times = Vec::new();
            while left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                let began = Instant::now();
                run_one(server).await;
                times.push(ms(began.elapsed()));
            }
            times
        }
    });
    let times: Vec<f64> = join_all(clients).await.concat();
    (total as f64 / started.elapsed().as_secs_f64(), times)
}

/// `total` runs started at `rate` a second whatever the answers (an open loop): the
/// latencies (ms), each from the moment its run was due, so that a late start counts too.
async fn paced_runs(server: &Server, rate: usize, total: usize) -> Vec<f64> {
    let started = tokio::time::Instant::now();
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let runs = (0..total as u32).map(|k| async move {
        let due = started + every * k;
        tokio::time::sleep_until(due).await;
        run_one(server).await;
        ms(due.elapsed())
    });
    join_all(runs).await
}

/// `wrk` on `path` (with the admin's token): requests/s.
fn wrk(server: &Server, path: &str) -> f64 {
    let out = std::process::Command::new("wrk")
        .args(["-t2", "-c32", "-d10s", "-H"])
        .arg(format!("Authorization: Bearer {}", server.token))
        .arg(format!("{}{path}", server.base))
        .output()
        .expect("wrk (scripts/bench.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    (text.lines())
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

async fn list_figures(server: &Server) {
    let (mut full, mut compact) = (Vec::new(), Vec::new());
    let (mut full_bytes, mut compact_bytes) = (0, 0);
    for round in 0..40 {
        for query in if round % 2 == 0 {
            ["", "?engines=ref"]
        } else {
            ["?engines=ref", ""]
        } {
            let began = Instant::now();
            let bytes = fetch(server, query).await.len();
            let took = ms(began.elapsed());
            match query {
                "" => (full.push(took), full_bytes = bytes),
                _ => (compact.push(took), compact_bytes = bytes),
            };
        }
    }
    println!(
        "list-all full p50 {:.1} ms p99 {:.1} ms ({full_bytes} bytes); compact p50 {:.1} ms p99 {:.1} ms ({compact_bytes} bytes)",
        quantile(&full, 0.5),
        quantile(&full, 0.99),
        quantile(&compact, 0.5),
        quantile(&compact, 0.99),
    );
}

/// How long until list-all shows `engine` stale, then failed.
async fn kill_figures(server: &Server, set: &hollow::HollowSet) {
    let victim = set.engines.len() / 2;
    let engine = format!("h{victim}");
    let killed = Instant::now();
    set.engines[victim].kill();
    let (mut stale, mut failed) = (None, None);
    while failed.is_none() && killed.elapsed() < Duration::from_secs(60) {
        let (list, _) = list(server, "?engines=ref").await;
        let sync = (list["data"]["engines"].as_array().unwrap().iter())
            .find(|e| e["engine"] == engine.as_str())
            .cloned();
        if stale.is_none() && sync.as_ref().is_some_and(|s| s["stale"] == true) {
            stale = Some(killed.elapsed());
        }
        let gone = (list["data"]["failed"].as_array().unwrap().iter())
            .any(|f| f["engine"] == engine.as_str());
        if gone {
            failed = Some(killed.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("killed engine: stale after {stale:?}, failed after {failed:?}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let (count, containers) = (env_or("ENGINES", 1000), env_or("CONTAINERS", 10_000));
    let set = hollow::HollowSet::start(&hollow::Options {
        count,
        first: Ipv4Addr::new(127, 78, 0, 1),
        ca_dir: common::certs_dir(),
        images: vec!["busybox:latest".into()],
        cpus: 64,
        memory_mb: 262_144,
    })
    .await
    .unwrap();
    let server = Server::start_with(settings).await;
    let pid = server.child.id();
    let idle = settled_rss(pid).await;
    let began = Instant::now();
    add_engines(&server, &set).await;
    let added = began.elapsed();
    let listed = wait_synced(&server, count, 0).await;
    let with_engines = settled_rss(pid).await;
    println!(
        "{count} engines added in {:.1} s, all views listed {:.1} s later; RSS idle {idle} KiB, with engines {with_engines} KiB ({:.1} KiB per engine)",
        added.as_secs_f64(),
        listed.as_secs_f64(),
        (with_engines as f64 - idle as f64) / count as f64
    );
    println!("open sockets: {}", sockets(pid));
    plant(&server, &set, 0, count);
    wait_synced(&server, count, count).await;
    let one_each = settled_rss(pid).await;
    println!("open sockets: {}", sockets(pid));
    plant(&server, &set, count, containers);
    let shown = wait_synced(&server, count, containers).await;
    let full = settled_rss(pid).await;
    println!(
        "{containers} containers made behind its back shown within {:.1} s",
        shown.as_secs_f64()
    );
    println!(
        "RSS with one container per engine {one_each} KiB ({:.1} KiB per engine more), with {containers} containers {full} KiB ({:.2} KiB per container past the first on each engine; {:.2} KiB per container over all)",
        (one_each as f64 - with_engines as f64) / count as f64,
        (full as f64 - one_each as f64) / (containers - count) as f64,
        (full as f64 - with_engines as f64) / containers as f64
    );
    println!("open sockets: {}", sockets(pid));
    list_figures(&server).await;
    if std::env::var("LIST_ONLY").is_ok() {
        list_figures(&server).await;
        return;
    }
    let healthz = wrk(&server, "/healthz");
    let engines = wrk(&server, "/apiv1/engines");
    println!(
        "wrk: /healthz {healthz:.0} req/s, GET /apiv1/engines {engines:.0} req/s ({:.2}x)",
        engines / healthz
    );
    let cpu = cpu_secs(pid);
    tokio::time::sleep(Duration::from_secs(20)).await;
    println!(
        "idle CPU: {:.1} % of one core over 20 s",
        (cpu_secs(pid) - cpu) * 100.0 / 20.0
    );
    let total = env_or("RUNS", 5000);
    let (rate, times) = runs(&server, total).await;
    println!(
        "{total} runs from 64 clients: {rate:.0} runs/s, p50 {:.1} ms, p99 {:.1} ms",
        quantile(&times, 0.5),
        quantile(&times, 0.99)
    );
    let rate = env_or("RATE", 500);
    let times = paced_runs(&server, rate, rate * 10).await;
    println!(
        "{} runs started at {rate} a second: p50 {:.1} ms, p99 {:.1} ms",
        rate * 10,
        quantile(&times, 0.5),
        quantile(&times, 0.99)
    );
    let containers = containers + total + rate * 10;
    wait_synced(&server, count, containers).await;
    kill_figures(&server, &set).await;
    let (prefix, admin) = (server.prefix.clone(), server.admin.clone());
    drop(server);
    let began = Instant::now();
    let again = Server::start_with(|env| {
        settings(env);
        env.insert("CLEMENTINE_KEY_PREFIX".into(), prefix.clone());
        env.insert("CLEMENTINE_ADMIN_USER".into(), admin.clone());
    })
    .await;
    let shown = containers - set.engines[count / 2].objects.state().containers.len();
    wait_synced(&again, count - 1, shown).await;
    println!(
        "restart: every live engine's view listed {:.1} s after the process started",
        began.elapsed().as_secs_f64()
    );
}
