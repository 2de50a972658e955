//! Redis over TLS with an ACL user (the test bed's second Redis: TLS only, client certificates
//! required, the default user off; `scripts/testbed.sh`). clementine runs its whole first flow
//! on it, and each wrong setting stops start-up with one sentence naming the setting to fix.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use crate::common::{TestApp, certs_dir, short_id, sleeper, testbed_var, tls_redis_env};
use clementine::config::Settings;
use clementine::startup::Application;

#[tokio::test]
async fn the_first_flow_runs_on_a_tls_redis_as_a_least_privileged_acl_user() {
    let id = short_id();
    let app = TestApp::spawn_env(id.clone(), tls_redis_env(&id)).await;
    app.add_engine(&app.unique("e"), 1, &[]).await;
    let (user, token) = app.user("ann").await;
    app.grant(&user, &[&app.unique("e")]).await;

    // The live tail reads the stream on a connection of its own: over TLS too.
    let mut live = (app.http.get(format!("{}/apiv1/events/stream", app.base)))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);

    let name = app.unique("tls");
    let (status, ran) = app
        .run(&token, sleeper(json!({"container_name": name})))
        .await;
    assert_eq!(status, 200, "{ran}");
    let container = ran["data"]["id"].as_str().unwrap().to_string();
    let engine = ran["data"]["engine"]["id"].as_str().unwrap().to_string();

    let (status, list) = app.get("/apiv1/containers", Some(&token)).await;
    assert_eq!(status, 200, "{list}");
    assert!(list.to_string().contains(&container), "{list}");

    let path = format!("/apiv1/engine/{engine}/container/{container}");
    let (status, gone) = app.delete(&path, Some(&token)).await;
    assert_eq!(status, 200, "{gone}");

    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(&container) {
        match tokio::time::timeout_at(deadline, live.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("the live tail ended or stalled ({other:?}): {seen}"),
        }
    }
    let ops: Vec<String> = (app.all_events().await.iter())
        .filter(|e| e["phase"] == "outcome")
        .map(|e| e["action"].as_str().unwrap_or_default().to_string())
        .collect();
    for action in ["container.schedule", "container.destroy"] {
        assert!(ops.iter().any(|a| a == action), "{action} missing: {ops:?}");
    }
}

/// Builds the application with the TLS environment changed by `change`; its start-up error.
async fn refused(change: impl FnOnce(&mut HashMap<String, String>)) -> String {
    let id = short_id();
    let mut env = tls_redis_env(&id);
    change(&mut env);
    let settings = Settings::load(None, &|k: &str| env.get(k).cloned()).unwrap();
    let started = tokio::time::timeout(Duration::from_secs(20), Application::build(settings))
        .await
        .expect("start-up gives up quickly");
    let error = started.err().expect("start-up is refused").to_string();
    assert!(!error.contains('\n'), "one sentence: {error}");
    error
}

#[tokio::test]
async fn a_missing_password_stops_start_up_naming_the_setting() {
    let error = refused(|env| {
        env.remove("CLEMENTINE_REDIS_USERNAME");
        env.remove("CLEMENTINE_REDIS_PASSWORD");
    })
    .await;
    assert!(error.contains("CLEMENTINE_REDIS_PASSWORD"), "{error}");
}

#[tokio::test]
async fn a_wrong_password_stops_start_up_naming_the_settings() {
    let error = refused(|env| {
        env.insert(
            "CLEMENTINE_REDIS_PASSWORD".into(),
            "not-the-password".into(),
        );
    })
    .await;
    assert!(error.contains("CLEMENTINE_REDIS_PASSWORD"), "{error}");
    assert!(!error.contains("not-the-password"), "{error}");
}

#[tokio::test]
async fn a_wrong_ca_stops_start_up_naming_the_setting() {
    let error = refused(|env| {
        let other = certs_dir().join("other-ca.pem").display().to_string();
        env.insert("CLEMENTINE_REDIS_CA".into(), other);
    })
    .await;
    assert!(error.contains("CLEMENTINE_REDIS_CA"), "{error}");
}

#[tokio::test]
async fn a_user_without_the_needed_commands_stops_start_up_naming_the_setting() {
    let error = refused(|env| {
        env.insert("CLEMENTINE_REDIS_USERNAME".into(), "reader".into());
    })
    .await;
    assert!(error.contains("CLEMENTINE_REDIS_USERNAME"), "{error}");
    assert!(error.contains("SECURITY.md"), "{error}");
}

#[tokio::test]
async fn plain_text_to_the_tls_port_is_refused_without_hanging() {
    let error = refused(|env| {
        let addr = testbed_var("CLEMENTINE_TESTBED_TLS_REDIS", "127.0.0.1:6393");
        env.insert("CLEMENTINE_REDIS_URL".into(), format!("redis://{addr}/"));
        env.remove("CLEMENTINE_REDIS_CA");
        env.remove("CLEMENTINE_REDIS_CLIENT_CERT");
        env.remove("CLEMENTINE_REDIS_CLIENT_KEY");
    })
    .await;
    assert!(error.contains("rediss://"), "{error}");
}
