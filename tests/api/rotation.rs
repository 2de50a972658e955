//! Keys rotated without a restart: SIGHUP re-reads the JWT secrets, the secrets key and the
//! engines' client certificate from their files while a live stream stays open, and
//! `clementine secrets rotate` re-seals stored credentials so that private pulls keep working
//! through the whole rotation. (nextest runs each test in a process of its own, so the signal
//! reaches only this test's server.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::clementine;
use crate::common::{TestApp, certs_dir, engine_addr, private_registry, short_id, test_env};

fn hang_up() {
    let pid = std::process::id().to_string();
    let sent = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(sent.success());
}

/// Polls `check` for up to five seconds (SIGHUP is handled on a task of its own).
async fn soon<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..50 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clm-rotation-{}", short_id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `openssl` (Debian's): a client certificate signed by the test bed's unrelated CA, which the
/// engines do not trust, into `dir` as `stranger-cert.pem` and `stranger-key.pem`.
fn stranger_certificate(dir: &Path) {
    let certs = certs_dir();
    let ext = dir.join("client.ext");
    std::fs::write(&ext, "extendedKeyUsage=clientAuth\n").unwrap();
    let run = |args: &[&str]| {
        let out = (Command::new("openssl").args(args).current_dir(dir))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "openssl {args:?}: {stderr}");
    };
    let (ca, ca_key) = (certs.join("other-ca.pem"), certs.join("other-ca-key.pem"));
    let (ca, ca_key) = (ca.to_str().unwrap(), ca_key.to_str().unwrap());
    run(&[
        "req",
        "-new",
        "-nodes",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-keyout",
        "stranger-key.pem",
        "-subj",
        "/CN=stranger",
        "-out",
        "stranger.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "stranger.csr",
        "-CA",
        ca,
        "-CAkey",
        ca_key,
        "-set_serial",
        "77",
        "-days",
        "1",
        "-extfile",
        ext.to_str().unwrap(),
        "-out",
        "stranger-cert.pem",
    ]);
}

async fn status_of_me(app: &TestApp, token: &str) -> u16 {
    app.get("/apiv1/me", Some(token)).await.0
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn sighup_rereads_the_jwt_secrets_and_the_engines_client_certificate() {
    let dir = scratch();
    let file = |name: &str| dir.join(name).display().to_string();
    let (old, new) = ("o".repeat(40), "n".repeat(40));
    std::fs::write(dir.join("jwt"), &old).unwrap();
    std::fs::write(dir.join("jwt-previous"), "").unwrap();
    stranger_certificate(&dir);
    std::fs::copy(dir.join("stranger-cert.pem"), dir.join("cert.pem")).unwrap();
    std::fs::copy(dir.join("stranger-key.pem"), dir.join("key.pem")).unwrap();
    let app = TestApp::spawn_with(|env| {
        env.remove("CLEMENTINE_JWT_SECRET");
        env.insert("CLEMENTINE_JWT_SECRET_FILE".into(), file("jwt"));
        env.insert(
            "CLEMENTINE_JWT_PREVIOUS_SECRET_FILE".into(),
            file("jwt-previous"),
        );
        env.insert("CLEMENTINE_TLS_CERT".into(), file("cert.pem"));
        env.insert("CLEMENTINE_TLS_KEY".into(), file("key.pem"));
    })
    .await;
    let before = app.admin_token.clone();
    let mut live = (app.http.get(format!("{}/apiv1/events/stream", app.base)))
        .bearer_auth(&before)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);

    // The engine refuses a client certificate of another CA.
    let engine = json!({"id": "e1", "addr": engine_addr(1)});
    let (status, refused) = app
        .post("/apiv1/engine", Some(&before), engine.clone())
        .await;
    assert_ne!(status, 200, "{refused}");

    // Rotate: the right certificate, a new JWT secret, the old one kept as the previous.
    std::fs::copy(certs_dir().join("client-cert.pem"), dir.join("cert.pem")).unwrap();
    std::fs::copy(certs_dir().join("client-key.pem"), dir.join("key.pem")).unwrap();
    std::fs::write(dir.join("jwt"), &new).unwrap();
    std::fs::write(dir.join("jwt-previous"), &old).unwrap();
    hang_up();
    let added = soon(|| async {
        app.post("/apiv1/engine", Some(&before), engine.clone())
            .await
            .0
            == 200
    })
    .await;
    assert!(
        added,
        "the engine is reached with the new certificate, no restart"
    );
    assert_eq!(
        status_of_me(&app, &before).await,
        200,
        "old tokens stay good"
    );
    let after = app.login(&app.admin, crate::common::ADMIN_PASSWORD).await;
    assert_ne!(kid(&after), kid(&before), "new tokens name the new key");

    // Drop the previous secret: tokens it signed stop working, new ones go on.
    std::fs::write(dir.join("jwt-previous"), "").unwrap();
    hang_up();
    assert!(soon(|| async { status_of_me(&app, &before).await == 401 }).await);
    assert_eq!(status_of_me(&app, &after).await, 200);

    // A broken file keeps every old key.
    std::fs::write(dir.join("cert.pem"), "not a certificate").unwrap();
    hang_up();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status_of_me(&app, &after).await, 200);

    // The stream opened before all this still delivers (the engine's addition, at least).
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("engine.add") {
        match tokio::time::timeout_at(deadline, live.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("the live stream ended or stalled ({other:?}): {seen}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run of the private image on engine e3, pulled every time.
fn private_run(server: &str) -> Value {
    json!({"name": format!("{server}/clementine/private:1"), "args": ["sleep", "600"],
           "cpus": 0.05, "memory": 8, "type": "host", "labels": ["host:e3"], "pull": "always"})
}

/// `clementine secrets rotate` against this app's Redis and prefix, with these keys.
fn rotate(env: &HashMap<String, String>, key: &str, previous: &str) -> String {
    let out = clementine()
        .envs(
            env.iter()
                .filter(|(k, _)| !k.starts_with("CLEMENTINE_SECRETS_")),
        )
        .env("CLEMENTINE_SECRETS_KEY", key)
        .env("CLEMENTINE_SECRETS_PREVIOUS_KEY", previous)
        .env("CLEMENTINE_LISTEN", "127.0.0.1:0")
        .env_remove("CLEMENTINE_ADMIN_USER")
        .env_remove("CLEMENTINE_ADMIN_PASSWORD")
        .args(["secrets", "rotate"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    stdout
}

#[tokio::test]
async fn secrets_rotate_keeps_every_private_pull_working() {
    let dir = scratch();
    let file = |name: &str| dir.join(name).display().to_string();
    let (old, new) = ("k".repeat(40), "m".repeat(40));
    std::fs::write(dir.join("key"), &old).unwrap();
    std::fs::write(dir.join("key-previous"), "").unwrap();
    let (server, user, password) = private_registry();
    let id = short_id();
    let mut env = test_env(&id);
    let registries = format!("{},{server}", env["CLEMENTINE_PULL_REGISTRIES"]);
    env.insert("CLEMENTINE_PULL_REGISTRIES".into(), registries);
    env.remove("CLEMENTINE_SECRETS_KEY");
    env.insert("CLEMENTINE_SECRETS_KEY_FILE".into(), file("key"));
    env.insert(
        "CLEMENTINE_SECRETS_PREVIOUS_KEY_FILE".into(),
        file("key-previous"),
    );
    let app = TestApp::spawn_env(id, env.clone()).await;
    app.add_engine("e3", 3, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e3"]).await;
    let creds = json!({"server": server, "username": user, "password": password});
    assert_eq!(
        app.post("/apiv1/registry", Some(&token), creds).await.0,
        200
    );
    let pulls = || async { app.run(&token, private_run(&server)).await.0 == 200 };
    assert!(pulls().await, "pulls before the rotation");

    // Every replica takes the new key and keeps the old one as the previous.
    std::fs::write(dir.join("key"), &new).unwrap();
    std::fs::write(dir.join("key-previous"), &old).unwrap();
    hang_up();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        pulls().await,
        "pulls with the credential still under the old key"
    );

    let first = rotate(&env, &new, &old);
    assert!(first.contains("re-sealed 1 credential(s)"), "{first}");
    let again = rotate(&env, &new, &old);
    assert!(
        again.contains("re-sealed 0 credential(s); 1 already"),
        "{again}"
    );

    // The old key goes: the re-sealed credential opens with the new one alone.
    std::fs::write(dir.join("key-previous"), "").unwrap();
    hang_up();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(pulls().await, "pulls after the old key is gone");

    let rotations: Vec<Value> = (app.all_events().await.into_iter())
        .filter(|e| e["action"] == "secrets.rotate" && e["phase"] == "outcome")
        .collect();
    assert_eq!(rotations.len(), 2, "{rotations:?}");
    assert!(!format!("{rotations:?}").contains(&password));
    app.cleanup_containers().await;
    let _ = std::fs::remove_dir_all(&dir);
}
