//! A clementine process of its own for benchmarks that measure it from outside (its resident
//! memory, its CPU): the release binary, started on a free port with a test deployment's
//! settings, logged in as its admin.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::common::{self, short_id, test_env};

pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// VmRSS once two readings a second apart are within 1 % (at most 20 s).
pub async fn settled_rss(pid: u32) -> u64 {
    let mut last = rss_kib(pid);
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = rss_kib(pid);
        if now.abs_diff(last) * 100 <= last {
            return now;
        }
        last = now;
    }
    last
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub prefix: String,
    /// The admin's username (the password is `common::ADMIN_PASSWORD`).
    pub admin: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Started with `change` made to its settings first.
    pub async fn start_with(
        change: impl FnOnce(&mut std::collections::HashMap<String, String>),
    ) -> Self {
        let id = short_id();
        let mut env = test_env(&id);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        env.insert("CLEMENTINE_LISTEN".into(), format!("127.0.0.1:{port}"));
        env.insert("CLEMENTINE_MONITOR_INTERVAL_MS".into(), "2000".into());
        change(&mut env);
        // `CLEMENTINE_BIN` runs another build (an earlier commit's, for paired figures).
        let bin = std::env::var("CLEMENTINE_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_clementine").to_string());
        let child = Command::new(bin)
            .envs(&env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if http.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let login =
            json!({"username": env["CLEMENTINE_ADMIN_USER"], "password": common::ADMIN_PASSWORD});
        let answer: Value = http
            .post(format!("{base}/apiv1/login"))
            .json(&login)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = answer["data"]["token"].as_str().unwrap().to_string();
        let prefix = env["CLEMENTINE_KEY_PREFIX"].clone();
        let admin = env["CLEMENTINE_ADMIN_USER"].clone();
        Self {
            child,
            base,
            http,
            token,
            prefix,
            admin,
        }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = (self.http)
            .request(method, format!("{}/apiv1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let answer = req.send().await.unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap()
    }
}
