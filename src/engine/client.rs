//! One engine's client: bollard over the shared pooled TLS transport.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::models::ContainerSummary;
use bollard::query_parameters::ListContainersOptions;
use bollard::{BollardRequest, ClientVersion, Docker};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

use super::EngineError;
use super::labels::ContainerLabels;
use super::suspects::Suspects;
use crate::telemetry::{Metrics, clock};

/// bollard's request body type, named through its public request alias.
pub trait BodyOf {
    type Body;
}
impl<B> BodyOf for http::Request<B> {
    type Body = B;
}
type DockerBody = <BollardRequest as BodyOf>::Body;

/// The pooled HTTPS client shared by all engines.
pub type HttpsClient = Client<HttpsConnector<HttpConnector>, DockerBody>;

/// Docker Engine API version spoken. 1.41 is dockerd 20.10's; newer daemons accept it too.
const API_VERSION: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 41,
};

/// Upper bound bollard puts on any request; calls also carry their own shorter timeouts.
pub(super) const TRANSPORT_TIMEOUT: Duration = Duration::from_secs(300);

/// A client for one engine.
pub struct EngineClient {
    pub id: String,
    pub addr: String,
    docker: Docker,
    /// The same transport, for calls relayed byte for byte (see `raw`).
    pub(super) http: HttpsClient,
    timeout: Duration,
    metrics: Arc<Metrics>,
    /// Where a quick call that times out marks this engine (passive health).
    suspects: Arc<Suspects>,
}

/// What an engine says about itself.
#[derive(Debug, Clone)]
pub struct Probe {
    pub docker_version: String,
    pub api_version: String,
    pub cpus: f64,
    pub memory_mb: u64,
    /// Round trip of the version call, in milliseconds.
    pub response_ms: f64,
}

impl EngineClient {
    /// Wraps the shared HTTPS client for one engine address (`https://host:port`).
    pub(crate) fn new(
        id: &str,
        addr: &str,
        http: HttpsClient,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        let relay = http.clone();
        let transport = move |req: BollardRequest| {
            let http = http.clone();
            async move {
                http.request(req)
                    .await
                    .map_err(bollard::errors::Error::from)
            }
        };
        // connect_with_custom_transport only fails on a bad scheme split, which the address
        // check rules out; it builds no connection.
        let docker = Docker::connect_with_custom_transport(
            transport,
            Some(addr),
            TRANSPORT_TIMEOUT.as_secs(),
            &API_VERSION,
        )
        .expect("custom transport construction does not fail");
        Self {
            id: id.to_string(),
            addr: addr.to_string(),
            docker,
            http: relay,
            timeout,
            metrics,
            suspects: Arc::default(),
        }
    }

    /// Quick calls that time out mark the engine in `suspects`.
    pub(crate) fn reporting_timeouts_to(mut self, suspects: Arc<Suspects>) -> Self {
        self.suspects = suspects;
        self
    }

    /// The bollard handle, for calls not wrapped here.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The per-call timeout for quick calls (ping, list, inspect).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs a bollard call with this engine's timeout, classifying failures. `call` names it
    /// in `clementine_engine_call_seconds`.
    pub async fn call<T>(
        &self,
        call: &'static str,
        fut: impl Future<Output = Result<T, bollard::errors::Error>>,
    ) -> Result<T, EngineError> {
        let result = self.call_with(call, self.timeout, fut).await;
        if matches!(result, Err(EngineError::Timeout(_))) && self.suspects.mark(&self.id) {
            tracing::warn!(engine = %self.id, call, "engine call timed out: suspect until the monitor hears from it");
        }
        result
    }

    /// Like [`call`](Self::call) with an explicit timeout (long calls: start, stop, logs).
    /// The time it takes counts as the current request's engine time.
    pub async fn call_with<T>(
        &self,
        call: &'static str,
        timeout: Duration,
        fut: impl Future<Output = Result<T, bollard::errors::Error>>,
    ) -> Result<T, EngineError> {
        let _wait = clock::engine_wait();
        let started = Instant::now();
        let result = tokio::time::timeout(timeout, fut).await;
        self.metrics.engine_call(call, started.elapsed());
        match result {
            Ok(result) => result.map_err(EngineError::from_bollard),
            Err(_) => Err(EngineError::Timeout(timeout.as_millis())),
        }
    }

    /// Version only: the health monitor's cheap check.
    pub async fn version(&self) -> Result<(String, String, f64), EngineError> {
        let started = Instant::now();
        let v = self.call("version", self.docker.version()).await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok((
            v.version.unwrap_or_default(),
            v.api_version.unwrap_or_default(),
            ms,
        ))
    }

    /// Version plus capacity, as used when an engine is added.
    pub async fn probe(&self) -> Result<Probe, EngineError> {
        let (docker_version, api_version, response_ms) = self.version().await?;
        let info = self.call("info", self.docker.info()).await?;
        Ok(Probe {
            docker_version,
            api_version,
            cpus: info.ncpu.unwrap_or(0).max(0) as f64,
            memory_mb: (info.mem_total.unwrap_or(0).max(0) as u64) / (1024 * 1024),
            response_ms,
        })
    }

    /// Lists containers (running and stopped), optionally only those of one owner in one
    /// deployment (`(owner, deployment)`).
    pub async fn list_containers(
        &self,
        owner: Option<(&str, &str)>,
    ) -> Result<Vec<ContainerSummary>, EngineError> {
        let labels = owner.map(|(owner, deployment)| {
            vec![
                ContainerLabels::owner_filter(owner),
                ContainerLabels::cluster_filter(deployment),
            ]
        });
        self.list_labelled(labels.unwrap_or_default()).await
    }

    /// One container as a listing shows it (running or stopped), or `None` when it is gone.
    pub async fn container_by_id(&self, id: &str) -> Result<Option<ContainerSummary>, EngineError> {
        let filters = std::iter::once(("id".to_string(), vec![id.to_string()])).collect();
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let listed = self
            .call("list", self.docker.list_containers(Some(options)))
            .await?;
        Ok(listed.into_iter().find(|c| c.id.as_deref() == Some(id)))
    }

    /// Lists containers (running and stopped) carrying every `key=value` (or `key`) label.
    pub async fn list_labelled(
        &self,
        label_filters: Vec<String>,
    ) -> Result<Vec<ContainerSummary>, EngineError> {
        let filters = (!label_filters.is_empty())
            .then(|| std::iter::once(("label".to_string(), label_filters)).collect());
        let options = ListContainersOptions {
            all: true,
            filters,
            ..Default::default()
        };
        self.metrics.engine_listing();
        (self.call("list", self.docker.list_containers(Some(options)))).await
    }
}
