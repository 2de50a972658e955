//! A deleted user is gone: a new account of the same name gets none of the old one's tokens,
//! configs, credentials, volumes or containers; deleting a user who still owns engine objects
//! answers 409 naming them unless `purge=true`, which destroys each through its audited action.

use serde_json::{Value, json};

use crate::common::{TestApp, assert_error, sleeper};

/// Creates `username` (already unique) with a password, logs in.
async fn create(app: &TestApp, username: &str) -> String {
    let body = json!({"username": username, "password": "user-password-1"});
    let (status, answer) = app.post("/apiv1/user", Some(&app.admin_token), body).await;
    assert_eq!(status, 200, "{answer}");
    app.login(username, "user-password-1").await
}

fn actions_about(events: &[Value], owner: &str) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["phase"] == "outcome" && e["owner"] == owner)
        .map(|e| {
            let action = e["action"].as_str().unwrap_or_default().to_string();
            (
                action,
                e["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_new_account_of_a_deleted_name_inherits_nothing() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let bob = app.unique("bob");
    let old = create(&app, &bob).await;
    app.grant(&bob, &["e1"]).await;
    let config = sleeper(json!({"container_name": "keep", "volumes": ["data:/data"]}));
    let saved = json!({"name": "cache", "image": config.clone()});
    let (status, saved) = app.post("/apiv1/image", Some(&old), saved).await;
    assert_eq!(status, 200, "{saved}");
    let name = "cache";
    let minted = json!({"name": "ci", "scopes": ["read", "run"]});
    let (status, api_token) = app.post("/apiv1/tokens", Some(&old), minted).await;
    assert_eq!(status, 200, "{api_token}");
    let api_token = api_token["data"]["token"].as_str().unwrap().to_string();
    let (status, ran) = app.run(&old, config).await;
    assert_eq!(status, 200, "{ran}");

    // Still owning a container and a volume: 409, naming both, and nothing is removed.
    let path = format!("/apiv1/user/{bob}");
    let refused = app.delete(&path, Some(&app.admin_token)).await;
    let message = assert_error(&refused, 409, "user_owns_objects");
    assert!(message.contains("keep on e1"), "{message}");
    assert!(message.contains("volumes data on e1"), "{message}");
    assert_eq!(app.get("/apiv1/me", Some(&old)).await.0, 200);

    // Purged: everything goes, each removal audited.
    let purged = app
        .delete(&format!("{path}?purge=true"), Some(&app.admin_token))
        .await;
    assert_eq!(purged.0, 200, "{}", purged.1);
    let fresh = "/apiv1/containers?fresh=true";
    let (_, list) = app.get(fresh, Some(&app.admin_token)).await;
    let containers = list["data"]["containers"].as_array().unwrap();
    assert!(
        !containers.iter().any(|c| c["owner"] == bob.as_str()),
        "{list}"
    );
    let (_, volumes) = app.get("/apiv1/volumes", Some(&app.admin_token)).await;
    let volumes = volumes["data"]["volumes"].as_array().unwrap();
    assert!(
        !volumes.iter().any(|v| v["owner"] == bob.as_str()),
        "{volumes:?}"
    );
    let events = app.all_events().await;
    let about = actions_about(&events, &bob);
    for action in [
        "container.destroy",
        "volume.delete",
        "token.revoke",
        "image.delete",
    ] {
        assert!(
            about.contains(&(action.to_string(), "ok".to_string())),
            "{action} missing from {about:?}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "user.purge" && e["outcome"] == "ok"),
        "no user.purge outcome"
    );

    // A new bob: the old bob's login and API tokens stay dead; his configs are not there.
    let new = create(&app, &bob).await;
    assert_error(
        &app.get("/apiv1/me", Some(&old)).await,
        401,
        "invalid_token",
    );
    let (status, _) = app.get("/apiv1/me", Some(&api_token)).await;
    assert_eq!(status, 401);
    let (status, images) = app.get("/apiv1/images", Some(&new)).await;
    assert_eq!(status, 200, "{images}");
    assert_eq!(images["data"], json!([]), "the old bob's configs: {images}");
    let (status, _) = app.get(&format!("/apiv1/image/{name}"), Some(&new)).await;
    assert_eq!(status, 404);
    let (_, registries) = app.get("/apiv1/registries", Some(&new)).await;
    assert_eq!(registries["data"], json!([]), "{registries}");
}

#[tokio::test]
async fn deleting_a_user_without_engine_objects_needs_no_purge() {
    let app = TestApp::spawn().await;
    let (bob, token) = app.user("bob").await;
    let saved = json!({"name": "cache", "image": sleeper(json!({}))});
    let (status, _) = app.post("/apiv1/image", Some(&token), saved).await;
    assert_eq!(status, 200);
    let path = format!("/apiv1/user/{bob}");
    assert_eq!(app.delete(&path, Some(&app.admin_token)).await.0, 200);
    assert_error(
        &app.get("/apiv1/me", Some(&token)).await,
        401,
        "invalid_token",
    );
    let events = app.all_events().await;
    let about = actions_about(&events, &bob);
    assert!(
        about.contains(&("image.delete".into(), "ok".into())),
        "{about:?}"
    );
    // Unknown users are 404 either way.
    let missing = app
        .delete("/apiv1/user/nobody-here?purge=true", Some(&app.admin_token))
        .await;
    assert_error(&missing, 404, "user_not_found");
}
