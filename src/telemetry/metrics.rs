//! The process's Prometheus metrics, served at `/metrics` in the OpenMetrics text format by
//! `prometheus-client`.
//!
//! Most are recorded where they happen (requests by the middleware, engine calls by the engine
//! client, reconcile passes by the reconciler); the few that describe state (Redis up, engines
//! by health, queued audit outcomes, live-tail clients, certificate expiry) are set when
//! scraped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::RequestClock;
use crate::domain::{OwnerKind, Quota};

/// Buckets for whole requests and engine calls: 0.5 ms to 5 minutes.
const SLOW_BUCKETS: [f64; 17] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
];

/// Buckets for the gateway's own cost per run: fine where the targets are (2 ms, 8 ms).
const OVERHEAD_BUCKETS: [f64; 22] = [
    0.00025, 0.0005, 0.00075, 0.001, 0.00125, 0.0015, 0.00175, 0.002, 0.0025, 0.003, 0.0035, 0.004,
    0.005, 0.006, 0.008, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusClass {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EngineCall {
    call: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Health {
    health: &'static str,
}

/// A quota's owner (`ann`, `team:ops`) and resource: only owners with a limit are exported, so
/// the label set stays as small as the list of quotas.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuotaLabel {
    owner: String,
    resource: &'static str,
}

/// A certificate: one of clementine's own files (`engines-client`, `api` ...) or an engine's
/// (`engine/ID`), so the label set is as small as the list of engines.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertificateLabel {
    certificate: String,
}

/// Every metric of the process, and the registry that writes them out.
pub struct Metrics {
    registry: Registry,
    requests: Family<StatusClass, Counter>,
    request_seconds: Histogram,
    run_seconds: Histogram,
    run_overhead: Histogram,
    engine_calls: Family<EngineCall, Histogram>,
    engine_listings: Counter,
    reconcile_passes: Counter,
    audit_queued: Gauge,
    tail_clients: Gauge,
    redis_up: Gauge,
    engines: Family<Health, Gauge>,
    quota_limit: Family<QuotaLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    quota_used: Family<QuotaLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    certificate_expiry: Family<CertificateLabel, Gauge>,
    certificates_expiring: Gauge,
    /// When clementine's own certificates expire (Unix seconds), read at start and on SIGHUP.
    own_certificates: Mutex<BTreeMap<String, i64>>,
}

fn histogram(buckets: &'static [f64]) -> Histogram {
    Histogram::new(buckets.iter().copied())
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix("clementine"),
            requests: Family::default(),
            request_seconds: histogram(&SLOW_BUCKETS),
            run_seconds: histogram(&SLOW_BUCKETS),
            run_overhead: histogram(&OVERHEAD_BUCKETS),
            engine_calls: Family::new_with_constructor(|| histogram(&SLOW_BUCKETS)),
            engine_listings: Counter::default(),
            reconcile_passes: Counter::default(),
            audit_queued: Gauge::default(),
            tail_clients: Gauge::default(),
            redis_up: Gauge::default(),
            engines: Family::default(),
            quota_limit: Family::default(),
            quota_used: Family::default(),
            certificate_expiry: Family::default(),
            certificates_expiring: Gauge::default(),
            own_certificates: Mutex::default(),
        };
        m.register_all();
        m
    }
}

impl Metrics {
    fn register_all(&mut self) {
        let r = &mut self.registry;
        r.register(
            "http_requests",
            "HTTP requests answered, by status class.",
            self.requests.clone(),
        );
        r.register(
            "http_request_seconds",
            "Time spent answering requests.",
            self.request_seconds.clone(),
        );
        r.register(
            "run_seconds",
            "Time to answer a request that ran containers.",
            self.run_seconds.clone(),
        );
        r.register(
            "run_overhead_seconds",
            "The gateway's own time in a request that ran containers: its whole time less the wall time spent waiting on engine calls.",
            self.run_overhead.clone(),
        );
        r.register(
            "engine_call_seconds",
            "Engine API calls, by call.",
            self.engine_calls.clone(),
        );
        r.register(
            "engine_listings",
            "Container listings asked of the engines.",
            self.engine_listings.clone(),
        );
        r.register(
            "reconcile_passes",
            "Reconcile passes completed.",
            self.reconcile_passes.clone(),
        );
        self.register_state();
    }

    /// The gauges set at scrape time.
    fn register_state(&mut self) {
        let r = &mut self.registry;
        r.register(
            "audit_queued_outcomes",
            "Audit outcomes waiting for Redis.",
            self.audit_queued.clone(),
        );
        r.register(
            "event_stream_clients",
            "Live audit tail (SSE) clients.",
            self.tail_clients.clone(),
        );
        r.register(
            "redis_up",
            "Whether Redis answered this scrape.",
            self.redis_up.clone(),
        );
        r.register("engines", "Engines by health state.", self.engines.clone());
        r.register(
            "quota_limit",
            "An owner's limit per resource (CPUs, MB, counts), for owners with a quota.",
            self.quota_limit.clone(),
        );
        r.register(
            "quota_used",
            "What an owner with a quota holds now, per resource.",
            self.quota_used.clone(),
        );
        r.register(
            "certificate_expiry_timestamp_seconds",
            "When a certificate expires (Unix seconds): clementine's own files, and each engine's as its last health check saw it.",
            self.certificate_expiry.clone(),
        );
        r.register(
            "certificates_expiring",
            "Certificates among those that expire within 30 days, or have.",
            self.certificates_expiring.clone(),
        );
    }

    /// Reads when each of clementine's own certificate files expires (the first certificate
    /// in each); a file that cannot be read is left out.
    pub fn record_certificates(&self, files: &[(&'static str, PathBuf)]) {
        let mut own = self
            .own_certificates
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        own.clear();
        for (name, path) in files {
            let not_after = std::fs::read(path).ok();
            if let Some(at) = not_after.and_then(|pem| crate::pki::not_after_of_pem(&pem)) {
                own.insert((*name).to_string(), at);
            }
        }
    }

    /// Own certificates and the engines' (id, not after), and how many are due.
    fn set_certificates(&self, engines: &[(String, i64)]) {
        let own = self
            .own_certificates
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let all = own.iter().map(|(name, at)| (name.clone(), *at));
        let all = all.chain(engines.iter().map(|(id, at)| (format!("engine/{id}"), *at)));
        self.certificate_expiry.clear();
        let mut due = 0;
        for (certificate, at) in all {
            due += i64::from(crate::pki::expiring(at));
            let label = CertificateLabel { certificate };
            self.certificate_expiry.get_or_create(&label).set(at);
        }
        self.certificates_expiring.set(due);
    }

    /// One answered request; a run's time is also split into engine time and the rest.
    pub fn request(&self, status: u16, elapsed: Duration, clock: &RequestClock) {
        let class = ["1xx", "2xx", "3xx", "4xx", "5xx"][(status / 100).clamp(1, 5) as usize - 1];
        self.requests.get_or_create(&StatusClass { class }).inc();
        self.request_seconds.observe(elapsed.as_secs_f64());
        if clock.kind() == Some("run") {
            self.run_seconds.observe(elapsed.as_secs_f64());
            let own = elapsed.saturating_sub(clock.engine_time());
            self.run_overhead.observe(own.as_secs_f64());
        }
    }

    /// One engine API call, whatever its result.
    pub fn engine_call(&self, call: &'static str, took: Duration) {
        let calls = self.engine_calls.get_or_create(&EngineCall { call });
        calls.observe(took.as_secs_f64());
    }

    pub fn engine_listing(&self) {
        self.engine_listings.inc();
    }

    pub fn reconcile_pass(&self) {
        self.reconcile_passes.inc();
    }

    fn set_quotas(&self, quotas: &[Quota]) {
        self.quota_limit.clear();
        self.quota_used.clear();
        for q in quotas {
            let owner = match q.kind {
                OwnerKind::User => q.name.clone(),
                OwnerKind::Team => crate::domain::team_owner(&q.name),
            };
            let (l, u) = (&q.limits, &q.used);
            let rows: [(&'static str, Option<f64>, f64); 5] = [
                ("cpus", l.cpus, u.cpus),
                ("memory", l.memory.map(|n| n as f64), u.memory as f64),
                (
                    "containers",
                    l.containers.map(|n| n as f64),
                    u.containers as f64,
                ),
                ("volumes", l.volumes.map(|n| n as f64), u.volumes as f64),
                (
                    "published_ports",
                    l.published_ports.map(|n| n as f64),
                    u.published_ports as f64,
                ),
            ];
            for (resource, limit, used) in rows {
                let label = QuotaLabel {
                    owner: owner.clone(),
                    resource,
                };
                if let Some(limit) = limit {
                    self.quota_limit.get_or_create(&label).set(limit);
                }
                self.quota_used.get_or_create(&label).set(used);
            }
        }
    }

    /// The state read at scrape time, then the whole exposition.
    pub fn scrape(&self, state: &ScrapedState) -> String {
        self.audit_queued.set(state.audit_queued as i64);
        self.tail_clients.set(state.tail_clients as i64);
        self.redis_up.set(i64::from(state.redis_up));
        if let Some([healthy, unhealthy, unknown]) = state.engines_by_health {
            for (health, n) in [
                ("healthy", healthy),
                ("unhealthy", unhealthy),
                ("unknown", unknown),
            ] {
                self.engines.get_or_create(&Health { health }).set(n as i64);
            }
        }
        self.set_quotas(&state.quotas);
        self.set_certificates(&state.engine_certificates);
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// What `/metrics` reads of the process's state when scraped.
pub struct ScrapedState {
    pub audit_queued: usize,
    pub tail_clients: usize,
    pub redis_up: bool,
    /// Healthy, unhealthy, unknown; `None` when Redis did not answer.
    pub engines_by_health: Option<[usize; 3]>,
    /// Every owner with a quota.
    pub quotas: Vec<Quota>,
    /// Each engine's id and when its certificate expires (Unix seconds), where known.
    pub engine_certificates: Vec<(String, i64)>,
}
