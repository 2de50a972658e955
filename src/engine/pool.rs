//! The engine clients of this process: built once per engine and reused for every call.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;

use super::EngineClient;
use super::client::HttpsClient;
use super::suspects::Suspects;
use super::tls::{ServerCertificates, TlsError, client_config};
use crate::config::TlsFiles;
use crate::domain::Engine;
use crate::telemetry::Metrics;

/// Idle keep-alive connections are closed after this long.
const POOL_IDLE: Duration = Duration::from_secs(90);
/// Idle keep-alive connections kept per engine.
const MAX_IDLE_PER_ENGINE: usize = 8;

/// Engine clients by id, sharing one pooled HTTPS client.
pub struct EnginePool {
    /// Replaced whole when SIGHUP re-reads the client certificate and CA.
    http: ArcSwap<HttpsClient>,
    timeout: Duration,
    /// Bounds one image pull.
    pull_timeout: Duration,
    /// Registries pulls may use; `None`: any.
    pull_registries: Option<Vec<String>>,
    /// Where the clients record their calls.
    metrics: Arc<Metrics>,
    clients: RwLock<HashMap<String, Arc<EngineClient>>>,
    /// Engines whose last quick call timed out.
    suspects: Arc<Suspects>,
    /// When each engine's certificate expires, as handshakes showed it.
    certificates: Arc<ServerCertificates>,
}

/// One pooled HTTPS client over `tls`; `timeout` bounds TCP connects.
fn https_client(tls: &ClientConfig, timeout: Duration) -> HttpsClient {
    let mut tcp = HttpConnector::new();
    tcp.set_nodelay(true);
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(timeout));
    tcp.set_keepalive(Some(Duration::from_secs(30)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_only()
        .enable_http1()
        .wrap_connector(tcp);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        // At 1,000 engines, 64 idle connections each ran the process out of file descriptors;
        // a few per engine serve its concurrent calls, and more are opened when needed.
        .pool_max_idle_per_host(MAX_IDLE_PER_ENGINE)
        .build(https)
}

impl EnginePool {
    /// Clients over mutual TLS with the CA, certificate and key in `tls`. `timeout` bounds
    /// quick calls (ping, list) and TCP connects; `pull_timeout` one pull. The clients record
    /// their calls in `metrics`.
    pub fn new(
        tls: &TlsFiles,
        timeout: Duration,
        pull_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<Self, TlsError> {
        let certificates = Arc::new(ServerCertificates::default());
        let config = client_config(tls, &certificates)?;
        Ok(Self {
            http: ArcSwap::from_pointee(https_client(&config, timeout)),
            timeout,
            pull_timeout,
            pull_registries: None,
            metrics,
            clients: RwLock::new(HashMap::new()),
            suspects: Arc::default(),
            certificates,
        })
    }

    /// Uses a new client certificate and CA (SIGHUP) for every connection made from now on.
    /// Connections already open, and the streams on them, go on with the old ones. Files that
    /// cannot be used change nothing.
    pub fn replace_tls(&self, tls: &TlsFiles) -> Result<(), TlsError> {
        let config = client_config(tls, &self.certificates)?;
        self.http
            .store(Arc::new(https_client(&config, self.timeout)));
        self.write().clear();
        Ok(())
    }

    /// When the certificate of the engine reached on `host` expires (Unix seconds), once a
    /// handshake with it was made.
    pub fn certificate_not_after(&self, host: &str) -> Option<i64> {
        self.certificates.not_after(host)
    }

    /// A client not kept in the pool: for probing an engine before it is stored.
    pub fn detached(&self, id: &str, addr: &str) -> EngineClient {
        EngineClient::new(
            id,
            addr,
            HttpsClient::clone(&self.http.load()),
            self.timeout,
            self.metrics.clone(),
        )
        .reporting_timeouts_to(self.suspects.clone())
    }

    /// Only these registries may be pulled from (the rest count as `pull: never`).
    pub fn with_pull_registries(mut self, registries: Option<Vec<String>>) -> Self {
        self.pull_registries = registries;
        self
    }

    /// Whether engines may pull from this registry.
    pub fn may_pull_from(&self, registry: &str) -> bool {
        (self.pull_registries.as_ref()).is_none_or(|allowed| allowed.iter().any(|r| r == registry))
    }

    /// How long one pull may take.
    pub fn pull_timeout(&self) -> Duration {
        self.pull_timeout
    }

    /// The process's metrics, which the clients record their calls in.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The client for an engine, built on first use (or when its address changed).
    pub fn client(&self, engine: &Engine) -> Arc<EngineClient> {
        if let Some(c) = self.read().get(&engine.id)
            && c.addr == engine.addr
        {
            return c.clone();
        }
        let client = Arc::new(self.detached(&engine.id, &engine.addr));
        self.write().insert(engine.id.clone(), client.clone());
        client
    }

    /// Engines whose last quick call timed out, until the monitor hears from them again.
    pub fn suspects(&self) -> &Suspects {
        &self.suspects
    }

    /// Drops the client of a removed engine.
    pub fn forget(&self, id: &str) {
        self.write().remove(id);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<EngineClient>>> {
        self.clients.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<EngineClient>>> {
        self.clients.write().unwrap_or_else(|p| p.into_inner())
    }
}
