//! Tenants on shared engines: denied attempts are audited; names, volumes and networks of one
//! tenant are out of another's reach.

use serde_json::{Value, json};

use crate::common::{TestApp, assert_error, sleeper};

/// The `auth.denied` entries of the stream, oldest first (read as the admin).
async fn denied(app: &TestApp) -> Vec<Value> {
    let (_, page) = app
        .get(
            "/apiv1/events?action=auth.denied&order=asc",
            Some(&app.admin_token),
        )
        .await;
    page["data"]["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_403_is_one_auth_denied_entry() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;

    // The tenant guard.
    let resp = app.run(&token, sleeper(json!({"privileged": true}))).await;
    assert_error(&resp, 403, "forbidden");
    // A role check.
    let resp = app
        .post(
            "/apiv1/engine",
            Some(&token),
            json!({"id": "x", "addr": "https://127.0.0.1:1"}),
        )
        .await;
    assert_error(&resp, 403, "forbidden");

    let entries = denied(&app).await;
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let guard = &entries[0];
    assert_eq!(guard["actor"], json!(ann));
    assert_eq!(guard["role"], json!("user"));
    assert_eq!(guard["target"], json!("/apiv1/container"));
    assert!(
        guard["error"].as_str().unwrap().contains("privileged"),
        "{guard}"
    );
    assert!(
        guard.get("phase").is_none(),
        "a single entry, not a pair: {guard}"
    );
    assert!(guard["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    let detail: Value = serde_json::from_str(guard["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["route"], json!("POST /apiv1/container"));
    assert_eq!(entries[1]["target"], json!("/apiv1/engine"));
    // Nothing was created for the refused run.
    let (_, list) = app.get("/apiv1/containers", Some(&token)).await;
    assert_eq!(list["data"]["containers"], json!([]));
    // Ann sees her own denied attempts too.
    let (_, mine) = app
        .get("/apiv1/events?action=auth.denied", Some(&token))
        .await;
    assert_eq!(mine["data"]["events"].as_array().unwrap().len(), 2);
}
