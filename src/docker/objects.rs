//! Volumes, networks and images. Volumes and networks are the caller's own (or their teams'),
//! shown by the names they gave; images are what the caller's engines hold, pulled with the
//! caller's registry credentials.

use std::collections::BTreeMap;
use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{Body, IntoResponse, Response, handler};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::auth::Caller;
use super::create::TEAM_LABEL;
use super::shapes::{filter_values, parse_filters};
use super::{DockerError, DockerResult};
use crate::cluster::{Cluster, TenantNetwork};
use crate::domain::{PullRequest, Volume};

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn volume_shape(v: &Volume) -> Value {
    json!({
        "Name": v.name, "Driver": "local", "Mountpoint": "", "Scope": "local",
        "CreatedAt": v.created, "Labels": v.labels, "Options": {},
    })
}

#[derive(Debug, Deserialize)]
pub struct FilterQuery {
    filters: Option<String>,
}

/// Whether `labels` carry every `key` or `key=value` asked for.
fn has_labels(labels: &BTreeMap<String, String>, wanted: &[&str]) -> bool {
    wanted.iter().all(|w| match w.split_once('=') {
        Some((k, v)) => labels.get(k).map(String::as_str) == Some(v),
        None => labels.contains_key(*w),
    })
}

/// `GET /volumes`, with the `name` and `label` filters.
#[handler]
pub async fn volumes(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Query(q): Query<FilterQuery>,
) -> DockerResult<Json<Value>> {
    let filters = parse_filters(q.filters.as_deref()).map_err(DockerError::bad_request)?;
    let (names, labels) = (
        filter_values(&filters, "name"),
        filter_values(&filters, "label"),
    );
    let list = cluster.list_volumes(&caller).await?;
    let shown: Vec<Value> = (list.volumes.iter())
        .filter(|v| names.is_empty() || names.iter().any(|n| v.name.contains(n)))
        .filter(|v| has_labels(&v.labels, &labels))
        .map(volume_shape)
        .collect();
    Ok(Json(json!({ "Volumes": shown, "Warnings": [] })))
}

/// Checks a create body: only the fields named (others refused by name when set), and a
/// driver that is the default.
fn object_body(body: &Value, known: &[&str], driver: &str) -> DockerResult<Map<String, Value>> {
    let body = body.as_object().cloned().unwrap_or_default();
    super::create::refuse_unknown(&body, known, "")?;
    match body.get("Driver").and_then(Value::as_str) {
        None | Some("") => Ok(body),
        Some(d) if d == driver => Ok(body),
        Some(d) => Err(DockerError::bad_request(format!(
            "Driver {d} is not supported by clementine (only {driver})"
        ))),
    }
}

/// `Labels` of a create body, and the team the `clementine.team` label names.
fn labels_and_team(
    body: &Map<String, Value>,
) -> DockerResult<(BTreeMap<String, String>, Option<String>)> {
    let mut labels = super::create::string_map(body, "Labels")?;
    let team = labels.remove(TEAM_LABEL);
    Ok((labels, team))
}

/// `POST /volumes/create`.
#[handler]
pub async fn create_volume(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    body: Json<Value>,
) -> DockerResult<Response> {
    let body = object_body(&body, &["Name", "Driver", "Labels"], "local")?;
    let (labels, team) = labels_and_team(&body)?;
    let name = match body
        .get("Name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        Some(n) => n.to_string(),
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let volume = cluster
        .create_volume(&caller, &name, &labels, team.as_deref())
        .await?;
    Ok(Json(volume_shape(&volume))
        .with_status(StatusCode::CREATED)
        .into_response())
}

/// `GET /volumes/{name}`.
#[handler]
pub async fn inspect_volume(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> DockerResult<Json<Value>> {
    let volume = cluster.find_volume_named(&caller, &name).await?;
    Ok(Json(volume_shape(&volume)))
}

/// `DELETE /volumes/{name}`.
#[handler]
pub async fn remove_volume(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> DockerResult<Response> {
    let volume = cluster.find_volume_named(&caller, &name).await?;
    cluster
        .delete_volume(&caller, &volume.engine, &name)
        .await?;
    Ok(no_content())
}

fn network_shape(n: &TenantNetwork) -> Value {
    json!({
        "Name": n.name, "Id": n.id, "Created": n.created, "Scope": "local", "Driver": "bridge",
        "EnableIPv6": false, "Internal": false, "Attachable": false, "Ingress": false,
        "IPAM": {"Driver": "default", "Options": null, "Config": []}, "Options": {},
        "Containers": {}, "Labels": n.labels,
    })
}

/// `GET /networks`, with the `name`, `id` and `label` filters.
#[handler]
pub async fn networks(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Query(q): Query<FilterQuery>,
) -> DockerResult<Json<Value>> {
    let filters = parse_filters(q.filters.as_deref()).map_err(DockerError::bad_request)?;
    let (names, ids) = (
        filter_values(&filters, "name"),
        filter_values(&filters, "id"),
    );
    let labels = filter_values(&filters, "label");
    let shown: Vec<Value> = (cluster.list_networks(&caller).await?.iter())
        .filter(|n| names.is_empty() || names.iter().any(|w| n.name.contains(w)))
        .filter(|n| ids.is_empty() || ids.iter().any(|i| n.id.starts_with(i)))
        .filter(|n| has_labels(&n.labels, &labels))
        .map(network_shape)
        .collect();
    Ok(Json(Value::Array(shown)))
}

/// `POST /networks/create`: a bridge network of the caller's.
#[handler]
pub async fn create_network(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    body: Json<Value>,
) -> DockerResult<Response> {
    let known = [
        "Name",
        "Driver",
        "Labels",
        "CheckDuplicate",
        "Attachable",
        "Options",
        "IPAM",
    ];
    let body = object_body(&body, &known, "bridge")?;
    let ipam_default = body.get("IPAM").is_none_or(|i| {
        i.get("Config")
            .is_none_or(|c| c.as_array().is_none_or(Vec::is_empty))
    });
    if !ipam_default {
        return Err(DockerError::bad_request(
            "IPAM.Config is not supported by clementine: tenant networks get their subnets from the engine",
        ));
    }
    let (labels, team) = labels_and_team(&body)?;
    let name = body.get("Name").and_then(Value::as_str).unwrap_or_default();
    let network = cluster
        .create_network(&caller, name, &labels, team.as_deref())
        .await?;
    Ok(Json(json!({ "Id": network.id, "Warning": "" }))
        .with_status(StatusCode::CREATED)
        .into_response())
}

/// `GET /networks/{id}`.
#[handler]
pub async fn inspect_network(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> DockerResult<Json<Value>> {
    Ok(Json(network_shape(
        &cluster.find_network(&caller, &id).await?,
    )))
}

/// `DELETE /networks/{id}`.
#[handler]
pub async fn remove_network(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> DockerResult<Response> {
    cluster.remove_network(&caller, &id).await?;
    Ok(no_content())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectBody {
    container: String,
    #[serde(default)]
    endpoint_config: Option<Value>,
}

/// `POST /networks/{id}/connect`: aliases are the only endpoint setting taken.
#[handler]
pub async fn connect(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Json(body): Json<ConnectBody>,
) -> DockerResult<Response> {
    let endpoint = (body.endpoint_config.and_then(|e| e.as_object().cloned())).unwrap_or_default();
    let known = ["Aliases", "Links"];
    super::create::refuse_unknown(&endpoint, &known, "EndpointConfig.")?;
    if endpoint
        .get("Links")
        .and_then(Value::as_array)
        .is_some_and(|l| !l.is_empty())
    {
        return Err(DockerError::bad_request(
            "EndpointConfig.Links is not supported by clementine: use aliases",
        ));
    }
    let aliases: Vec<String> = (endpoint
        .get("Aliases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten())
    .filter_map(|a| a.as_str().map(str::to_string))
    .collect();
    cluster
        .connect_network(&caller, &id, &body.container, Some(&aliases))
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `POST /networks/{id}/disconnect`.
#[handler]
pub async fn disconnect(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Json(body): Json<ConnectBody>,
) -> DockerResult<Response> {
    cluster
        .connect_network(&caller, &id, &body.container, None)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /images/json`: every image the caller's engines hold (asked at once), once each.
#[handler]
pub async fn images(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
) -> DockerResult<Json<Value>> {
    let engines = cluster.list_engines(&caller).await?;
    let held = futures::future::join_all(
        (engines.iter()).map(|engine| cluster.engine_images(&caller, &engine.id)),
    )
    .await;
    let mut seen = BTreeMap::new();
    for held in held.into_iter().filter_map(Result::ok) {
        for image in held {
            seen.entry(image.id.clone()).or_insert_with(|| json!({
                "Id": image.id, "RepoTags": image.tags, "Size": image.size, "VirtualSize": image.size,
                "Created": humantime::parse_rfc3339(&image.created).ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs()),
                "Labels": {}, "RepoDigests": [], "ParentId": "", "SharedSize": -1, "Containers": -1,
            }));
        }
    }
    Ok(Json(Value::Array(seen.into_values().collect())))
}

#[derive(Debug, Deserialize)]
pub struct PullQuery {
    #[serde(rename = "fromImage")]
    from_image: Option<String>,
    tag: Option<String>,
}

/// `POST /images/create?fromImage=&tag=`: pulled onto every engine the caller may use (at most
/// 64), with the caller's registry credentials; Docker's progress lines, one per engine.
#[handler]
pub async fn pull(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Query(q): Query<PullQuery>,
) -> DockerResult<Response> {
    let image = q.from_image.filter(|i| !i.is_empty()).ok_or_else(|| {
        DockerError::bad_request("fromImage is required (importing is not supported)")
    })?;
    let image = match q.tag.filter(|t| !t.is_empty()) {
        Some(tag) if !image.contains('@') => format!("{image}:{tag}"),
        _ => image,
    };
    let engines: Vec<String> = (cluster.list_engines(&caller).await?.into_iter())
        .map(|e| e.id)
        .take(64)
        .collect();
    if engines.is_empty() {
        return Err(DockerError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no engine you may use",
        ));
    }
    let results = cluster
        .pre_pull(
            &caller,
            &PullRequest {
                image: image.clone(),
                engines,
            },
        )
        .await?;
    let mut lines = String::new();
    for r in &results {
        let line = match &r.error {
            None => json!({ "status": format!("Pulled {image} onto {}", r.engine) }),
            Some(e) => {
                json!({ "status": format!("Pulling {image} onto {} failed: {e}", r.engine) })
            }
        };
        lines.push_str(&format!("{line}\n"));
    }
    let last = match results.iter().find(|r| r.ok) {
        Some(_) => json!({ "status": format!("Status: Image is up to date for {image}") }),
        None => {
            let why = results
                .iter()
                .filter_map(|r| r.error.clone())
                .next()
                .unwrap_or_default();
            json!({ "errorDetail": { "message": why }, "error": why })
        }
    };
    lines.push_str(&format!("{last}\n"));
    Ok(Response::builder()
        .content_type("application/json")
        .body(Body::from_string(lines)))
}

/// `GET /images/{name}/json`: from the first engine of the caller's that holds it.
pub async fn inspect_image(
    cluster: &Cluster,
    caller: &crate::auth::Principal,
    name: &str,
) -> DockerResult<Json<Value>> {
    for engine in cluster.list_engines(caller).await? {
        if let Ok(v) = cluster.inspect_image_on(caller, &engine.id, name).await {
            return Ok(Json(v));
        }
    }
    Err(DockerError::not_found("image", name))
}
