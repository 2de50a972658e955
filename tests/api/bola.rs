//! The BOLA matrix: every operation of the committed OpenAPI spec, called by bob against ann's
//! objects (her container, volume, saved config, account, and an engine granted only to her).
//! An admin-only route answers 403; every route about ann's objects answers 404, exactly as
//! for an object that does not exist; lists and creations in bob's own namespace show and
//! touch nothing of ann's (the live stream delivers bob's own entries and none of hers);
//! afterwards ann's objects are all as they were. The operation list
//! comes from the spec, so a new route without an entry here fails the test.

use std::collections::BTreeMap;

use reqwest::Method as M;
use serde_json::{Value, json};

use crate::common::{TestApp, sleeper};

/// What bob's call must show.
enum Expect {
    /// 403: a route for admins only, or an option only admins may use (refused whatever it
    /// names, so it tells nothing about ann's objects); nothing changed.
    Denied,
    /// 404, exactly like an object that does not exist; nothing changed.
    Hidden,
    /// 200, with none of these strings anywhere in the answer.
    Hides(Vec<String>),
    /// Not about another tenant's object (bob's own session, or the login form).
    NoObject,
}

struct Probe {
    method: M,
    path: String,
    body: Option<Value>,
    expect: Expect,
}

/// Ann's objects, as the probes name them.
struct Ann {
    name: String,
    container: String,
    volume_engine_name: String,
    token_id: String,
    registry_id: String,
    /// A team ann is a member of and bob is not (bob is in another).
    team: String,
    /// An audit entry of ann's own action.
    entry: String,
}

fn probe(method: M, path: &str, body: Option<Value>, expect: Expect) -> Probe {
    Probe {
        method,
        path: path.to_string(),
        body,
        expect,
    }
}

/// One probe per operation of the spec, keyed `METHOD /template`.
fn matrix(ann: &Ann) -> BTreeMap<String, Probe> {
    use Expect::*;
    let (user, c, vol) = (&ann.name, &ann.container, &ann.volume_engine_name);
    let hides = || {
        Hides(vec![
            c.clone(),
            vol.clone(),
            "\"e2\"".into(),
            format!("\"{user}\""),
        ])
    };
    let cont = |suffix: &str| format!("/apiv1/engine/e1/container/{c}{suffix}");
    let entries = [
        (
            "POST /login",
            probe(
                M::POST,
                "/apiv1/login",
                Some(json!({"username": user, "password": "wrong-password"})),
                NoObject,
            ),
        ),
        ("GET /me", probe(M::GET, "/apiv1/me", None, hides())),
        (
            "POST /me/password",
            probe(
                M::POST,
                "/apiv1/me/password",
                Some(json!({"current_password": "x", "new_password": "y"})),
                NoObject,
            ),
        ),
        (
            "POST /user",
            probe(
                M::POST,
                "/apiv1/user",
                Some(json!({"username": "mallory", "password": "mallory-pass", "role": "admin"})),
                Denied,
            ),
        ),
        ("GET /users", probe(M::GET, "/apiv1/users", None, Denied)),
        (
            "GET /user/{name}",
            probe(M::GET, &format!("/apiv1/user/{user}"), None, Denied),
        ),
        (
            "DELETE /user/{name}",
            probe(M::DELETE, &format!("/apiv1/user/{user}"), None, Denied),
        ),
        (
            "PUT /user/{name}/quota",
            probe(
                M::PUT,
                &format!("/apiv1/user/{user}/quota"),
                Some(json!({"containers": 0})),
                Denied,
            ),
        ),
        ("GET /quota", probe(M::GET, "/apiv1/quota", None, hides())),
        (
            "POST /teams",
            probe(
                M::POST,
                "/apiv1/teams",
                Some(json!({"name": "mallory"})),
                Denied,
            ),
        ),
        (
            "GET /teams",
            probe(M::GET, "/apiv1/teams", None, Hides(vec![ann.team.clone()])),
        ),
        (
            "GET /team/{name}",
            probe(M::GET, &format!("/apiv1/team/{}", ann.team), None, Hidden),
        ),
        (
            "PUT /team/{name}/members",
            probe(
                M::PUT,
                &format!("/apiv1/team/{}/members", ann.team),
                Some(json!({"members": [{"user": "mallory"}]})),
                Hidden,
            ),
        ),
        (
            "PUT /team/{name}/engines",
            probe(
                M::PUT,
                &format!("/apiv1/team/{}/engines", ann.team),
                Some(json!({"engines": []})),
                Denied,
            ),
        ),
        (
            "PUT /team/{name}/quota",
            probe(
                M::PUT,
                &format!("/apiv1/team/{}/quota", ann.team),
                Some(json!({"containers": 0})),
                Denied,
            ),
        ),
        (
            "DELETE /team/{name}",
            probe(
                M::DELETE,
                &format!("/apiv1/team/{}", ann.team),
                None,
                Denied,
            ),
        ),
        (
            "PATCH /user/{name}",
            probe(
                M::PATCH,
                &format!("/apiv1/user/{user}"),
                Some(json!({"role": "admin"})),
                Denied,
            ),
        ),
        (
            "PUT /user/{name}/engines",
            probe(
                M::PUT,
                &format!("/apiv1/user/{user}/engines"),
                Some(json!({"engines": []})),
                Denied,
            ),
        ),
        (
            "POST /user/{name}/revoke",
            probe(
                M::POST,
                &format!("/apiv1/user/{user}/revoke"),
                Some(json!({})),
                Denied,
            ),
        ),
        (
            "POST /engine",
            probe(
                M::POST,
                "/apiv1/engine",
                Some(json!({"id": "e9", "addr": "https://127.0.0.1:1"})),
                Denied,
            ),
        ),
        (
            "GET /engines",
            probe(M::GET, "/apiv1/engines", None, hides()),
        ),
        (
            "GET /engine/{id}",
            probe(M::GET, "/apiv1/engine/e2", None, Hidden),
        ),
        (
            "PATCH /engine/{id}",
            probe(
                M::PATCH,
                "/apiv1/engine/e1",
                Some(json!({"status": "disabled"})),
                Denied,
            ),
        ),
        (
            "DELETE /engine/{id}",
            probe(M::DELETE, "/apiv1/engine/e1", None, Denied),
        ),
        (
            "GET /engine/{id}/containers",
            probe(M::GET, "/apiv1/engine/e1/containers", None, hides()),
        ),
        (
            "POST /container",
            probe(
                M::POST,
                "/apiv1/container",
                Some(sleeper(json!({"volumes": [format!("{vol}:/x")]}))),
                Denied,
            ),
        ),
        (
            "GET /containers",
            probe(
                M::GET,
                &format!("/apiv1/containers?owner={user}"),
                None,
                hides(),
            ),
        ),
        (
            "GET /engine/{id}/container/{cid}",
            probe(M::GET, &cont(""), None, Hidden),
        ),
        (
            "DELETE /engine/{id}/container/{cid}",
            probe(M::DELETE, &cont(""), None, Hidden),
        ),
        (
            "POST /engine/{id}/container/{cid}/start",
            probe(M::POST, &cont("/start"), Some(json!({})), Hidden),
        ),
        (
            "POST /engine/{id}/container/{cid}/stop",
            probe(M::POST, &cont("/stop?t=0"), Some(json!({})), Hidden),
        ),
        (
            "POST /engine/{id}/container/{cid}/restart",
            probe(M::POST, &cont("/restart?t=0"), Some(json!({})), Hidden),
        ),
        (
            "GET /engine/{id}/container/{cid}/logs",
            probe(M::GET, &cont("/logs?tail=5"), None, Hidden),
        ),
        (
            "GET /cluster",
            probe(M::GET, "/apiv1/cluster", None, hides()),
        ),
        (
            "GET /images",
            probe(
                M::GET,
                "/apiv1/images",
                None,
                Hides(vec!["ann-config".into()]),
            ),
        ),
        (
            "POST /image",
            probe(
                M::POST,
                "/apiv1/image",
                Some(
                    json!({"name": "cfg", "image": {"name": "busybox:latest", "volumes": [format!("{vol}:/x")]}}),
                ),
                Denied,
            ),
        ),
        (
            "GET /image/{name}",
            probe(M::GET, "/apiv1/image/cfg", None, Hidden),
        ),
        (
            "PUT /image/{name}",
            probe(
                M::PUT,
                "/apiv1/image/cfg",
                Some(json!({"name": "busybox:latest"})),
                Hidden,
            ),
        ),
        (
            "DELETE /image/{name}",
            probe(M::DELETE, "/apiv1/image/cfg", None, Hidden),
        ),
        (
            "POST /image/{name}/run",
            probe(M::POST, "/apiv1/image/cfg/run", Some(json!({})), Hidden),
        ),
        (
            "POST /image/{name}/scale",
            probe(
                M::POST,
                "/apiv1/image/cfg/scale",
                Some(json!({"instances": 0})),
                Hidden,
            ),
        ),
        (
            "GET /events",
            probe(
                M::GET,
                &format!("/apiv1/events?actor={user}"),
                None,
                hides(),
            ),
        ),
        (
            "POST /replay",
            probe(M::POST, "/apiv1/replay?apply=true", Some(json!({})), Denied),
        ),
        (
            "GET /events/stream",
            probe(M::GET, "/apiv1/events/stream?since=0-0", None, hides()),
        ),
        // The audit tree: checkpoints, the key and consistency proofs are the whole log's
        // (hashes only); an inclusion proof is for one's own entries.
        (
            "GET /audit/checkpoint",
            probe(M::GET, "/apiv1/audit/checkpoint", None, NoObject),
        ),
        (
            "GET /audit/key",
            probe(M::GET, "/apiv1/audit/key", None, NoObject),
        ),
        (
            "GET /audit/proof/consistency",
            probe(
                M::GET,
                "/apiv1/audit/proof/consistency?from=1&to=1",
                None,
                NoObject,
            ),
        ),
        (
            "GET /audit/proof/inclusion",
            probe(
                M::GET,
                &format!("/apiv1/audit/proof/inclusion?id={}", ann.entry),
                None,
                Hidden,
            ),
        ),
        (
            "GET /volumes",
            probe(M::GET, "/apiv1/volumes", None, hides()),
        ),
        (
            "DELETE /engine/{id}/volume/{name}",
            probe(
                M::DELETE,
                &format!("/apiv1/engine/e1/volume/{vol}"),
                None,
                Hidden,
            ),
        ),
        (
            "GET /engine/{id}/images",
            probe(M::GET, "/apiv1/engine/e2/images", None, Hidden),
        ),
        (
            "POST /images/pull",
            probe(
                M::POST,
                "/apiv1/images/pull",
                Some(json!({"image": "busybox:latest", "engines": ["e2"]})),
                Hidden,
            ),
        ),
        (
            "POST /registry",
            probe(
                M::POST,
                "/apiv1/registry",
                Some(
                    json!({"server": "r.example:5000", "username": "u", "password": "p", "shared": true}),
                ),
                Denied,
            ),
        ),
        (
            "GET /registries",
            probe(
                M::GET,
                "/apiv1/registries",
                None,
                Hides(vec![ann.registry_id.clone()]),
            ),
        ),
        (
            "DELETE /registry/{id}",
            probe(
                M::DELETE,
                &format!("/apiv1/registry/{}", ann.registry_id),
                None,
                Hidden,
            ),
        ),
        (
            "POST /tokens",
            probe(
                M::POST,
                "/apiv1/tokens",
                Some(json!({"name": "root", "scopes": ["admin"]})),
                Denied,
            ),
        ),
        (
            "GET /tokens",
            probe(
                M::GET,
                "/apiv1/tokens?all=true",
                None,
                Hides(vec![ann.token_id.clone()]),
            ),
        ),
        (
            "DELETE /token/{id}",
            probe(
                M::DELETE,
                &format!("/apiv1/token/{}", ann.token_id),
                None,
                Hidden,
            ),
        ),
    ];
    entries
        .into_iter()
        .map(|(k, p)| (k.to_string(), p))
        .collect()
}

/// Every operation of the committed spec, as `METHOD /template`.
fn spec_operations() -> Vec<String> {
    let spec: Value = serde_json::from_str(include_str!("../../openapi/clementine.json")).unwrap();
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    ops.sort();
    ops
}

/// A live SSE stream, read until `needle` shows (or 10 s pass): what it says by then.
async fn stream_text(app: &TestApp, path: &str, token: &str, needle: &str) -> (u16, String) {
    let resp = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let mut resp = resp;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !text.contains(needle)
        && let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, resp.chunk()).await
    {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    (status, text)
}

/// What ann has, as she and the engine see it: compared before and after the probes.
async fn ann_state(app: &TestApp, token: &str) -> Value {
    let (_, me) = app.get("/apiv1/me", Some(token)).await;
    let (_, containers) = app.get("/apiv1/containers", Some(token)).await;
    let (_, images) = app.get("/apiv1/images", Some(token)).await;
    let (_, volumes) = app.get("/apiv1/volumes", Some(token)).await;
    let (_, engines) = app.get("/apiv1/engines", Some(token)).await;
    let (_, tokens) = app.get("/apiv1/tokens", Some(token)).await;
    let (_, registries) = app.get("/apiv1/registries", Some(token)).await;
    let states: Vec<Value> = (containers["data"]["containers"].as_array().unwrap().iter())
        .map(|c| json!([c["id"], c["state"]]))
        .collect();
    let engines: Vec<Value> = (engines["data"].as_array().unwrap().iter())
        .map(|e| json!([e["id"], e["status"], e["labels"]]))
        .collect();
    json!({"me": me["data"], "containers": states, "images": images["data"],
           "volumes": volumes["data"]["volumes"], "engines": engines,
           "registries": registries["data"],
           "tokens": tokens["data"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect::<Vec<_>>()})
}

#[tokio::test]
async fn another_tenant_reaches_nothing_on_any_route() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e2", 2, &[]).await;
    let (ann, ann_token) = app.user("ann").await;
    let (bob, bob_token) = app.user("bob").await;
    app.grant(&ann, &["e1", "e2"]).await;
    app.grant(&bob, &["e1"]).await;
    let config = sleeper(json!({"labels": ["host:e1"], "type": "host", "volumes": ["vol:/data"]}));
    let (status, c) = app.run(&ann_token, config.clone()).await;
    assert_eq!(status, 200, "{c}");
    let saved =
        json!({"name": "cfg", "image": {"name": "busybox:latest", "labels": ["ann-config"]}});
    assert_eq!(
        app.post("/apiv1/image", Some(&ann_token), saved).await.0,
        200
    );
    let minted = json!({"name": "ci", "scopes": ["read"]});
    let (_, token) = app.post("/apiv1/tokens", Some(&ann_token), minted).await;
    let server = crate::common::private_registry().0;
    let creds = json!({"server": server, "username": "ann", "password": "ann-registry-secret"});
    let (_, registry) = app.post("/apiv1/registry", Some(&ann_token), creds).await;
    let admin = Some(app.admin_token.as_str());
    let (team, other) = (app.unique("annteam"), app.unique("bobteam"));
    for (t, member) in [(&team, &ann), (&other, &bob)] {
        assert_eq!(
            app.post("/apiv1/teams", admin, json!({"name": t})).await.0,
            200
        );
        let members = json!({"members": [{"user": member}]});
        let path = format!("/apiv1/team/{t}/members");
        assert_eq!(app.put(&path, admin, members).await.0, 200);
    }
    let (_, mine) = app.get("/apiv1/events?limit=1", Some(&ann_token)).await;
    let ann_objects = Ann {
        entry: mine["data"]["events"][0]["id"]
            .as_str()
            .unwrap()
            .to_string(),
        team: team.clone(),
        registry_id: registry["data"]["id"].as_str().unwrap().to_string(),
        token_id: token["data"]["id"].as_str().unwrap().to_string(),
        name: ann.clone(),
        container: c["data"]["id"].as_str().unwrap().to_string(),
        volume_engine_name: app.cluster.engine_name(&ann, "vol"),
    };
    let before = ann_state(&app, &ann_token).await;
    // Something of bob's own, for the live stream to deliver.
    let marker = json!({"name": "bob-marker", "image": {"name": "busybox:latest"}});
    assert_eq!(
        app.post("/apiv1/image", Some(&bob_token), marker).await.0,
        200
    );

    let matrix = matrix(&ann_objects);
    let listed: Vec<String> = matrix.keys().cloned().collect();
    assert_eq!(
        listed,
        spec_operations(),
        "every operation of the spec needs a probe here"
    );
    let mut probes = 0;
    let mut mismatches = Vec::new();
    for (op, p) in &matrix {
        let (status, text) = if op == "GET /events/stream" {
            let (status, text) = stream_text(&app, &p.path, &bob_token, "bob-marker").await;
            assert!(
                text.contains("bob-marker"),
                "bob's own entry not streamed: {text}"
            );
            (status, text)
        } else {
            let (s, body) = app
                .request(p.method.clone(), &p.path, Some(&bob_token), p.body.clone())
                .await;
            (s, body.to_string())
        };
        let wrong = match &p.expect {
            Expect::Denied => status != 403,
            Expect::Hidden => status != 404,
            _ => false,
        };
        if wrong {
            mismatches.push(format!("{op}: {status} {text}"));
        }
        match &p.expect {
            Expect::Denied | Expect::Hidden => {}
            Expect::Hides(secrets) => {
                assert_eq!(status, 200, "{op}: {text}");
                for secret in secrets {
                    assert!(
                        !text.contains(secret.as_str()),
                        "{op} shows {secret}: {text}"
                    );
                }
            }
            Expect::NoObject => assert!(status < 500, "{op}: {status} {text}"),
        }
        probes += 1;
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(
        ann_state(&app, &ann_token).await,
        before,
        "bob changed something of ann's"
    );
    let (_, bobs) = app.get("/apiv1/containers", Some(&bob_token)).await;
    assert_eq!(bobs["data"]["containers"], json!([]), "bob made nothing");
    println!("BOLA matrix: {probes} operations probed as {bob}");
    app.cleanup_containers().await;
}
