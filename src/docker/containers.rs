//! Containers: list, create (placed, guarded and audited by the same `Cluster::run` as
//! `POST /apiv1/container`, without starting), inspect, start, stop, restart, kill, remove.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{IntoResponse, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::create::translate;
use super::shapes::{filter_values, in_callers_words, parse_filters};
use super::{DockerError, DockerResult};
use crate::cluster::{Action, Cluster, RunOptions};
use crate::domain::ContainerState;

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "super::flag")]
    all: bool,
    filters: Option<String>,
    limit: Option<i64>,
}

/// `GET /containers/json`: the `all`, `label`, `name`, `status` and `id` filters.
#[handler]
pub async fn list(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Query(q): Query<ListQuery>,
) -> DockerResult<Json<Value>> {
    let filters = parse_filters(q.filters.as_deref()).map_err(DockerError::bad_request)?;
    let labels = filter_values(&filters, "label")
        .iter()
        .map(|l| l.to_string())
        .collect();
    let (names, ids) = (
        filter_values(&filters, "name"),
        filter_values(&filters, "id"),
    );
    let statuses = filter_values(&filters, "status");
    let mut out = Vec::new();
    for (_, summary) in cluster.list_summaries(&caller, labels).await? {
        let mut v = serde_json::to_value(summary).unwrap_or_default();
        in_callers_words(&cluster.scope, &mut v);
        let state = v["State"].as_str().unwrap_or_default().to_string();
        let shown = (q.all || state == "running" || !statuses.is_empty())
            && (statuses.is_empty() || statuses.contains(&state.as_str()))
            && (ids.is_empty()
                || ids
                    .iter()
                    .any(|i| v["Id"].as_str().is_some_and(|id| id.starts_with(i))))
            && (names.is_empty() || names.iter().any(|n| name_matches(&v, n)));
        if shown {
            out.push(v);
        }
    }
    out.sort_by_key(|v| std::cmp::Reverse(v["Created"].as_i64().unwrap_or(0)));
    if let Some(limit) = q.limit.filter(|l| *l > 0) {
        out.truncate(limit as usize);
    }
    Ok(Json(Value::Array(out)))
}

/// Docker's name filter matches part of a name.
fn name_matches(summary: &Value, wanted: &str) -> bool {
    let names = summary["Names"].as_array().into_iter().flatten();
    names.filter_map(Value::as_str).any(|n| {
        n.trim_start_matches('/')
            .contains(wanted.trim_start_matches('/'))
    })
}

#[derive(Debug, Deserialize)]
pub struct CreateQuery {
    name: Option<String>,
}

/// `POST /containers/create`: placed and claimed now, started by `start`.
#[handler]
pub async fn create(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Query(q): Query<CreateQuery>,
    body: Json<Value>,
) -> DockerResult<Response> {
    let create = translate(&body, q.name.as_deref())?;
    let options = RunOptions {
        team: create.team,
        create_only: true,
        ..Default::default()
    };
    let made = cluster.run(&caller, &create.config, 1, &options).await?;
    let id = made.first().map(|c| c.id.clone()).unwrap_or_default();
    Ok(Json(json!({ "Id": id, "Warnings": [] }))
        .with_status(StatusCode::CREATED)
        .into_response())
}

/// `GET /containers/{id}/json`.
#[handler]
pub async fn inspect(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> DockerResult<Json<Value>> {
    let (_, raw) = cluster.inspect_raw(&caller, &id).await?;
    let mut v = serde_json::to_value(raw).unwrap_or_default();
    in_callers_words(&cluster.scope, &mut v);
    Ok(Json(v))
}

/// Starts, stops, restarts or kills the container the caller names.
async fn act(
    cluster: &Cluster,
    caller: &crate::auth::Principal,
    id: &str,
    action: Action,
) -> DockerResult<Response> {
    let container = cluster.locate_container(caller, id).await?;
    cluster
        .act_only(caller, &container.engine.id, &container.id, action)
        .await?;
    Ok(no_content())
}

#[handler]
pub async fn start(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> DockerResult<Response> {
    act(&cluster, &caller, &id, Action::Start).await
}

#[derive(Debug, Deserialize)]
pub struct GraceQuery {
    t: Option<i64>,
    signal: Option<String>,
}

impl GraceQuery {
    /// Docker's `t` (seconds; negative: wait for ever, which clementine bounds).
    fn grace(&self) -> u32 {
        match self.t {
            None => 10,
            Some(t) if t < 0 => crate::cluster::MAX_GRACE_SECS,
            Some(t) => t.min(u32::MAX as i64) as u32,
        }
    }
}

#[handler]
pub async fn stop(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(q): Query<GraceQuery>,
) -> DockerResult<Response> {
    act(&cluster, &caller, &id, Action::Stop(q.grace())).await
}

#[handler]
pub async fn restart(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(q): Query<GraceQuery>,
) -> DockerResult<Response> {
    act(&cluster, &caller, &id, Action::Restart(q.grace())).await
}

#[handler]
pub async fn kill(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(q): Query<GraceQuery>,
) -> DockerResult<Response> {
    let signal = q.signal.unwrap_or_else(|| "SIGKILL".into());
    act(&cluster, &caller, &id, Action::Kill(signal)).await
}

#[derive(Debug, Deserialize)]
pub struct RemoveQuery {
    #[serde(default, deserialize_with = "super::flag")]
    force: bool,
}

/// `DELETE /containers/{id}`: a running container needs `force`, as with Docker. Anonymous
/// volumes always go with the container.
#[handler]
pub async fn remove(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> DockerResult<Response> {
    let container = cluster.locate_container(&caller, &id).await?;
    if !q.force && container.state == ContainerState::Running {
        return Err(DockerError::new(
            StatusCode::CONFLICT,
            format!(
                "You cannot remove a running container {}. Stop the container before attempting removal or force remove",
                container.id
            ),
        ));
    }
    cluster
        .destroy(&caller, &container.engine.id, &container.id)
        .await?;
    Ok(no_content())
}
