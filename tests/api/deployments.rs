//! Deployments sharing engines stay apart: a user of one deployment never sees or touches a
//! container another deployment placed for a user of the same name.

use reqwest::Method as M;
use serde_json::json;

use crate::common::{TestApp, eventually, sleeper};

#[tokio::test]
async fn the_same_username_in_another_deployment_reaches_nothing() {
    let (a, b) = (TestApp::spawn().await, TestApp::spawn().await);
    let name = a.unique("twin");
    let mut tokens = Vec::new();
    for app in [&a, &b] {
        app.add_engine("e1", 1, &[]).await;
        let body = json!({"username": name, "password": "twin-password-1"});
        assert_eq!(
            app.post("/apiv1/user", Some(&app.admin_token), body)
                .await
                .0,
            200
        );
        app.grant(&name, &["e1"]).await;
        tokens.push(app.login(&name, "twin-password-1").await);
    }
    let (status, ran) = a
        .run(&tokens[0], sleeper(json!({"container_name": "mine"})))
        .await;
    assert_eq!(status, 200, "{ran}");
    let id = ran["data"]["id"].as_str().unwrap().to_string();

    // B's twin: no listing shows it (the views, once they have seen it, and live).
    let seen_by_b_admin = eventually(10, || async {
        let (_, list) = b.get("/apiv1/containers", Some(&b.admin_token)).await;
        list["data"]["containers"].to_string().contains(&id)
    })
    .await;
    assert!(seen_by_b_admin, "B's views never listed the container");
    for path in [
        "/apiv1/containers",
        "/apiv1/containers?fresh=true",
        "/apiv1/engine/e1/containers",
    ] {
        let (status, list) = b.get(path, Some(&tokens[1])).await;
        assert_eq!(status, 200, "{list}");
        assert!(!list.to_string().contains(&id), "{path} shows it: {list}");
    }
    // Nor by id or by its name; and B's admin sees it as nobody's.
    let c = "/apiv1/engine/e1/container";
    for (method, path) in [
        (M::GET, format!("{c}/{id}")),
        (M::GET, format!("{c}/mine")),
        (M::GET, format!("{c}/{id}/logs")),
        (M::POST, format!("{c}/{id}/stop")),
        (M::DELETE, format!("{c}/{id}")),
    ] {
        let (status, body) = b
            .request(method.clone(), &path, Some(&tokens[1]), None)
            .await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    let (_, inspected) = b.get(&format!("{c}/{id}"), Some(&b.admin_token)).await;
    assert!(inspected["data"].get("owner").is_none(), "{inspected}");
    // A's twin still has it, running.
    let (status, mine) = a.get(&format!("{c}/{id}"), Some(&tokens[0])).await;
    assert_eq!(
        (status, &mine["data"]["state"]),
        (200, &json!("running")),
        "{mine}"
    );
    a.cleanup_containers().await;
}
