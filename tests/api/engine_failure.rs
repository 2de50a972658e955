//! A failing engine: list-all still answers with the others' containers and an error entry for
//! the dead one; scheduling skips it; once back and healthy it is used again. Engine 6 is this
//! test's own.

use crate::common::{TestApp, assert_error, eventually, sleeper, testbed};
use serde_json::{Value, json};

async fn health(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/apiv1/engine/{id}"), Some(&app.admin_token))
        .await
        .1["data"]["health"]["state"]
        .clone()
}

#[tokio::test]
async fn a_dead_engine_is_reported_and_skipped() {
    testbed(&["start-engine", "6"]);
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e6", 6, &[]).await;
    let t = app.admin_token.clone();
    let (status, on6) = app
        .run(&t, sleeper(json!({"type": "host", "labels": ["host:e6"]})))
        .await;
    assert_eq!(status, 200, "{on6}");
    let (status, on1) = app
        .run(&t, sleeper(json!({"type": "host", "labels": ["host:e1"]})))
        .await;
    assert_eq!(status, 200, "{on1}");

    // A hung daemon (accepts, never answers): list-all asked live waits at most the engine
    // timeout (5 s here; the bound is the feature, measured with slack for a busy machine),
    // not the client's 60 s. (From the views, see `inventory`, it answers at once.)
    testbed(&["freeze-engine", "6"]);
    let asked = std::time::Instant::now();
    let (status, list) = app.get("/apiv1/containers?fresh=true", Some(&t)).await;
    let waited = asked.elapsed();
    testbed(&["thaw-engine", "6"]);
    assert!(
        waited < std::time::Duration::from_secs(10),
        "list-all waited {waited:?} on a hung engine"
    );
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["data"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&on1["data"]["id"].as_str().unwrap()), "{list}");
    assert_eq!(list["data"]["failed"][0]["engine"], json!("e6"), "{list}");
    assert!(
        list["data"]["failed"][0]["error"]
            .as_str()
            .unwrap()
            .contains("did not answer"),
        "{list}"
    );

    // A stopped daemon: reported at once, marked unhealthy, skipped by the scheduler.
    testbed(&["stop-engine", "6"]);
    let (_, list) = app.get("/apiv1/containers?fresh=true", Some(&t)).await;
    assert_eq!(list["data"]["failed"][0]["engine"], json!("e6"), "{list}");
    assert!(
        list["data"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == on1["data"]["id"])
    );
    assert!(
        eventually(15, || async {
            health(&app, "e6").await == json!("unhealthy")
        })
        .await
    );
    for _ in 0..3 {
        let (status, body) = app.run(&t, sleeper(json!({}))).await;
        assert_eq!(
            (status, &body["data"]["engine"]["id"]),
            (200, &json!("e1")),
            "{body}"
        );
    }
    let pinned = app
        .run(&t, sleeper(json!({"type": "host", "labels": ["host:e6"]})))
        .await;
    assert!(assert_error(&pinned, 409, "no_engine_fits").contains("e6: unhealthy"));
    let resp = app
        .get(
            &format!(
                "/apiv1/engine/e6/container/{}",
                on6["data"]["id"].as_str().unwrap()
            ),
            Some(&t),
        )
        .await;
    assert_error(&resp, 503, "engine_unavailable");

    // Back and healthy: used again.
    testbed(&["start-engine", "6"]);
    assert!(
        eventually(30, || async {
            health(&app, "e6").await == json!("healthy")
        })
        .await
    );
    let (status, body) = app
        .run(&t, sleeper(json!({"type": "host", "labels": ["host:e6"]})))
        .await;
    assert_eq!(
        (status, &body["data"]["engine"]["id"]),
        (200, &json!("e6")),
        "{body}"
    );
    let (_, list) = app.get("/apiv1/containers", Some(&t)).await;
    assert_eq!(list["data"]["failed"], json!([]));
    app.cleanup_containers().await;
}

/// Passive health: the first quick call that times out makes the engine suspect at once, and
/// placement skips it saying why, without waiting for the monitor (here it checks only at start
/// and then not for a minute); the monitor's next check that answers clears it. Engine 4 is this
/// test's own.
#[tokio::test]
async fn a_timed_out_call_makes_the_engine_suspect_at_once() {
    testbed(&["start-engine", "4"]);
    let app = TestApp::spawn_with(|env| {
        env.insert("CLEMENTINE_MONITOR_INTERVAL_MS".into(), "60000".into());
    })
    .await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e4", 4, &[]).await;
    let t = app.admin_token.clone();
    assert_eq!(health(&app, "e4").await, json!("healthy"));
    assert!(
        app.views_listed(2).await,
        "the views did not list both engines"
    );

    testbed(&["freeze-engine", "4"]);
    // Its containers come from its view (in sync as far as anyone knows yet): no engine call.
    let (listed, _) = app.get("/apiv1/engine/e4/containers", Some(&t)).await;
    let (status, _) = app.get("/apiv1/engine/e4/images", Some(&t)).await;
    testbed(&["thaw-engine", "4"]);
    assert_eq!(listed, 200, "answered from the view");
    assert_eq!(status, 503, "the hung engine's call timed out");
    assert_eq!(health(&app, "e4").await, json!("suspect"));
    let pinned = app
        .run(&t, sleeper(json!({"type": "host", "labels": ["host:e4"]})))
        .await;
    let message = assert_error(&pinned, 409, "no_engine_fits");
    assert!(message.contains("e4: suspect"), "{message}");
    let (status, body) = app.run(&t, sleeper(json!({}))).await;
    assert_eq!(
        (status, &body["data"]["engine"]["id"]),
        (200, &json!("e1")),
        "{body}"
    );

    // The monitor's check, once it answers, clears the mark.
    let (_, engine) = app.get("/apiv1/engine/e4", Some(&t)).await;
    let engine: clementine::domain::Engine =
        serde_json::from_value(engine["data"].clone()).unwrap();
    clementine::engine::check_engine(app.cluster.engine_pool(), &engine).await;
    assert_eq!(health(&app, "e4").await, json!("healthy"));
    app.cleanup_containers().await;
}
