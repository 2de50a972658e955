//! Scoped API tokens: shown once, hashed at rest, limited to their scopes, never beyond their
//! owner, dead once revoked.

use serde_json::{Value, json};

use crate::common::{TestApp, assert_error, sleeper, stream_entries};

async fn make_token(app: &TestApp, session: &str, name: &str, scopes: &[&str]) -> (String, String) {
    let (status, body) = app
        .post(
            "/apiv1/tokens",
            Some(session),
            json!({"name": name, "scopes": scopes}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("clm_"), "{token}");
    (token, body["data"]["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn a_read_token_reads_and_nothing_more() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, session) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;
    let (read, read_id) = make_token(&app, &session, "ci-read", &["read"]).await;
    let t = Some(read.as_str());

    let (status, engines) = app.get("/apiv1/engines", t).await;
    assert_eq!(status, 200, "{engines}");
    assert_eq!(engines["data"][0]["id"], json!("e1"));
    let refused = app.run(&read, sleeper(json!({}))).await;
    assert!(assert_error(&refused, 403, "forbidden").contains("run scope"));
    assert_error(&app.get("/apiv1/events", t).await, 403, "forbidden");
    // Tokens are managed from a login session, not with a token.
    let minted = app
        .post("/apiv1/tokens", t, json!({"name": "x", "scopes": ["read"]}))
        .await;
    assert_error(&minted, 403, "forbidden");

    // The refusal is audited with the token's id, never its text.
    let (_, denied) = app
        .get("/apiv1/events?action=auth.denied", Some(&session))
        .await;
    let entry = &denied["data"]["events"][0];
    assert_eq!(entry["token"], json!(read_id), "{denied}");
    let everything: String = stream_entries(&app.prefix)
        .await
        .into_iter()
        .flatten()
        .map(|(_, v)| v)
        .collect();
    assert!(!everything.contains(read.split('_').next_back().unwrap()));

    // Listed without the secret; revoked, it is dead.
    let (_, list) = app.get("/apiv1/tokens", Some(&session)).await;
    assert_eq!(list["data"][0]["id"], json!(read_id));
    assert_eq!(list["data"][0]["scopes"], json!(["read"]));
    assert!(list["data"][0]["last_used"].is_string(), "{list}");
    assert!(!list.to_string().contains(&read));
    let path = format!("/apiv1/token/{read_id}");
    assert_eq!(app.delete(&path, Some(&session)).await.0, 200);
    assert_error(&app.get("/apiv1/engines", t).await, 401, "invalid_token");
    let (_, revoked) = app
        .get("/apiv1/events?action=token.revoke", Some(&session))
        .await;
    assert!(!revoked["data"]["events"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn scopes_cover_their_routes_and_owners_bound_them() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, session) = app.user("ann").await;
    let (_bob, bob_session) = app.user("bob").await;
    app.grant(&ann, &["e1"]).await;
    let (run, run_id) = make_token(&app, &session, "ci-run", &["run", "read"]).await;
    let (events, _) = make_token(&app, &session, "audit", &["events"]).await;

    let (status, c) = app.run(&run, sleeper(json!({}))).await;
    assert_eq!(status, 200, "{c}");
    let id = c["data"]["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/apiv1/engine/e1/container/{id}"), Some(&run))
            .await
            .0,
        200
    );
    let (status, page) = app
        .get("/apiv1/events?action=container.schedule", Some(&events))
        .await;
    assert_eq!(status, 200, "{page}");
    // Entries made with a token carry its id.
    let made: Vec<&Value> = page["data"]["events"].as_array().unwrap().iter().collect();
    assert!(!made.is_empty(), "{page}");
    assert!(made.iter().all(|e| e["token"] == json!(run_id)), "{page}");

    // Admin scope is for admins; bob cannot see or revoke ann's tokens.
    let escalate = app
        .post(
            "/apiv1/tokens",
            Some(&session),
            json!({"name": "root", "scopes": ["admin"]}),
        )
        .await;
    assert_error(&escalate, 403, "forbidden");
    let theirs = format!("/apiv1/token/{run_id}");
    assert_error(
        &app.delete(&theirs, Some(&bob_session)).await,
        404,
        "token_not_found",
    );
    let (_, bobs) = app.get("/apiv1/tokens?all=true", Some(&bob_session)).await;
    assert_eq!(bobs["data"], json!([]));
    let (_, all) = app
        .get("/apiv1/tokens?all=true", Some(&app.admin_token))
        .await;
    assert!(all.to_string().contains(&run_id), "{all}");

    // Bad input is named.
    for (body, field) in [
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "a b", "scopes": ["read"]}), "name"),
        (
            json!({"name": "x", "scopes": ["read"], "expires_in_secs": 5}),
            "expires_in_secs",
        ),
        (json!({"name": "x", "scopes": ["root"]}), "scopes"),
    ] {
        let resp = app.post("/apiv1/tokens", Some(&session), body).await;
        assert!(
            assert_error(&resp, 400, "invalid_request").contains(field),
            "{field}"
        );
    }

    // A revoke of the owner ends their API tokens too; so does deleting them.
    let revoke = format!("/apiv1/user/{ann}/revoke");
    assert_eq!(
        app.post(&revoke, Some(&app.admin_token), json!({})).await.0,
        200
    );
    assert_error(
        &app.get("/apiv1/engines", Some(&run)).await,
        401,
        "invalid_token",
    );
    assert_error(
        &app.get("/apiv1/events", Some(&events)).await,
        401,
        "invalid_token",
    );
}

#[tokio::test]
async fn an_admin_token_is_no_more_than_its_owner() {
    let app = TestApp::spawn().await;
    let (admin_token, _) = make_token(&app, &app.admin_token, "ops", &["admin"]).await;
    assert_eq!(app.get("/apiv1/users", Some(&admin_token)).await.0, 200);
    // A second admin makes a token; once deleted, the token is dead.
    let name = app.unique("ops2");
    let body = json!({"username": name, "password": "ops-password-1", "role": "admin"});
    assert_eq!(
        app.post("/apiv1/user", Some(&app.admin_token), body)
            .await
            .0,
        200
    );
    let session = app.login(&name, "ops-password-1").await;
    let (theirs, _) = make_token(&app, &session, "ops", &["admin"]).await;
    assert_eq!(app.get("/apiv1/users", Some(&theirs)).await.0, 200);
    assert_eq!(
        app.delete(&format!("/apiv1/user/{name}"), Some(&app.admin_token))
            .await
            .0,
        200
    );
    assert_error(
        &app.get("/apiv1/users", Some(&theirs)).await,
        401,
        "invalid_token",
    );
}
