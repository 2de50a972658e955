//! Registry credentials per tenant, against the test bed's private registry (basic auth):
//! the owner's credentials pull, wrong ones and none fail with 4xx naming the registry, another
//! tenant never pulls with them, shared ones serve everyone, and the password shows up nowhere.

use serde_json::{Value, json};

use crate::common::{TestApp, assert_error, private_registry, stream_entries};

/// A run of the private image on engine `i`'s id, pulled every time.
fn private_run(server: &str, engine: &str) -> Value {
    json!({"name": format!("{server}/clementine/private:1"), "args": ["sleep", "600"],
           "cpus": 0.05, "memory": 8, "type": "host", "labels": [format!("host:{engine}")],
           "pull": "always"})
}

#[tokio::test]
async fn credentials_serve_their_owner_and_no_one_else() {
    let app = TestApp::spawn_with(|env| {
        let (server, _, _) = private_registry();
        let registries = format!("{},{server}", env["CLEMENTINE_PULL_REGISTRIES"]);
        env.insert("CLEMENTINE_PULL_REGISTRIES".into(), registries);
    })
    .await;
    app.add_engine("e3", 3, &[]).await;
    let (ann, ann_token) = app.user("ann").await;
    let (bob, bob_token) = app.user("bob").await;
    app.grant(&ann, &["e3"]).await;
    app.grant(&bob, &["e3"]).await;
    let (server, user, password) = private_registry();

    // Without credentials, and with wrong ones: 422 naming the registry; no claim kept.
    let refused = app.run(&ann_token, private_run(&server, "e3")).await;
    assert!(assert_error(&refused, 422, "registry_unauthorized").contains(&server));
    let wrong = json!({"server": server, "username": user, "password": "not-the-password"});
    let (status, wrong_creds) = app.post("/apiv1/registry", Some(&ann_token), wrong).await;
    assert_eq!(status, 200, "{wrong_creds}");
    assert_error(
        &app.run(&ann_token, private_run(&server, "e3")).await,
        422,
        "registry_unauthorized",
    );
    let path = format!(
        "/apiv1/registry/{}",
        wrong_creds["data"]["id"].as_str().unwrap()
    );
    assert_eq!(app.delete(&path, Some(&ann_token)).await.0, 200);

    // The owner's own credentials pull.
    let good = json!({"server": server, "username": user, "password": password});
    let (status, stored) = app
        .post("/apiv1/registry", Some(&ann_token), good.clone())
        .await;
    assert_eq!(status, 200, "{stored}");
    assert!(!stored.to_string().contains(&password));
    let (status, ran) = app.run(&ann_token, private_run(&server, "e3")).await;
    assert_eq!(status, 200, "{ran}");
    // Bob names the same private image: ann's credentials are not his.
    assert_error(
        &app.run(&bob_token, private_run(&server, "e3")).await,
        422,
        "registry_unauthorized",
    );
    let (_, bobs) = app.get("/apiv1/registries", Some(&bob_token)).await;
    assert_eq!(bobs["data"], json!([]));
    // Only admins share; shared credentials serve everyone.
    let shared = json!({"server": server, "username": user, "password": password, "shared": true});
    assert_error(
        &app.post("/apiv1/registry", Some(&bob_token), shared.clone())
            .await,
        403,
        "forbidden",
    );
    let (status, _) = app
        .post("/apiv1/registry", Some(&app.admin_token), shared)
        .await;
    assert_eq!(status, 200);
    let (status, bob_ran) = app.run(&bob_token, private_run(&server, "e3")).await;
    assert_eq!(status, 200, "{bob_ran}");

    // The password is in no answer, no audit entry, and not in Redis in clear.
    let (_, listed) = app.get("/apiv1/registries", Some(&app.admin_token)).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2, "{listed}");
    assert!(!listed.to_string().contains(&password));
    let stream: String = stream_entries(&app.prefix)
        .await
        .into_iter()
        .flatten()
        .map(|(_, v)| v)
        .collect();
    assert!(!stream.contains(&password));
    let mut redis = app.redis().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}registry:*", app.prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "the credentials are stored");
    for key in keys {
        let fields: Vec<String> = redis::cmd("HVALS")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(
            fields.iter().all(|f| !f.contains(&password)),
            "{key} holds the password"
        );
    }
    let (_, audit) = app
        .get("/apiv1/events?action=registry.", Some(&app.admin_token))
        .await;
    assert!(audit["data"]["events"].as_array().unwrap().len() >= 6);
    app.cleanup_containers().await;
}

#[tokio::test]
async fn stored_credentials_need_the_key_to_start() {
    let app = TestApp::spawn().await;
    let creds = json!({"server": private_registry().0, "username": "u", "password": "p-secret"});
    assert_eq!(
        app.post("/apiv1/registry", Some(&app.admin_token), creds)
            .await
            .0,
        200
    );
    let mut env = crate::common::test_env(&app.id);
    env.remove("CLEMENTINE_SECRETS_KEY");
    let settings =
        clementine::config::Settings::load(None, &|k: &str| env.get(k).cloned()).unwrap();
    let refused = clementine::startup::Application::build(settings).await;
    let sentence = refused.err().expect("start-up refused").to_string();
    assert!(sentence.contains("CLEMENTINE_SECRETS_KEY"), "{sentence}");
}

/// The real binary at debug level: storing and using credentials writes the password nowhere in
/// its log.
#[tokio::test]
async fn the_password_is_never_logged() {
    let (server, user, password) = private_registry();
    let app = crate::cli::LoggedServer::start("debug", |env| {
        let registries = format!("{},{server}", env["CLEMENTINE_PULL_REGISTRIES"]);
        env.insert("CLEMENTINE_PULL_REGISTRIES".into(), registries);
    })
    .await;
    let (base, token) = (&app.base, app.admin_token().await);
    let http = reqwest::Client::new();
    let call = |path: &str, body: Value| {
        http.post(format!("{base}/apiv1{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let engine = json!({"id": "e3", "addr": crate::common::engine_addr(3)});
    assert_eq!(call("/engine", engine).await.unwrap().status(), 200);
    let creds = json!({"server": server, "username": user, "password": password});
    assert_eq!(call("/registry", creds).await.unwrap().status(), 200);
    let ran = call("/container", private_run(&server, "e3"))
        .await
        .unwrap();
    assert_eq!(ran.status(), 200);
    let ran: Value = ran.json().await.unwrap();
    let text = app.log_text();
    assert!(
        text.contains("image.pull") || text.contains("container started"),
        "the log was written"
    );
    assert!(
        !text.contains(&password),
        "the registry password is in the log"
    );
    let cid = ran["data"]["id"].as_str().unwrap();
    crate::common::docker(3).remove(cid).await.unwrap();
}

#[tokio::test]
async fn only_shared_credentials_name_a_host_local_registry() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user("ann").await;
    for server in [
        "127.0.0.1:5001",
        "localhost:5000",
        "127.9.0.1",
        "0.0.0.0:5000",
        "::1",
    ] {
        let creds = json!({"server": server, "username": "u", "password": "p-secret"});
        for caller in [&token, &app.admin_token] {
            let refused = app
                .post("/apiv1/registry", Some(caller), creds.clone())
                .await;
            let message = assert_error(&refused, 403, "option_not_allowed");
            assert!(message.starts_with("server:"), "{message}");
        }
    }
    let shared = json!({"server": "127.0.0.1:5001", "username": "u", "password": "p-secret",
                        "shared": true});
    let (status, body) = app
        .post("/apiv1/registry", Some(&app.admin_token), shared)
        .await;
    assert_eq!(status, 200, "{body}");
}
