//! `/metrics` from the real binary: the OpenMetrics exposition, and each run's time split into
//! engine calls and the gateway's own cost, which the run's log line explains by phase.

use serde_json::{Value, json};

use crate::cli::LoggedServer;
use crate::common::{docker, engine_addr, sleeper};

/// The value of the sample `name` (labels included) in an exposition.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn scrape(base: &str) -> String {
    let answer = reqwest::get(format!("{base}/metrics")).await.unwrap();
    let kind = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    answer.text().await.unwrap()
}

#[tokio::test]
async fn a_run_is_split_into_engine_calls_and_the_gateways_own_time() {
    let server = LoggedServer::start("info", |env| {
        env.insert("CLEMENTINE_LOG_FORMAT".into(), "json".into());
    })
    .await;
    let token = server.admin_token().await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{}/apiv1{path}", server.base))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let engine = json!({"id": "e1", "addr": engine_addr(1)});
    assert_eq!(post("/engine", engine).await.unwrap().status(), 200);
    let refused = post("/container", sleeper(json!({"cpus": -1})))
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let ran = post("/container", sleeper(json!({}))).await.unwrap();
    assert_eq!(ran.status(), 200);
    let ran: Value = ran.json().await.unwrap();

    let text = scrape(&server.base).await;
    assert!(
        text.ends_with("# EOF\n"),
        "an OpenMetrics exposition ends with # EOF"
    );
    // Only the run that ran counts as a run; the refused one is a 4xx request like any other.
    assert_eq!(sample(&text, "clementine_run_seconds_count"), 1.0);
    assert_eq!(sample(&text, "clementine_run_overhead_seconds_count"), 1.0);
    assert!(sample(&text, "clementine_http_requests_total{class=\"4xx\"}") >= 1.0);
    for call in ["create", "start", "inspect"] {
        let name = format!("clementine_engine_call_seconds_count{{call=\"{call}\"}}");
        assert_eq!(sample(&text, &name), 1.0, "{call}");
    }
    let (whole, own) = (
        sample(&text, "clementine_run_seconds_sum"),
        sample(&text, "clementine_run_overhead_seconds_sum"),
    );
    assert!(0.0 < own && own < whole, "own {own} s of {whole} s");

    // The run's log line: its time, the engine part, and the phases that explain the rest.
    let log = server.log_text();
    let line: Value = (log.lines())
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["span"]["path"] == "/apiv1/container" && l["status"] == 200)
        .unwrap_or_else(|| panic!("no log line for the run:\n{log}"));
    let ms = |k: &str| line[k].as_f64().unwrap_or_else(|| panic!("{k} in {line}"));
    assert!(
        (ms("engine_ms") + ms("own_ms") - ms("ms")).abs() < 0.01,
        "{line}"
    );
    let phases = line["phases"].as_str().unwrap();
    for phase in [
        "vet", "intent", "snapshot", "place", "claim", "create", "inspect", "outcome",
    ] {
        assert!(phases.contains(&format!("{phase}=")), "{phase} in {phases}");
    }
    docker(1)
        .remove(ran["data"]["id"].as_str().unwrap())
        .await
        .unwrap();
}
