//! Each placement type on three real engines with different labels, and capacity exhaustion.

use crate::common::{TestApp, assert_error, engine_ip, sleeper, tag_busybox, test_port};
use serde_json::{Value, json};

async fn three_engines(app: &TestApp) {
    app.add_engine("e1", 1, &["ssd"]).await;
    app.add_engine("e2", 2, &["hdd"]).await;
    app.add_engine("e3", 3, &["ssd", "gpu"]).await;
}

fn engine_of(resp: &(u16, Value)) -> String {
    assert_eq!(resp.0, 200, "{}", resp.1);
    resp.1["data"]["engine"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn service_honours_labels_and_host_pins() {
    let app = TestApp::spawn().await;
    three_engines(&app).await;
    let t = app.admin_token.clone();
    assert_eq!(
        engine_of(&app.run(&t, sleeper(json!({"labels": ["gpu"]}))).await),
        "e3"
    );
    assert_eq!(
        engine_of(&app.run(&t, sleeper(json!({"labels": ["hdd"]}))).await),
        "e2"
    );
    for _ in 0..2 {
        let e = engine_of(&app.run(&t, sleeper(json!({"labels": ["ssd"]}))).await);
        assert!(e == "e1" || e == "e3", "{e}");
    }
    let resp = app
        .run(&t, sleeper(json!({"labels": ["ssd", "hdd"]})))
        .await;
    let msg = assert_error(&resp, 409, "no_engine_fits");
    assert!(
        msg.contains("e1: lacks label hdd") && msg.contains("e2: lacks label ssd"),
        "{msg}"
    );

    // host: pinned, labels otherwise ignored.
    for _ in 0..2 {
        assert_eq!(
            engine_of(
                &app.run(&t, sleeper(json!({"type": "host", "labels": ["host:e2"]})))
                    .await
            ),
            "e2"
        );
    }
    let resp = app
        .run(
            &t,
            sleeper(json!({"type": "host", "labels": ["host:nowhere"]})),
        )
        .await;
    assert!(assert_error(&resp, 409, "no_engine_fits").contains("not named by a host: label"));
    app.cleanup_containers().await;
}

#[tokio::test]
async fn unique_places_copies_on_different_engines() {
    let app = TestApp::spawn().await;
    three_engines(&app).await;
    let image = format!("uniq-{}", app.id);
    tag_busybox(&[1, 2, 3], &image).await;
    let t = app.admin_token.clone();
    let config = sleeper(json!({"name": image, "type": "unique"}));
    let mut engines: Vec<String> = Vec::new();
    for _ in 0..3 {
        engines.push(engine_of(&app.run(&t, config.clone()).await));
    }
    engines.sort();
    assert_eq!(engines, ["e1", "e2", "e3"]);
    let resp = app.run(&t, config).await;
    let msg = assert_error(&resp, 409, "no_engine_fits");
    assert!(
        msg.contains("e1: a container of this image runs there (unique)"),
        "{msg}"
    );
    app.cleanup_containers().await;
}

#[tokio::test]
async fn port_moves_a_second_publisher_and_the_port_answers() {
    let app = TestApp::spawn().await;
    three_engines(&app).await;
    let t = app.admin_token.clone();
    let port = test_port();
    let web = json!({"name": "clementine/web:latest", "args": [], "type": "port", "cpus": 0.1, "memory": 16,
                     "bind_ports": [{"port": port, "container_port": 80}]});
    let first = app.run(&t, web.clone()).await;
    let second = app.run(&t, web.clone()).await;
    let (a, b) = (engine_of(&first), engine_of(&second));
    assert_ne!(a, b, "two publishers of {port} on one engine");
    assert_eq!(first.1["data"]["ports"][0]["port"], json!(port));
    // The port is published on the engine's own loopback address and serves.
    let ip = engine_ip(a[1..].parse().unwrap());
    let mut body = String::new();
    for _ in 0..50 {
        if let Ok(r) = reqwest::get(format!("http://{ip}:{port}/")).await {
            body = r.text().await.unwrap_or_default();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(body.contains("hello from clementine"), "{body:?}");
    app.run(&t, web.clone()).await;
    let resp = app.run(&t, web).await;
    let msg = assert_error(&resp, 409, "no_engine_fits");
    assert!(msg.contains(&format!("port {port}/tcp taken")), "{msg}");
    app.cleanup_containers().await;
}

#[tokio::test]
async fn multi_combines_labels_unique_and_ports() {
    let app = TestApp::spawn().await;
    three_engines(&app).await;
    let image = format!("multi-{}", app.id);
    tag_busybox(&[1, 2, 3], &image).await;
    let t = app.admin_token.clone();
    let port = test_port();
    let config = sleeper(json!({"name": image, "type": "multi", "labels": ["ssd"],
                                "bind_ports": [{"port": port, "container_port": 80}]}));
    let mut engines = vec![
        engine_of(&app.run(&t, config.clone()).await),
        engine_of(&app.run(&t, config.clone()).await),
    ];
    engines.sort();
    assert_eq!(engines, ["e1", "e3"]);
    let resp = app.run(&t, config).await;
    let msg = assert_error(&resp, 409, "no_engine_fits");
    assert!(msg.contains("e2: lacks label ssd"), "{msg}");
    app.cleanup_containers().await;
}

#[tokio::test]
async fn capacity_exhaustion_gives_reasons_per_resource() {
    let app = TestApp::spawn().await;
    three_engines(&app).await;
    let t = app.admin_token.clone();
    app.patch(
        "/apiv1/engine/e1",
        Some(&t),
        json!({"cpus": 1.0, "memory": 1024}),
    )
    .await;
    app.patch(
        "/apiv1/engine/e2",
        Some(&t),
        json!({"cpus": 4.0, "memory": 128}),
    )
    .await;
    app.patch("/apiv1/engine/e3", Some(&t), json!({"status": "disabled"}))
        .await;
    // Fits on e1 only by memory and on e2 only by cpus; averaging would say yes.
    assert_eq!(
        engine_of(
            &app.run(&t, sleeper(json!({"cpus": 0.75, "memory": 50})))
                .await
        ),
        "e1"
    );
    let resp = app
        .run(&t, sleeper(json!({"cpus": 0.5, "memory": 200})))
        .await;
    let msg = assert_error(&resp, 409, "no_engine_fits");
    assert!(msg.contains("e1: cpus 0.75 + 0.5 > 1"), "{msg}");
    assert!(msg.contains("e2: memory 0+200 > 128 MB"), "{msg}");
    assert!(msg.contains("e3: disabled"), "{msg}");
    // Spread versus binpack.
    app.patch("/apiv1/engine/e2", Some(&t), json!({"memory": 4096}))
        .await;
    app.patch(
        "/apiv1/engine/e1",
        Some(&t),
        json!({"cpus": 4.0, "memory": 4096}),
    )
    .await;
    let spread = engine_of(
        &app.post(
            "/apiv1/container?strategy=spread",
            Some(&t),
            sleeper(json!({"cpus": 0.1, "memory": 16})),
        )
        .await,
    );
    assert_eq!(spread, "e2", "spread picks the emptier engine");
    let binpack = engine_of(
        &app.run(&t, sleeper(json!({"cpus": 0.1, "memory": 16})))
            .await,
    );
    let cap = app.get("/apiv1/cluster", Some(&t)).await.1;
    assert_eq!(binpack, "e1", "binpack picks the fuller engine: {cap}");
    app.cleanup_containers().await;
}
