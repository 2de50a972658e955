//! Unauthenticated probes: `/healthz` (does Redis answer?) and `/metrics` (Prometheus text).

use std::sync::Arc;

use poem::web::{Data, Json};
use poem::{IntoResponse, Response, handler};
use serde_json::json;

use super::{ApiError, ErrorCode};
use crate::cluster::Cluster;
use crate::domain::HealthState;
use crate::telemetry::metrics::ScrapedState;

/// `200 {"ok":true,"data":{"redis":"up"}}` while Redis answers, `503` otherwise.
#[handler]
pub async fn healthz(cluster: Data<&Arc<Cluster>>) -> Response {
    match cluster.store().ping().await {
        Ok(()) => {
            Json(json!({"ok": true, "data": {"redis": "up", "version": env!("CARGO_PKG_VERSION")}}))
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "health check: redis down");
            poem::error::ResponseError::as_response(&ApiError::new(
                ErrorCode::StoreUnavailable,
                "redis does not answer",
            ))
        }
    }
}

/// The OpenAPI spec (the committed `openapi/clementine.json`), built once.
#[handler]
pub fn spec() -> Response {
    static SPEC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = SPEC.get_or_init(super::spec_json);
    Response::builder()
        .content_type("application/json")
        .body(text.clone())
}

/// The OpenMetrics text exposition (`crate::telemetry::metrics`), with the state read now.
#[handler]
pub async fn metrics(cluster: Data<&Arc<Cluster>>) -> Response {
    let redis_up = cluster.store().ping().await.is_ok();
    let engines = cluster.store().list_engines().await.ok();
    let count = |engines: &[crate::domain::Engine], state| {
        engines.iter().filter(|e| e.health.state == state).count()
    };
    let expiry = |e: &crate::domain::Engine| {
        let at = humantime::parse_rfc3339(e.health.certificate_expires_at.as_deref()?).ok()?;
        let secs = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        Some((e.id.clone(), secs as i64))
    };
    let engine_certificates = (engines.iter().flatten()).filter_map(expiry).collect();
    let state = ScrapedState {
        audit_queued: cluster.audit().queued(),
        tail_clients: cluster.tail_clients(),
        redis_up,
        engines_by_health: engines.map(|e| {
            [
                HealthState::Healthy,
                HealthState::Unhealthy,
                HealthState::Unknown,
            ]
            .map(|state| count(&e, state))
        }),
        quotas: cluster.limited_quotas().await.unwrap_or_default(),
        engine_certificates,
    };
    Response::builder()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(cluster.metrics().scrape(&state))
}
