//! Backup and restore of a deployment: back up, wipe every key, restore into the empty
//! deployment, and a new server finds everything as it was: logins, API tokens, private pulls
//! with the sealed credentials, and the replay pass sees the same container, no orphan.

use redis::AsyncCommands;
use serde_json::json;

use crate::common::{TestApp, private_registry, short_id, test_env};

fn cli(env: &std::collections::HashMap<String, String>, args: &[&str]) -> (bool, String) {
    let out = (crate::cli::clementine())
        .envs(env)
        .args(args)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.success(),
        said + &String::from_utf8_lossy(&out.stderr),
    )
}

fn private_run(server: &str) -> serde_json::Value {
    json!({"name": format!("{server}/clementine/private:1"), "args": ["sleep", "600"],
           "cpus": 0.05, "memory": 8, "type": "host", "labels": ["host:e3"], "pull": "always"})
}

#[tokio::test]
async fn back_up_wipe_restore_and_everything_works_again() {
    let (server, user, password) = private_registry();
    let id = short_id();
    let mut env = test_env(&id);
    let registries = format!("{},{server}", env["CLEMENTINE_PULL_REGISTRIES"]);
    env.insert("CLEMENTINE_PULL_REGISTRIES".into(), registries);
    let app = TestApp::spawn_env(id.clone(), env.clone()).await;
    app.add_engine("e3", 3, &[]).await;
    let (ann, ann_token) = app.user("ann").await;
    app.grant(&ann, &["e3"]).await;
    let body = json!({"name": "ci", "scopes": ["read", "run"]});
    let (status, minted) = app.post("/apiv1/tokens", Some(&ann_token), body).await;
    assert_eq!(status, 200, "{minted}");
    let api_token = minted["data"]["token"].as_str().unwrap().to_string();
    let creds = json!({"server": server, "username": user, "password": password});
    assert_eq!(
        app.post("/apiv1/registry", Some(&ann_token), creds).await.0,
        200
    );
    let (status, ran) = app.run(&ann_token, private_run(&server)).await;
    assert_eq!(status, 200, "{ran}");
    app.cluster.audit().flush().await;

    let file = std::env::temp_dir().join(format!("clm-backup-{id}.json"));
    let (ok, said) = cli(&env, &["backup", file.to_str().unwrap()]);
    assert!(ok, "{said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the backup is readable by its owner only");
    }
    assert!(!std::fs::read_to_string(&file).unwrap().contains(&password));
    drop(app);
    // Its background tasks stop at their next turn.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // Wipe the deployment.
    let mut redis = app_redis().await;
    let keys: Vec<String> = redis.keys(format!("test:{id}:*")).await.unwrap();
    let _: () = redis.del(&keys).await.unwrap();

    let (ok, said) = cli(&env, &["restore", file.to_str().unwrap()]);
    assert!(ok, "{said}");
    let (ok, said) = cli(&env, &["restore", file.to_str().unwrap()]);
    assert!(!ok && said.contains("already holds keys"), "{said}");
    let (ok, said) = cli(&env, &["restore", "--force", file.to_str().unwrap()]);
    assert!(ok, "{said}");

    let app = TestApp::spawn_env(id, env).await;
    let again = app.login(&ann, "user-password-1").await;
    assert_eq!(app.get("/apiv1/me", Some(&api_token)).await.0, 200);
    let (status, ran_again) = app.run(&again, private_run(&server)).await;
    assert_eq!(
        status, 200,
        "a private pull with the restored credentials: {ran_again}"
    );
    let (status, plan) = app
        .post("/apiv1/replay", Some(&app.admin_token), json!({}))
        .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["data"]["missing"], json!([]), "{plan}");
    assert_eq!(plan["data"]["orphans"], json!([]), "{plan}");
    assert_eq!(plan["data"]["present"], json!(2), "{plan}");
    app.cleanup_containers().await;
    let _ = std::fs::remove_file(&file);
}

async fn app_redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(crate::common::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}
