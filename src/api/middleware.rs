//! Request plumbing: request ids with a tracing span and an access log line per request, and the
//! body size limit. (Bodies are read as JSON whatever their content type: see `body`.)

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::Instrument;

use super::{ApiError, ErrorCode};
use crate::auth::Principal;
use crate::cluster::Cluster;
use crate::telemetry::RequestClock;

/// The id of one request: taken from a sane `X-Request-Id` header or made up, echoed in the
/// answer, attached to every log line of the request and to the audit entries it writes.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const REQUEST_ID: &str = "x-request-id";

fn incoming_request_id(req: &Request) -> Option<String> {
    let v = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    let sane = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    sane.then(|| v.to_string())
}

/// Where the bearer extractor leaves the authenticated caller, so that the request's log line
/// and a denied attempt's audit entry can name them.
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<std::sync::Mutex<Option<Principal>>>);

impl CallerSlot {
    pub fn set(&self, principal: &Principal) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(principal.clone());
    }

    fn get(&self) -> Option<Principal> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Who sent a request: the TCP peer, or, when the peer is a trusted proxy, the last address of
/// `X-Forwarded-For` that is not one. Login throttling and the audit's flood gate count by it.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

fn client_addr(req: &Request, trusted: &[IpAddr]) -> ClientAddr {
    let Some(peer) = req.remote_addr().as_socket_addr().map(|a| a.ip()) else {
        return ClientAddr("unknown".into());
    };
    if !trusted.contains(&peer) {
        return ClientAddr(peer.to_string());
    }
    let forwarded = (req.headers().get_all("x-forwarded-for").iter())
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    let client = forwarded.into_iter().rev().find(|a| !trusted.contains(a));
    ClientAddr(client.unwrap_or(peer).to_string())
}

/// Assigns the request id and the client address, opens the request's span, times it (engine
/// time apart), logs one line when it ends, records it in `/metrics`, and audits every 403 as
/// `auth.denied`.
pub struct RequestLog {
    cluster: Arc<Cluster>,
    trusted_proxies: Arc<Vec<IpAddr>>,
}

impl RequestLog {
    pub fn new(cluster: Arc<Cluster>, trusted_proxies: Vec<IpAddr>) -> Self {
        Self {
            cluster,
            trusted_proxies: Arc::new(trusted_proxies),
        }
    }
}

impl<E: Endpoint> Middleware<E> for RequestLog {
    type Output = RequestLogEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        RequestLogEndpoint {
            inner,
            cluster: self.cluster.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }
}

pub struct RequestLogEndpoint<E> {
    inner: E,
    cluster: Arc<Cluster>,
    trusted_proxies: Arc<Vec<IpAddr>>,
}

impl<E: Endpoint> Endpoint for RequestLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        req.extensions_mut().insert(RequestId(id.clone()));
        let caller = CallerSlot::default();
        req.extensions_mut().insert(caller.clone());
        let client = client_addr(&req, &self.trusted_proxies);
        req.extensions_mut().insert(client.clone());
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let span = tracing::info_span!("request", request_id = %id, %method, %path);
        let started = Instant::now();
        let clock = RequestClock::default();
        let result = clock
            .scope(self.inner.call(req).instrument(span.clone()))
            .await;
        let mut resp = match result {
            Ok(r) => r.into_response(),
            Err(e) => super::error::render_poem_error(e).await,
        };
        if let Some(denied) = (resp.extensions().get::<ApiError>())
            .filter(|a| a.code.status() == StatusCode::FORBIDDEN)
        {
            let route = format!("{method} {path}");
            let who = caller.get();
            (self
                .cluster
                .record_denied(who.as_ref(), &client.0, &route, &path, &denied.message))
            .instrument(span.clone())
            .await;
        }
        let elapsed = started.elapsed();
        let status = resp.status().as_u16();
        self.cluster.metrics().request(status, elapsed, &clock);
        span.in_scope(|| log_request(status, elapsed, &clock));
        if let Ok(v) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert(REQUEST_ID, v);
        }
        Ok(resp)
    }
}

/// The request's log line: its time, the part of it spent waiting on engines, and its phases.
fn log_request(status: u16, elapsed: std::time::Duration, clock: &RequestClock) {
    let ms = |d: std::time::Duration| (d.as_secs_f64() * 1e6).round() / 1000.0;
    let engine = clock.engine_time();
    if engine.is_zero() {
        tracing::info!(status, ms = ms(elapsed), "request");
        return;
    }
    let own = elapsed.saturating_sub(engine);
    let phases = clock.phases_text();
    tracing::info!(status, ms = ms(elapsed), engine_ms = ms(engine), own_ms = ms(own), %phases, "request");
}

/// Caps request bodies: a body over the limit is refused with 413 before it is read (by its
/// Content-Length) or while it is read (chunked).
pub struct BodyLimit {
    max: usize,
}

impl BodyLimit {
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint {
            inner,
            max: self.max,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
}

fn too_large(max: usize) -> poem::Error {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("request body is larger than {max} bytes"),
    )
    .into()
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        if matches!(
            *req.method(),
            Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE
        ) {
            return self.inner.call(req).await;
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > self.max) {
            return Err(too_large(self.max));
        }
        let body = req
            .take_body()
            .into_bytes_limit(self.max)
            .await
            .map_err(|e| match e {
                poem::error::ReadBodyError::PayloadTooLarge => too_large(self.max),
                other => other.into(),
            })?;
        req.set_body(body);
        self.inner.call(req).await
    }
}
