//! Running containers through clementine on the real TLS engines: run, list, inspect,
//! lifecycle, destroy, and the errors around them.

use crate::common::{TestApp, assert_error, sleeper};
use serde_json::{Value, json};

fn path(c: &Value, tail: &str) -> String {
    format!(
        "/apiv1/engine/{}/container/{}{tail}",
        c["engine"]["id"].as_str().unwrap(),
        c["id"].as_str().unwrap()
    )
}

#[tokio::test]
async fn run_list_inspect_lifecycle_destroy() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;
    let name = app.unique("web");
    let (status, body) = app
        .run(
            &token,
            sleeper(json!({"container_name": name, "environment": {"GREETING": "hi"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let c = body["data"].clone();
    assert_eq!(c["engine"]["id"], json!("e1"));
    assert_eq!(c["state"], json!("running"));
    assert_eq!(c["owner"], json!(ann));
    assert_eq!(c["name"], json!(format!("/{name}")));
    assert_eq!(c["image"]["name"], json!("busybox:latest"));
    assert_eq!(c["image"]["environment"]["GREETING"], json!("hi"));
    assert_eq!(c["image"]["cpus"], json!(0.1));

    // Listed everywhere it should be.
    let (_, all) = app.get("/apiv1/containers", Some(&token)).await;
    assert_eq!(
        all["data"]["containers"].as_array().unwrap().len(),
        1,
        "{all}"
    );
    assert_eq!(all["data"]["failed"], json!([]));
    let (_, on_engine) = app.get("/apiv1/engine/e1/containers", Some(&token)).await;
    assert_eq!(on_engine["data"][0]["id"], c["id"]);
    let (status, inspected) = app.get(&path(&c, ""), Some(&token)).await;
    assert_eq!((status, &inspected["data"]["id"]), (200, &c["id"]));
    // By name too.
    let by_name = format!("/apiv1/engine/e1/container/{name}");
    assert_eq!(
        app.get(&by_name, Some(&token)).await.1["data"]["id"],
        c["id"]
    );

    // The reservation shows in the capacity report.
    let (_, cap) = app.get("/apiv1/cluster", Some(&token)).await;
    assert_eq!(cap["data"]["engines"][0]["reserved_memory"], json!(16));
    assert_eq!(cap["data"]["engines"][0]["containers"], json!(1));

    let (status, stopped) = app
        .post(&path(&c, "/stop?t=1"), Some(&token), json!({}))
        .await;
    assert_eq!(
        (status, &stopped["data"]["state"]),
        (200, &json!("exited")),
        "{stopped}"
    );
    let (_, started) = app.post(&path(&c, "/start"), Some(&token), json!({})).await;
    assert_eq!(started["data"]["state"], json!("running"));
    let (_, restarted) = app
        .post(&path(&c, "/restart?t=1"), Some(&token), json!({}))
        .await;
    assert_eq!(restarted["data"]["state"], json!("running"));
    let (status, logs) = app.get(&path(&c, "/logs?tail=5"), Some(&token)).await;
    assert_eq!(status, 200, "{logs}");
    assert!(logs["data"]["lines"].is_array());

    let (status, destroyed) = app.delete(&path(&c, ""), Some(&token)).await;
    assert_eq!((status, &destroyed["data"]["id"]), (200, &c["id"]));
    assert_error(
        &app.get(&path(&c, ""), Some(&token)).await,
        404,
        "container_not_found",
    );
    assert_error(
        &app.delete(&path(&c, ""), Some(&token)).await,
        404,
        "container_not_found",
    );
    let (_, cap) = app.get("/apiv1/cluster", Some(&token)).await;
    assert_eq!(cap["data"]["engines"][0]["reserved_memory"], json!(0));
    assert_eq!(cap["data"]["total"]["containers"], json!(0));
}

#[tokio::test]
async fn count_runs_many_and_all_or_nothing() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let admin = app.admin_token.clone();
    app.patch("/apiv1/engine/e1", Some(&admin), json!({"memory": 64}))
        .await;
    let (status, body) = app
        .post("/apiv1/container?count=3", Some(&admin), sleeper(json!({})))
        .await;
    assert_eq!(status, 200, "{body}");
    let started = body["data"].as_array().unwrap();
    assert_eq!(started.len(), 3);
    // 3 x 16 MB are in; 2 more do not fit in 64 MB: nothing of them is left behind.
    let resp = app
        .post("/apiv1/container?count=2", Some(&admin), sleeper(json!({})))
        .await;
    let msg = assert_error(&resp, 409, "no_engine_fits");
    assert!(
        msg.contains("e1: memory 64+16 > 64 MB") || msg.contains("e1: memory 48+16"),
        "{msg}"
    );
    let (_, cap) = app.get("/apiv1/cluster", Some(&admin)).await;
    assert_eq!(cap["data"]["total"]["containers"], json!(3), "{cap}");
    for c in started {
        assert_eq!(app.delete(&path(c, ""), Some(&admin)).await.0, 200);
    }
}

#[tokio::test]
async fn run_errors_are_clear() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let t = app.admin_token.clone();
    let resp = app.run(&t, sleeper(json!({"type": "fancy"}))).await;
    let msg = assert_error(&resp, 400, "invalid_request");
    assert!(msg.starts_with("type:") && msg.contains("multi"), "{msg}");
    let resp = app
        .run(&t, sleeper(json!({"name": "no-such-image:1"})))
        .await;
    let msg = assert_error(&resp, 409, "no_engine_fits");
    assert!(msg.contains("image is not there"), "{msg}");
    let resp = app
        .post("/apiv1/container?count=0", Some(&t), sleeper(json!({})))
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("count"));
    let resp = app
        .post(
            "/apiv1/container?strategy=random",
            Some(&t),
            sleeper(json!({})),
        )
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("strategy"));
    let resp = app.run(&t, sleeper(json!({"memory": 0}))).await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("memory"));
    let resp = app
        .run(
            &t,
            sleeper(json!({"bind_ports": [{"port": 70000, "container_port": 80}]})),
        )
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("bind_ports[0].port"));
    let resp = app.run(&t, sleeper(json!({"colour": "red"}))).await;
    assert!(assert_error(&resp, 400, "invalid_request").contains("colour"));
    let resp = app.get("/apiv1/containers?state=sleepy", Some(&t)).await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("state"));
    let resp = app
        .get("/apiv1/engine/e1/container/bad%20id", Some(&t))
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("cid"));
    assert_error(
        &app.get("/apiv1/engine/e1/container/nope", Some(&t)).await,
        404,
        "container_not_found",
    );
    let resp = app
        .get("/apiv1/engine/e1/container/nope/logs?tail=0", Some(&t))
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("tail"));
}

/// Reservations are the containers' limits: inspected on the engine itself.
#[tokio::test]
async fn reservations_are_applied_as_limits() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let config = sleeper(json!({"cpus": 0.25, "memory": 48}));
    let (status, ran) = app.run(&app.admin_token, config).await;
    assert_eq!(status, 200, "{ran}");
    let id = ran["data"]["id"].as_str().unwrap();
    let inspect = crate::common::docker(1).inspect(id).await.unwrap();
    let host = inspect.host_config.unwrap();
    assert_eq!(host.nano_cpus, Some(250_000_000));
    assert_eq!(host.memory, Some(48 * 1024 * 1024));
    app.cleanup_containers().await;
}
