//! Users publish only on their engines' publish addresses: not on the engine host's loopback
//! (where host-local services listen), not on every interface; a `host_ip` keeps the run to the
//! engines that publish there. Admins publish anywhere.

use serde_json::json;

use crate::common::{TestApp, assert_error, engine_ip, sleeper, test_port};

fn publishing(ip: &str, port: u16) -> serde_json::Value {
    sleeper(json!({"bind_ports": [{"host_ip": ip, "port": port, "container_port": 80}]}))
}

#[tokio::test]
async fn users_publish_only_where_their_engines_do() {
    let app = TestApp::spawn().await;
    let e1 = app.add_engine("e1", 1, &[]).await;
    app.add_engine("e2", 2, &[]).await;
    assert_eq!(
        e1["publish_ips"],
        json!([engine_ip(1)]),
        "the default: {e1}"
    );
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1", "e2"]).await;
    let port = test_port();

    for squat in ["127.0.0.1", "0.0.0.0", "::", "::1", "127.0.0.99"] {
        let refused = app.run(&token, publishing(squat, port)).await;
        let message = assert_error(&refused, 403, "option_not_allowed");
        assert!(message.contains("bind_ports[0].host_ip"), "{message}");
    }
    let events = app.all_events().await;
    let denied = (events.iter())
        .filter(|e| e["action"] == "auth.denied" && e["actor"] == ann.as_str())
        .count();
    assert_eq!(denied, 5, "each refusal is audited");

    // An engine's own address is fine, and picks that engine.
    let (status, ran) = app.run(&token, publishing(&engine_ip(2), port)).await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["data"]["engine"]["id"], "e2");
    let path = format!(
        "/apiv1/engine/e2/container/{}",
        ran["data"]["id"].as_str().unwrap()
    );
    let (_, inspected) = app.get(&path, Some(&token)).await;
    let bound = inspected["data"]["ports"][0]["host_ip"].clone();
    assert_eq!(bound, json!(engine_ip(2)), "{inspected}");

    // An admin narrows e1 to another address: ann can no longer publish on its old one.
    let (status, _) = app
        .patch(
            "/apiv1/engine/e1",
            Some(&app.admin_token),
            json!({"publish_ips": [engine_ip(3)]}),
        )
        .await;
    assert_eq!(status, 200);
    let gone = app.run(&token, publishing(&engine_ip(1), port + 1)).await;
    assert_error(&gone, 403, "option_not_allowed");
    let bad = app
        .patch(
            "/apiv1/engine/e1",
            Some(&app.admin_token),
            json!({"publish_ips": ["nope"]}),
        )
        .await;
    assert!(assert_error(&bad, 400, "invalid_request").contains("publish_ips[0]"));

    // Admins publish where they like.
    let (status, admin_ran) = app
        .run(&app.admin_token, publishing("127.0.0.1", port + 2))
        .await;
    assert_eq!(status, 200, "{admin_ran}");
    app.cleanup_containers().await;
}
