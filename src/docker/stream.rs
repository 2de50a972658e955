//! Long calls: logs, waits and resizes relayed from the engine as they come, and attach and exec
//! hijacked: after `101 Switching Protocols` the client's connection and the engine's are joined
//! byte for byte, so Docker's framing (or a raw TTY) and stdin's half-close pass untouched.
//!
//! Every long call ends with its caller: when their credentials stop being good (checked every
//! second, as for the audit stream), or when the server shuts down.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use http_body_util::BodyStream;
use hyper::body::Incoming;
use poem::http::{StatusCode, header};
use poem::web::{Data, Path, Query};
use poem::{Body, Request, Response, handler};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::{DockerError, DockerResult};
use crate::auth::Principal;
use crate::cluster::{Cluster, ContainerCall, Hijacked};
use crate::shutdown::Shutdown;

/// How often a long call checks its caller again.
const RECHECK: Duration = Duration::from_secs(1);

/// Resolves when the caller may no longer be served, or the server is shutting down.
pub async fn caller_gone(cluster: Arc<Cluster>, caller: Principal, shutdown: Shutdown) {
    let revoked = async {
        loop {
            tokio::time::sleep(RECHECK).await;
            if !cluster.still_allowed(&caller).await {
                return;
            }
        }
    };
    tokio::select! {
        _ = revoked => {}
        _ = shutdown.begun() => {}
    }
}

/// The engine's answer, streamed to the client until it ends or `gone` resolves.
pub fn relayed(
    response: http::Response<Incoming>,
    gone: impl Future<Output = ()> + Send + 'static,
) -> Response {
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    let frames = BodyStream::new(response.into_body()).filter_map(|frame| async move {
        match frame {
            Ok(frame) => frame.into_data().ok().map(Ok),
            Err(e) => Some(Err(std::io::Error::other(e))),
        }
    });
    let body = Body::from_bytes_stream(frames.take_until(Box::pin(gone)));
    let mut out = Response::builder().status(status);
    if let Some(ct) = content_type {
        out = out.header(header::CONTENT_TYPE, ct);
    }
    out.body(body)
}

/// Joins the client's upgraded connection to the engine's, until either side ends or `gone`.
pub fn join_hijacked(
    client: poem::OnUpgrade,
    (content_type, mut engine): Hijacked,
    gone: impl Future<Output = ()> + Send + 'static,
) -> Response {
    tokio::spawn(async move {
        let Ok(mut client) = client.await else {
            return;
        };
        tokio::select! {
            copied = tokio::io::copy_bidirectional(&mut client, &mut engine) => {
                if let Err(e) = copied {
                    tracing::debug!(error = %e, "hijacked connection ended");
                }
            }
            _ = gone => {}
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "tcp")
        .header(
            header::CONTENT_TYPE,
            content_type.unwrap_or_else(|| "application/vnd.docker.raw-stream".into()),
        )
        .finish()
}

/// The client's connection, to be upgraded: asked for before anything is done.
pub fn upgrade_of(req: &Request) -> DockerResult<poem::OnUpgrade> {
    req.take_upgrade().map_err(|_| {
        DockerError::bad_request(
            "this call hijacks the connection: send Connection: Upgrade and Upgrade: tcp",
        )
    })
}

fn query_of<T: Serialize>(q: &T) -> String {
    serde_urlencoded::to_string(q).unwrap_or_default()
}

/// `logs`' query, checked: only these reach the engine.
#[derive(Debug, Deserialize, Serialize)]
pub struct LogsQuery {
    #[serde(default, deserialize_with = "super::flag")]
    follow: bool,
    #[serde(default, deserialize_with = "super::flag")]
    stdout: bool,
    #[serde(default, deserialize_with = "super::flag")]
    stderr: bool,
    #[serde(default, deserialize_with = "super::flag")]
    timestamps: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tail: Option<String>,
}

/// `GET /containers/{id}/logs`: Docker's 8-byte framing without a TTY, raw with one.
#[handler]
pub async fn logs(
    cluster: Data<&Arc<Cluster>>,
    shutdown: Data<&Shutdown>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(q): Query<LogsQuery>,
) -> DockerResult<Response> {
    if let Some(tail) = q.tail.as_deref()
        && tail != "all"
        && tail.parse::<u32>().is_err()
    {
        return Err(DockerError::bad_request("tail must be a number or all"));
    }
    let query = query_of(&q);
    let (_, response) = (cluster.relay(&caller, &id, ContainerCall::Logs, &query)).await?;
    let gone = caller_gone(cluster.clone(), caller, shutdown.clone());
    Ok(relayed(response, gone))
}

#[derive(Debug, Deserialize, Serialize)]
pub struct WaitQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<String>,
}

/// `POST /containers/{id}/wait`.
#[handler]
pub async fn wait(
    cluster: Data<&Arc<Cluster>>,
    shutdown: Data<&Shutdown>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
) -> DockerResult<Response> {
    if let Some(c) = q.condition.as_deref()
        && !matches!(c, "" | "not-running" | "next-exit" | "removed")
    {
        return Err(DockerError::bad_request(
            "condition must be not-running, next-exit or removed",
        ));
    }
    let (_, response) = (cluster.relay(&caller, &id, ContainerCall::Wait, &query_of(&q))).await?;
    Ok(relayed(
        response,
        caller_gone(cluster.clone(), caller, shutdown.clone()),
    ))
}

/// A TTY size, as both resize calls take it.
#[derive(Debug, Deserialize, Serialize)]
pub struct ResizeQuery {
    h: u16,
    w: u16,
}

/// `POST /containers/{id}/resize`.
#[handler]
pub async fn resize(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(q): Query<ResizeQuery>,
) -> DockerResult<Response> {
    let (_, response) = (cluster.relay(&caller, &id, ContainerCall::Resize, &query_of(&q))).await?;
    Ok(relayed(response, std::future::pending()))
}

#[derive(Debug, Deserialize, Serialize)]
pub struct AttachQuery {
    #[serde(default, deserialize_with = "super::flag")]
    stream: bool,
    #[serde(default, deserialize_with = "super::flag")]
    logs: bool,
    #[serde(default, deserialize_with = "super::flag")]
    stdin: bool,
    #[serde(default, deserialize_with = "super::flag")]
    stdout: bool,
    #[serde(default, deserialize_with = "super::flag")]
    stderr: bool,
    #[serde(rename = "detachKeys", skip_serializing_if = "Option::is_none")]
    detach_keys: Option<String>,
}

/// `POST /containers/{id}/attach`, hijacked (audited as `container.attach`).
#[handler]
pub async fn attach(
    req: &Request,
    cluster: Data<&Arc<Cluster>>,
    shutdown: Data<&Shutdown>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(q): Query<AttachQuery>,
) -> DockerResult<Response> {
    if q.detach_keys.as_ref().is_some_and(|k| k.len() > 64) {
        return Err(DockerError::bad_request(
            "detachKeys must be at most 64 characters",
        ));
    }
    let client = upgrade_of(req)?;
    let engine = cluster.attach(&caller, &id, &query_of(&q)).await?;
    Ok(join_hijacked(
        client,
        engine,
        caller_gone(cluster.clone(), caller, shutdown.clone()),
    ))
}
