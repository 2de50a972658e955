//! List-all from the views the engines' event streams keep (`engine::views`): what happens
//! behind clementine's back shows up by events, a dead engine's view goes stale and then fails,
//! and `?fresh=true` asks the engines live.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::common::{TestApp, assert_error, docker, eventually, sleeper, testbed};

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
    assert!(
        app.shown_on("e1", &id).await,
        "the engine's own list reads the same view"
    );

    d.remove(&id).await.unwrap();
    assert!(
        eventually(10, || async { !shows(&list(&app, "").await, &id) }).await,
        "a container removed behind clementine's back stayed"
    );
    assert!(!app.shown_on("e1", &id).await);
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

/// Pings of the health monitor (`version` calls) so far, from /metrics.
async fn pings(app: &TestApp) -> u64 {
    let text = (app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap())
    .text()
    .await
    .unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("clementine_engine_call_seconds_count{call=\"version\"} "));
    line.map_or(0, |n| n.trim().parse().unwrap())
}

/// The monitor takes a busy event stream as proof that its engine answers: while containers
/// come and go on engine 9 (its own), the engine is not pinged; once it is quiet, the pings
/// come back, one per interval.
#[tokio::test]
async fn a_busy_engine_is_not_pinged() {
    testbed(&["start-engine", "9"]);
    let app = TestApp::spawn_with(|env| {
        env.insert("CLEMENTINE_MONITOR_INTERVAL_MS".into(), "400".into());
    })
    .await;
    app.add_engine("e9", 9, &[]).await;
    assert!(
        from_events(&app, "e9").await,
        "the view of e9 was never listed"
    );
    let engine = docker(9);
    let config = clementine::domain::ImageConfig {
        name: "busybox:latest".into(),
        args: vec!["true".into()],
        ..Default::default()
    };
    let before = pings(&app).await;
    let busy_until = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut events = 0;
    while std::time::Instant::now() < busy_until {
        let id = engine.create(&config, HashMap::new(), None).await.unwrap();
        engine.remove(&id).await.unwrap();
        events += 2;
    }
    let busy = pings(&app).await - before;
    assert!(events >= 8, "only {events} events in 3 s");
    // About 7 intervals passed; a round may have pinged before the first event arrived.
    assert!(busy <= 1, "pinged {busy} times while its stream was busy");
    let quiet = pings(&app).await;
    assert!(
        eventually(5, || async { pings(&app).await >= quiet + 2 }).await,
        "the pings did not come back once the stream was quiet"
    );
    testbed(&["stop-engine", "9"]);
}

/// `?engines=ref`: the same containers as the full answer, each naming its engine by id, and
/// each engine once in `engine_records`, equal to what the full answer embeds; a user's compact
/// answer names only engines their own containers are on. Any other value is refused, naming
/// the field.
#[tokio::test]
async fn the_compact_list_names_each_engine_once() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e2", 2, &[]).await;
    let (bob, bob_token) = app.user("bob").await;
    app.grant(&bob, &["e1", "e2"]).await;
    for (engine, token) in [
        ("e1", &bob_token),
        ("e2", &bob_token),
        ("e2", &app.admin_token),
    ] {
        let pinned = sleeper(json!({"type": "host", "labels": [format!("host:{engine}")]}));
        let (status, body) = app.run(token, pinned).await;
        assert_eq!(status, 200, "{body}");
    }
    let query = format!("?owner={bob}");
    let full = list(&app, &query).await;
    let compact = list(&app, &format!("{query}&engines=ref")).await;
    let ids = |l: &Value| -> Vec<(String, String)> {
        let mut ids: Vec<(String, String)> = (l["containers"].as_array().unwrap().iter())
            .map(|c| {
                let engine = c["engine"].as_str().or(c["engine"]["id"].as_str());
                (c["id"].as_str().unwrap().into(), engine.unwrap().into())
            })
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&full).len(), 2, "{full}");
    assert_eq!(ids(&full), ids(&compact));
    let records = compact["engine_records"].as_array().unwrap();
    let mut named: Vec<&str> = records.iter().map(|e| e["id"].as_str().unwrap()).collect();
    named.sort();
    assert_eq!(named, ["e1", "e2"], "each engine once");
    for record in records {
        let embedded = (full["containers"].as_array().unwrap().iter())
            .find(|c| c["engine"]["id"] == record["id"])
            .unwrap();
        assert_eq!(embedded["engine"]["addr"], record["addr"]);
        assert_eq!(embedded["engine"]["cpus"], record["cpus"]);
    }
    // Bob's own answer: his two containers, not the admin's on e2 beside them.
    let (status, mine) = app
        .get("/apiv1/containers?engines=ref", Some(&bob_token))
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&mine["data"]), ids(&compact));
    let refused = app
        .get("/apiv1/containers?engines=all", Some(&bob_token))
        .await;
    assert!(assert_error(&refused, 400, "invalid_request").contains("engines"));
    app.cleanup_containers().await;
}

/// Runs `image` with `pull: never` (only engines holding it may take it): the engine it went
/// to, or nothing when no engine is known to hold it.
async fn placed_on(app: &TestApp, image: &str) -> String {
    let config = sleeper(json!({"name": image, "pull": "never"}));
    let (status, body) = app.run(&app.admin_token, config).await;
    assert!(status == 200 || status == 409, "{body}");
    body["data"]["engine"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn untag(engine: u8, reference: &str) {
    let d = docker(engine);
    let options = None::<bollard::query_parameters::RemoveImageOptions>;
    d.docker()
        .remove_image(reference, options, None)
        .await
        .unwrap();
}

/// The images each engine holds come from its event stream: an image tagged on one engine
/// behind clementine's back draws `pull: never` runs there, and once it is removed there and
/// tagged on another, the runs follow it within a second or two, with no listing asked for.
#[tokio::test]
async fn the_images_an_engine_holds_follow_its_events() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e2", 2, &[]).await;
    assert!(from_events(&app, "e1").await && from_events(&app, "e2").await);
    let repo = app.unique("inv-image").to_lowercase();
    let image = format!("{repo}:latest");
    crate::common::tag_busybox(&[2], &repo).await;
    assert!(
        eventually(10, || async { placed_on(&app, &image).await == "e2" }).await,
        "never placed where the image is"
    );
    untag(2, &image).await;
    crate::common::tag_busybox(&[1], &repo).await;
    assert!(
        eventually(10, || async { placed_on(&app, &image).await == "e1" }).await,
        "the runs did not follow the image to e1"
    );
    untag(1, &image).await;
    app.cleanup_containers().await;
}

/// Volumes are in the views too: a volume made behind clementine's back with a user's labels
/// shows up in their `GET /volumes` and goes when it is removed. (A network made behind its
/// back under a user's engine-side name is still not theirs: `isolation` checks that.)
#[tokio::test]
async fn volumes_made_behind_our_back_show_up_and_go() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (bob, bob_token) = app.user("bob").await;
    app.grant(&bob, &["e1"]).await;
    assert!(from_events(&app, "e1").await);
    let engine_name = app.cluster.engine_name(&bob, "planted");
    let labels = clementine::engine::labels::ObjectLabels {
        cluster: app.cluster.deployment().to_string(),
        owner: bob.clone(),
        name: "planted".into(),
    };
    let d = docker(1);
    d.ensure_volume(&engine_name, labels.to_map())
        .await
        .unwrap();
    let shows = |present: bool| {
        let token = bob_token.clone();
        let app = &app;
        async move {
            let (_, list) = app.get("/apiv1/volumes", Some(&token)).await;
            let names: Vec<&str> = (list["data"]["volumes"].as_array().unwrap().iter())
                .filter_map(|v| v["name"].as_str())
                .collect();
            names.contains(&"planted") == present
        }
    };
    assert!(
        eventually(10, || shows(true)).await,
        "the volume never showed up"
    );
    d.remove_volume(&engine_name).await.unwrap();
    assert!(eventually(10, || shows(false)).await, "the volume stayed");
}
