//! Hollow engines (benches/hollow): checked against a real dockerd, then used at a scale real
//! daemons cannot reach on this machine. Behaviour is tested on real engines elsewhere; here
//! the hollow engines must answer in a real engine's shapes, and clementine must hold 200 of
//! them within seconds.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::Duration;

use bytes::Bytes;
use clementine::engine::{EngineClient, EnginePool};
use futures::future::join_all;
use http::Method;
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::common::{self, TestApp, certs_dir, docker, engine_ip, short_id, tls_files};
use crate::hollow_engines::{HollowSet, Options, PORT};

/// Serves `count` hollow engines from `first` (tests take address blocks of their own, as
/// nextest runs them side by side).
async fn hollow(count: usize, first: Ipv4Addr) -> HollowSet {
    HollowSet::start(&Options {
        count,
        first,
        ca_dir: certs_dir(),
        images: vec!["busybox:latest".into()],
        cpus: 64,
        memory_mb: 262_144,
    })
    .await
    .expect("hollow engines start")
}

fn client_for(addr: &str) -> EngineClient {
    let pool = EnginePool::new(
        &tls_files(),
        Duration::from_secs(5),
        Duration::from_secs(30),
        Default::default(),
    )
    .unwrap();
    pool.detached("hollow-check", addr)
}

async fn get_json(client: &EngineClient, path: &str) -> Value {
    let response =
        (client.raw(Method::GET, path, None).await).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

async fn post_json(client: &EngineClient, path: &str, body: Value) -> Value {
    let body = Some(Bytes::from(body.to_string()));
    let response =
        (client.raw(Method::POST, path, body).await).unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap_or(Value::Null)
}

/// The first event of a stream opened before `then` runs.
async fn first_event(client: &EngineClient) -> hyper::body::Incoming {
    let path = r#"/events?filters={"type":["container"]}"#.replace('"', "%22");
    let path = path
        .replace('{', "%7B")
        .replace('}', "%7D")
        .replace('[', "%5B")
        .replace(']', "%5D");
    let response = client.raw(Method::GET, &path, None).await.unwrap();
    response.into_body()
}

async fn read_line(body: &mut hyper::body::Incoming) -> Value {
    let mut buf = Vec::new();
    while !buf.contains(&b'\n') {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("an event within 10 s")
            .expect("the stream stays open")
            .unwrap();
        buf.extend_from_slice(frame.data_ref().map(|b| b.as_ref()).unwrap_or_default());
    }
    let line = buf.split(|b| *b == b'\n').next().unwrap();
    serde_json::from_slice(line).unwrap()
}

/// Every path of a JSON value with its type: object keys Docker names (capitalised words) are
/// kept, keys that are data (labels, ports, network names, lower-case event fields) become `*`,
/// and array items share `[]`.
fn shape(value: &Value, path: &str, out: &mut BTreeSet<String>) {
    let kind = match value {
        Value::Null => return,
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(items) => {
            items
                .iter()
                .for_each(|i| shape(i, &format!("{path}[]"), out));
            "array"
        }
        Value::Object(map) => {
            for (k, v) in map {
                let structural = k.starts_with(|c: char| c.is_ascii_uppercase())
                    && k.chars().all(|c| c.is_ascii_alphanumeric());
                let key = if structural { k.as_str() } else { "*" };
                shape(v, &format!("{path}.{key}"), out);
            }
            "object"
        }
    };
    out.insert(format!("{path}: {kind}"));
}

fn assert_same_shape(what: &str, real: &Value, hollow: &Value) {
    let (mut r, mut h) = (BTreeSet::new(), BTreeSet::new());
    shape(real, "", &mut r);
    shape(hollow, "", &mut h);
    let extra: Vec<&String> = h.difference(&r).collect();
    assert!(
        extra.is_empty(),
        "{what}: the hollow engine answers what dockerd does not: {extra:?}"
    );
    assert!(
        h.len() > 1,
        "{what}: the hollow engine answered nothing ({hollow})"
    );
}

/// The same objects made on a real engine and a hollow one, then the same requests to both.
#[tokio::test]
async fn a_hollow_engine_answers_in_a_real_engines_shapes() {
    let set = hollow(1, Ipv4Addr::new(127, 77, 250, 1)).await;
    let (real, fake) = (
        docker(1),
        client_for(&format!("https://127.77.250.1:{PORT}")),
    );
    let tag = format!("shape{}", short_id());
    let mut answers: Vec<HashMap<&str, Value>> = Vec::new();
    for (client, ip) in [(&real, engine_ip(1)), (&fake, "127.77.250.1".to_string())] {
        let mut events = first_event(client).await;
        let labels = json!({ "clementine.test": tag });
        post_json(
            client,
            "/volumes/create",
            json!({"Name": tag, "Labels": labels}),
        )
        .await;
        post_json(
            client,
            "/networks/create",
            json!({"Name": tag, "Labels": labels}),
        )
        .await;
        let port = common::test_port().to_string();
        let create = json!({
            "Image": "busybox:latest", "Cmd": ["sleep", "30"], "Labels": labels,
            "ExposedPorts": {"80/tcp": {}},
            "HostConfig": {
                "PortBindings": {"80/tcp": [{"HostIp": ip, "HostPort": port}]},
                "Binds": [format!("{tag}:/data")], "Memory": 16 << 20,
            },
        });
        let made = post_json(client, &format!("/containers/create?name={tag}"), create).await;
        let id = made["Id"].as_str().expect("an id").to_string();
        client.start(&id).await.unwrap();
        let filter = format!("filters=%7B%22label%22%3A%5B%22clementine.test%3D{tag}%22%5D%7D");
        let mut got = HashMap::new();
        got.insert("create", made);
        got.insert("event", read_line(&mut events).await);
        got.insert("version", get_json(client, "/version").await);
        got.insert("info", get_json(client, "/info").await);
        got.insert(
            "list",
            get_json(client, &format!("/containers/json?all=1&{filter}")).await,
        );
        got.insert(
            "inspect",
            get_json(client, &format!("/containers/{id}/json")).await,
        );
        got.insert("images", get_json(client, "/images/json").await);
        got.insert(
            "image",
            get_json(client, "/images/busybox:latest/json").await,
        );
        got.insert(
            "volumes",
            get_json(client, &format!("/volumes?{filter}")).await,
        );
        got.insert("volume", get_json(client, &format!("/volumes/{tag}")).await);
        got.insert(
            "networks",
            get_json(client, &format!("/networks?{filter}")).await,
        );
        got.insert(
            "network",
            get_json(client, &format!("/networks/{tag}")).await,
        );
        client.remove(&id).await.unwrap();
        client.remove_volume(&tag).await.unwrap();
        client.remove_network(&tag).await.unwrap();
        answers.push(got);
    }
    let (real_answers, hollow_answers) = (&answers[0], &answers[1]);
    for (what, real) in real_answers {
        assert_same_shape(what, real, &hollow_answers[what]);
    }
    assert_eq!(hollow_answers["list"].as_array().unwrap().len(), 1);
    assert_eq!(
        hollow_answers["event"]["Action"],
        real_answers["event"]["Action"]
    );
    drop(set);
}

/// Adds `set`'s engines to `app` (ids `h0`, `h1`, ...), 20 at a time.
async fn add_all(app: &TestApp, set: &HollowSet) {
    for (chunk_no, chunk) in set.engines.chunks(20).enumerate() {
        join_all(chunk.iter().enumerate().map(|(i, e)| {
            let body = json!({"id": format!("h{}", chunk_no * 20 + i), "addr": format!("https://{}", e.addr)});
            async move {
                let (status, body) = app.post("/apiv1/engine", Some(&app.admin_token), body).await;
                assert_eq!(status, 200, "{body}");
            }
        }))
        .await;
    }
}

/// 200 hollow engines: added (each followed by its view at once, with the server's monitor
/// minutes away, so that only the timed-out call can make the hung engine suspect), 400 containers placed across them and
/// every view showing them; then one engine hangs, the first call to it that times out makes it
/// `suspect`, and the next burst goes around it.
#[tokio::test]
async fn two_hundred_hollow_engines_hold_a_burst() {
    let set = hollow(200, Ipv4Addr::new(127, 77, 0, 1)).await;
    let app = TestApp::spawn_with(|env| {
        env.insert("CLEMENTINE_ENGINE_TIMEOUT_MS".into(), "5000".into());
        env.insert("CLEMENTINE_MONITOR_INTERVAL_MS".into(), "600000".into());
    })
    .await;
    add_all(&app, &set).await;
    let app = &app;
    let run = move |count: usize, extra: Value| {
        let path = format!("/apiv1/container?count={count}&strategy=spread");
        let config = common::sleeper(json!({"cpus": 0.01, "memory": 8}));
        let mut config = config.as_object().cloned().unwrap();
        config.extend(extra.as_object().cloned().unwrap_or_default());
        async move {
            app.post(&path, Some(&app.admin_token), Value::Object(config))
                .await
        }
    };
    for (status, body) in join_all((0..4).map(|_| run(50, json!({})))).await {
        assert_eq!(status, 200, "{body}");
    }
    set.engines[7].hang();
    let (status, body) = run(1, json!({"type": "host", "labels": ["host:h7"]})).await;
    assert_ne!(status, 200, "a run pinned to a hung engine fails: {body}");
    let (_, engine) = app.get("/apiv1/engine/h7", Some(&app.admin_token)).await;
    assert_eq!(engine["data"]["health"]["state"], "suspect", "{engine}");
    let (_, listed) = app.get("/apiv1/engines", Some(&app.admin_token)).await;
    let h7 = (listed["data"].as_array().unwrap().iter()).find(|e| e["id"] == "h7");
    assert_eq!(
        h7.unwrap()["health"]["state"],
        "suspect",
        "and so in the list"
    );
    for (status, body) in join_all((0..4).map(|_| run(50, json!({})))).await {
        assert_eq!(
            status, 200,
            "the burst goes around the suspect engine: {body}"
        );
        let engines = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["engine"]["id"]);
        assert!(engines.clone().all(|e| e != "h7"), "{body}");
    }
    set.engines[7].free();
    // The hung engine's create went through when it was freed, after clementine gave up on it
    // (as a wedged dockerd's would): that container is an orphan for the reconcile pass, so the
    // engines hold 400 or 401, and the views must show exactly what they hold.
    let held = || -> usize {
        set.engines
            .iter()
            .map(|e| e.objects.state().containers.len())
            .sum()
    };
    let listed = common::eventually(20, || async {
        let (_, list) = app.get("/apiv1/containers", Some(&app.admin_token)).await;
        let engines = list["data"]["engines"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let from_events = engines.iter().filter(|e| e["source"] == "events").count();
        let shown = list["data"]["containers"].as_array().map_or(0, Vec::len);
        from_events == 200 && shown == held()
    })
    .await;
    assert!(listed, "every view lists, and shows what the engines hold");
    assert!(
        (400..=401).contains(&held()),
        "the engines hold what was run: {}",
        held()
    );
}
