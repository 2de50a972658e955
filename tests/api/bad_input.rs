//! Bad input of every kind gets a 4xx JSON error that names the problem; nothing a client sends
//! causes a 500.

use crate::common::{TestApp, assert_error};
use reqwest::Method as M;
use serde_json::{Value, json};

#[tokio::test]
async fn malformed_bodies_name_the_field() {
    let app = TestApp::spawn().await;
    let t = Some(app.admin_token.as_str());
    let post = |body: &'static [u8]| {
        app.raw(
            M::POST,
            "/apiv1/engine",
            t,
            body.to_vec(),
            Some("application/json"),
        )
    };

    let msg = assert_error(&post(b"{\"id\": \"e1\", ").await, 400, "invalid_request");
    assert!(msg.starts_with("body:"), "{msg}");
    let msg = assert_error(&post(b"").await, 400, "invalid_request");
    assert!(msg.contains("JSON body is required"), "{msg}");
    let msg = assert_error(&post(b"42").await, 400, "invalid_request");
    assert!(
        msg.starts_with("body:") && msg.contains("expected struct"),
        "{msg}"
    );
    let msg = assert_error(
        &post(br#"{"id": 7, "addr": "https://127.0.0.11:2376"}"#).await,
        400,
        "invalid_request",
    );
    assert!(msg.starts_with("id:"), "{msg}");
    let msg = assert_error(&post(br#"{"id": "e1"}"#).await, 400, "invalid_request");
    assert!(msg.contains("addr"), "{msg}");
    let msg = assert_error(
        &post(br#"{"id": "e1", "addr": "https://x", "cpus": "many"}"#).await,
        400,
        "invalid_request",
    );
    assert!(msg.starts_with("cpus:"), "{msg}");
    let msg = assert_error(
        &post(br#"{"id": "e1", "addr": "https://x", "memory": -5}"#).await,
        400,
        "invalid_request",
    );
    assert!(msg.starts_with("memory:"), "{msg}");
    let msg = assert_error(
        &post(br#"{"id": "e1", "addr": "https://x", "labels": ["a", 1]}"#).await,
        400,
        "invalid_request",
    );
    assert!(msg.starts_with("labels[1]:"), "{msg}");
    let msg = assert_error(
        &post(br#"{"id": "e1", "addr": "https://x", "lables": []}"#).await,
        400,
        "invalid_request",
    );
    assert!(msg.contains("lables"), "{msg}");
    // Form-encoded content type (curl -d) is still read as JSON.
    let resp = app
        .raw(
            M::POST,
            "/apiv1/login",
            None,
            br#"{"username":"x","password":"y"}"#.to_vec(),
            Some("application/x-www-form-urlencoded"),
        )
        .await;
    assert_error(&resp, 401, "invalid_credentials");
}

#[tokio::test]
async fn odd_ids_and_values_name_the_field() {
    let app = TestApp::spawn().await;
    let t = Some(app.admin_token.as_str());
    let long = "e".repeat(65);
    for (id, why) in [
        (long.as_str(), "at most 64"),
        ("", "must not be empty"),
        ("a b", "only letters"),
        ("-x", "only letters"),
        ("a:b", "only letters"),
        ("ü", "only letters"),
    ] {
        let resp = app
            .post(
                "/apiv1/engine",
                t,
                json!({"id": id, "addr": "https://127.0.0.11:2376"}),
            )
            .await;
        let msg = assert_error(&resp, 400, "invalid_request");
        assert!(msg.starts_with("id:") && msg.contains(why), "{id:?}: {msg}");
    }
    let resp = app
        .post(
            "/apiv1/engine",
            t,
            json!({"id": "ok", "addr": "https://127.0.0.11:2376", "cpus": 0}),
        )
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("cpus:"));
    let resp = app
        .post(
            "/apiv1/engine",
            t,
            json!({"id": "ok", "addr": "https://127.0.0.11:2376", "memory": 0}),
        )
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("memory:"));
    let labels: Vec<String> = (0..100).map(|i| format!("l{i}")).collect();
    let resp = app
        .post(
            "/apiv1/engine",
            t,
            json!({"id": "ok", "addr": "https://127.0.0.11:2376", "labels": labels}),
        )
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("labels:"));
    let resp = app
        .post("/apiv1/engine", t, json!({"id": "ok", "addr": "ftp://x"}))
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("addr:"));
    // Path parameters too.
    let path = format!("/apiv1/engine/{long}");
    assert!(assert_error(&app.get(&path, t).await, 400, "invalid_request").starts_with("id:"));
    assert!(
        assert_error(
            &app.get("/apiv1/engine/a%3Ab", t).await,
            400,
            "invalid_request"
        )
        .starts_with("id:")
    );
    assert_error(
        &app.get("/apiv1/engine/unknown/containers", t).await,
        404,
        "engine_not_found",
    );
    // Users.
    let resp = app
        .post(
            "/apiv1/user",
            t,
            json!({"username": "x y", "password": "password-1"}),
        )
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("username:"));
    let resp = app
        .post(
            "/apiv1/user",
            t,
            json!({"username": "xy", "password": "short"}),
        )
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("password:"));
    let resp = app
        .post(
            "/apiv1/user",
            t,
            json!({"username": "xy", "password": "password-1", "role": "root"}),
        )
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("role:"));
    let resp = app
        .post(
            "/apiv1/login",
            None,
            json!({"username": "a".repeat(100), "password": "x"}),
        )
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("username:"));
    let resp = app
        .post(
            "/apiv1/login",
            None,
            json!({"username": "a", "password": "x".repeat(5000)}),
        )
        .await;
    assert!(assert_error(&resp, 400, "invalid_request").starts_with("password:"));
}

#[tokio::test]
async fn oversized_bodies_and_unknown_routes() {
    let app = TestApp::spawn().await;
    let t = Some(app.admin_token.as_str());
    // The test app caps bodies at 64 KiB.
    let big = format!(
        r#"{{"id":"e1","addr":"https://127.0.0.11:2376","labels":["{}"]}}"#,
        "x".repeat(100_000)
    );
    let resp = app
        .raw(
            M::POST,
            "/apiv1/engine",
            t,
            big.into_bytes(),
            Some("application/json"),
        )
        .await;
    assert_error(&resp, 413, "payload_too_large");
    // Chunked (no Content-Length) is cut off too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..100).map(|_| Ok(vec![b' '; 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let resp = app
        .http
        .post(format!("{}/apiv1/engine", app.base))
        .bearer_auth(&app.admin_token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], json!("payload_too_large"));

    assert_error(&app.get("/apiv1/nothing-here", t).await, 404, "not_found");
    assert_error(&app.get("/nothing", None).await, 404, "not_found");
    let resp = app
        .request(M::PUT, "/apiv1/engines", t, Some(json!({})))
        .await;
    assert_error(&resp, 405, "method_not_allowed");
    // Every answer carries a request id; a sane incoming one is echoed.
    let resp = app
        .http
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let resp = app
        .http
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.headers()["x-request-id"], "bad id with spaces");
}

/// Every operation of the committed spec that takes a body, as `(method, path)` with its path
/// parameters filled in (`e1`, and `x` for names and ids).
fn body_taking_routes() -> Vec<(M, String)> {
    let spec: Value = serde_json::from_str(include_str!("../../openapi/clementine.json")).unwrap();
    let mut routes = Vec::new();
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op.get("requestBody").is_none() {
                continue;
            }
            let path = (template.split('/'))
                .map(|seg| match seg {
                    "{id}" => "e1",
                    s if s.starts_with('{') => "x",
                    s => s,
                })
                .collect::<Vec<_>>()
                .join("/");
            let method = M::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            routes.push((method, format!("/apiv1{path}")));
        }
    }
    routes
}

/// A little fuzz: random bytes and random JSON to every body-taking route of the spec never
/// give a 5xx.
#[tokio::test]
async fn garbage_never_gives_a_server_error() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let t = Some(app.admin_token.as_str());
    let routes = body_taking_routes();
    assert!(routes.len() >= 14, "{routes:?}");
    let samples: Vec<Vec<u8>> = vec![
        b"null".to_vec(),
        b"{}".to_vec(),
        b"\"str\"".to_vec(),
        b"{\"id\":null}".to_vec(),
        b"{\"engines\":{}}".to_vec(),
        b"{\"cpus\":1e400}".to_vec(),
        b"{\"labels\":[[[[[]]]]]}".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x01],
        b"{\"a\":".repeat(200),
        "{\"username\":\"\u{0}\",\"password\":\"\u{202e}\"}"
            .as_bytes()
            .to_vec(),
    ];
    for (method, path) in &routes {
        for body in &samples {
            let resp = app
                .raw(
                    method.clone(),
                    path,
                    t,
                    body.clone(),
                    Some("application/json"),
                )
                .await;
            assert!(
                resp.0 < 500,
                "{method} {path} {body:?}: {} {}",
                resp.0,
                resp.1
            );
            if resp.0 >= 400 {
                assert_eq!(resp.1["ok"], json!(false), "{method} {path} {body:?}");
            }
        }
    }
}
