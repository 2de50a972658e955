//! The `clementine` binary: help, config errors, `user add`, `migrate`, `openapi`, and serving
//! from the environment alone or from `-conf=FILE`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{ADMIN_PASSWORD, TestApp, short_id, test_env};

pub(crate) fn clementine() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clementine"));
    // Only what each test sets reaches the binary.
    for (k, _) in std::env::vars() {
        if k.starts_with("CLEMENTINE_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn help_lists_the_commands() {
    let out = clementine().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["--conf", "user", "migrate", "openapi", "CLEMENTINE_"] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
}

#[test]
fn openapi_prints_the_spec() {
    let out = clementine().arg("openapi").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        clementine::api::spec_json().trim()
    );
}

#[test]
fn config_errors_are_one_clear_sentence() {
    let out = clementine()
        .arg("-conf=/nonexistent/config.json")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read config file /nonexistent/config.json"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let env = test_env(&short_id());
    let out = clementine()
        .envs(env.iter().filter(|(k, _)| *k != "CLEMENTINE_JWT_SECRET"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("jwt.secret is missing"), "{err}");
    assert!(!err.contains(ADMIN_PASSWORD));

    let bad = std::env::temp_dir().join(format!("bad-{}.json", short_id()));
    std::fs::write(&bad, "{\"listen\": 5}").unwrap();
    let out = clementine().arg("--conf").arg(&bad).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not valid") && err.contains("listen"),
        "{err}"
    );
    std::fs::remove_file(bad).ok();
}

#[tokio::test]
async fn user_add_and_migrate() {
    let id = short_id();
    let env = test_env(&id);
    let store_env: Vec<_> = env
        .iter()
        .filter(|(k, _)| *k == "CLEMENTINE_REDIS_URL" || *k == "CLEMENTINE_KEY_PREFIX")
        .collect();

    let out = clementine()
        .envs(store_env.clone())
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("applied 0001_initial"));
    let out = clementine()
        .envs(store_env.clone())
        .arg("migrate")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));

    // `user add` goes through the cluster like the API does, so it reads the whole config.
    let mut cli_env = env.clone();
    cli_env.remove("CLEMENTINE_ADMIN_USER");
    cli_env.remove("CLEMENTINE_ADMIN_PASSWORD");
    let add = |name: &str, password: &str| {
        let mut child = clementine()
            .envs(cli_env.clone())
            .args(["user", "add", "--admin", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = add("root", "root-password-1");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = add("root", "root-password-1");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = add("weak", "short");
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));

    // The server on the same prefix accepts the CLI-made admin (and makes no bootstrap admin,
    // since a user exists).
    let mut env = env.clone();
    env.remove("CLEMENTINE_ADMIN_USER");
    env.remove("CLEMENTINE_ADMIN_PASSWORD");
    let app = TestApp::spawn_env(id, env).await;
    let token = app.login("root", "root-password-1").await;
    let (status, me) = app.get("/apiv1/me", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(me["data"]["role"], "admin");
    // Audited as the CLI operator: the creation, and the refused duplicate.
    let (_, events) = app
        .get("/apiv1/events?action=user.create&order=asc", Some(&token))
        .await;
    let entries = events["data"]["events"].as_array().unwrap();
    let outcomes: Vec<_> = entries.iter().filter(|e| e["phase"] == "outcome").collect();
    assert_eq!(outcomes.len(), 2, "{events}");
    assert!(
        outcomes
            .iter()
            .all(|e| e["actor"] == "clementine-cli" && e["role"] == "admin")
    );
    assert_eq!(outcomes[0]["outcome"], "ok");
    assert_eq!(outcomes[1]["outcome"], "error");
}

pub(crate) struct Killed(pub std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real binary serving on a free port, its log (at `rust_log` level) written to a file.
pub(crate) struct LoggedServer {
    pub base: String,
    pub env: std::collections::HashMap<String, String>,
    pub log: std::path::PathBuf,
    _child: Killed,
}

impl LoggedServer {
    /// Starts it with the test environment, changed by `change`, and waits until it is healthy.
    pub async fn start(
        rust_log: &str,
        change: impl FnOnce(&mut std::collections::HashMap<String, String>),
    ) -> Self {
        let mut env = test_env(&short_id());
        change(&mut env);
        Self::start_env(rust_log, env).await
    }

    /// Starts it with exactly `env` (listening on a free port), and waits until it is healthy.
    /// Two started with one `env` share a deployment.
    pub async fn start_env(
        rust_log: &str,
        mut env: std::collections::HashMap<String, String>,
    ) -> Self {
        let port = free_port();
        env.insert("CLEMENTINE_LISTEN".into(), format!("127.0.0.1:{port}"));
        let log = std::env::temp_dir().join(format!("clementine-{}-{port}.log", short_id()));
        let child = clementine()
            .envs(&env)
            .env("RUST_LOG", rust_log)
            .stderr(std::fs::File::create(&log).unwrap())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let server = Self {
            base,
            env,
            log,
            _child: Killed(child),
        };
        assert!(wait_healthy(&server.base).await, "server did not come up");
        server
    }

    /// A login token of the first admin.
    pub async fn admin_token(&self) -> String {
        let login = serde_json::json!({"username": self.env["CLEMENTINE_ADMIN_USER"],
                                       "password": ADMIN_PASSWORD});
        let answer: serde_json::Value = (reqwest::Client::new())
            .post(format!("{}/apiv1/login", self.base))
            .json(&login)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["data"]["token"].as_str().unwrap().to_string()
    }

    /// What it has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        std::fs::remove_file(&self.log).ok();
    }
}

pub(crate) async fn wait_healthy(base: &str) -> bool {
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await
            && r.status() == 200
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn serves_from_the_environment_alone() {
    let port = free_port();
    let mut env = test_env(&short_id());
    env.insert("CLEMENTINE_LISTEN".into(), format!("127.0.0.1:{port}"));
    let _child = Killed(
        clementine()
            .envs(&env)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    assert!(wait_healthy(&base).await, "server did not come up");
    let resp = reqwest::Client::new()
        .post(format!("{base}/apiv1/login"))
        .body(format!(
            r#"{{"username":"{}","password":"{ADMIN_PASSWORD}"}}"#,
            env["CLEMENTINE_ADMIN_USER"]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn serves_from_a_config_file_in_the_seed_spelling() {
    let port = free_port();
    let id = short_id();
    let env = test_env(&id);
    let secret_file = std::env::temp_dir().join(format!("secret-{id}"));
    std::fs::write(&secret_file, "s".repeat(40)).unwrap();
    let conf = serde_json::json!({
        "listen": format!("127.0.0.1:{port}"),
        "redis_url": env["CLEMENTINE_REDIS_URL"],
        "key_prefix": env["CLEMENTINE_KEY_PREFIX"],
        "tls": {"ca": env["CLEMENTINE_TLS_CA"], "cert": env["CLEMENTINE_TLS_CERT"], "key": env["CLEMENTINE_TLS_KEY"]},
        "jwt": {"secret_file": secret_file, "ttl_secs": 120},
        "monitor_interval_ms": 1000
    });
    let path = std::env::temp_dir().join(format!("conf-{id}.json"));
    std::fs::write(&path, conf.to_string()).unwrap();
    let _child = Killed(
        clementine()
            .arg(format!("-conf={}", path.display()))
            .env("CLEMENTINE_ADMIN_USER", "boss")
            .env("CLEMENTINE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    assert!(wait_healthy(&base).await, "server did not come up");
    let resp = reqwest::Client::new()
        .post(format!("{base}/apiv1/login"))
        .body(format!(
            r#"{{"username":"boss","password":"{ADMIN_PASSWORD}"}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    std::fs::remove_file(path).ok();
    std::fs::remove_file(secret_file).ok();
}
