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

/// Prometheus text exposition.
#[handler]
pub async fn metrics(cluster: Data<&Arc<Cluster>>, metrics: Data<&Arc<Metrics>>) -> String {
    let mut out = String::new();
    out.push_str(
        "# HELP clementine_http_requests_total HTTP requests answered, by status class.\n",
    );
    out.push_str("# TYPE clementine_http_requests_total counter\n");
    for (class, n) in metrics.by_class.iter().enumerate().skip(1) {
        out.push_str(&format!(
            "clementine_http_requests_total{{class=\"{class}xx\"}} {}\n",
            n.load(Ordering::Relaxed)
        ));
    }
    out.push_str("# HELP clementine_http_request_seconds_sum Time spent answering requests.\n");
    out.push_str("# TYPE clementine_http_request_seconds_sum counter\n");
    out.push_str(&format!(
        "clementine_http_request_seconds_sum {}\n",
        metrics.latency_us.load(Ordering::Relaxed) as f64 / 1e6
    ));
    out.push_str("# HELP clementine_audit_queued_outcomes Audit outcomes waiting for Redis.\n");
    out.push_str("# TYPE clementine_audit_queued_outcomes gauge\n");
    out.push_str(&format!(
        "clementine_audit_queued_outcomes {}\n",
        cluster.audit().queued()
    ));
    out.push_str("# HELP clementine_event_stream_clients Live audit tail (SSE) clients.\n");
    out.push_str("# TYPE clementine_event_stream_clients gauge\n");
    out.push_str(&format!(
        "clementine_event_stream_clients {}\n",
        cluster.tail_clients()
    ));
    out.push_str(
        "# HELP clementine_engine_listings_total Container listings asked of the engines.\n",
    );
    out.push_str("# TYPE clementine_engine_listings_total counter\n");
    out.push_str(&format!(
        "clementine_engine_listings_total {}\n",
        cluster.engine_pool().listings()
    ));
    out.push_str("# HELP clementine_reconcile_passes_total Reconcile passes completed.\n");
    out.push_str("# TYPE clementine_reconcile_passes_total counter\n");
    out.push_str(&format!(
        "clementine_reconcile_passes_total {}\n",
        cluster.reconcile_passes()
    ));
    let redis_up = cluster.store().ping().await.is_ok();
    out.push_str("# HELP clementine_redis_up Whether Redis answered this scrape.\n");
    out.push_str("# TYPE clementine_redis_up gauge\n");
    out.push_str(&format!("clementine_redis_up {}\n", u8::from(redis_up)));
    if let Ok(engines) = cluster.store().list_engines().await {
        out.push_str("# HELP clementine_engines Engines by health state.\n");
        out.push_str("# TYPE clementine_engines gauge\n");
        for (state, name) in [
            (HealthState::Healthy, "healthy"),
            (HealthState::Unhealthy, "unhealthy"),
            (HealthState::Unknown, "unknown"),
        ] {
            let n = engines.iter().filter(|e| e.health.state == state).count();
            out.push_str(&format!("clementine_engines{{health=\"{name}\"}} {n}\n"));
        }
    }
    out
}
