//! Redis through Sentinel: two clementine processes of one deployment take a burst of runs
//! while the Redis master is killed (`scripts/testbed.sh sentinel-*`: a master, a replica and
//! three sentinels on loopback, apart from the main test Redis, all over TLS with passwords).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::cli::LoggedServer;
use crate::common::{docker, engine_addr, short_id, test_env, test_port, testbed};
use clementine::engine::labels;

/// Longest a request may take while Redis switches masters: a few Redis timeouts (2 s each),
/// never an unbounded hang.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);
const ENGINE_MEMORY_MB: u64 = 256;

async fn call(
    http: &reqwest::Client,
    server: &LoggedServer,
    token: &str,
    body: Value,
) -> (u16, Instant, Duration) {
    let started = Instant::now();
    let sent = http
        .post(format!("{}/apiv1/container", server.base))
        .bearer_auth(token)
        .json(&body)
        .timeout(ANSWER_WITHIN * 2)
        .send()
        .await;
    let status = sent.map(|r| r.status().as_u16()).unwrap_or(0);
    (status, started, started.elapsed())
}

async fn healthy(server: &LoggedServer) -> bool {
    for _ in 0..150 {
        let answer = reqwest::get(format!("{}/healthz", server.base)).await;
        if answer.is_ok_and(|r| r.status() == 200) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
async fn two_processes_ride_out_a_redis_failover() {
    testbed(&["sentinel-up"]);
    let mut env = test_env(&short_id());
    env.insert(
        "CLEMENTINE_REDIS_SENTINELS".into(),
        std::env::var("CLEMENTINE_TESTBED_SENTINELS").unwrap(),
    );
    env.insert(
        "CLEMENTINE_REDIS_MASTER".into(),
        std::env::var("CLEMENTINE_TESTBED_SENTINEL_MASTER").unwrap(),
    );
    env.insert("CLEMENTINE_REDIS_URL".into(), "redis://127.0.0.1:1/".into()); // unused through Sentinel
    // Every node and sentinel speaks TLS only and wants passwords (the test bed's sentinel set).
    let var = |name: &str| std::env::var(name).unwrap();
    let certs = crate::common::certs_dir();
    let path = |file: &str| certs.join(file).display().to_string();
    for (name, value) in [
        ("CLEMENTINE_REDIS_SENTINEL_TLS", "true".to_string()),
        (
            "CLEMENTINE_REDIS_SENTINEL_PASSWORD",
            var("CLEMENTINE_TESTBED_SENTINEL_PASSWORD"),
        ),
        (
            "CLEMENTINE_REDIS_USERNAME",
            var("CLEMENTINE_TESTBED_REDIS_USER"),
        ),
        (
            "CLEMENTINE_REDIS_PASSWORD",
            var("CLEMENTINE_TESTBED_REDIS_PASSWORD"),
        ),
        ("CLEMENTINE_REDIS_CA", path("ca.pem")),
        ("CLEMENTINE_REDIS_CLIENT_CERT", path("client-cert.pem")),
        ("CLEMENTINE_REDIS_CLIENT_KEY", path("client-key.pem")),
    ] {
        env.insert(name.into(), value);
    }
    let prefix = env["CLEMENTINE_KEY_PREFIX"].clone();
    let a = LoggedServer::start_env("info", env.clone()).await;
    let b = LoggedServer::start_env("info", env).await;
    let (ta, tb) = (a.admin_token().await, b.admin_token().await);
    let http = reqwest::Client::new();
    for (id, i) in [("e1", 1u8), ("e2", 2)] {
        let added = http
            .post(format!("{}/apiv1/engine", a.base))
            .bearer_auth(&ta)
            .json(&json!({"id": id, "addr": engine_addr(i), "memory": ENGINE_MEMORY_MB}))
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), 200, "{}", added.text().await.unwrap());
    }

    // 48 runs of 32 MB (room for 16) over both processes, one every 100 ms, each publishing one
    // of 12 ports; the master dies after one second, and Sentinel takes about two to switch.
    let base_port = test_port();
    let runs = (0..48).map(|n| {
        let (server, token) = if n % 2 == 0 { (&a, &ta) } else { (&b, &tb) };
        let body = json!({"name": "busybox:latest", "args": ["sleep", "600"], "cpus": 0.1,
                          "memory": 32,
                          "bind_ports": [{"port": base_port + (n % 12) as u16, "container_port": 80}]});
        let http = &http;
        async move {
            tokio::time::sleep(Duration::from_millis(100) * n).await;
            call(http, server, token, body).await
        }
    });
    let burst = futures::stream::iter(runs)
        .buffer_unordered(48)
        .collect::<Vec<_>>();
    let kill = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        tokio::task::spawn_blocking(|| testbed(&["sentinel-kill-master"]))
            .await
            .unwrap();
        Instant::now()
    };
    let (answers, killed) = tokio::join!(burst, kill);
    let count = |s: u16| answers.iter().filter(|(status, _, _)| *status == s).count();
    // Not vacuous: runs went through (so the checks below hold of something), and runs sent
    // after the master was killed were answered by the claim script on the new master (200, or
    // 409 once the engines are full), not only 503.
    let ran = answers
        .iter()
        .filter(|(status, _, _)| *status == 200)
        .count();
    assert!(ran > 0, "no run went through: {answers:?}");
    let served_after = (answers.iter())
        .filter(|(status, sent, _)| *sent > killed && (*status == 200 || *status == 409))
        .count();
    assert!(
        served_after > 0,
        "nothing sent after the kill was served: {answers:?}"
    );
    for (status, _, took) in &answers {
        assert!(
            [200, 409, 503].contains(status),
            "a run answered {status}: {answers:?}"
        );
        assert!(*took < ANSWER_WITHIN, "a run took {took:?}");
    }
    eprintln!(
        "burst: {} ok, {} refused, {} unavailable",
        count(200),
        count(409),
        count(503)
    );

    // Both serve again, without a restart.
    assert!(
        healthy(&a).await && healthy(&b).await,
        "not serving after the failover"
    );
    // What runs: no engine holds more than its memory, no host port twice, every container's
    // op has its intent in the stream.
    let filter = format!("{}={prefix}", labels::CLUSTER);
    let mut found = Vec::new();
    for i in [1u8, 2] {
        let listed = docker(i).list_labelled(vec![filter.clone()]).await.unwrap();
        let memory: u64 = (listed.iter())
            .map(|c| {
                c.labels.as_ref().unwrap()[labels::MEMORY]
                    .parse::<u64>()
                    .unwrap()
            })
            .sum();
        assert!(memory <= ENGINE_MEMORY_MB, "engine {i} holds {memory} MB");
        let ports: Vec<u16> = (listed.iter())
            .flat_map(|c| c.ports.clone().unwrap_or_default())
            .filter_map(|p| p.public_port)
            .collect();
        assert_eq!(
            ports.len(),
            ports.iter().collect::<HashSet<_>>().len(),
            "engine {i}: {ports:?}"
        );
        found.extend(listed.into_iter().map(|c| (i, c)));
    }
    let events: Value = http
        .get(format!(
            "{}/apiv1/events?action=container.schedule&limit=1000",
            a.base
        ))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let intents: HashMap<&str, &Value> = (events["data"]["events"].as_array().unwrap().iter())
        .filter(|e| e["phase"] == "intent")
        .map(|e| (e["op"].as_str().unwrap(), e))
        .collect();
    for (_, c) in &found {
        let op = &c.labels.as_ref().unwrap()[labels::OP];
        assert!(
            intents.contains_key(op.as_str()),
            "container {:?} has no intent",
            c.id
        );
    }
    for server in [&a, &b] {
        assert!(
            server.log_text().contains("redis master moved"),
            "a process did not follow"
        );
    }
    // Both processes serve again: destroying frees the room, and runs go through.
    testbed(&["sentinel-heal"]);
    for (n, (i, c)) in found.iter().enumerate() {
        let server = if n % 2 == 0 { &a } else { &b };
        let path = format!(
            "{}/apiv1/engine/e{i}/container/{}",
            server.base,
            c.id.as_deref().unwrap()
        );
        let token = if n % 2 == 0 { &ta } else { &tb };
        let gone = http.delete(path).bearer_auth(token).send().await.unwrap();
        assert_eq!(gone.status(), 200);
    }
    let after = json!({"name": "busybox:latest", "args": ["sleep", "600"], "cpus": 0.1,
                       "memory": 32, "type": "host", "labels": ["host:e1"]});
    for (server, token) in [(&a, &ta), (&b, &tb)] {
        let ran = http
            .post(format!("{}/apiv1/container", server.base))
            .bearer_auth(token)
            .json(&after)
            .send()
            .await
            .unwrap();
        assert_eq!(ran.status(), 200, "{}", ran.text().await.unwrap());
        let ran: Value = ran.json().await.unwrap();
        docker(1)
            .remove(ran["data"]["id"].as_str().unwrap())
            .await
            .unwrap();
    }
}
