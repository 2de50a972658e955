//! The audit stream on the real Redis and engines: one intent and one outcome per action, in
//! order; queries, paging and visibility; no secrets; intents settled after a crash.

use std::time::Duration;

use crate::common::{TestApp, assert_paired, docker, eventually, sleeper};
use clementine::cluster::Source;
use clementine::events::{Draft, actions};
use futures::future::join_all;
use serde_json::{Value, json};

#[tokio::test]
async fn every_action_has_one_intent_and_one_outcome() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let admin = app.admin_token.clone();
    app.patch("/apiv1/engine/e1", Some(&admin), json!({"memory": 64}))
        .await;
    let (ann, ann_token) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;

    // A burst of schedules, some refused for lack of memory.
    let runs = join_all((0..8).map(|_| app.run(&ann_token, sleeper(json!({}))))).await;
    let started: Vec<&Value> = runs
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| &b["data"])
        .collect();
    assert_eq!(started.len(), 4, "{runs:?}");
    // Destroys, concurrently, one of them twice (the second finds nothing: no entry).
    let app_ref = &app;
    let destroys = started.iter().map(|c| {
        let path = format!("/apiv1/engine/e1/container/{}", c["id"].as_str().unwrap());
        let token = ann_token.clone();
        async move { app_ref.delete(&path, Some(&token)).await }
    });
    join_all(destroys).await;
    let again = app
        .delete(
            &format!(
                "/apiv1/engine/e1/container/{}",
                started[0]["id"].as_str().unwrap()
            ),
            Some(&ann_token),
        )
        .await;
    assert_eq!(again.0, 404);
    // And a failed login, a password change, a revoke.
    app.post(
        "/apiv1/login",
        None,
        json!({"username": ann, "password": "wrong-password"}),
    )
    .await;
    app.post(
        "/apiv1/me/password",
        Some(&ann_token),
        json!({"current_password": "user-password-1", "new_password": "second-password"}),
    )
    .await;
    app.post(
        &format!("/apiv1/user/{ann}/revoke"),
        Some(&admin),
        json!({}),
    )
    .await;

    let events = app.all_events().await;
    let ops = assert_paired(&events);
    let count = |action: &str, outcome: &str| {
        ops.values()
            .filter(|(_, o)| o["action"] == action && o["outcome"] == outcome)
            .count()
    };
    assert_eq!(count("container.schedule", "ok"), 4);
    assert_eq!(count("container.schedule", "error"), 4);
    assert_eq!(count("container.destroy", "ok"), 4);
    assert_eq!(count("auth.login_failed", "error"), 1);
    assert_eq!(count("user.password", "ok"), 1);
    assert_eq!(count("user.revoke", "ok"), 1);
    assert_eq!(count("user.create", "ok"), 2, "the first admin and Ann");
    assert_eq!(count("user.grant", "ok"), 1);
    assert_eq!(count("engine.add", "ok"), 1);
    assert_eq!(count("engine.update", "ok"), 1);
    for (intent, outcome) in ops.values() {
        if intent["action"].as_str().unwrap().starts_with("container.") {
            assert_eq!(intent["actor"], json!(ann));
            assert_eq!(intent["role"], json!("user"));
            assert!(intent["request_id"].is_string(), "{intent}");
        }
        if outcome["action"] == "container.schedule" && outcome["outcome"] == "ok" {
            assert_eq!(outcome["engine"], json!("e1"));
            assert!(outcome["container"].is_string());
            assert!(outcome["image"].as_str().unwrap().contains("busybox"));
        }
        if outcome["action"] == "container.schedule" && outcome["outcome"] == "error" {
            assert!(
                outcome["error"].as_str().unwrap().contains("memory"),
                "{outcome}"
            );
        }
        if outcome["action"] == "container.destroy" {
            assert!(
                outcome["ref_op"].is_string(),
                "a destroy points back to its schedule: {outcome}"
            );
        }
    }
    // The op of every started container is its label.
    for c in &started {
        let (_, list) = app
            .get(
                &format!(
                    "/apiv1/events?container={}&action=container.schedule",
                    c["id"].as_str().unwrap()
                ),
                Some(&admin),
            )
            .await;
        assert_eq!(
            list["data"]["events"].as_array().unwrap().len(),
            1,
            "{list}"
        );
    }

    // No secret anywhere in the stream.
    let raw: Vec<String> = crate::common::stream_entries(&app.prefix)
        .await
        .into_iter()
        .flat_map(|f| f.into_iter().map(|(_, v)| v))
        .collect();
    let text = raw.join("\n");
    for secret in [
        "user-password-1",
        "second-password",
        "wrong-password",
        crate::common::ADMIN_PASSWORD,
        &ann_token,
        &admin,
        "argon2",
    ] {
        assert!(
            !text.contains(secret),
            "the stream contains a secret: {secret}"
        );
    }
    assert!(!text.contains(app.settings.jwt.secret.expose()));
}

#[tokio::test]
async fn queries_filter_page_and_hide_other_tenants() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token.clone();
    let (ann, ann_token) = app.user("ann").await;
    let (bob, bob_token) = app.user("bob").await;
    for i in 0..5 {
        app.post(
            "/apiv1/image",
            Some(&ann_token),
            json!({"name": format!("a{i}"), "image": sleeper(json!({}))}),
        )
        .await;
    }
    app.post(
        "/apiv1/image",
        Some(&bob_token),
        json!({"name": "b", "image": sleeper(json!({}))}),
    )
    .await;

    // Paging, newest first, 3 at a time, over Ann's entries.
    let mut seen = Vec::new();
    let mut path = format!("/apiv1/events?actor={ann}&action=image.save&limit=3");
    loop {
        let (status, page) = app.get(&path, Some(&admin)).await;
        assert_eq!(status, 200, "{page}");
        let events = page["data"]["events"].as_array().unwrap();
        assert!(events.len() <= 3);
        seen.extend(events.iter().map(|e| e["id"].as_str().unwrap().to_string()));
        match page["data"]["next"].as_str() {
            Some(next) => {
                path = format!("/apiv1/events?actor={ann}&action=image.save&limit=3&cursor={next}")
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 10, "5 intents and 5 outcomes");
    let mut sorted = seen.clone();
    sorted.sort_by_key(|id| {
        let (ms, seq) = id.split_once('-').unwrap();
        (ms.parse::<u64>().unwrap(), seq.parse::<u64>().unwrap())
    });
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first, no duplicates across pages");

    // Oldest first, outcome filter, prefix filter, time bounds.
    let (_, asc) = app
        .get(
            "/apiv1/events?order=asc&outcome=ok&action=image.",
            Some(&admin),
        )
        .await;
    let asc = asc["data"]["events"].as_array().unwrap();
    assert_eq!(asc.len(), 6);
    assert!(asc.iter().all(|e| e["phase"] == "outcome"));
    let (_, none) = app
        .get("/apiv1/events?since=2999-01-01T00:00:00Z", Some(&admin))
        .await;
    assert_eq!(none["data"]["events"], json!([]));
    let (_, all) = app
        .get(
            "/apiv1/events?since=2000-01-01T00:00:00Z&limit=1000",
            Some(&admin),
        )
        .await;
    assert!(all["data"]["events"].as_array().unwrap().len() >= 12);

    // Bob sees his own entries only, whatever he asks for.
    let (_, bobs) = app.get("/apiv1/events?limit=1000", Some(&bob_token)).await;
    let bobs = bobs["data"]["events"].as_array().unwrap();
    assert!(!bobs.is_empty());
    assert!(
        bobs.iter()
            .all(|e| e["actor"] == json!(bob) || e["owner"] == json!(bob)),
        "{bobs:?}"
    );
    let (_, spy) = app
        .get(&format!("/apiv1/events?actor={ann}"), Some(&bob_token))
        .await;
    assert_eq!(spy["data"]["events"], json!([]));

    // Bad parameters are named.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("order=sideways", "order"),
        ("since=yesterday", "since"),
        ("outcome=maybe", "outcome"),
        ("cursor=abc", "cursor"),
    ] {
        let resp = app
            .get(&format!("/apiv1/events?{query}"), Some(&admin))
            .await;
        assert_eq!(resp.0, 400, "{query}: {}", resp.1);
        assert!(
            resp.1["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{query}: {}",
            resp.1
        );
    }
}

#[tokio::test]
async fn reconcile_settles_intents_left_by_a_crash() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let audit = app.cluster.audit();
    let admin = clementine::auth::Principal {
        username: app.admin.clone(),
        account: String::new(),
        role: clementine::domain::Role::Admin,
        request_id: None,
        token: None,
        session: None,
        teams: Vec::new(),
        via: Default::default(),
    };
    // A crash after the container was created, before the outcome: the container carries the op.
    let mut survived = Draft::by(&admin, actions::CONTAINER_SCHEDULE).owner(&app.admin);
    survived.image = Some(sleeper(json!({})).to_string());
    let survived_op = survived.op.clone();
    audit.intent(survived).await.unwrap();
    let d = docker(1);
    let labels = std::collections::HashMap::from([
        ("clementine.op".to_string(), survived_op.clone()),
        ("clementine.cluster".to_string(), app.prefix.clone()),
        ("clementine.owner".to_string(), app.admin.clone()),
        ("clementine.image".to_string(), "busybox:latest".to_string()),
        ("clementine.memory".to_string(), "16".to_string()),
        ("clementine.cpus".to_string(), "0.1".to_string()),
    ]);
    let config = clementine::domain::ImageConfig {
        name: "busybox:latest".into(),
        args: vec!["sleep".into(), "600".into()],
        container_name: Some(app.unique("crashed")),
        ..Default::default()
    };
    let id = d.create_and_start(&config, labels, None).await.unwrap();
    // The settling pass reads the view of e1, which hears of it from the engine's events.
    assert!(eventually(10, || app.shown_on("e1", &id)).await);
    // A crash before anything was created.
    let lost = Draft::by(&admin, actions::CONTAINER_SCHEDULE).owner(&app.admin);
    let lost_op = lost.op.clone();
    audit.intent(lost).await.unwrap();
    // A crash in the middle of an engine update.
    let update = Draft::by(&admin, actions::ENGINE_UPDATE)
        .engine("e1")
        .target("e1");
    let update_op = update.op.clone();
    audit.intent(update).await.unwrap();

    // Young intents are left alone.
    let report = app
        .cluster
        .settle_intents(Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(report.settled.is_empty());
    let report = app.cluster.settle_intents(Duration::ZERO).await.unwrap();
    assert_eq!(report.settled.len(), 3, "{report:?}");

    let ops = assert_paired(&app.all_events().await);
    let (_, outcome) = &ops[&survived_op];
    assert_eq!(outcome["outcome"], "ok");
    assert_eq!(outcome["container"], json!(id));
    assert_eq!(outcome["engine"], "e1");
    assert!(outcome["detail"].as_str().unwrap().contains("reconcile"));
    assert_eq!(ops[&lost_op].1["outcome"], "error");
    assert_eq!(ops[&update_op].1["outcome"], "error");
    // Nothing left open, and the settled container is no orphan.
    assert!(
        app.cluster
            .settle_intents(Duration::ZERO)
            .await
            .unwrap()
            .settled
            .is_empty()
    );
    assert!(app.cluster.orphans(Source::Views).await.unwrap().is_empty());
    // A container with our labels and no record at all is an orphan.
    let stray_labels = std::collections::HashMap::from([
        ("clementine.op".to_string(), "stray-op".to_string()),
        ("clementine.cluster".to_string(), app.prefix.clone()),
    ]);
    let stray = d
        .create_and_start(
            &clementine::domain::ImageConfig {
                container_name: Some(app.unique("stray")),
                ..config.clone()
            },
            stray_labels,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        app.cluster.orphans(Source::Live).await.unwrap(),
        vec![("e1".to_string(), stray.clone())]
    );
    assert!(eventually(10, || app.shown_on("e1", &stray)).await);
    assert_eq!(
        app.cluster.orphans(Source::Views).await.unwrap(),
        vec![("e1".to_string(), stray.clone())]
    );
    d.remove(&stray).await.unwrap();
    d.remove(&id).await.unwrap();
}
