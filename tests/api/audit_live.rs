//! The live tail over Server-Sent Events, and the example consumer group reader.

use std::time::Duration;

use crate::common::TestApp;
use futures::StreamExt;
use serde_json::{Value, json};

/// One parsed SSE event.
#[derive(Debug, Clone)]
pub(crate) struct Sse {
    pub id: String,
    pub event: String,
    pub data: Value,
}

/// Reads SSE events from a response body in the background.
pub(crate) struct Tail {
    rx: tokio::sync::mpsc::UnboundedReceiver<Sse>,
    task: tokio::task::JoinHandle<()>,
    /// The response's headers (a load balancer may say which replica answered).
    pub headers: reqwest::header::HeaderMap,
}

impl Drop for Tail {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Tail {
    async fn open(app: &TestApp, token: &str, last_event_id: Option<&str>) -> Tail {
        Self::open_at(&app.http, &app.base, token, last_event_id).await
    }

    /// The live tail of the server at `base`.
    pub(crate) async fn open_at(
        http: &reqwest::Client,
        base: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> Tail {
        let mut req = http
            .get(format!("{base}/apiv1/events/stream"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(600));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let headers = resp.headers().clone();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut body = resp.bytes_stream();
            let mut buf = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    let (mut id, mut event, mut data) =
                        (String::new(), String::new(), String::new());
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("id:") {
                            id = v.trim().to_string();
                        } else if let Some(v) = line.strip_prefix("event:") {
                            event = v.trim().to_string();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim());
                        }
                    }
                    if !id.is_empty() {
                        let _ = tx.send(Sse {
                            id,
                            event,
                            data: serde_json::from_str(&data).unwrap_or(Value::Null),
                        });
                    }
                }
            }
        });
        // No wait here: the server subscribes before it answers the headers, so everything
        // after this point reaches the stream.
        Tail { rx, task, headers }
    }

    pub(crate) async fn next(&mut self) -> Option<Sse> {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next `n` entries (each within 10 s), or fewer if they do not come.
    pub(crate) async fn take(&mut self, n: usize) -> Vec<Sse> {
        let mut got = Vec::new();
        while got.len() < n
            && let Some(e) = self.next().await
        {
            got.push(e);
        }
        got
    }

    /// Entries up to and including the first that `last` accepts (each within 10 s).
    pub(crate) async fn until(&mut self, last: impl Fn(&Sse) -> bool) -> Vec<Sse> {
        let mut got = Vec::new();
        while let Some(e) = self.next().await {
            let done = last(&e);
            got.push(e);
            if done {
                break;
            }
        }
        got
    }
}

async fn save(app: &TestApp, token: &str, name: &str) {
    let (status, body) = app
        .post(
            "/apiv1/image",
            Some(token),
            json!({"name": name, "image": {"name": "busybox:latest"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn live_entries_and_resuming_with_last_event_id() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token.clone();
    let mut tail = Tail::open(&app, &admin, None).await;
    save(&app, &admin, "one").await;
    let intent = tail.next().await.expect("an intent arrives live");
    let outcome = tail.next().await.expect("its outcome arrives live");
    assert_eq!(
        (intent.event.as_str(), outcome.event.as_str()),
        ("image.save", "image.save")
    );
    assert_eq!(intent.data["phase"], "intent");
    assert_eq!(outcome.data["outcome"], "ok");
    assert_eq!(outcome.data["id"], json!(outcome.id));
    drop(tail);

    // Three actions while disconnected; reconnecting gets exactly those entries, in order.
    for name in ["two", "three", "four"] {
        save(&app, &admin, name).await;
    }
    let mut tail = Tail::open(&app, &admin, Some(&outcome.id)).await;
    let missed = tail.take(6).await;
    let targets: Vec<&str> = missed
        .iter()
        .map(|e| e.data["target"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        targets,
        ["two", "two", "three", "three", "four", "four"],
        "{missed:?}"
    );
    // Then it goes on live, with nothing in between.
    save(&app, &admin, "five").await;
    let live = tail.take(2).await;
    let targets: Vec<&Value> = live.iter().map(|e| &e.data["target"]).collect();
    assert_eq!(targets, [&json!("five"), &json!("five")], "{live:?}");
}

#[tokio::test]
async fn users_never_receive_other_users_entries() {
    let app = TestApp::spawn().await;
    let (_ann, ann_token) = app.user("ann").await;
    let (bob, bob_token) = app.user("bob").await;
    let mut bob_tail = Tail::open(&app, &bob_token, None).await;
    for i in 0..3 {
        save(&app, &ann_token, &format!("ann-{i}")).await;
    }
    save(&app, &bob_token, "bobs").await;
    // Ann's entries came first in the stream: had any reached bob, they would be these two.
    let got = bob_tail.take(2).await;
    assert_eq!(got.len(), 2, "bob's intent and outcome: {got:?}");
    assert!(
        got.iter()
            .all(|e| e.data["actor"] == json!(bob) && e.data["target"] == "bobs"),
        "{got:?}"
    );
    // Resuming from the start of the stream does not leak either.
    let mut from_start = Tail::open(&app, &bob_token, Some("0-0")).await;
    let everything = from_start
        .until(|e| e.data["target"] == "bobs" && e.data["phase"] == "outcome")
        .await;
    assert!(!everything.is_empty());
    assert!(
        everything
            .iter()
            .all(|e| e.data["actor"] == json!(bob) || e.data["owner"] == json!(bob)),
        "{everything:?}"
    );
}

#[tokio::test]
async fn many_clients_are_fed_by_one_broadcast() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token.clone();
    let mut tails = Vec::new();
    for _ in 0..20 {
        tails.push(Tail::open(&app, &admin, None).await);
    }
    save(&app, &admin, "fanout").await;
    for tail in &mut tails {
        let intent = tail.next().await.expect("intent");
        let outcome = tail.next().await.expect("outcome");
        assert_eq!(
            (
                intent.data["target"].as_str(),
                outcome.data["target"].as_str()
            ),
            (Some("fanout"), Some("fanout"))
        );
    }
    // One broadcast feeds all of them (its one Redis reader is the hub's own task): the hub
    // counts its subscribers.
    assert_eq!(app.cluster.tail_clients(), 20);
}

#[tokio::test]
async fn the_example_consumer_prints_each_action_through_a_group() {
    let app = TestApp::spawn().await;
    save(&app, &app.admin_token, "consumed").await;
    let exe = std::env::current_exe().unwrap();
    let consumer = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/audit_consumer");
    assert!(
        consumer.exists(),
        "build the example first (cargo build --examples): {consumer:?}"
    );
    let stream = format!("{}events", app.prefix);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("timeout")
            .arg("30")
            .arg(consumer)
            .args([
                "--redis",
                &crate::common::redis_url(),
                "--stream",
                &stream,
                "--group",
                "test",
                "--count",
                "4",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("user.create intent") || text.contains("image.save intent"),
        "{text}"
    );
    assert!(text.contains("-> ok"), "{text}");
    // The group acknowledged what it printed.
    let mut redis = app.redis().await;
    let (pending, _, _, _): (u64, redis::Value, redis::Value, redis::Value) =
        redis::cmd("XPENDING")
            .arg(format!("{}events", app.prefix))
            .arg("test")
            .query_async(&mut redis)
            .await
            .unwrap();
    assert_eq!(pending, 0);
}

#[tokio::test]
async fn heartbeat_comments_keep_an_idle_stream_open() {
    let app = TestApp::spawn().await;
    let resp = app
        .http
        .get(format!("{}/apiv1/events/stream", app.base))
        .bearer_auth(&app.admin_token)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    // Nothing happens; within the 15 s heartbeat interval (plus slack) a comment line arrives.
    let comment = tokio::time::timeout(Duration::from_secs(25), async {
        while let Some(Ok(chunk)) = body.next().await {
            if String::from_utf8_lossy(&chunk).starts_with(':') {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(comment, Ok(true), "no heartbeat comment on an idle stream");
}
