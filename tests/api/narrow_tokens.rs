//! A narrow token is narrow: only the `admin` scope carries its owner's admin powers. The scope
//! table (`SCOPE_RULES`, printed in the README) is tried row by row on the real server.

use reqwest::Method as M;
use serde_json::{Value, json};

use crate::common::{TestApp, assert_error, sleeper};
use clementine::auth::api_token::{Need, SCOPE_RULES};

async fn mint(app: &TestApp, scopes: &[&str]) -> String {
    let body = json!({"name": format!("t-{}", scopes.join("-")), "scopes": scopes});
    let (status, minted) = app
        .post("/apiv1/tokens", Some(&app.admin_token), body)
        .await;
    assert_eq!(status, 200, "{minted}");
    minted["data"]["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_admins_run_or_read_token_acts_as_a_plain_user() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, ann_token) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;
    let (status, ran) = app.run(&ann_token, sleeper(json!({}))).await;
    assert_eq!(status, 200, "{ran}");
    let theirs = format!(
        "/apiv1/engine/e1/container/{}",
        ran["data"]["id"].as_str().unwrap()
    );
    let run = mint(&app, &["run", "read"]).await;
    let admin = mint(&app, &["admin"]).await;

    // The tenant guard applies to a run token, an admin's included.
    let privileged = app.run(&run, sleeper(json!({"privileged": true}))).await;
    let message = assert_error(&privileged, 403, "option_not_allowed");
    assert!(message.contains("privileged"), "{message}");
    let host = app
        .run(&run, sleeper(json!({"volumes": ["/etc:/x"]})))
        .await;
    assert_error(&host, 403, "option_not_allowed");
    // Another tenant's container is not there for it: inspect, logs, stop, destroy.
    for (method, suffix) in [
        (M::GET, ""),
        (M::GET, "/logs"),
        (M::POST, "/stop"),
        (M::DELETE, ""),
    ] {
        let path = format!("{theirs}{suffix}");
        let (status, body) = app.request(method.clone(), &path, Some(&run), None).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    let (_, list) = app.get("/apiv1/containers", Some(&run)).await;
    let listed = list["data"]["containers"].as_array().unwrap();
    assert!(
        listed.iter().all(|c| c["owner"] == app.admin.as_str()),
        "{list}"
    );
    // The same admin's `admin` token keeps the powers.
    let (status, body) = app.get(&theirs, Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.get("/apiv1/users", Some(&admin)).await.0, 200);
    app.cleanup_containers().await;
}

/// One request per row of the table, in its order: what the row covers.
fn representative(row: usize) -> (M, &'static str, Option<Value>) {
    match row {
        0 => (M::GET, "/apiv1/users", None),
        1 => (M::PATCH, "/apiv1/engine/e1", Some(json!({"labels": ["x"]}))),
        2 => (M::GET, "/apiv1/tokens", None),
        3 => (M::POST, "/apiv1/teams", Some(json!({"name": "t"}))),
        4 => (
            M::POST,
            "/apiv1/me/password",
            Some(json!({"current_password": "x", "new_password": "y"})),
        ),
        5 => (M::GET, "/apiv1/events", None),
        6 => (M::GET, "/apiv1/engines", None),
        _ => (
            M::POST,
            "/apiv1/image",
            Some(json!({"name": "c", "image": sleeper(json!({}))})),
        ),
    }
}

fn refused_by_scope(status: u16, answer: &Value) -> bool {
    status == 403
        && answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("this API token cannot"))
}

#[tokio::test]
async fn the_scope_table_holds_row_by_row() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let scopes = ["read", "run", "events"];
    let mut tokens = Vec::new();
    for scope in scopes {
        tokens.push((scope, mint(&app, &[scope]).await));
    }
    assert_eq!(
        SCOPE_RULES.len(),
        8,
        "a row was added: give it a representative"
    );
    for (row, rule) in SCOPE_RULES.iter().enumerate() {
        let (method, path, body) = representative(row);
        for (scope, token) in &tokens {
            let covered = matches!(rule.need, Need::Scope(s) if s.as_str() == *scope);
            let (status, answer) = app
                .request(method.clone(), path, Some(token), body.clone())
                .await;
            assert_eq!(
                !refused_by_scope(status, &answer),
                covered,
                "row {row} ({method} {path}) with a {scope} token: {status} {answer}"
            );
        }
        // The admin scope covers every row.
        let admin = mint(&app, &["admin"]).await;
        let (status, answer) = app
            .request(method.clone(), path, Some(&admin), body.clone())
            .await;
        assert!(
            !refused_by_scope(status, &answer),
            "row {row} with an admin token: {answer}"
        );
    }
}
