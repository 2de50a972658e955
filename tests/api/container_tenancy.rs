//! User B can do nothing to user A's containers, cannot schedule onto engines not granted, and
//! cannot use the options reserved to admins.

use crate::common::{TestApp, assert_error, sleeper};
use serde_json::json;

#[tokio::test]
async fn users_cannot_touch_each_others_containers() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e2", 2, &[]).await;
    let (ann, ann_token) = app.user("ann").await;
    let (bob, bob_token) = app.user("bob").await;
    app.grant(&ann, &["e1"]).await;
    app.grant(&bob, &["e1"]).await;
    let (status, body) = app
        .run(
            &ann_token,
            sleeper(json!({"container_name": app.unique("annc")})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_string();
    let name = app.unique("annc");
    let bob_t = Some(bob_token.as_str());

    // Bob: not listed, and every route answers as if it did not exist, by id or by name.
    let (_, list) = app.get("/apiv1/containers", bob_t).await;
    assert_eq!(list["data"]["containers"], json!([]));
    let (_, on_engine) = app.get("/apiv1/engine/e1/containers", bob_t).await;
    assert_eq!(on_engine["data"], json!([]));
    let (_, as_filter) = app
        .get(&format!("/apiv1/containers?owner={ann}"), bob_t)
        .await;
    assert_eq!(as_filter["data"]["containers"], json!([]));
    for cid in [&id, &name] {
        let base = format!("/apiv1/engine/e1/container/{cid}");
        assert_error(&app.get(&base, bob_t).await, 404, "container_not_found");
        assert_error(
            &app.get(&format!("{base}/logs"), bob_t).await,
            404,
            "container_not_found",
        );
        for action in ["stop", "start", "restart"] {
            assert_error(
                &app.post(&format!("{base}/{action}"), bob_t, json!({}))
                    .await,
                404,
                "container_not_found",
            );
        }
        assert_error(&app.delete(&base, bob_t).await, 404, "container_not_found");
    }
    // Through an engine Bob has no grant for: the engine itself is hidden.
    let (status, _) = app
        .get(&format!("/apiv1/engine/e2/container/{id}"), bob_t)
        .await;
    assert_eq!(status, 404);
    // Ann's container still runs, untouched.
    let (_, mine) = app
        .get(
            &format!("/apiv1/engine/e1/container/{id}"),
            Some(&ann_token),
        )
        .await;
    assert_eq!(mine["data"]["state"], json!("running"));
    // The admin sees it and may act on it.
    let (_, all) = app
        .get(
            &format!("/apiv1/containers?owner={ann}"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(all["data"]["containers"][0]["id"], json!(id));
    app.cleanup_containers().await;
}

#[tokio::test]
async fn users_schedule_only_onto_granted_engines() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e2", 2, &["special"]).await;
    let (ann, token) = app.user("ann").await;
    // No grant at all.
    let resp = app.run(&token, sleeper(json!({}))).await;
    assert!(assert_error(&resp, 409, "no_engine_fits").contains("no engine is granted"));
    app.grant(&ann, &["e1"]).await;
    // Labels only e2 has: refused, and e2 is not even named to Ann.
    let resp = app
        .run(&token, sleeper(json!({"labels": ["special"]})))
        .await;
    let msg = assert_error(&resp, 409, "no_engine_fits");
    assert!(
        msg.contains("e1: lacks label special") && !msg.contains("e2"),
        "{msg}"
    );
    let resp = app
        .run(
            &token,
            sleeper(json!({"type": "host", "labels": ["host:e2"]})),
        )
        .await;
    assert_error(&resp, 409, "no_engine_fits");
    let (status, body) = app.run(&token, sleeper(json!({}))).await;
    assert_eq!((status, &body["data"]["engine"]["id"]), (200, &json!("e1")));
    // The capacity report shows only e1.
    let (_, cap) = app.get("/apiv1/cluster", Some(&token)).await;
    assert_eq!(cap["data"]["engines"].as_array().unwrap().len(), 1);
    app.cleanup_containers().await;
}

#[tokio::test]
async fn the_tenant_guard_names_the_option() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;
    let cases = [
        (json!({"privileged": true}), "privileged"),
        (json!({"network_mode": "host"}), "network_mode"),
        (json!({"pid_mode": "host"}), "pid_mode"),
        (json!({"ipc_mode": "host"}), "ipc_mode"),
        (json!({"cap_add": ["SYS_ADMIN"]}), "cap_add"),
        (json!({"devices": ["/dev/kvm"]}), "devices"),
        (json!({"volumes": ["/etc:/host-etc"]}), "volumes"),
    ];
    for (extra, option) in cases {
        let resp = app.run(&token, sleeper(extra)).await;
        let msg = assert_error(&resp, 403, "option_not_allowed");
        assert!(msg.starts_with(option), "{msg}");
    }
    // Requests beyond the largest engine are refused up front.
    let resp = app.run(&token, sleeper(json!({"cpus": 10000.0}))).await;
    assert_eq!(resp.0, 400, "{}", resp.1);
    let resp = app.run(&token, sleeper(json!({"memory": 100000000}))).await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("memory"));
    // Named volumes are fine for users.
    let (status, body) = app
        .run(
            &token,
            sleeper(json!({"volumes": [format!("data-{}:/data", app.id)]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Admins may use the guarded options.
    let (status, body) = app
        .run(&app.admin_token, sleeper(json!({"cap_add": ["NET_ADMIN"]})))
        .await;
    assert_eq!(status, 200, "{body}");
    app.cleanup_containers().await;
}
