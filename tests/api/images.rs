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

/// Reads one counter from a process's `/metrics`.
async fn listings(app: &TestApp) -> u64 {
    let text = (app.http.get(format!("{}/metrics", app.base)).send().await)
        .unwrap()
        .text()
        .await
        .unwrap();
    (text.lines())
        .find_map(|l| l.strip_prefix("clementine_engine_listings_total "))
        .map_or(0, |v| v.parse().unwrap())
}

/// Scales `turns` to `wanted` on `app`, asking again at once while another scale holds it.
async fn scale_when_free(app: &TestApp, token: &str, wanted: u32) -> serde_json::Value {
    loop {
        let body = json!({"instances": wanted});
        let (status, r) = app
            .post("/apiv1/image/turns/scale", Some(token), body)
            .await;
        if status != 409 {
            assert_eq!(status, 200, "{r}");
            return r;
        }
        assert_eq!(r["error"]["code"], "scale_in_progress", "{r}");
    }
}

/// Two processes scale one config to the same number at once, in turns: the one that takes
/// the lock second must find the first one's work and hold. Each counts from its engine views,
/// which hear of the other's containers by events a moment after the lock passes; the trail
/// beside the lock makes each wait for that, so no turn starts or destroys too many.
#[tokio::test]
async fn scales_at_once_on_two_processes_count_exactly() {
    let id = crate::common::short_id();
    let a = TestApp::spawn_env(id.clone(), crate::common::test_env(&id)).await;
    let b = TestApp::spawn_env(id.clone(), crate::common::test_env(&id)).await;
    a.add_engine("e1", 1, &[]).await;
    a.add_engine("e2", 2, &[]).await;
    let (ann, token) = a.user("ann").await;
    a.grant(&ann, &["e1", "e2"]).await;
    let t = Some(token.as_str());
    let saved = json!({"name": "turns", "image": sleeper(json!({"memory": 6, "cpus": 0.01}))});
    assert_eq!(a.post("/apiv1/image", t, saved).await.0, 200);
    for app in [&a, &b] {
        assert!(
            app.views_listed(2).await,
            "a process's views did not list both engines"
        );
    }
    let before = listings(&a).await;
    let first = scale_when_free(&a, &token, 1).await;
    assert_eq!(first["data"]["instances"], json!(1), "{first}");
    assert_eq!(
        listings(&a).await,
        before,
        "the first count did not read the views"
    );

    let seed: u64 = rand::random();
    println!("seed {seed}");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let mut now = 1u32;
    for turn in 0..6 {
        let wanted = rand::Rng::random_range(&mut rng, 0..=4);
        let (x, y) = tokio::join!(
            scale_when_free(&a, &token, wanted),
            scale_when_free(&b, &token, wanted)
        );
        let moved = |r: &serde_json::Value| {
            let n = |k: &str| r["data"][k].as_array().unwrap().len() as u32;
            (n("created"), n("destroyed"))
        };
        let what = format!("seed {seed}, turn {turn}, {now} -> {wanted}: {x} {y}");
        let (mx, my) = (moved(&x), moved(&y));
        let total = (mx.0 + my.0, mx.1 + my.1);
        assert_eq!(
            total,
            (wanted.saturating_sub(now), now.saturating_sub(wanted)),
            "{what}"
        );
        assert!(mx == (0, 0) || my == (0, 0), "both moved: {what}");
        assert_eq!(
            (
                x["data"]["instances"].clone(),
                y["data"]["instances"].clone()
            ),
            (json!(wanted), json!(wanted)),
            "{what}"
        );
        now = wanted;
    }
    // A view that has not heard of the other's newest container yet (made so here: b forgets
    // it): b waits for it, then counts from the engines, and holds.
    let up = scale_when_free(&a, &token, now + 1).await;
    let newest = &up["data"]["created"][0];
    let (engine, cid) = (
        newest["engine"]["id"].as_str().unwrap(),
        newest["id"].as_str().unwrap(),
    );
    b.cluster.views().remove(engine, cid);
    let before = listings(&b).await;
    let held = scale_when_free(&b, &token, now + 1).await;
    assert_eq!(held["data"]["created"], json!([]), "seed {seed}: {held}");
    assert!(
        listings(&b).await > before,
        "b counted from a view that lacked a container"
    );
    let (_, live) = a
        .get("/apiv1/containers?config=turns&state=running&fresh=true", t)
        .await;
    assert_eq!(
        live["data"]["containers"].as_array().unwrap().len() as u32,
        now + 1,
        "seed {seed}"
    );
    a.cleanup_containers().await;
}
