//! Cross-tenant checks: a user never sees or touches an engine or container that was not granted
//! to them, on any route, and never reaches an admin route.

use crate::common::{TestApp, assert_error, engine_addr};
use reqwest::Method as M;
use serde_json::json;

#[tokio::test]
async fn users_see_only_granted_engines() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e2", 2, &[]).await;
    let (ann, ann_token) = app.user("ann").await;
    let (_bob, bob_token) = app.user("bob").await;
    app.grant(&ann, &["e1"]).await;
    let ann_t = Some(ann_token.as_str());
    let bob_t = Some(bob_token.as_str());

    // List.
    let (_, list) = app.get("/apiv1/engines", ann_t).await;
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["e1"]);
    assert_eq!(app.get("/apiv1/engines", bob_t).await.1["data"], json!([]));

    // Get and containers: granted works, not granted looks like it does not exist.
    assert_eq!(app.get("/apiv1/engine/e1", ann_t).await.0, 200);
    assert_eq!(app.get("/apiv1/engine/e1/containers", ann_t).await.0, 200);
    for path in [
        "/apiv1/engine/e2",
        "/apiv1/engine/e2/containers",
        "/apiv1/engine/e1",
        "/apiv1/engine/e1/containers",
    ] {
        let token = if path.contains("e2") { ann_t } else { bob_t };
        let resp = app.get(path, token).await;
        assert_error(&resp, 404, "engine_not_found");
    }
    // The same answer as for an engine that does not exist at all.
    let missing = app.get("/apiv1/engine/zz", ann_t).await;
    let hidden = app.get("/apiv1/engine/e2", ann_t).await;
    assert_eq!(missing.0, hidden.0);
    assert_eq!(missing.1["error"]["code"], hidden.1["error"]["code"]);

    // Revoking a grant hides the engine again.
    app.grant(&ann, &[]).await;
    assert_error(
        &app.get("/apiv1/engine/e1", ann_t).await,
        404,
        "engine_not_found",
    );
    // Removing an engine removes its grants.
    app.grant(&ann, &["e1", "e2"]).await;
    assert_eq!(
        app.delete("/apiv1/engine/e2", Some(&app.admin_token))
            .await
            .0,
        200
    );
    let (_, me) = app.get("/apiv1/me", ann_t).await;
    assert_eq!(me["data"]["engines"], json!(["e1"]));
}

#[tokio::test]
async fn users_cannot_reach_admin_routes() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;
    let t = Some(token.as_str());
    let cases = [
        (
            M::POST,
            "/apiv1/engine".to_string(),
            Some(json!({"id": "x", "addr": engine_addr(2)})),
        ),
        (
            M::PATCH,
            "/apiv1/engine/e1".to_string(),
            Some(json!({"status": "disabled"})),
        ),
        (M::DELETE, "/apiv1/engine/e1".to_string(), None),
        (
            M::POST,
            "/apiv1/user".to_string(),
            Some(json!({"username": "mallory", "password": "password-123", "role": "admin"})),
        ),
        (M::GET, "/apiv1/users".to_string(), None),
        (M::GET, format!("/apiv1/user/{ann}"), None),
        (M::GET, format!("/apiv1/user/{}", app.admin), None),
        (M::DELETE, format!("/apiv1/user/{}", app.admin), None),
        (
            M::PUT,
            format!("/apiv1/user/{ann}/engines"),
            Some(json!({"engines": ["e1"]})),
        ),
        (
            M::POST,
            format!("/apiv1/user/{}/revoke", app.admin),
            Some(json!({})),
        ),
    ];
    for (method, path, body) in cases {
        let resp = app.request(method.clone(), &path, t, body).await;
        assert_error(&resp, 403, "forbidden");
    }
    // Nothing changed.
    let admin = Some(app.admin_token.as_str());
    assert_eq!(
        app.get("/apiv1/engine/e1", admin).await.1["data"]["status"],
        json!("active")
    );
    assert_error(
        &app.get("/apiv1/engine/x", admin).await,
        404,
        "engine_not_found",
    );
    assert_error(
        &app.get("/apiv1/user/mallory", admin).await,
        404,
        "user_not_found",
    );
    assert_eq!(app.get("/apiv1/me", admin).await.0, 200);
}

#[tokio::test]
async fn grants_name_unknown_engines_and_users() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, _) = app.user("ann").await;
    let admin = Some(app.admin_token.as_str());
    let resp = app
        .put(
            &format!("/apiv1/user/{ann}/engines"),
            admin,
            json!({"engines": ["e1", "ghost"]}),
        )
        .await;
    assert!(assert_error(&resp, 404, "engine_not_found").contains("ghost"));
    let resp = app
        .put(
            "/apiv1/user/nobody/engines",
            admin,
            json!({"engines": ["e1"]}),
        )
        .await;
    assert_error(&resp, 404, "user_not_found");
    let resp = app
        .put(
            &format!("/apiv1/user/{ann}/engines"),
            admin,
            json!({"engines": ["bad id"]}),
        )
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("engines[0]"));
    // Duplicates collapse.
    let (status, body) = app
        .put(
            &format!("/apiv1/user/{ann}/engines"),
            admin,
            json!({"engines": ["e1", "e1"]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["engines"], json!(["e1"]));
}
