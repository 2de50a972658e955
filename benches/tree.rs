//! The audit tree's figures (see BENCHMARKS.md); run with `scripts/bench.sh tree`.
//!
//! 1. appends (intent + outcome, as one schedule adds them) while the sequencer works against
//!    while it is held off (another token holds its lease): 30 blocks of each, alternating, so
//!    the sequencer's load on Redis and the cores is in the figure;
//! 2. sequencer throughput: `TREE_ENTRIES` (default 1,000,000) entries written straight into
//!    the stream while the lease is held, then the time the server's own sequencer takes to
//!    catch up;
//! 3. `GET /apiv1/audit/proof/inclusion` for random entries of that tree, answered p50/p99.

#[path = "support/appends.rs"]
mod appends;
#[path = "../tests/api/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "support/paired.rs"]
#[allow(dead_code)]
mod paired;

use std::time::{Duration, Instant};

use common::TestApp;
use paired::{bootstrap, median, quantile};
use redis::AsyncCommands;

async fn hold_lease(app: &TestApp, hold: bool) {
    let key = format!("{}tlog:lease", app.prefix);
    let mut redis = app.redis().await;
    if hold {
        let _: () = redis.set_ex(&key, "bench-holds-it", 600).await.unwrap();
    } else {
        let _: () = redis.del(&key).await.unwrap();
    }
}

async fn appends_with_and_without_the_sequencer(app: &TestApp) {
    let (mut working, mut held, mut differences) = (Vec::new(), Vec::new(), Vec::new());
    for block in 0..60 {
        let hold = block % 2 == 1;
        hold_lease(app, hold).await;
        let mut times = Vec::new();
        for _ in 0..100 {
            times.push(appends::append_pair(app).await);
        }
        let m = median(&times);
        if hold {
            held.push(m);
            differences.push(working.last().unwrap() - m);
        } else {
            working.push(m);
        }
    }
    hold_lease(app, false).await;
    println!(
        "appends (intent + outcome), median of 30 blocks of 100: sequencer working {:.3} ms, \
         held off {:.3} ms; paired block difference {} ms",
        median(&working),
        median(&held),
        bootstrap(&differences)
    );
}

/// Writes `n` entries shaped like a schedule's into the stream, 1,000 per pipeline.
async fn fill(app: &TestApp, n: usize) -> Vec<String> {
    let key = format!("{}events", app.prefix);
    let mut redis = app.redis().await;
    let mut ids = Vec::with_capacity(n);
    for start in (0..n).step_by(1000) {
        let mut pipe = redis::pipe();
        for i in start..(start + 1000).min(n) {
            let op = format!("{i:032x}");
            let fields = [
                ("op", op.as_str()),
                ("phase", "intent"),
                ("action", "container.schedule"),
                ("actor", "bench"),
                ("role", "admin"),
                ("owner", "bench"),
                ("engine", "e1"),
                ("request_id", "bench"),
                ("via", "api"),
                ("at", "2026-12-03T16:00:00.000Z"),
                (
                    "image",
                    r#"{"name":"busybox:latest","args":["sleep","600"],"cpus":0.1,"memory":16}"#,
                ),
            ];
            pipe.xadd(&key, "*", &fields);
        }
        let added: Vec<String> = pipe.query_async(&mut redis).await.unwrap();
        ids.extend(added);
    }
    ids
}

async fn sequencer_throughput(app: &TestApp, n: usize) -> Vec<String> {
    hold_lease(app, true).await;
    let ids = fill(app, n).await;
    // Everything in the stream, the appends above included, which the sequencer may not have
    // caught up with before the lease was held.
    let total: u64 = (app.redis().await)
        .xlen(format!("{}events", app.prefix))
        .await
        .unwrap();
    let from: u64 = app.cluster.store().tlog_state().await.unwrap().0;
    hold_lease(app, false).await;
    let started = Instant::now();
    while app.cluster.store().tlog_state().await.unwrap().0 < total {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "sequencer: {} leaves in {took:.2} s = {:.0} leaves/s ({n} written while it was held \
         off; tree of {total})",
        total - from,
        (total - from) as f64 / took
    );
    ids
}

async fn inclusion_proofs(app: &TestApp, ids: &[String], requests: usize) {
    // The proof is against the tree as it is; wait for a checkpoint covering it.
    let (size, _) = app.cluster.store().tlog_state().await.unwrap();
    let mut times = Vec::with_capacity(requests);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..requests {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let id = &ids[(seed % ids.len() as u64) as usize];
        let path = format!("/apiv1/audit/proof/inclusion?id={id}&size={size}");
        let started = Instant::now();
        let (status, body) = app.get(&path, Some(&app.admin_token)).await;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "{body}");
    }
    println!(
        "inclusion proof over HTTP, tree of {size}: {requests} requests, p50 {:.3} ms, p99 {:.3} ms",
        median(&times),
        quantile(&times, 0.99)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let app = TestApp::spawn().await;
    appends_with_and_without_the_sequencer(&app).await;
    let n = std::env::var("TREE_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let ids = sequencer_throughput(&app, n).await;
    inclusion_proofs(&app, &ids, 2000).await;
    // The stream and tree of this run are large: give the memory back.
    let mut redis = app.redis().await;
    let keys: Vec<String> = redis.keys(format!("{}*", app.prefix)).await.unwrap();
    for chunk in keys.chunks(500) {
        let _: () = redis.unlink(chunk).await.unwrap();
    }
}
