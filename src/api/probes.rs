//! Unauthenticated probes: `/healthz` (does Redis answer?) and `/metrics` (Prometheus text).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{IntoResponse, Response, handler};
use serde_json::json;

use super::{ApiError, ErrorCode};
use crate::cluster::Cluster;
use crate::domain::HealthState;

/// Request counters by status class, and total latency.
#[derive(Default)]
pub struct Metrics {
    by_class: [AtomicU64; 6],
    latency_us: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, status: StatusCode, elapsed: Duration) {
        let class = (status.as_u16() / 100).min(5) as usize;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        self.latency_us
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }
}

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

/// Appends one metric in Prometheus text format.
fn metric(out: &mut String, kind: &str, name: &str, help: &str, samples: &[(&str, f64)]) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
    for (labels, value) in samples {
        out.push_str(&format!("{name}{labels} {value}\n"));
    }
}

/// The metrics that are one number each: (kind, name, help, value).
fn single_metrics(
    cluster: &Cluster,
    http: &Metrics,
    redis_up: bool,
) -> [(&'static str, &'static str, &'static str, f64); 6] {
    [
        (
            "counter",
            "clementine_http_request_seconds_sum",
            "Time spent answering requests.",
            http.latency_us.load(Ordering::Relaxed) as f64 / 1e6,
        ),
        (
            "gauge",
            "clementine_audit_queued_outcomes",
            "Audit outcomes waiting for Redis.",
            cluster.audit().queued() as f64,
        ),
        (
            "gauge",
            "clementine_event_stream_clients",
            "Live audit tail (SSE) clients.",
            cluster.tail_clients() as f64,
        ),
        (
            "counter",
            "clementine_engine_listings_total",
            "Container listings asked of the engines.",
            cluster.engine_pool().listings() as f64,
        ),
        (
            "counter",
            "clementine_reconcile_passes_total",
            "Reconcile passes completed.",
            cluster.reconcile_passes() as f64,
        ),
        (
            "gauge",
            "clementine_redis_up",
            "Whether Redis answered this scrape.",
            f64::from(u8::from(redis_up)),
        ),
    ]
}

/// Prometheus text exposition.
#[handler]
pub async fn metrics(cluster: Data<&Arc<Cluster>>, metrics: Data<&Arc<Metrics>>) -> String {
    let mut out = String::new();
    let classes: Vec<(String, f64)> = (metrics.by_class.iter().enumerate().skip(1))
        .map(|(class, n)| {
            let labels = format!("{{class=\"{class}xx\"}}");
            (labels, n.load(Ordering::Relaxed) as f64)
        })
        .collect();
    let classes: Vec<(&str, f64)> = classes.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    let help = "HTTP requests answered, by status class.";
    metric(
        &mut out,
        "counter",
        "clementine_http_requests_total",
        help,
        &classes,
    );
    let redis_up = cluster.store().ping().await.is_ok();
    for (kind, name, help, value) in single_metrics(&cluster, &metrics, redis_up) {
        metric(&mut out, kind, name, help, &[("", value)]);
    }
    if let Ok(engines) = cluster.store().list_engines().await {
        let count = |state| engines.iter().filter(|e| e.health.state == state).count() as f64;
        let by_health = [
            ("{health=\"healthy\"}", count(HealthState::Healthy)),
            ("{health=\"unhealthy\"}", count(HealthState::Unhealthy)),
            ("{health=\"unknown\"}", count(HealthState::Unknown)),
        ];
        metric(
            &mut out,
            "gauge",
            "clementine_engines",
            "Engines by health state.",
            &by_health,
        );
    }
    out
}
