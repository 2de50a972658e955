//! Two clementine processes on one Redis, many concurrent runs against engines with room for
//! fewer: what exists never exceeds any engine's capacity, no host port is published twice, and
//! the surplus is refused with 409.

use std::collections::{HashMap, HashSet};

use crate::common::{TestApp, docker, test_env, test_port};
use clementine::engine::labels;
use futures::future::join_all;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_never_oversubscribe() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn_env(first.id.clone(), test_env(&first.id)).await;
    let admin = first.admin_token.clone();
    for (id, i) in [("e1", 1u8), ("e2", 2), ("e3", 3)] {
        first.add_engine(id, i, &[]).await;
        // Room for 4 containers of 16 MB each, by memory.
        first
            .patch(
                &format!("/apiv1/engine/{id}"),
                Some(&admin),
                json!({"cpus": 2.0, "memory": 64}),
            )
            .await;
    }
    let (user, token) = first.user("load").await;
    first.grant(&user, &["e1", "e2", "e3"]).await;
    let base = test_port();
    let requests = (0..40).map(|n| {
        let app = if n % 2 == 0 { &first } else { &second };
        let config = json!({"name": "busybox:latest", "args": ["sleep", "600"], "type": "port",
                            "cpus": 0.1, "memory": 16,
                            "bind_ports": [{"port": base + (n % 6) as u16, "container_port": 80}]});
        let token = token.clone();
        async move { app.run(&token, config).await }
    });
    let answers = join_all(requests).await;
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    for (status, body) in &answers {
        assert!(*status == 200 || *status == 409, "{status} {body}");
        if *status == 409 {
            assert_eq!(body["error"]["code"], json!("no_engine_fits"), "{body}");
        }
    }
    assert!((1..=12).contains(&ok), "{ok} containers for room for 12");

    // What the engines hold, read behind clementine's back.
    let mut total = 0;
    for i in 1..=3u8 {
        let d = docker(i);
        let list = d
            .list_labelled(vec![format!("clementine.owner={user}")])
            .await
            .unwrap();
        let running: Vec<_> = list
            .iter()
            .filter(|c| c.state.map(|s| s.to_string()) == Some("running".into()))
            .collect();
        let memory: u64 = running
            .iter()
            .map(|c| {
                c.labels.as_ref().unwrap()[labels::MEMORY]
                    .parse::<u64>()
                    .unwrap()
            })
            .sum();
        assert!(memory <= 64, "engine {i} holds {memory} MB of 64");
        let mut ports = HashSet::new();
        for c in &running {
            for p in c.ports.clone().unwrap_or_default() {
                if let Some(public) = p.public_port {
                    assert!(ports.insert(public), "engine {i} publishes {public} twice");
                }
            }
        }
        total += list.len();
    }
    assert_eq!(
        total, ok,
        "every 200 is one container and no refused run left one behind"
    );

    // Clementine's own accounting agrees.
    let (_, cap) = first.get("/apiv1/cluster", Some(&admin)).await;
    let claims: HashMap<String, u64> = cap["data"]["engines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["reserved_memory"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(claims.values().all(|m| *m <= 64), "{claims:?}");
    assert_eq!(cap["data"]["total"]["containers"], json!(ok));
    first.cleanup_containers().await;
}
