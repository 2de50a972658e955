//! Saved image configs (per owner) and scaling on the real engines.

use crate::common::{TestApp, assert_error, sleeper};
use reqwest::Method as M;
use serde_json::json;

#[tokio::test]
async fn saved_config_crud_and_tenancy() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, ann_token) = app.user("ann").await;
    let (_bob, bob_token) = app.user("bob").await;
    app.grant(&ann, &["e1"]).await;
    let t = Some(ann_token.as_str());

    let (status, saved) = app
        .post(
            "/apiv1/image",
            t,
            json!({"name": "cache", "image": sleeper(json!({}))}),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["data"]["owner"], json!(ann));
    assert_eq!(saved["data"]["image"]["name"], json!("busybox:latest"));
    let dup = app
        .post(
            "/apiv1/image",
            t,
            json!({"name": "cache", "image": sleeper(json!({}))}),
        )
        .await;
    assert_error(&dup, 409, "image_exists");
    // The same image under a second name.
    assert_eq!(
        app.post(
            "/apiv1/image",
            t,
            json!({"name": "cache-big", "image": sleeper(json!({"memory": 32}))})
        )
        .await
        .0,
        200
    );
    let (_, list) = app.get("/apiv1/images", t).await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cache", "cache-big"]);

    let (status, replaced) = app
        .put("/apiv1/image/cache", t, sleeper(json!({"memory": 24})))
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(
        app.get("/apiv1/image/cache", t).await.1["data"]["image"]["memory"],
        json!(24)
    );
    assert_error(
        &app.put("/apiv1/image/nope", t, sleeper(json!({}))).await,
        404,
        "image_not_found",
    );

    // Validation and the tenant guard apply to saved configs too.
    let bad = app
        .post(
            "/apiv1/image",
            t,
            json!({"name": "x", "image": sleeper(json!({"cpus": -2}))}),
        )
        .await;
    assert!(assert_error(&bad, 400, "invalid_request").starts_with("cpus"));
    let bad = app
        .post(
            "/apiv1/image",
            t,
            json!({"name": "bad name", "image": sleeper(json!({}))}),
        )
        .await;
    assert!(assert_error(&bad, 400, "invalid_request").starts_with("name"));
    let bad = app
        .post(
            "/apiv1/image",
            t,
            json!({"name": "p", "image": sleeper(json!({"privileged": true}))}),
        )
        .await;
    assert_error(&bad, 403, "option_not_allowed");
    let bad = app.post("/apiv1/image", t, json!({"name": "p"})).await;
    assert!(assert_error(&bad, 400, "invalid_request").contains("image"));

    // Bob sees none of Ann's configs, on any route.
    let b = Some(bob_token.as_str());
    assert_eq!(app.get("/apiv1/images", b).await.1["data"], json!([]));
    for (method, path, body) in [
        (M::GET, "/apiv1/image/cache", None),
        (M::PUT, "/apiv1/image/cache", Some(sleeper(json!({})))),
        (M::DELETE, "/apiv1/image/cache", None),
        (M::POST, "/apiv1/image/cache/run", Some(json!({}))),
        (
            M::POST,
            "/apiv1/image/cache/scale",
            Some(json!({"instances": 1})),
        ),
    ] {
        let resp = app.request(method.clone(), path, b, body).await;
        assert_error(&resp, 404, "image_not_found");
    }

    assert_eq!(app.delete("/apiv1/image/cache-big", t).await.0, 200);
    assert_error(
        &app.get("/apiv1/image/cache-big", t).await,
        404,
        "image_not_found",
    );
    assert_eq!(
        app.get("/apiv1/image/cache", t).await.0,
        200,
        "Bob's delete did not touch it"
    );
}

#[tokio::test]
async fn run_by_name_and_scale_up_and_down() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e2", 2, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1", "e2"]).await;
    let t = Some(token.as_str());
    app.post(
        "/apiv1/image",
        t,
        json!({"name": "web", "image": sleeper(json!({}))}),
    )
    .await;

    let (status, one) = app.post("/apiv1/image/web/run", t, json!({})).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["data"]["state"], json!("running"));
    // Engines record creation to the second: the next three must be newer than the first.
    let first = clementine::time::now_secs();
    let next_second =
        crate::common::eventually(3, || async { clementine::time::now_secs() > first });
    assert!(next_second.await);

    let (status, up) = app
        .post("/apiv1/image/web/scale", t, json!({"instances": 4}))
        .await;
    assert_eq!(status, 200, "{up}");
    assert_eq!(up["data"]["instances"], json!(4));
    assert_eq!(up["data"]["complete"], json!(true));
    assert_eq!(up["data"]["created"].as_array().unwrap().len(), 3);
    assert_eq!(up["data"]["destroyed"], json!([]));

    // Down to 1: the three newest go, the first one stays.
    let (status, down) = app
        .post("/apiv1/image/web/scale", t, json!({"instances": 1}))
        .await;
    assert_eq!(status, 200, "{down}");
    assert_eq!(down["data"]["instances"], json!(1));
    assert_eq!(down["data"]["destroyed"].as_array().unwrap().len(), 3);
    let (_, left) = app.get("/apiv1/containers?state=running", t).await;
    let ids: Vec<&str> = left["data"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [one["data"]["id"].as_str().unwrap()]);

    assert_eq!(one["data"]["config"], json!("web"));

    // Containers run without the saved config do not count, and carry no `config`.
    let (status, plain) = app.run(&token, sleeper(json!({}))).await;
    assert_eq!(status, 200, "{plain}");
    assert!(plain["data"].get("config").is_none(), "{plain}");
    let (_, of_web) = app.get("/apiv1/containers?config=web", t).await;
    let listed = of_web["data"]["containers"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{of_web}");
    assert_eq!(listed[0]["config"], json!("web"));
    let (status, bad) = app.get("/apiv1/containers?config=a:b", t).await;
    assert_eq!(status, 400, "{bad}");
    let (_, same) = app
        .post("/apiv1/image/web/scale", t, json!({"instances": 1}))
        .await;
    assert_eq!(
        (
            same["data"]["created"].as_array().unwrap().len(),
            same["data"]["destroyed"].as_array().unwrap().len()
        ),
        (0, 0)
    );

    let (_, zero) = app
        .post("/apiv1/image/web/scale", t, json!({"instances": 0}))
        .await;
    assert_eq!(zero["data"]["instances"], json!(0));
    let bad = app
        .post("/apiv1/image/web/scale", t, json!({"instances": 1000}))
        .await;
    assert!(assert_error(&bad, 400, "invalid_request").starts_with("instances"));
    let bad = app
        .post("/apiv1/image/web/scale", t, json!({"instances": -1}))
        .await;
    assert!(assert_error(&bad, 400, "invalid_request").starts_with("instances"));
    app.cleanup_containers().await;
}
