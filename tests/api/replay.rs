//! Replay after an engine dies for good: the dry run lists its containers, apply re-creates them
//! elsewhere with `container.reschedule` entries, a second replay plans nothing; replaying into
//! an emptied Redis with the stream restored rebuilds engines, reservations and the index.
//! Engine 8 is this test's own.

use crate::common::{TestApp, eventually, sleeper, testbed};
use clementine::auth::Principal;
use clementine::domain::Role;
use serde_json::json;

#[tokio::test]
async fn replay_reschedules_the_containers_of_a_dead_engine() {
    testbed(&["start-engine", "8"]);
    let app = TestApp::spawn().await;
    let admin = app.admin_token.clone();
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e8", 8, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1", "e8"]).await;
    // Put two containers on e8.
    app.patch(
        "/apiv1/engine/e1",
        Some(&admin),
        json!({"status": "draining"}),
    )
    .await;
    let mut lost = Vec::new();
    for _ in 0..2 {
        let (status, body) = app
            .run(
                &token,
                sleeper(json!({"environment": {"MODE": "replayed"}})),
            )
            .await;
        assert_eq!(
            (status, &body["data"]["engine"]["id"]),
            (200, &json!("e8")),
            "{body}"
        );
        lost.push(body["data"]["id"].as_str().unwrap().to_string());
    }
    app.patch(
        "/apiv1/engine/e1",
        Some(&admin),
        json!({"status": "active"}),
    )
    .await;
    // And one on e1 that stays.
    let (_, kept) = app
        .run(
            &token,
            sleeper(json!({"type": "host", "labels": ["host:e1"]})),
        )
        .await;
    assert_eq!(kept["data"]["engine"]["id"], "e1");

    testbed(&["stop-engine", "8"]);
    let health = || async {
        app.get("/apiv1/engine/e8", Some(&admin)).await.1["data"]["health"]["state"].clone()
    };
    assert!(eventually(20, || async { health().await == json!("unhealthy") }).await);

    // Dry run: the two are missing and would go to e1; nothing changes.
    let (status, plan) = app.post("/apiv1/replay", Some(&admin), json!({})).await;
    assert_eq!(status, 200, "{plan}");
    let plan = &plan["data"];
    assert_eq!(plan["applied"], false);
    assert_eq!(plan["desired"], 3);
    assert_eq!(plan["present"], 1);
    let missing = plan["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 2, "{plan}");
    for m in missing {
        assert!(lost.contains(&m["container"].as_str().unwrap().to_string()));
        assert!(
            m["reason"].as_str().unwrap().contains("e8 is unreachable"),
            "{m}"
        );
        assert_eq!(m["target"], "e1");
        assert_eq!(m["owner"], json!(ann));
        assert!(m.get("new_container").is_none());
    }
    let (_, list) = app.get("/apiv1/containers?engine=e1", Some(&token)).await;
    assert_eq!(list["data"]["containers"].as_array().unwrap().len(), 1);
    // Users may not replay.
    assert_eq!(
        app.post("/apiv1/replay", Some(&token), json!({})).await.0,
        403
    );

    // Apply: re-created on e1, owned by Ann, with their config, logged as reschedules.
    let (status, applied) = app
        .post("/apiv1/replay?apply=true", Some(&admin), json!({}))
        .await;
    assert_eq!(status, 200, "{applied}");
    let moved = applied["data"]["missing"].as_array().unwrap();
    assert!(
        moved
            .iter()
            .all(|m| m["target"] == "e1" && m["new_container"].is_string()),
        "{applied}"
    );
    let (_, list) = app.get("/apiv1/containers?engine=e1", Some(&token)).await;
    let on_e1 = list["data"]["containers"].as_array().unwrap();
    assert_eq!(on_e1.len(), 3, "{list}");
    assert!(on_e1.iter().all(|c| c["owner"] == json!(ann)));
    let (_, events) = app
        .get(
            "/apiv1/events?action=container.reschedule&outcome=ok",
            Some(&admin),
        )
        .await;
    let reschedules = events["data"]["events"].as_array().unwrap();
    assert_eq!(reschedules.len(), 2);
    let original_ops: Vec<String> = missing
        .iter()
        .map(|m| m["op"].as_str().unwrap().to_string())
        .collect();
    for r in reschedules {
        assert!(
            original_ops.contains(&r["ref_op"].as_str().unwrap().to_string()),
            "{r}"
        );
        assert!(r["image"].as_str().unwrap().contains("replayed"));
    }
    // A second replay plans nothing.
    let (_, again) = app.post("/apiv1/replay", Some(&admin), json!({})).await;
    assert_eq!(again["data"]["missing"], json!([]), "{again}");
    assert_eq!(again["data"]["present"], 3);
    // Reservations: the dead engine's were released, e1 holds three.
    let (_, cap) = app.get("/apiv1/cluster", Some(&admin)).await;
    let e1 = cap["data"]["engines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "e1")
        .unwrap()
        .clone();
    let e8 = cap["data"]["engines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "e8")
        .unwrap()
        .clone();
    assert_eq!(
        (e1["containers"].as_u64(), e8["containers"].as_u64()),
        (Some(3), Some(0)),
        "{cap}"
    );

    // Redis loses everything but the stream; replay rebuilds engines, reservations, index.
    let mut redis = app.redis().await;
    let stream = format!("{}events", app.prefix);
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&stream)
        .arg("-")
        .arg("+")
        .query_async(&mut redis)
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", app.prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    for key in keys {
        let _: () = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    for (id, fields) in &entries {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&stream).arg(id);
        for (k, v) in fields {
            cmd.arg(k).arg(v);
        }
        let _: String = cmd.query_async(&mut redis).await.unwrap();
    }
    let operator = Principal {
        username: "restore".into(),
        account: String::new(),
        role: Role::Admin,
        request_id: None,
        token: None,
        session: None,
        teams: Vec::new(),
        via: Default::default(),
    };
    let rebuilt = app.cluster.replay(&operator, true).await.unwrap();
    assert_eq!(
        rebuilt.restored_engines,
        vec!["e1".to_string(), "e8".to_string()]
    );
    assert_eq!(rebuilt.present, 3);
    assert_eq!(rebuilt.claims_recorded, 3);
    assert_eq!(rebuilt.indexed, 3);
    let index = app.cluster.store().container_index().await.unwrap();
    assert_eq!(index.len(), 3);
    let reservations = app
        .cluster
        .store()
        .reservations(&["e1".to_string()])
        .await
        .unwrap();
    assert_eq!(reservations[0].claims, 3);

    // Clean up (Ann's user is gone with the wipe; remove directly).
    let d = crate::common::docker(1);
    for c in d
        .list_labelled(vec![format!("clementine.owner={ann}")])
        .await
        .unwrap()
    {
        d.remove(c.id.as_deref().unwrap()).await.unwrap();
    }
    testbed(&["start-engine", "8"]);
}

#[tokio::test]
async fn replay_keeps_the_guard_under_the_owners_role_now() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    // Carol was an admin when her privileged container was logged; she is a user now.
    let carol = app.unique("carol");
    let body = json!({"username": carol, "password": "carol-password-1", "role": "admin"});
    assert_eq!(
        app.post("/apiv1/user", Some(&app.admin_token), body)
            .await
            .0,
        200
    );
    app.grant(&carol, &["e1"]).await;
    let as_carol = Principal {
        username: carol.clone(),
        account: String::new(),
        role: Role::Admin,
        request_id: None,
        token: None,
        session: None,
        teams: Vec::new(),
        via: Default::default(),
    };
    let audit = app.cluster.audit();
    let mut draft = clementine::events::Draft::by(&as_carol, "container.schedule")
        .owner(&carol)
        .engine("e1");
    draft.image = Some(sleeper(json!({"privileged": true})).to_string());
    draft.container = Some("0".repeat(64));
    let op = draft.op.clone();
    let pending = audit.intent(draft).await.unwrap();
    audit
        .outcome(pending, None, clementine::store::IndexChange::None)
        .await;
    let path = format!("/apiv1/user/{carol}");
    let demoted = app
        .patch(&path, Some(&app.admin_token), json!({"role": "user"}))
        .await;
    assert_eq!(demoted.0, 200, "{}", demoted.1);

    for apply in [false, true] {
        let path = format!("/apiv1/replay?apply={apply}");
        let (status, plan) = app.post(&path, Some(&app.admin_token), json!({})).await;
        assert_eq!(status, 200, "{plan}");
        let missing = plan["data"]["missing"].as_array().unwrap();
        let item = missing
            .iter()
            .find(|m| m["op"] == op.as_str())
            .expect("listed");
        let error = item["error"].as_str().unwrap_or_default();
        assert!(error.contains("privileged"), "apply={apply}: {item}");
        assert!(item.get("target").is_none(), "placed: {item}");
        assert!(item.get("new_container").is_none(), "recreated: {item}");
    }
    let events = app.all_events().await;
    assert!(
        !events
            .iter()
            .any(|e| e["action"] == "container.reschedule" && e["ref_op"] == op.as_str()),
        "a reschedule was attempted"
    );
}
