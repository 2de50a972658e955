//! The Docker Engine API, a second front door beside `/apiv1` (`CLEMENTINE_DOCKER_LISTEN`): the
//! `docker` CLI, compose and Docker SDKs work against clementine as against one engine. Handlers
//! translate Docker's shapes and call the same `Cluster` actions as `/apiv1`, so placement, the
//! tenant guard, quotas, ownership and the audit log (with `via: docker`) are the same.
//!
//! - Paths: unversioned, or `/v1.24` to `/v1.43`; answered as API 1.41.
//! - Authentication: `Authorization: Bearer <token>` ([`auth`]); only `_ping` needs none.
//! - Errors: Docker's `{"message": ...}` ([`error`]); what is not supported answers 501
//!   naming the route.
//! - Long calls (logs, wait, attach, exec, events) end with their caller ([`stream`]).

mod auth;
mod containers;
mod create;
mod error;
mod events;
mod exec;
mod objects;
mod shapes;
mod stream;
mod system;

use std::sync::Arc;

use poem::http::{HeaderValue, StatusCode, Uri};
use poem::web::Data;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, handler, post};
use serde::Deserialize;

pub use error::{DockerError, DockerResult};

use crate::cluster::Cluster;
use crate::shutdown::Shutdown;

/// The API version answered.
pub const API_VERSION: &str = "1.41";
/// The oldest path version accepted.
pub const MIN_API_VERSION: &str = "1.24";
const NEWEST_MINOR: u32 = 43;
const OLDEST_MINOR: u32 = 24;

/// Docker's boolean query values: absent, ``, `0`, `no`, `false` and `none` are false.
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s = String::deserialize(d)?;
    Ok(!matches!(
        s.to_ascii_lowercase().as_str(),
        "" | "0" | "no" | "false" | "none"
    ))
}

/// The Docker API application.
pub fn app(cluster: Arc<Cluster>, shutdown: Shutdown, max_body_bytes: usize) -> impl Endpoint {
    routes()
        .around(versioned)
        .with(crate::api::BodyLimit::new(max_body_bytes))
        .data(cluster)
        .data(shutdown)
}

fn routes() -> Route {
    use containers as c;
    Route::new()
        .at("/_ping", get(system::ping).head(system::ping))
        .at("/version", get(system::version))
        .at("/info", get(system::info))
        .at("/events", get(events::events))
        .at("/containers/json", get(c::list))
        .at("/containers/create", post(c::create))
        .at("/containers/:id", poem::delete(c::remove))
        .at("/containers/:id/json", get(c::inspect))
        .at("/containers/:id/start", post(c::start))
        .at("/containers/:id/stop", post(c::stop))
        .at("/containers/:id/restart", post(c::restart))
        .at("/containers/:id/kill", post(c::kill))
        .at("/containers/:id/wait", post(stream::wait))
        .at("/containers/:id/logs", get(stream::logs))
        .at("/containers/:id/attach", post(stream::attach))
        .at("/containers/:id/resize", post(stream::resize))
        .at("/containers/:id/exec", post(exec::create))
        .at("/exec/:id/start", post(exec::start))
        .at("/exec/:id/json", get(exec::inspect))
        .at("/exec/:id/resize", post(exec::resize))
        .at("/images/json", get(objects::images))
        .at("/images/create", post(objects::pull))
        .at("/images/*name", get(image_route))
        .at("/volumes", get(objects::volumes))
        .at("/volumes/create", post(objects::create_volume))
        .at(
            "/volumes/:name",
            get(objects::inspect_volume).delete(objects::remove_volume),
        )
        .at("/networks", get(objects::networks))
        .at("/networks/create", post(objects::create_network))
        .at(
            "/networks/:id",
            get(objects::inspect_network).delete(objects::remove_network),
        )
        .at("/networks/:id/connect", post(objects::connect))
        .at("/networks/:id/disconnect", post(objects::disconnect))
}

/// `GET /images/{name}/json`: image names carry `/`, so the route takes the rest of the path.
#[handler]
async fn image_route(
    cluster: Data<&Arc<Cluster>>,
    auth::Caller(caller): auth::Caller,
    poem::web::Path(rest): poem::web::Path<String>,
) -> DockerResult<Response> {
    match rest.strip_suffix("/json") {
        Some(name) => Ok(objects::inspect_image(&cluster, &caller, name)
            .await?
            .into_response()),
        None => Err(unsupported("GET", &format!("/images/{rest}"))),
    }
}

fn unsupported(method: &str, path: &str) -> DockerError {
    DockerError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!("{method} {path} is not supported by clementine's Docker API"),
    )
}

/// An error in Docker's shape; an unknown route (or method) is "not supported", naming the
/// request's `route`.
fn docker_shaped(e: poem::Error, route: (&str, &str)) -> Response {
    if let Some(docker) = e.downcast_ref::<DockerError>() {
        return poem::error::ResponseError::as_response(docker);
    }
    let status = e.status();
    let error = match status {
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => unsupported(route.0, route.1),
        s if s.is_server_error() => {
            tracing::error!(error = %e, "internal error");
            DockerError::new(status, "internal error")
        }
        s => DockerError::new(s, e.to_string()),
    };
    poem::error::ResponseError::as_response(&error)
}

/// Strips the version prefix, serves, and adds Docker's headers; audits refusals and logs the
/// request.
async fn versioned<E: Endpoint>(next: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let path = req.uri().path().to_string();
    let stripped = match strip_version(&path) {
        Ok(stripped) => stripped,
        Err(e) => return Ok(with_headers(poem::error::ResponseError::as_response(&e))),
    };
    let method = req.method().to_string();
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    if let Ok(uri) = format!("{stripped}{query}").parse::<Uri>() {
        *req.uri_mut() = uri;
    }
    let slot = auth::CallerSlot::default();
    req.extensions_mut().insert(slot.clone());
    let client = req
        .remote_addr()
        .as_socket_addr()
        .map_or("unknown".to_string(), |a| a.ip().to_string());
    let cluster = req.data::<Arc<Cluster>>().cloned();
    let started = std::time::Instant::now();
    let response = match next.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => docker_shaped(e, (&method, &stripped)),
    };
    let who = slot.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let (Some(denied), Some(cluster)) = (response.extensions().get::<error::Denied>(), &cluster)
    {
        let route = format!("{method} {stripped}");
        cluster
            .record_denied(who.as_ref(), &client, &route, &stripped, &denied.0)
            .await;
    }
    let user = who.as_ref().map_or("-", |p| p.username.as_str());
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = response.status().as_u16();
    tracing::info!(%method, path = %stripped, status, %user, ms, "docker api request");
    Ok(with_headers(response))
}

/// `/v1.41/containers/json` -> `/containers/json`; versions outside 1.24-1.43 are refused.
fn strip_version(path: &str) -> DockerResult<String> {
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok(path.to_string());
    };
    let (version, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(minor) = version
        .strip_prefix("1.")
        .and_then(|m| m.parse::<u32>().ok())
    else {
        return Ok(path.to_string());
    };
    if minor < OLDEST_MINOR {
        return Err(DockerError::bad_request(format!(
            "client version 1.{minor} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
        )));
    }
    if minor > NEWEST_MINOR {
        return Err(DockerError::bad_request(format!(
            "client version 1.{minor} is too new. Maximum supported API version is 1.{NEWEST_MINOR}"
        )));
    }
    Ok(format!("/{tail}"))
}

fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    // The docker CLI reads an error's message only when the type is exactly this.
    let json = (headers.get(poem::http::header::CONTENT_TYPE))
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json {
        let exact = HeaderValue::from_static("application/json");
        headers.insert(poem::http::header::CONTENT_TYPE, exact);
    }
    let server = format!("clementine/{} (linux)", env!("CARGO_PKG_VERSION"));
    headers.insert("api-version", HeaderValue::from_static(API_VERSION));
    headers.insert("docker-experimental", HeaderValue::from_static("false"));
    headers.insert("ostype", HeaderValue::from_static("linux"));
    if let Ok(v) = HeaderValue::from_str(&server) {
        headers.insert("server", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_in_range_are_stripped() {
        assert_eq!(
            strip_version("/v1.41/containers/json").unwrap(),
            "/containers/json"
        );
        assert_eq!(strip_version("/v1.24/_ping").unwrap(), "/_ping");
        assert_eq!(
            strip_version("/containers/json").unwrap(),
            "/containers/json"
        );
        assert!(
            strip_version("/v1.23/info")
                .unwrap_err()
                .message
                .contains("too old")
        );
        assert!(
            strip_version("/v1.44/info")
                .unwrap_err()
                .message
                .contains("too new")
        );
        assert_eq!(strip_version("/volumes/v1.41").unwrap(), "/volumes/v1.41");
    }
}
