//! Graceful shutdown of the real binary: SIGTERM while a run is in flight.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{Killed, clementine, free_port, wait_healthy};
use crate::common::{
    ADMIN_PASSWORD, docker, engine_addr, short_id, sleeper, stream_entries, test_env,
};

/// The audit entries of one action, as (action, phase, op).
async fn entries_of(prefix: &str, action: &str) -> Vec<(String, String, String)> {
    stream_entries(prefix)
        .await
        .into_iter()
        .map(|fields| {
            let get = |k: &str| {
                fields
                    .iter()
                    .find(|(f, _)| f == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (get("action"), get("phase"), get("op"))
        })
        .filter(|(a, _, _)| a == action)
        .collect()
}

async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn sigterm_lets_a_run_in_flight_answer_and_audits_it() {
    let port = free_port();
    let id = short_id();
    let mut env = test_env(&id);
    env.insert("CLEMENTINE_LISTEN".into(), format!("127.0.0.1:{port}"));
    let prefix = env["CLEMENTINE_KEY_PREFIX"].clone();
    let mut child = Killed(
        clementine()
            .envs(&env)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    assert!(wait_healthy(&base).await, "server did not come up");
    let http = reqwest::Client::new();
    let (_, login) = call(
        http.post(format!("{base}/apiv1/login"))
            .json(&json!({"username": env["CLEMENTINE_ADMIN_USER"], "password": ADMIN_PASSWORD})),
    )
    .await;
    let token = login["data"]["token"].as_str().unwrap().to_string();
    let (status, body) = call(
        http.post(format!("{base}/apiv1/engine"))
            .bearer_auth(&token)
            .json(&json!({"id": "e1", "addr": engine_addr(1)})),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let run = tokio::spawn(call(
        http.post(format!("{base}/apiv1/container"))
            .bearer_auth(&token)
            .json(&sleeper(json!({"container_name": format!("drain-{id}")}))),
    ));
    // SIGTERM as soon as the run's intent is in the stream: the engine is being called.
    let deadline = Instant::now() + Duration::from_secs(10);
    while entries_of(&prefix, "container.schedule").await.is_empty() {
        assert!(Instant::now() < deadline, "the run never started");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let pid = child.0.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );

    let (status, body) = run.await.unwrap();
    assert_eq!(status, 200, "the run in flight was cut off: {body}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.0.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "exit status {exit}");

    let entries = entries_of(&prefix, "container.schedule").await;
    let phases: Vec<&str> = entries.iter().map(|(_, p, _)| p.as_str()).collect();
    assert_eq!(phases, ["intent", "outcome"], "{entries:?}");
    assert_eq!(
        entries[0].2, entries[1].2,
        "intent and outcome share the op"
    );

    let container = body["data"]["id"].as_str().unwrap();
    docker(1).remove(container).await.unwrap();
}
