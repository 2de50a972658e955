//! List-all from the views the engines' event streams keep (`engine::views`): what happens
//! behind clementine's back shows up by events, a dead engine's view goes stale and then fails,
//! and `?fresh=true` asks the engines live.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::common::{TestApp, docker, eventually, testbed};

async fn list(app: &TestApp, query: &str) -> Value {
    let (status, list) = app
        .get(&format!("/apiv1/containers{query}"), Some(&app.admin_token))
        .await;
    assert_eq!(status, 200, "{list}");
    list["data"].clone()
}

fn sync_of<'a>(list: &'a Value, engine: &str) -> Option<&'a Value> {
    list["engines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["engine"] == engine)
}

fn shows(list: &Value, id: &str) -> bool {
    list["containers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == id)
}

async fn from_events(app: &TestApp, engine: &str) -> bool {
    eventually(10, || async {
        let list = list(app, "").await;
        sync_of(&list, engine).is_some_and(|s| s["source"] == "events")
    })
    .await
}

#[tokio::test]
async fn what_happens_behind_our_back_shows_up_by_events() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    assert!(
        from_events(&app, "e1").await,
        "the view of e1 was never listed"
    );

    let d = docker(1);
    let config = clementine::domain::ImageConfig {
        name: "busybox:latest".into(),
        args: vec!["sleep".into(), "600".into()],
        ..Default::default()
    };
    let labels = HashMap::from([("clementine.owner".to_string(), app.unique("outsider"))]);
    let id = d.create_and_start(&config, labels, None).await.unwrap();
    assert!(
        eventually(10, || async { shows(&list(&app, "").await, &id) }).await,
        "a container made behind clementine's back never showed up"
    );
    let now = list(&app, "").await;
    let sync = sync_of(&now, "e1").unwrap();
    assert_eq!(
        (sync["stale"].clone(), sync["source"].clone()),
        (json!(false), json!("events"))
    );
    assert!(sync["synced_at"].as_str().unwrap().ends_with('Z'), "{sync}");
    // Asked live, the same container, and the engine says so.
    let live = list(&app, "?fresh=true").await;
    assert!(shows(&live, &id));
    assert_eq!(sync_of(&live, "e1").unwrap()["source"], "live");

    d.remove(&id).await.unwrap();
    assert!(
        eventually(10, || async { !shows(&list(&app, "").await, &id) }).await,
        "a container removed behind clementine's back stayed"
    );
}

#[tokio::test]
async fn a_dead_engines_view_goes_stale_then_fails() {
    testbed(&["start-engine", "7"]);
    let app = TestApp::spawn_with(|env| {
        env.insert("CLEMENTINE_MONITOR_INTERVAL_MS".into(), "300".into());
    })
    .await;
    app.add_engine("e7", 7, &[]).await;
    assert!(
        from_events(&app, "e7").await,
        "the view of e7 was never listed"
    );
    let (status, ran) = app
        .run(
            &app.admin_token,
            crate::common::sleeper(json!({"type": "host", "labels": ["host:e7"]})),
        )
        .await;
    assert_eq!(status, 200, "{ran}");
    let id = ran["data"]["id"].as_str().unwrap().to_string();
    // Read your own writes: the run is in the view before its event could be.
    assert!(shows(&list(&app, "").await, &id));

    testbed(&["stop-engine", "7"]);
    // At once: still shown, marked stale, never silently dropped.
    let stale = eventually(5, || async {
        let now = list(&app, "").await;
        sync_of(&now, "e7").is_some_and(|s| s["stale"] == true) && shows(&now, &id)
    })
    .await;
    assert!(stale, "{}", list(&app, "").await);
    // After the grace: listed as failed, its containers no longer shown.
    let failed = eventually(20, || async {
        let now = list(&app, "").await;
        now["failed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["engine"] == "e7")
    })
    .await;
    let now = list(&app, "").await;
    assert!(
        failed && !shows(&now, &id) && sync_of(&now, "e7").is_none(),
        "{now}"
    );
    testbed(&["start-engine", "7"]);
    docker(7).remove(&id).await.ok();
    app.delete("/apiv1/engine/e7", Some(&app.admin_token)).await;
}
