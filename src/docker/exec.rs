//! Exec: make a command in a running container (audited as `container.exec`, with the command),
//! start it hijacked, inspect it, resize its TTY. Exec ids are the engine's; an exec in a
//! container the caller may not touch is "No such exec instance", like one that does not exist.

use std::sync::Arc;

use bytes::Bytes;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use super::stream::{ResizeQuery, caller_gone, join_hijacked, relayed, upgrade_of};
use super::{DockerError, DockerResult};
use crate::cluster::{Cluster, ExecCall};
use crate::domain::ExecConfig;
use crate::shutdown::Shutdown;

/// `POST /containers/{id}/exec`.
#[handler]
pub async fn create(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Json(config): Json<ExecConfig>,
) -> DockerResult<Response> {
    let exec = cluster.exec_create(&caller, &id, &config).await?;
    Ok(Json(json!({ "Id": exec }))
        .with_status(StatusCode::CREATED)
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartBody {
    #[serde(default)]
    detach: bool,
    #[serde(default)]
    tty: bool,
}

/// `POST /exec/{id}/start`: hijacked, or answered at once with `Detach`.
#[handler]
pub async fn start(
    req: &Request,
    cluster: Data<&Arc<Cluster>>,
    shutdown: Data<&Shutdown>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    body: Option<Json<StartBody>>,
) -> DockerResult<Response> {
    let start = body.map(|b| b.0).unwrap_or(StartBody {
        detach: false,
        tty: false,
    });
    let relay = Bytes::from(json!({ "Detach": start.detach, "Tty": start.tty }).to_string());
    let client = match start.detach {
        true => None,
        false => Some(upgrade_of(req)?),
    };
    let gone = caller_gone(cluster.clone(), caller.clone(), shutdown.clone());
    match (
        cluster
            .exec_start(&caller, &id, relay, start.detach)
            .await?,
        client,
    ) {
        (Ok(engine), Some(client)) => Ok(join_hijacked(client, engine, gone)),
        (Err(response), _) => Ok(relayed(response, std::future::pending())),
        (Ok(_), None) => Err(DockerError::bad_request(
            "the engine hijacked a detached exec",
        )),
    }
}

/// `GET /exec/{id}/json`.
#[handler]
pub async fn inspect(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> DockerResult<Response> {
    let response = cluster
        .exec_relay(&caller, &id, ExecCall::Inspect, "")
        .await?;
    Ok(relayed(response, std::future::pending()))
}

/// `POST /exec/{id}/resize`.
#[handler]
pub async fn resize(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(q): Query<ResizeQuery>,
) -> DockerResult<Response> {
    let query = serde_urlencoded::to_string(&q).unwrap_or_default();
    let response = cluster
        .exec_relay(&caller, &id, ExecCall::Resize, &query)
        .await?;
    Ok(relayed(response, std::future::pending()))
}
