//! Engines over mutual TLS: add, refuse, patch, delete, list containers, health monitor.

use std::collections::HashMap;

use crate::common::{
    TestApp, assert_error, certs_dir, docker, engine_addr, eventually, short_id, sleeper, test_env,
    testbed,
};
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
use clementine::engine::labels;
use serde_json::{Value, json};

#[tokio::test]
async fn add_get_list_patch_delete() {
    let app = TestApp::spawn().await;
    let admin = Some(app.admin_token.as_str());
    let engine = app.add_engine("e1", 1, &["ssd", "zone:a"]).await;
    assert_eq!(engine["id"], json!("e1"));
    assert_eq!(engine["addr"], json!(engine_addr(1)));
    assert_eq!(engine["status"], json!("active"));
    assert_eq!(engine["health"]["state"], json!("healthy"));
    assert!(
        engine["health"]["docker_version"]
            .as_str()
            .unwrap()
            .starts_with("20.10")
    );
    // Capacity defaults to what the engine reports.
    assert!(engine["cpus"].as_f64().unwrap() >= 1.0);
    assert!(engine["memory"].as_u64().unwrap() > 100);

    // Explicit capacity wins.
    let (status, body) = app
        .post(
            "/apiv1/engine",
            admin,
            json!({"id": "e2", "addr": engine_addr(2), "cpus": 1.5, "memory": 512, "labels": []}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["cpus"], json!(1.5));
    assert_eq!(body["data"]["memory"], json!(512));

    let dup = app
        .post(
            "/apiv1/engine",
            admin,
            json!({"id": "e1", "addr": engine_addr(1)}),
        )
        .await;
    assert_error(&dup, 409, "engine_exists");

    let (status, list) = app.get("/apiv1/engines", admin).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["e1", "e2"]);

    let (status, got) = app.get("/apiv1/engine/e1", admin).await;
    assert_eq!(status, 200);
    assert_eq!(got["data"]["labels"], json!(["ssd", "zone:a"]));

    let (status, patched) = app
        .patch(
            "/apiv1/engine/e1",
            admin,
            json!({"labels": ["hdd"], "cpus": 3.0, "status": "draining"}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["data"]["labels"], json!(["hdd"]));
    assert_eq!(patched["data"]["cpus"], json!(3.0));
    assert_eq!(patched["data"]["status"], json!("draining"));
    assert_eq!(patched["data"]["memory"], engine["memory"]);
    assert_eq!(
        app.get("/apiv1/engine/e1", admin).await.1["data"]["status"],
        json!("draining")
    );
    let bad_status = app
        .patch("/apiv1/engine/e1", admin, json!({"status": "sleeping"}))
        .await;
    assert!(assert_error(&bad_status, 400, "invalid_request").contains("status"));
    let bad_cpus = app
        .patch("/apiv1/engine/e1", admin, json!({"cpus": -1}))
        .await;
    assert!(assert_error(&bad_cpus, 400, "invalid_request").contains("cpus"));
    assert_error(
        &app.patch("/apiv1/engine/nope", admin, json!({"cpus": 1}))
            .await,
        404,
        "engine_not_found",
    );

    let (status, body) = app.delete("/apiv1/engine/e2", admin).await;
    assert_eq!((status, &body["data"]["deleted"]), (200, &json!("e2")));
    assert_error(
        &app.get("/apiv1/engine/e2", admin).await,
        404,
        "engine_not_found",
    );
    assert_error(
        &app.delete("/apiv1/engine/e2", admin).await,
        404,
        "engine_not_found",
    );
}

#[tokio::test]
async fn unusable_engines_are_refused_and_not_stored() {
    let app = TestApp::spawn().await;
    let admin = Some(app.admin_token.as_str());
    // Nothing listens there.
    let resp = app
        .post(
            "/apiv1/engine",
            admin,
            json!({"id": "dead", "addr": "https://127.0.0.1:1"}),
        )
        .await;
    let msg = assert_error(&resp, 422, "engine_unreachable");
    assert!(msg.contains("dead"), "{msg}");
    // Something listens but does not speak TLS (Redis).
    let port = crate::common::redis_url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .to_string();
    let resp = app
        .post(
            "/apiv1/engine",
            admin,
            json!({"id": "plain", "addr": format!("https://127.0.0.1:{port}")}),
        )
        .await;
    assert_eq!(resp.0, 422, "{}", resp.1);
    // Not https.
    let resp = app
        .post(
            "/apiv1/engine",
            admin,
            json!({"id": "http", "addr": "http://127.0.0.11:2376"}),
        )
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("addr"));
    for id in ["dead", "plain", "http"] {
        assert_error(
            &app.get(&format!("/apiv1/engine/{id}"), admin).await,
            404,
            "engine_not_found",
        );
    }
    assert_eq!(app.get("/apiv1/engines", admin).await.1["data"], json!([]));
}

#[tokio::test]
async fn wrong_ca_is_refused() {
    let app = TestApp::spawn_with(|env| {
        env.insert(
            "CLEMENTINE_TLS_CA".into(),
            certs_dir().join("other-ca.pem").display().to_string(),
        );
    })
    .await;
    let resp = app
        .post(
            "/apiv1/engine",
            Some(&app.admin_token),
            json!({"id": "e1", "addr": engine_addr(1)}),
        )
        .await;
    let msg = assert_error(&resp, 422, "engine_tls_failed");
    assert!(msg.to_lowercase().contains("certificate"), "{msg}");
    assert_error(
        &app.get("/apiv1/engine/e1", Some(&app.admin_token)).await,
        404,
        "engine_not_found",
    );
}

/// Starts a busybox container directly on engine 1, labelled as owned by `owner`.
async fn start_direct(app: &TestApp, name: &str, owner: &str) -> String {
    let d = docker(1);
    let labels: HashMap<String, String> = [
        (labels::CLUSTER.to_string(), app.prefix.clone()),
        (labels::OWNER.to_string(), owner.to_string()),
        (labels::IMAGE.to_string(), "busybox:latest".to_string()),
        (labels::TYPE.to_string(), "service".to_string()),
    ]
    .into();
    let created = d
        .call(
            "create",
            d.docker().create_container(
                Some(CreateContainerOptions {
                    name: Some(name.to_string()),
                    ..Default::default()
                }),
                ContainerCreateBody {
                    image: Some("busybox:latest".into()),
                    cmd: Some(vec!["sleep".into(), "300".into()]),
                    labels: Some(labels),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
    d.call("start", d.docker().start_container(&created.id, None))
        .await
        .unwrap();
    created.id
}

async fn remove_direct(id: &str) {
    let d = docker(1);
    let _ = d
        .call(
            "remove",
            d.docker().remove_container(
                id,
                Some(RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            ),
        )
        .await;
}

fn ids_of(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn containers_show_up_in_the_engine_list_per_owner() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, ann_token) = app.user("ann").await;
    let (bob, bob_token) = app.user("bob").await;
    app.grant(&ann, &["e1"]).await;
    app.grant(&bob, &["e1"]).await;
    let a = start_direct(&app, &app.unique("ann-c"), &ann).await;
    let b = start_direct(&app, &app.unique("bob-c"), &bob).await;

    let (status, all) = app
        .get("/apiv1/engine/e1/containers", Some(&app.admin_token))
        .await;
    assert_eq!(status, 200, "{all}");
    let ids = ids_of(&all);
    assert!(ids.contains(&a) && ids.contains(&b));
    let mine = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == json!(a))
        .unwrap();
    assert_eq!(mine["state"], json!("running"));
    assert_eq!(mine["owner"], json!(ann));
    assert_eq!(mine["name"], json!(format!("/{}", app.unique("ann-c"))));
    assert_eq!(mine["image"]["name"], json!("busybox:latest"));
    assert_eq!(mine["engine"]["id"], json!("e1"));

    let (_, ann_list) = app
        .get("/apiv1/engine/e1/containers", Some(&ann_token))
        .await;
    assert_eq!(ids_of(&ann_list), vec![a.clone()]);
    let (_, bob_list) = app
        .get("/apiv1/engine/e1/containers", Some(&bob_token))
        .await;
    assert_eq!(ids_of(&bob_list), vec![b.clone()]);

    remove_direct(&a).await;
    remove_direct(&b).await;
    let (_, after) = app
        .get("/apiv1/engine/e1/containers", Some(&ann_token))
        .await;
    assert!(ids_of(&after).is_empty());
}

async fn health_of(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/apiv1/engine/{id}"), Some(&app.admin_token))
        .await
        .1["data"]["health"]
        .clone()
}

/// Engine 5 is this test's own: stopping it disturbs no other test.
#[tokio::test]
async fn monitor_follows_an_engine_going_down_and_up() {
    testbed(&["start-engine", "5"]);
    let app = TestApp::spawn().await;
    app.add_engine("e5", 5, &[]).await;
    assert_eq!(health_of(&app, "e5").await["state"], json!("healthy"));

    testbed(&["stop-engine", "5"]);
    assert!(
        eventually(15, || async {
            health_of(&app, "e5").await["state"] == json!("unhealthy")
        })
        .await,
        "the monitor never marked the stopped engine unhealthy"
    );
    let health = health_of(&app, "e5").await;
    assert!(
        health["last_error"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{health}"
    );
    assert!(
        health["last_seen"].is_string(),
        "last_seen survives a failure: {health}"
    );
    // Listing its containers fails clearly, not with a 500.
    let resp = app
        .get("/apiv1/engine/e5/containers", Some(&app.admin_token))
        .await;
    assert_error(&resp, 503, "engine_unavailable");

    testbed(&["start-engine", "5"]);
    assert!(
        eventually(30, || async {
            health_of(&app, "e5").await["state"] == json!("healthy")
        })
        .await,
        "the monitor never saw the engine come back"
    );
    let health = health_of(&app, "e5").await;
    assert!(health.get("last_error").is_none(), "{health}");
    assert!(health["response_ms"].as_f64().unwrap() > 0.0);
}

/// An admin run pinned to engine `e1`: its status.
async fn run_on_e1(app: &TestApp) -> u16 {
    let config = sleeper(json!({"labels": ["host:e1"], "type": "host"}));
    app.run(&app.admin_token, config).await.0
}

/// Two replicas of one deployment: a change one makes to an engine reaches the other's
/// placement within half a second (its copy of the records is checked against the engines'
/// version, in the round trip that reads reservations), both ways round.
#[tokio::test]
async fn another_replicas_engine_change_reaches_placement() {
    let id = short_id();
    let a = TestApp::spawn_env(id.clone(), test_env(&id)).await;
    // b's own monitor stays quiet after its first round, so only the version check can tell
    // it about a's change (its own health writes would drop its copy anyway).
    let mut quiet = test_env(&id);
    quiet.insert("CLEMENTINE_MONITOR_INTERVAL_MS".into(), "600000".into());
    let b = TestApp::spawn_env(id.clone(), quiet).await;
    a.add_engine("e1", 1, &[]).await;
    assert!(
        eventually(3, || async { run_on_e1(&b).await == 200 }).await,
        "b places on a's new engine"
    );
    let drain = json!({"status": "draining"});
    let (status, _) = a
        .patch("/apiv1/engine/e1", Some(&a.admin_token), drain)
        .await;
    assert_eq!(status, 200);
    let started = std::time::Instant::now();
    let refused = eventually(3, || async { run_on_e1(&b).await == 409 }).await;
    assert!(refused, "b still places on a drained engine");
    assert!(started.elapsed() < std::time::Duration::from_millis(1500));
    let active = json!({"status": "active"});
    let (status, _) = b
        .patch("/apiv1/engine/e1", Some(&b.admin_token), active)
        .await;
    assert_eq!(status, 200);
    assert!(eventually(3, || async { run_on_e1(&a).await == 200 }).await);
    a.cleanup_containers().await;
}
