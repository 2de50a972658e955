//! Test harness: spawns clementine in-process on a random port with its own Redis key prefix,
//! against the real Redis and TLS engines of `scripts/testbed.sh`.
//!
//! Engines 1-3 are shared by every test, so tests keep apart by data: each app has its own key
//! prefix, and usernames and container names carry a per-test suffix ([`TestApp::unique`]).
//! Tests that stop an engine use one of their own (4-8) via [`testbed`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clementine::config::{Settings, TlsFiles};
use clementine::engine::{EngineClient, EnginePool};
use clementine::startup::Application;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const ADMIN_PASSWORD: &str = "admin-password-123";

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_or(name: &str, default: impl FnOnce() -> String) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(default)
}

pub fn certs_dir() -> PathBuf {
    PathBuf::from(env_or("CLEMENTINE_TESTBED_CERTS", || {
        root().join(".testbed/certs").display().to_string()
    }))
}

pub fn redis_url() -> String {
    env_or("CLEMENTINE_REDIS_URL", || "redis://127.0.0.1:6390/".into())
}

/// `https://127.0.0.(10+i):2376`, the address of test-bed engine `i`.
pub fn engine_addr(i: u8) -> String {
    format!("https://127.0.0.{}:2376", 10 + i)
}

/// The loopback address engine `i` publishes ports on.
pub fn engine_ip(i: u8) -> String {
    format!("127.0.0.{}", 10 + i)
}

pub fn tls_files() -> TlsFiles {
    let dir = certs_dir();
    TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("client-cert.pem"),
        key: dir.join("client-key.pem"),
    }
}

/// A direct bollard client for test-bed engine `i`, for arranging and checking state behind
/// clementine's back.
pub fn docker(i: u8) -> EngineClient {
    let pool = EnginePool::new(
        &tls_files(),
        Duration::from_secs(10),
        Duration::from_secs(120),
        Default::default(),
    )
    .unwrap();
    pool.detached(&format!("direct-{i}"), &engine_addr(i))
}

/// Runs `scripts/testbed.sh ARGS` (start-engine N, stop-engine N ...).
pub fn testbed(args: &[&str]) {
    let status = std::process::Command::new(root().join("scripts/testbed.sh"))
        .args(args)
        .status()
        .expect("run scripts/testbed.sh");
    assert!(status.success(), "scripts/testbed.sh {args:?} failed");
}

/// A running clementine.
pub struct TestApp {
    pub base: String,
    /// The Docker API listener, `host:port`.
    pub docker: String,
    pub prefix: String,
    pub id: String,
    pub admin: String,
    pub admin_token: String,
    pub http: reqwest::Client,
    pub settings: Settings,
    pub cluster: Arc<clementine::cluster::Cluster>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The environment a test app is configured from; tests may change it before spawning.
pub fn test_env(id: &str) -> HashMap<String, String> {
    let certs = certs_dir();
    let mut env = HashMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("CLEMENTINE_LISTEN", "127.0.0.1:0".into());
    set("CLEMENTINE_DOCKER_LISTEN", "127.0.0.1:0".into());
    set("CLEMENTINE_REDIS_URL", redis_url());
    set("CLEMENTINE_KEY_PREFIX", format!("test:{id}:"));
    set(
        "CLEMENTINE_TLS_CA",
        certs.join("ca.pem").display().to_string(),
    );
    set(
        "CLEMENTINE_TLS_CERT",
        certs.join("client-cert.pem").display().to_string(),
    );
    set(
        "CLEMENTINE_TLS_KEY",
        certs.join("client-key.pem").display().to_string(),
    );
    set(
        "CLEMENTINE_JWT_SECRET",
        format!("test-secret-{id}-0123456789abcdef0123456789"),
    );
    set("CLEMENTINE_MONITOR_INTERVAL_MS", "300".into());
    // Generous: on two busy cores a first create with a volume has taken over 3 s.
    set("CLEMENTINE_ENGINE_TIMEOUT_MS", "5000".into());
    set("CLEMENTINE_ADMIN_USER", format!("admin-{id}"));
    set("CLEMENTINE_ADMIN_PASSWORD", ADMIN_PASSWORD.into());
    set("CLEMENTINE_MAX_BODY_BYTES", "65536".into());
    set(
        "CLEMENTINE_SECRETS_KEY",
        format!("test-secrets-{id}-0123456789abcdef0123"),
    );
    // Engines pull only from the test bed's registry (and a port where none listens), never
    // from outside this machine.
    let registry = env_or("CLEMENTINE_TESTBED_REGISTRY", || "127.0.0.1:5000".into());
    set(
        "CLEMENTINE_PULL_REGISTRIES",
        format!("{registry},127.0.0.1:5999"),
    );
    env
}

pub fn testbed_var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.into())
}

/// The test environment pointed at the test bed's TLS Redis as the `clementine` ACL user.
pub fn tls_redis_env(id: &str) -> HashMap<String, String> {
    let mut env = test_env(id);
    let certs = certs_dir();
    let path = |file: &str| certs.join(file).display().to_string();
    let addr = testbed_var("CLEMENTINE_TESTBED_TLS_REDIS", "127.0.0.1:6393");
    env.insert("CLEMENTINE_REDIS_URL".into(), format!("rediss://{addr}/"));
    env.insert("CLEMENTINE_REDIS_CA".into(), path("ca.pem"));
    env.insert(
        "CLEMENTINE_REDIS_CLIENT_CERT".into(),
        path("client-cert.pem"),
    );
    env.insert("CLEMENTINE_REDIS_CLIENT_KEY".into(), path("client-key.pem"));
    let user = testbed_var("CLEMENTINE_TESTBED_REDIS_USER", "clementine");
    env.insert("CLEMENTINE_REDIS_USERNAME".into(), user);
    let password = testbed_var(
        "CLEMENTINE_TESTBED_REDIS_PASSWORD",
        "clementine-redis-password-1",
    );
    env.insert("CLEMENTINE_REDIS_PASSWORD".into(), password);
    env
}

pub fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_string()
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with a changed environment.
    pub async fn spawn_with(change: impl FnOnce(&mut HashMap<String, String>)) -> Self {
        let id = short_id();
        let mut env = test_env(&id);
        change(&mut env);
        Self::spawn_env(id, env).await
    }

    pub async fn spawn_env(id: String, env: HashMap<String, String>) -> Self {
        let env = Arc::new(env);
        let lookup = move |k: &str| env.get(k).cloned();
        let settings = Settings::load(None, &lookup).expect("test settings");
        let app = Application::build(settings.clone())
            .await
            .expect("the test bed is up (scripts/testbed.sh up)")
            .reloading_with(Arc::new(move || Settings::load(None, &lookup)));
        let base = format!("http://{}", app.addr());
        let docker = app.docker_addr().map(|a| a.to_string()).unwrap_or_default();
        let cluster = app.cluster();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let admin = lookup_admin(&settings);
        let mut app = TestApp {
            base,
            docker,
            prefix: settings.store.key_prefix.clone(),
            id,
            admin: admin.clone(),
            admin_token: String::new(),
            http,
            settings,
            cluster,
            stop: Some(stop),
        };
        if !admin.is_empty() {
            app.admin_token = app.login(&admin, ADMIN_PASSWORD).await;
        }
        app
    }

    /// A name unique to this test (for users and containers on the shared engines).
    pub fn unique(&self, name: &str) -> String {
        format!("{name}-{}", self.id)
    }

    pub async fn login(&self, user: &str, password: &str) -> String {
        let (status, body) = self
            .post(
                "/apiv1/login",
                None,
                json!({"username": user, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "login {user}: {body}");
        body["data"]["token"].as_str().unwrap().to_string()
    }

    /// Creates a user (role `user`) and logs in; returns the username and token.
    pub async fn user(&self, name: &str) -> (String, String) {
        let username = self.unique(name);
        let (status, body) = self
            .post(
                "/apiv1/user",
                Some(&self.admin_token),
                json!({"username": username, "password": "user-password-1"}),
            )
            .await;
        assert_eq!(status, 200, "create user: {body}");
        let token = self.login(&username, "user-password-1").await;
        (username, token)
    }

    /// Adds test-bed engine `i` under id `id`; returns the engine JSON.
    pub async fn add_engine(&self, id: &str, i: u8, labels: &[&str]) -> Value {
        let (status, body) = self
            .post(
                "/apiv1/engine",
                Some(&self.admin_token),
                json!({"id": id, "addr": engine_addr(i), "labels": labels}),
            )
            .await;
        assert_eq!(status, 200, "add engine {id}: {body}");
        body["data"].clone()
    }

    pub async fn grant(&self, user: &str, engines: &[&str]) {
        let (status, body) = self
            .put(
                &format!("/apiv1/user/{user}/engines"),
                Some(&self.admin_token),
                json!({ "engines": engines }),
            )
            .await;
        assert_eq!(status, 200, "grant: {body}");
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.request(reqwest::Method::GET, path, token, None).await
    }

    /// Waits (up to 30 s) until this process's views have listed all `engines` it knows and
    /// are current: list-all then answers each from its view. A test that freezes or counts on
    /// a view waits for this first (on 2 busy cores the first listing can take seconds).
    pub async fn views_listed(&self, engines: usize) -> bool {
        eventually(30, || async {
            let (_, list) = self.get("/apiv1/containers", Some(&self.admin_token)).await;
            let parts = list["data"]["engines"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            parts.len() == engines
                && (parts.iter()).all(|p| p["source"] == "events" && p["stale"] == false)
        })
        .await
    }

    /// Whether the engine's containers, as this process knows them (its event-fed view of the
    /// engine while that is in sync), include `id`.
    pub async fn shown_on(&self, engine: &str, id: &str) -> bool {
        let path = format!("/apiv1/engine/{engine}/containers");
        let (_, body) = self.get(&path, Some(&self.admin_token)).await;
        (body["data"].as_array().unwrap().iter()).any(|c| c["id"] == id)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::PUT, path, token, Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::PATCH, path, token, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.request(reqwest::Method::DELETE, path, token, None)
            .await
    }

    /// Sends raw bytes with a content type.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
        content_type: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A connection to this app's Redis, for checking stored state.
    pub async fn redis(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

/// Every entry of a deployment's audit stream, oldest first, as its raw field pairs.
pub async fn stream_entries(prefix: &str) -> Vec<Vec<(String, String)>> {
    let mut redis = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(format!("{prefix}events"))
        .arg("-")
        .arg("+")
        .query_async(&mut redis)
        .await
        .unwrap();
    entries.into_iter().map(|(_, fields)| fields).collect()
}

fn lookup_admin(settings: &Settings) -> String {
    settings
        .bootstrap_admin
        .as_ref()
        .map(|(u, _)| u.clone())
        .unwrap_or_default()
}

/// Asserts an error envelope with this status and code; returns the message.
#[track_caller]
pub fn assert_error(resp: &(u16, Value), status: u16, code: &str) -> String {
    assert_eq!(resp.0, status, "status of {}", resp.1);
    assert_eq!(resp.1["ok"], json!(false), "{}", resp.1);
    assert_eq!(resp.1["error"]["code"], json!(code), "{}", resp.1);
    resp.1["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Polls `check` every 100 ms until it returns true or `secs` pass.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Tags busybox as `repo:latest` on the given engines, so a test has an image of its own (for
/// `unique` placement) without a registry.
pub async fn tag_busybox(engines: &[u8], repo: &str) {
    for i in engines {
        let d = docker(*i);
        d.call(
            "tag",
            d.docker().tag_image(
                "busybox:latest",
                Some(bollard::query_parameters::TagImageOptions {
                    repo: Some(repo.to_string()),
                    tag: Some("latest".to_string()),
                }),
            ),
        )
        .await
        .unwrap();
    }
}

/// A host port unlikely to be used by another test at the same time.
/// A store of its own on the test bed's Redis (a fresh key prefix, nothing migrated), its prefix,
/// and a plain connection for writing keys behind the store's back.
pub async fn bare_store() -> (
    clementine::store::Store,
    String,
    redis::aio::MultiplexedConnection,
) {
    let prefix = format!("test:{}:", short_id());
    let settings = clementine::config::StoreSettings {
        redis_url: clementine::config::Secret::new(redis_url()),
        redis_sentinels: Vec::new(),
        redis_master: String::new(),
        key_prefix: prefix.clone(),
        redis_access: Default::default(),
    };
    let client = redis::Client::open(redis_url()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    let store = clementine::store::Store::connect(&settings).await.unwrap();
    (store, prefix, conn)
}

/// The test bed's private registry (basic auth, on its own test host): server, user, password.
pub fn private_registry() -> (String, String, String) {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    (
        env("CLEMENTINE_TESTBED_PRIVATE_REGISTRY", "10.215.0.2:5001"),
        env("CLEMENTINE_TESTBED_PRIVATE_USER", "puller"),
        env("CLEMENTINE_TESTBED_PRIVATE_PASSWORD", "puller-password-1"),
    )
}

pub fn test_port() -> u16 {
    20_000 + (uuid::Uuid::new_v4().as_u128() % 30_000) as u16
}

/// A busybox config that stays up.
pub fn sleeper(extra: Value) -> Value {
    let mut config =
        json!({"name": "busybox:latest", "args": ["sleep", "3600"], "cpus": 0.1, "memory": 16});
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    config
}

impl TestApp {
    /// Runs a config; returns (status, body).
    pub async fn run(&self, token: &str, config: Value) -> (u16, Value) {
        self.post("/apiv1/container", Some(token), config).await
    }

    /// Destroys every container the admin sees with this test's id in its owner or name.
    pub async fn cleanup_containers(&self) {
        let (_, list) = self.get("/apiv1/containers", Some(&self.admin_token)).await;
        for c in list["data"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let mine = c["owner"].as_str().is_some_and(|o| o.ends_with(&self.id))
                || c["name"].as_str().is_some_and(|n| n.contains(&self.id));
            if mine {
                let path = format!(
                    "/apiv1/engine/{}/container/{}",
                    c["engine"]["id"].as_str().unwrap(),
                    c["id"].as_str().unwrap()
                );
                self.delete(&path, Some(&self.admin_token)).await;
            }
        }
    }
}

impl TestApp {
    /// Every audit entry of this app, oldest first (admin view), after pending outcomes land.
    pub async fn all_events(&self) -> Vec<Value> {
        self.cluster.audit().flush().await;
        let mut events = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/apiv1/events?order=asc&limit=1000&cursor={c}"),
                None => "/apiv1/events?order=asc&limit=1000".to_string(),
            };
            let (status, page) = self.get(&path, Some(&self.admin_token)).await;
            assert_eq!(status, 200, "{page}");
            events.extend(page["data"]["events"].as_array().unwrap().iter().cloned());
            match page["data"]["next"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return events,
            }
        }
    }
}

/// Groups entries by op, asserting each op has exactly one intent followed by one outcome.
#[track_caller]
pub fn assert_paired(events: &[Value]) -> HashMap<String, (Value, Value)> {
    let mut by_op: HashMap<String, Vec<Value>> = HashMap::new();
    for e in events {
        by_op
            .entry(e["op"].as_str().unwrap().to_string())
            .or_default()
            .push(e.clone());
    }
    by_op
        .into_iter()
        .map(|(op, entries)| {
            assert_eq!(
                entries.len(),
                2,
                "op {op} has {} entries: {entries:?}",
                entries.len()
            );
            assert_eq!(entries[0]["phase"], "intent", "{entries:?}");
            assert_eq!(entries[1]["phase"], "outcome", "{entries:?}");
            assert_eq!(entries[0]["action"], entries[1]["action"]);
            assert!(
                entries[1]["outcome"] == "ok" || entries[1]["outcome"] == "error",
                "{entries:?}"
            );
            (op, (entries[0].clone(), entries[1].clone()))
        })
        .collect()
}

/// Base64url without padding, as JWT segments are written (for forging tokens in tests).
pub fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..chunk.len() + 1 {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}
