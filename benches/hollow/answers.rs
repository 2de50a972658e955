//! The Engine API subset clementine calls, answered from a hollow engine's memory in Docker's
//! shapes (bollard's models, which are Docker's own names), with Docker's error wording where
//! clementine reads it ("No such image", "network X not found", name conflicts).

use std::collections::HashMap;
use std::sync::Arc;

use bollard::models::{
    ContainerConfig, ContainerCreateBody, ContainerCreateResponse, ContainerInspectResponse,
    ContainerState, ContainerSummary, ContainerSummaryHostConfig, EventMessageTypeEnum,
    NetworkCreateRequest, NetworkSettings, PortSummary, PortSummaryTypeEnum, SystemInfo,
    SystemVersion, VolumeCreateRequest,
};
use bytes::Bytes;
use poem::http::{Method, StatusCode};
use poem::web::Data;
use poem::{Body, Request, Response, handler};
use serde::Serialize;
use serde_json::json;

use super::Hollow;
use super::objects::{Held, Named, State, new_id, now_secs};

type Query = HashMap<String, String>;

fn reply<T: Serialize>(status: StatusCode, value: &T) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(serde_json::to_vec(value).unwrap_or_default())
}

fn ok<T: Serialize>(value: &T) -> Response {
    reply(StatusCode::OK, value)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    reply(status, &json!({ "message": message.into() }))
}

fn no_content() -> Response {
    Response::builder().status(StatusCode::NO_CONTENT).finish()
}

fn rfc3339(secs: i64) -> String {
    clementine::time::rfc3339_secs(secs)
}

/// `/v1.41/containers/json` -> `containers/json`.
fn route_path(path: &str) -> &str {
    let path = path.trim_start_matches('/');
    match path.split_once('/') {
        Some((v, rest)) if v.starts_with("v1.") => rest,
        _ => path,
    }
}

/// Docker's `filters` query parameter: `{"label":["k=v"],"id":["..."]}`.
fn filters(query: &Query) -> HashMap<String, Vec<String>> {
    (query.get("filters"))
        .and_then(|f| serde_json::from_str(f).ok())
        .unwrap_or_default()
}

fn labels_match(labels: &HashMap<String, String>, wanted: Option<&Vec<String>>) -> bool {
    wanted
        .into_iter()
        .flatten()
        .all(|w| match w.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
            None => labels.contains_key(w.as_str()),
        })
}

#[handler]
pub async fn dispatch(req: &Request, body: Body, Data(engine): Data<&Arc<Hollow>>) -> Response {
    engine.before_answer().await;
    let query: Query =
        serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default();
    let body = body.into_bytes().await.unwrap_or_default();
    let path = route_path(req.uri().path()).to_string();
    let parts: Vec<&str> = path.split('/').collect();
    let method = req.method().clone();
    match (parts.first().copied().unwrap_or(""), parts.len()) {
        ("_ping", _) => Response::builder().content_type("text/plain").body("OK"),
        ("version", _) => ok(&version()),
        ("info", _) => ok(&info(engine)),
        ("events", _) => events(engine, &query),
        ("containers", _) => containers(engine, &method, &parts[1..], &query, &body),
        ("images", _) => images(engine, &method, &path["images".len()..], &query),
        ("volumes", _) => volumes(engine, &method, &parts[1..], &query, &body),
        ("networks", _) => networks(engine, &method, &parts[1..], &query, &body),
        _ => error(StatusCode::NOT_FOUND, format!("page not found: {path}")),
    }
}

fn version() -> SystemVersion {
    SystemVersion {
        version: Some("28.2.2-hollow".into()),
        api_version: Some("1.50".into()),
        min_api_version: Some("1.24".into()),
        git_commit: Some("hollow".into()),
        go_version: Some("go1.24".into()),
        os: Some("linux".into()),
        arch: Some("amd64".into()),
        kernel_version: Some("6.1.0".into()),
        ..Default::default()
    }
}

fn info(engine: &Hollow) -> SystemInfo {
    let objects = &engine.objects;
    let state = objects.state();
    let running = (state.containers.values())
        .filter(|c| c.state == "running")
        .count() as i64;
    SystemInfo {
        id: Some(objects.name.clone()),
        name: Some(objects.name.clone()),
        containers: Some(state.containers.len() as i64),
        containers_running: Some(running),
        containers_stopped: Some(state.containers.len() as i64 - running),
        images: Some(state.images.len() as i64),
        ncpu: Some(objects.cpus),
        mem_total: Some(objects.memory),
        server_version: Some("28.2.2-hollow".into()),
        operating_system: Some("Hollow".into()),
        os_type: Some("linux".into()),
        architecture: Some("x86_64".into()),
        driver: Some("overlay2".into()),
        ..Default::default()
    }
}

/// `/events`: every change from now on, one JSON object per line, until the connection or the
/// engine ends. Only the `type` filter is applied (the one clementine sends).
fn events(engine: &Arc<Hollow>, query: &Query) -> Response {
    let types = filters(query).remove("type").unwrap_or_default();
    let mut receiver = engine.objects.subscribe();
    let killed = engine.killed.clone();
    let stream = async_stream(move |tx| async move {
        loop {
            let event = tokio::select! {
                e = receiver.recv() => e,
                _ = killed.cancelled() => return,
            };
            let event = match event {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            };
            let typ = event.typ.map(|t| t.to_string()).unwrap_or_default();
            if !types.is_empty() && !types.contains(&typ) {
                continue;
            }
            let mut line = serde_json::to_vec(&event).unwrap_or_default();
            line.push(b'\n');
            if tx.send(Ok(Bytes::from(line))).await.is_err() {
                return;
            }
        }
    });
    Response::builder()
        .content_type("application/json")
        .body(Body::from_bytes_stream(stream))
}

/// A stream fed by a task: what the task sends, until it ends or the reader goes.
fn async_stream<F, Fut>(task: F) -> impl futures::Stream<Item = std::io::Result<Bytes>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(task(tx));
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn containers(
    engine: &Hollow,
    method: &Method,
    parts: &[&str],
    query: &Query,
    body: &[u8],
) -> Response {
    match (method.as_str(), parts) {
        ("GET", ["json"]) => ok(&list_containers(&engine.objects.state(), query)),
        ("POST", ["create"]) => create(engine, query, body),
        ("GET", [id, "json"]) => with_container(engine, id, |s, h| ok(&inspect(s, h))),
        ("GET", [id, "logs"]) => with_container(engine, id, |_, _| {
            Response::builder()
                .content_type("application/vnd.docker.multiplexed-stream")
                .body(Body::empty())
        }),
        ("POST", [id, action]) => act(engine, id, action, query),
        ("DELETE", [id]) => remove(engine, id, query),
        _ => error(StatusCode::NOT_IMPLEMENTED, "not served by a hollow engine"),
    }
}

fn with_container(
    engine: &Hollow,
    key: &str,
    f: impl FnOnce(&State, &Held) -> Response,
) -> Response {
    let state = engine.objects.state();
    match state.find(key).and_then(|id| state.containers.get(&id)) {
        Some(held) => f(&state, held),
        None => error(StatusCode::NOT_FOUND, format!("No such container: {key}")),
    }
}

fn port_summaries(held: &Held) -> Vec<PortSummary> {
    if held.state != "running" {
        return Vec::new();
    }
    let mut ports = Vec::new();
    for (key, bound) in held.bindings() {
        let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        for b in bound.unwrap_or_default() {
            ports.push(PortSummary {
                ip: Some(
                    b.host_ip
                        .filter(|i| !i.is_empty())
                        .unwrap_or("0.0.0.0".into()),
                ),
                private_port: port.parse().unwrap_or(0),
                public_port: b.host_port.and_then(|p| p.parse().ok()),
                typ: serde_json::from_value(json!(proto)).unwrap_or(Some(PortSummaryTypeEnum::TCP)),
            });
        }
    }
    ports
}

fn network_mode(held: &Held) -> String {
    (held.body.host_config.as_ref())
        .and_then(|h| h.network_mode.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "bridge".into())
}

fn summary(state: &State, held: &Held) -> ContainerSummary {
    let image = held.body.image.clone().unwrap_or_default();
    let cmd = held.body.cmd.clone().unwrap_or_default().join(" ");
    ContainerSummary {
        id: Some(held.id.clone()),
        names: Some(vec![format!("/{}", held.name)]),
        image_id: state.image(&image).map(|(_, id)| id),
        image: Some(image),
        command: Some(cmd),
        created: Some(held.created),
        ports: Some(port_summaries(held)),
        labels: Some(held.labels()),
        state: serde_json::from_value(json!(held.state)).ok(),
        status: Some(match held.state {
            "running" => "Up Less than a second".into(),
            "created" => "Created".into(),
            _ => "Exited (0) Less than a second ago".into(),
        }),
        host_config: Some(ContainerSummaryHostConfig {
            network_mode: Some(network_mode(held)),
            ..Default::default()
        }),
        mounts: Some(Vec::new()),
        ..Default::default()
    }
}

fn list_containers(state: &State, query: &Query) -> Vec<ContainerSummary> {
    let all = query.get("all").is_some_and(|a| a == "true" || a == "1");
    let filters = filters(query);
    (state.containers.values())
        .filter(|c| all || c.state == "running")
        .filter(|c| labels_match(&c.labels(), filters.get("label")))
        .filter(|c| (filters.get("id")).is_none_or(|ids| ids.iter().any(|i| c.id.starts_with(i))))
        .filter(|c| (filters.get("name")).is_none_or(|ns| ns.iter().any(|n| c.name.contains(n))))
        .map(|c| summary(state, c))
        .collect()
}

fn inspect(state: &State, held: &Held) -> ContainerInspectResponse {
    let running = held.state == "running";
    let body = serde_json::to_value(&held.body).unwrap_or_default();
    let mut config: ContainerConfig = serde_json::from_value(body).unwrap_or_default();
    config.hostname = config.hostname.or_else(|| Some(held.id[..12].to_string()));
    let ports = (running).then(|| held.bindings());
    ContainerInspectResponse {
        id: Some(held.id.clone()),
        created: Some(rfc3339(held.created)),
        path: held.body.cmd.as_ref().and_then(|c| c.first().cloned()),
        args: held
            .body
            .cmd
            .as_ref()
            .map(|c| c.iter().skip(1).cloned().collect()),
        state: Some(ContainerState {
            status: serde_json::from_value(json!(held.state)).ok(),
            running: Some(running),
            paused: Some(false),
            restarting: Some(false),
            oom_killed: Some(false),
            dead: Some(false),
            pid: Some(if running { 4242 } else { 0 }),
            exit_code: Some(0),
            error: Some(String::new()),
            started_at: Some(rfc3339(held.created)),
            finished_at: Some("0001-01-01T00:00:00Z".into()),
            ..Default::default()
        }),
        image: (held.body.image.as_deref())
            .and_then(|i| state.image(i))
            .map(|(_, id)| id),
        name: Some(format!("/{}", held.name)),
        restart_count: Some(0),
        driver: Some("overlay2".into()),
        platform: Some("linux".into()),
        config: Some(config),
        host_config: held.body.host_config.clone(),
        network_settings: Some(NetworkSettings {
            ports,
            ..Default::default()
        }),
        mounts: Some(Vec::new()),
        ..Default::default()
    }
}

fn create(engine: &Hollow, query: &Query, body: &[u8]) -> Response {
    let body: ContainerCreateBody = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")),
    };
    let mut state = engine.objects.state();
    let image = body.image.clone().unwrap_or_default();
    if state.image(&image).is_none() {
        return error(StatusCode::NOT_FOUND, format!("No such image: {image}"));
    }
    let id = new_id();
    let name = query
        .get("name")
        .cloned()
        .unwrap_or_else(|| format!("hollow_{}", &id[..8]));
    if let Some(other) = state.find(&name).filter(|_| !name.is_empty()) {
        return error(
            StatusCode::CONFLICT,
            format!(
                "Conflict. The container name \"/{name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
            ),
        );
    }
    let held = Held {
        id: id.clone(),
        name,
        body,
        created: now_secs(),
        state: "created",
    };
    let mode = network_mode(&held);
    if !matches!(mode.as_str(), "bridge" | "default" | "host" | "none")
        && state.network(&mode).is_none()
    {
        return error(StatusCode::NOT_FOUND, format!("network {mode} not found"));
    }
    engine.objects.emit_container("create", &held);
    state.containers.insert(id.clone(), held);
    reply(
        StatusCode::CREATED,
        &ContainerCreateResponse {
            id,
            warnings: Vec::new(),
        },
    )
}

/// start, stop, kill, restart, wait, and the network (dis)connects' container side.
fn act(engine: &Hollow, key: &str, action: &str, _query: &Query) -> Response {
    let objects = &engine.objects;
    let mut state = objects.state();
    let Some(id) = state.find(key) else {
        return error(StatusCode::NOT_FOUND, format!("No such container: {key}"));
    };
    let Some(held) = state.containers.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, format!("No such container: {key}"));
    };
    let running = held.state == "running";
    let (next, events): (&'static str, &[&str]) = match (action, running) {
        ("start", true) | ("stop", false) => {
            return Response::builder()
                .status(StatusCode::NOT_MODIFIED)
                .finish();
        }
        ("start", false) => ("running", &["start"]),
        ("stop", true) => ("exited", &["kill", "die", "stop"]),
        ("kill", true) => ("exited", &["kill", "die"]),
        ("kill", false) => {
            return error(
                StatusCode::CONFLICT,
                format!("container {id} is not running"),
            );
        }
        ("restart", _) => ("running", &["restart", "start"]),
        ("wait", _) => return ok(&json!({"StatusCode": 0})),
        _ => return error(StatusCode::NOT_IMPLEMENTED, "not served by a hollow engine"),
    };
    held.state = next;
    let held = held.clone();
    for event in events {
        objects.emit_container(event, &held);
    }
    let auto_remove = (held.body.host_config.as_ref()).and_then(|h| h.auto_remove) == Some(true);
    if next == "exited" && auto_remove {
        state.containers.remove(&id);
        objects.emit_container("destroy", &held);
    }
    no_content()
}

fn remove(engine: &Hollow, key: &str, query: &Query) -> Response {
    let mut state = engine.objects.state();
    let Some(id) = state.find(key) else {
        return error(StatusCode::NOT_FOUND, format!("No such container: {key}"));
    };
    let force = query.get("force").is_some_and(|f| f == "true" || f == "1");
    if state.containers[&id].state == "running" && !force {
        return error(
            StatusCode::CONFLICT,
            format!(
                "cannot remove container \"/{key}\": container is running: stop the container before removing or force remove"
            ),
        );
    }
    if let Some(held) = state.containers.remove(&id) {
        if held.state == "running" {
            engine.objects.emit_container("kill", &held);
            engine.objects.emit_container("die", &held);
        }
        engine.objects.emit_container("destroy", &held);
    }
    no_content()
}

/// `rest` is what follows `/images`: `/json`, `/create`, `/NAME/json`, `/NAME` (names may
/// hold slashes).
fn images(engine: &Hollow, method: &Method, rest: &str, query: &Query) -> Response {
    let objects = &engine.objects;
    let mut state = objects.state();
    match (method.as_str(), rest) {
        ("GET", "/json") => ok(&list_images(&state)),
        ("POST", "/create") => {
            let from = query.get("fromImage").cloned().unwrap_or_default();
            let tag = query.get("tag").cloned().unwrap_or_else(|| "latest".into());
            let name = format!("{from}:{tag}");
            let id = state
                .image(&name)
                .map(|(_, id)| id)
                .unwrap_or_else(|| format!("sha256:{}", new_id()));
            state.images.insert(name.clone(), id.clone());
            objects.emit(
                EventMessageTypeEnum::IMAGE,
                "pull",
                &name,
                HashMap::from([("name".into(), name.clone())]),
            );
            let lines = [
                json!({"status": format!("Pulling from {from}"), "id": tag}),
                json!({"status": format!("Digest: {id}")}),
                json!({"status": format!("Status: Downloaded newer image for {name}")}),
            ];
            let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
            Response::builder()
                .content_type("application/json")
                .body(text)
        }
        ("GET", named) if named.ends_with("/json") => {
            let name = &named[1..named.len() - "/json".len()];
            match state.image(name) {
                Some((tag, id)) => ok(&json!({
                    "Id": id, "RepoTags": [tag], "RepoDigests": [], "Created": rfc3339(0),
                    "Size": 4_300_000, "Architecture": "amd64", "Os": "linux",
                    "Config": {"Cmd": ["sh"]},
                })),
                None => error(StatusCode::NOT_FOUND, format!("No such image: {name}")),
            }
        }
        ("DELETE", named) => {
            let name = named.trim_start_matches('/');
            match state.image(name) {
                Some((tag, id)) => {
                    state.images.remove(&tag);
                    objects.emit(
                        EventMessageTypeEnum::IMAGE,
                        "untag",
                        &id,
                        HashMap::from([("name".into(), tag.clone())]),
                    );
                    ok(&json!([{"Untagged": tag}]))
                }
                None => error(StatusCode::NOT_FOUND, format!("No such image: {name}")),
            }
        }
        _ => error(StatusCode::NOT_IMPLEMENTED, "not served by a hollow engine"),
    }
}

/// Docker's image list; an image made by `docker import` has no digests or labels (null).
fn list_images(state: &State) -> Vec<serde_json::Value> {
    let mut by_id: HashMap<&String, Vec<&String>> = HashMap::new();
    for (tag, id) in &state.images {
        by_id.entry(id).or_default().push(tag);
    }
    (by_id.into_iter())
        .map(|(id, tags)| {
            json!({
                "Id": id, "ParentId": "", "RepoTags": tags, "RepoDigests": null, "Created": 0,
                "Size": 4_300_000, "SharedSize": -1, "Labels": null, "Containers": -1,
            })
        })
        .collect()
}

/// Docker's volume; `Options` is null when none were given.
fn volume(v: &Named) -> serde_json::Value {
    json!({
        "Name": v.name, "Driver": "local", "Scope": "local",
        "Mountpoint": format!("/var/lib/docker/volumes/{}/_data", v.name),
        "CreatedAt": rfc3339(v.created), "Labels": v.labels,
        "Options": (!v.options.is_empty()).then_some(&v.options),
    })
}

fn volumes(
    engine: &Hollow,
    method: &Method,
    parts: &[&str],
    query: &Query,
    body: &[u8],
) -> Response {
    let objects = &engine.objects;
    let mut state = objects.state();
    match (method.as_str(), parts) {
        ("GET", []) => {
            let wanted = filters(query);
            let listed: Vec<_> = (state.volumes.values())
                .filter(|v| labels_match(&v.labels, wanted.get("label")))
                .map(volume)
                .collect();
            ok(&json!({"Volumes": listed, "Warnings": null}))
        }
        ("GET", [name]) => match state.volumes.get(*name) {
            Some(v) => ok(&volume(v)),
            None => error(StatusCode::NOT_FOUND, format!("get {name}: no such volume")),
        },
        ("POST", ["create"]) => {
            let request: VolumeCreateRequest = serde_json::from_slice(body).unwrap_or_default();
            let name = request.name.unwrap_or_else(new_id);
            let made = state.volumes.entry(name.clone()).or_insert_with(|| {
                objects.emit(
                    EventMessageTypeEnum::VOLUME,
                    "create",
                    &name,
                    HashMap::from([("driver".into(), "local".into())]),
                );
                Named {
                    id: name.clone(),
                    name: name.clone(),
                    labels: request.labels.unwrap_or_default(),
                    options: request.driver_opts.unwrap_or_default(),
                    created: now_secs(),
                }
            });
            reply(StatusCode::CREATED, &volume(made))
        }
        ("DELETE", [name]) => match state.volumes.remove(*name) {
            Some(_) => {
                objects.emit(
                    EventMessageTypeEnum::VOLUME,
                    "destroy",
                    name,
                    HashMap::from([("driver".into(), "local".into())]),
                );
                no_content()
            }
            None => error(StatusCode::NOT_FOUND, format!("get {name}: no such volume")),
        },
        _ => error(StatusCode::NOT_IMPLEMENTED, "not served by a hollow engine"),
    }
}

fn network(n: &Named) -> serde_json::Value {
    json!({
        "Name": n.name, "Id": n.id, "Created": rfc3339(n.created), "Scope": "local",
        "Driver": "bridge", "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": null, "Config": []},
        "Internal": false, "Attachable": false, "Ingress": false,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": false, "Containers": {},
        "Options": n.options, "Labels": n.labels,
    })
}

fn networks(
    engine: &Hollow,
    method: &Method,
    parts: &[&str],
    query: &Query,
    body: &[u8],
) -> Response {
    let objects = &engine.objects;
    let mut state = objects.state();
    match (method.as_str(), parts) {
        ("GET", []) => {
            let wanted = filters(query);
            let listed: Vec<_> = (state.networks.values())
                .filter(|n| labels_match(&n.labels, wanted.get("label")))
                .filter(|n| {
                    (wanted.get("name")).is_none_or(|ns| ns.iter().any(|w| n.name.contains(w)))
                })
                .map(network)
                .collect();
            ok(&listed)
        }
        ("GET", [key]) => match state.network(key) {
            Some(n) => ok(&network(&n)),
            None => error(StatusCode::NOT_FOUND, format!("network {key} not found")),
        },
        ("POST", ["create"]) => {
            let request: NetworkCreateRequest = match serde_json::from_slice(body) {
                Ok(r) => r,
                Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")),
            };
            if state.network(&request.name).is_some() {
                return error(
                    StatusCode::CONFLICT,
                    format!("network with name {} already exists", request.name),
                );
            }
            let made = Named {
                id: new_id(),
                name: request.name.clone(),
                labels: request.labels.unwrap_or_default(),
                options: request.options.unwrap_or_default(),
                created: now_secs(),
            };
            objects.emit(
                EventMessageTypeEnum::NETWORK,
                "create",
                &made.id,
                HashMap::from([
                    ("name".into(), made.name.clone()),
                    ("type".into(), "bridge".into()),
                ]),
            );
            let id = made.id.clone();
            state.networks.insert(id.clone(), made);
            reply(StatusCode::CREATED, &json!({"Id": id, "Warning": ""}))
        }
        ("DELETE", [key]) => match state.network(key) {
            Some(n) => {
                state.networks.remove(&n.id);
                objects.emit(
                    EventMessageTypeEnum::NETWORK,
                    "destroy",
                    &n.id,
                    HashMap::from([
                        ("name".into(), n.name.clone()),
                        ("type".into(), "bridge".into()),
                    ]),
                );
                no_content()
            }
            None => error(StatusCode::NOT_FOUND, format!("network {key} not found")),
        },
        ("POST", [key, action @ ("connect" | "disconnect")]) => match state.network(key) {
            Some(n) => {
                objects.emit(
                    EventMessageTypeEnum::NETWORK,
                    action,
                    &n.id,
                    HashMap::from([("name".into(), n.name.clone())]),
                );
                ok(&json!({}))
            }
            None => error(StatusCode::NOT_FOUND, format!("network {key} not found")),
        },
        _ => error(StatusCode::NOT_IMPLEMENTED, "not served by a hollow engine"),
    }
}
