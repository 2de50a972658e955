//! Audit stream figures (see BENCHMARKS.md); run with `scripts/bench.sh audit`.
//!
//! 1. the two appends one schedule adds (intent + outcome), against Redis on loopback;
//! 2. `GET /apiv1/events` pages per second over a 20,000-entry stream;
//! 3. fan-out: 100 SSE clients on one process, entries delivered per second and the delay from
//!    append to receipt.

#[path = "support/appends.rs"]
mod appends;
#[path = "../tests/api/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "support/paired.rs"]
#[allow(dead_code)]
mod paired;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clementine::events::{Draft, actions};
use clementine::store::IndexChange;
use common::TestApp;
use futures::StreamExt;
use futures::future::join_all;
use paired::{median, quantile};
use tokio::sync::Barrier;

async fn appends(app: &TestApp, n: usize) {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        times.push(appends::append_pair(app).await);
    }
    let m = median(&times);
    println!(
        "audit appends per schedule (intent + outcome): median {m:.3} ms over {n}; {:.2} % of a 160 ms run",
        m / 160.0 * 100.0
    );
}

async fn queries(app: &TestApp, seconds: u64) {
    let token = app.admin_token.clone();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    join_all((0..8).map(|_| {
        let (count, token) = (count.clone(), token.clone());
        async move {
            while Instant::now() < deadline {
                let (status, _) = app
                    .get(
                        "/apiv1/events?limit=100&action=container.schedule",
                        Some(&token),
                    )
                    .await;
                assert_eq!(status, 200);
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }))
    .await;
    let n = count.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "GET /events?limit=100 (filtered): {:.0} pages/s with 8 concurrent clients",
        n as f64 / seconds as f64
    );
}

async fn fan_out(app: &TestApp, clients: usize, entries: usize) {
    let token = app.admin_token.clone();
    let barrier = Arc::new(Barrier::new(clients + 1));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let resp = app
            .http
            .get(format!(
                "{}/apiv1/events/stream?action=container.start",
                app.base
            ))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(300))
            .send()
            .await
            .unwrap();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let mut body = resp.bytes_stream();
            barrier.wait().await;
            let (mut seen, mut delays) = (0, Vec::new());
            let mut buf = String::new();
            while seen < entries {
                let Some(Ok(chunk)) = body.next().await else {
                    break;
                };
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    if let Some(id) = block.lines().find_map(|l| l.strip_prefix("id:")) {
                        let sent_ms: u64 = id.trim().split('-').next().unwrap().parse().unwrap();
                        delays.push(clementine::time::now_ms().saturating_sub(sent_ms) as f64);
                        seen += 1;
                    }
                }
            }
            (seen, delays)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    barrier.wait().await;
    let audit = app.cluster.audit();
    let started = Instant::now();
    for _ in 0..entries / 2 {
        let draft = Draft::by(&appends::operator(), actions::CONTAINER_START).engine("e1");
        let pending = audit.intent(draft).await.unwrap();
        audit.outcome(pending, None, IndexChange::None).await;
    }
    let results = join_all(tasks).await;
    let elapsed = started.elapsed().as_secs_f64();
    let delivered: usize = results.iter().map(|r| r.as_ref().unwrap().0).sum();
    let delays: Vec<f64> = results.into_iter().flat_map(|r| r.unwrap().1).collect();
    println!(
        "SSE fan-out: {clients} clients x {entries} entries = {delivered} deliveries in {elapsed:.2} s ({:.0}/s); append-to-receipt delay median {:.0} ms, p99 {:.0} ms; tail readers on Redis: 1",
        delivered as f64 / elapsed,
        median(&delays),
        { quantile(&delays, 0.99) }
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let app = TestApp::spawn().await;
    appends(&app, 2000).await;
    // Grow the stream to 20,000 entries for the query figure.
    appends(&app, 8000).await;
    queries(&app, 5).await;
    fan_out(&app, 100, 1000).await;
}
