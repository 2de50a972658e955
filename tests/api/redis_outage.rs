//! Redis that cannot take the intent refuses the action (503) and nothing happens on any engine;
//! after Redis is back the same server works again, without a restart. This test runs a Redis of
//! its own, so stopping it disturbs no other test.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{TestApp, assert_paired, docker, eventually, sleeper};
use serde_json::json;

struct OwnRedis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl OwnRedis {
    fn start(port: u16, dir: &std::path::Path) -> Child {
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "yes",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    fn new() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("clementine-redis-{}", crate::common::short_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Self::start(port, &dir);
        OwnRedis {
            port,
            dir,
            child: Some(child),
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM: a clean shutdown that flushes the append-only file.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    fn restart(&mut self) {
        self.stop();
        self.child = Some(Self::start(self.port, &self.dir));
    }

    fn cli(&self, args: &[&str]) {
        let status = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn containers_of(owner: &str) -> usize {
    docker(1)
        .list_labelled(vec![format!("clementine.owner={owner}")])
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn refused_while_redis_is_out_and_working_again_after() {
    let mut redis = OwnRedis::new();
    let url = redis.url();
    let app = TestApp::spawn_with(|env| {
        env.insert("CLEMENTINE_REDIS_URL".into(), url);
    })
    .await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;
    assert_eq!(app.run(&token, sleeper(json!({}))).await.0, 200);
    assert_eq!(containers_of(&ann).await, 1);

    // Redis answers reads but refuses writes: the intent cannot be written, so nothing runs.
    redis.cli(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
    redis.cli(&["CONFIG", "SET", "maxmemory", "1"]);
    let resp = app.run(&token, sleeper(json!({}))).await;
    assert_eq!(resp.0, 503, "{}", resp.1);
    assert_eq!(resp.1["error"]["code"], "audit_unavailable", "{}", resp.1);
    let destroy_target = app.get("/apiv1/containers", Some(&token)).await.1["data"]["containers"]
        [0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = app
        .delete(
            &format!("/apiv1/engine/e1/container/{destroy_target}"),
            Some(&token),
        )
        .await;
    assert_eq!(
        (resp.0, resp.1["error"]["code"].as_str()),
        (503, Some("audit_unavailable"))
    );
    assert_eq!(
        containers_of(&ann).await,
        1,
        "neither run nor destroy touched the engine"
    );
    redis.cli(&["CONFIG", "SET", "maxmemory", "0"]);

    // Redis gone altogether.
    redis.stop();
    let resp = app.run(&token, sleeper(json!({}))).await;
    assert_eq!(resp.0, 503, "{}", resp.1);
    assert_eq!(app.get("/healthz", None).await.0, 503);
    assert_eq!(containers_of(&ann).await, 1);

    // Back: the same server, the same token.
    redis.restart();
    assert!(
        eventually(20, || async { app.get("/healthz", None).await.0 == 200 }).await,
        "healthz never recovered"
    );
    let mut ok = false;
    for _ in 0..50 {
        if app.run(&token, sleeper(json!({}))).await.0 == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ok, "runs never worked again");
    assert_eq!(containers_of(&ann).await, 2);
    let events = app.all_events().await;
    let ops = assert_paired(&events);
    let schedules = ops
        .values()
        .filter(|(_, o)| o["action"] == "container.schedule" && o["outcome"] == "ok")
        .count();
    assert_eq!(schedules, 2);
    app.cleanup_containers().await;
}
