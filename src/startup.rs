//! Builds the application from settings: connects Redis, runs migrations, creates the first
//! admin, binds the listener and starts the background tasks (health monitor, reconcile pass),
//! all watching one [`Shutdown`]. `main` only parses the command line; tests call
//! [`Application::build`] with port 0 and their own key prefix.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::Server;
use poem::listener::{Acceptor, AcceptorExt, BoxAcceptor, Listener, TcpAcceptor, TcpListener};
use tokio::task::JoinHandle;

use crate::api;
use crate::auth::{Passwords, SecretBox, Tokens};
use crate::cluster::{Cluster, ClusterError, spawn_reconciler, spawn_vanished_releaser};
use crate::config::{ConfigError, Secret, Settings};
use crate::engine::{EnginePool, HealthMonitor, TlsError};
use crate::events::tree::note::Signer;
use crate::events::{Audit, TailHub};
use crate::shutdown::Shutdown;
use crate::store::{Store, StoreError};

/// How long queued audit outcomes get to reach Redis once the server has drained.
const OUTBOX_FLUSH: Duration = Duration::from_secs(5);

/// Why the server could not start; one sentence each.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("TLS files for the engines cannot be used: {0}")]
    Tls(#[from] TlsError),
    #[error("cannot use Redis: {0}")]
    Store(#[from] StoreError),
    #[error(
        "registry credentials are stored but no key opens them: set CLEMENTINE_SECRETS_KEY (or CLEMENTINE_SECRETS_KEY_FILE)"
    )]
    NoSecretsKey,
    #[error("cannot create the first admin: {0}")]
    Admin(#[from] ClusterError),
    #[error("the audit signing key cannot be used: {0}")]
    AuditKey(String),
    #[error("a listener's TLS files cannot be used: {0}")]
    ServeTls(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Connects Redis, runs migrations and creates the first admin: everything but the listener and
/// the background tasks (the `replay` command uses this alone).
pub async fn build_cluster(
    settings: &Settings,
    shutdown: &Shutdown,
) -> Result<(Arc<Cluster>, Store, Arc<EnginePool>), StartupError> {
    let store = Store::connect(&settings.store).await?;
    store.follow_master(shutdown.clone());
    let report = store.migrate().await?;
    tracing::info!(version = report.version, applied = ?report.applied, "schema ready");

    let pool = Arc::new(
        EnginePool::new(
            &settings.tls,
            settings.engine_timeout,
            settings.pull_timeout,
            Default::default(),
        )?
        .with_pull_registries(settings.pull_registries.clone()),
    );
    let secrets = secret_box(settings);
    if secrets.is_none() && store.has_registries().await? {
        return Err(StartupError::NoSecretsKey);
    }
    let cluster = Arc::new(
        Cluster::new(
            store.clone(),
            pool.clone(),
            Passwords::default(),
            Tokens::new(&settings.jwt),
            settings.placement,
            Audit::new(store.clone(), settings.audit_max_len, shutdown.clone()),
            TailHub::spawn(store.clone(), shutdown.clone()),
        )
        .with_secrets(secrets)
        .with_audit_signer(audit_signer(settings, &store).await?),
    );
    if let Some((user, password)) = &settings.bootstrap_admin
        && cluster.bootstrap_admin(user, password.expose()).await?
    {
        tracing::info!(user = %user, "created the first admin");
    }
    Ok((cluster, store, pool))
}

/// The key that signs the audit tree's checkpoints: the configured file, else one generated on
/// first start and kept in Redis, so that every replica signs with it (its verifier key is
/// logged; a key file kept off Redis is what makes checkpoints worth more than Redis itself).
async fn audit_signer(settings: &Settings, store: &Store) -> Result<Arc<Signer>, StartupError> {
    let key_error = |e: String| StartupError::AuditKey(e);
    let skey = match &settings.audit_signing_key_file {
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| key_error(format!("{}: {e}", file.display())))?,
        None => {
            let name = store
                .keys()
                .prefix()
                .trim_end_matches(':')
                .replace('+', "-");
            let generated = Signer::generate(&format!("clementine/{name}"))
                .map_err(|e| key_error(e.to_string()))?;
            store.tlog_generated_key(&generated).await?
        }
    };
    let signer = Signer::new(&skey).map_err(|e| key_error(e.to_string()))?;
    if settings.audit_signing_key_file.is_none() {
        tracing::warn!(
            verifier_key = signer.verifier_key(),
            "no CLEMENTINE_AUDIT_SIGNING_KEY_FILE: audit checkpoints are signed with a key kept in Redis"
        );
    }
    Ok(Arc::new(signer))
}

/// The box that seals registry credentials, opening with the previous key during a rotation.
fn secret_box(settings: &Settings) -> Option<SecretBox> {
    let previous = settings.secrets_previous_key.as_ref().map(Secret::expose);
    let key = settings.secrets_key.as_ref()?;
    Some(SecretBox::new(key.expose()).with_previous(previous))
}

/// Reads the settings again, from where they were read at start-up (SIGHUP).
pub type Reload = Arc<dyn Fn() -> Result<Settings, ConfigError> + Send + Sync>;

/// A built, bound, not yet serving application.
pub struct Application {
    addr: SocketAddr,
    acceptor: BoxAcceptor,
    cluster: Arc<Cluster>,
    monitor: JoinHandle<()>,
    reconciler: JoinHandle<()>,
    releaser: JoinHandle<()>,
    /// Grows the audit tree and signs checkpoints (while this process holds the lease).
    sequencer: JoinHandle<()>,
    shutdown: Shutdown,
    grace: Duration,
    max_body_bytes: usize,
    trusted_proxies: Vec<std::net::IpAddr>,
    /// The Docker Engine API listener, when configured.
    docker: Option<(SocketAddr, BoxAcceptor)>,
    /// The HTTPS listeners' certificates, re-read on SIGHUP.
    certificates: Vec<Arc<crate::https::CertSlot>>,
    /// Where the keys are read again on SIGHUP; `None`: only the certificates are.
    reload: Option<Reload>,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let shutdown = Shutdown::new();
        let (cluster, store, pool) = build_cluster(&settings, &shutdown).await?;
        cluster
            .metrics()
            .record_certificates(&settings.certificate_files());
        let mut certificates = Vec::new();
        let api_tls = settings.api_tls.as_ref();
        let (addr, acceptor) = listener(settings.listen, api_tls, &mut certificates).await?;
        let docker = match &settings.docker {
            Some(d) => Some(listener(d.listen, d.tls.as_ref(), &mut certificates).await?),
            None => None,
        };

        let monitor = HealthMonitor::new(
            store,
            pool,
            cluster.views.clone(),
            settings.monitor_interval,
        )
        .spawn(shutdown.clone());
        let reconciler = spawn_reconciler(
            cluster.clone(),
            settings.reconcile_interval,
            shutdown.clone(),
        );
        let releaser = spawn_vanished_releaser(cluster.clone(), shutdown.clone());
        let sequencer = (cluster.sequencer(settings.audit_checkpoint_every))
            .map_err(|e| StartupError::AuditKey(e.to_string()))?
            .spawn(shutdown.clone());
        Ok(Self {
            addr,
            acceptor,
            cluster,
            monitor,
            reconciler,
            releaser,
            sequencer,
            shutdown,
            grace: settings.shutdown_grace,
            max_body_bytes: settings.max_body_bytes,
            trusted_proxies: settings.trusted_proxies.clone(),
            docker,
            certificates,
            reload: None,
        })
    }

    /// On SIGHUP, also re-reads the engines' client certificate and CA, the JWT secrets and
    /// the secrets key through `reload` (the settings' files; the environment of a running
    /// process does not change).
    pub fn reloading_with(mut self, reload: Reload) -> Self {
        self.reload = Some(reload);
        self
    }

    /// The Docker API's address, when it listens.
    pub fn docker_addr(&self) -> Option<SocketAddr> {
        self.docker.as_ref().map(|(addr, _)| *addr)
    }

    /// The address actually bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn cluster(&self) -> Arc<Cluster> {
        self.cluster.clone()
    }

    /// Serves until the future `stop` completes; then shuts down in order (see [`Shutdown`]):
    /// background tasks and live streams stop, in-flight requests answer (within the grace),
    /// and the audit outbox writes what it holds.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = api::app(
            self.cluster.clone(),
            self.max_body_bytes,
            self.trusted_proxies,
        );
        let hangup = Hangup {
            certificates: self.certificates.clone(),
            cluster: self.cluster.clone(),
            reload: self.reload.clone(),
        };
        hangup.spawn(self.shutdown.clone());
        let shutdown = self.shutdown.clone();
        let signal = async move {
            stop.await;
            tracing::info!("shutting down: draining requests");
            shutdown.begin();
        };
        let docker = self.docker.map(|(_, acceptor)| {
            let app = crate::docker::app(
                self.cluster.clone(),
                self.shutdown.clone(),
                self.max_body_bytes,
            );
            let shutdown = self.shutdown.clone();
            let stopped = async move { shutdown.begun().await };
            let server = Server::new_with_acceptor(acceptor);
            tokio::spawn(server.run_with_graceful_shutdown(app, stopped, Some(self.grace)))
        });
        let result = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(app, signal, Some(self.grace))
            .await;
        if let Some(docker) = docker
            && let Ok(Err(e)) = docker.await
        {
            tracing::error!(error = %e, "the Docker API listener failed");
        }
        // Both return once shutdown has begun (after the round in progress).
        let _ = tokio::join!(self.monitor, self.reconciler, self.releaser, self.sequencer);
        self.shutdown.close();
        if tokio::time::timeout(OUTBOX_FLUSH, self.cluster.audit().flush())
            .await
            .is_err()
        {
            tracing::error!(
                "audit outcomes still queued at shutdown; the reconcile pass will settle their intents"
            );
        }
        tracing::info!("stopped");
        result
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

/// A TCP listener on `addr`, and the address it got (port 0 picks one).
async fn bind(addr: SocketAddr) -> Result<(SocketAddr, TcpAcceptor), StartupError> {
    let acceptor = (TcpListener::bind(addr).into_acceptor().await)
        .map_err(|source| StartupError::Bind { addr, source })?;
    let bound = (acceptor.local_addr().first())
        .and_then(|a| a.as_socket_addr().copied())
        .unwrap_or(addr);
    Ok((bound, acceptor))
}

/// A listener: plain HTTP, or HTTPS with its TLS files.
async fn listener(
    addr: SocketAddr,
    tls: Option<&crate::config::ServeTls>,
    certificates: &mut Vec<Arc<crate::https::CertSlot>>,
) -> Result<(SocketAddr, BoxAcceptor), StartupError> {
    let (addr, tcp) = bind(addr).await?;
    let acceptor = match tls {
        None => tcp.boxed(),
        Some(tls) => {
            let (config, slot) =
                crate::https::server_config(tls).map_err(StartupError::ServeTls)?;
            certificates.push(slot);
            crate::https::TlsAcceptorOf::new(tcp, config).boxed()
        }
    };
    let mutual = tls.is_some_and(|t| t.client_ca.is_some());
    tracing::info!(%addr, tls = tls.is_some(), client_certificates = mutual, "listening");
    Ok((addr, acceptor))
}

/// What SIGHUP re-reads. The next handshakes, requests and engine connections use the new
/// material; open connections and live streams go on. What cannot be used keeps the old
/// material and says why in one log line.
struct Hangup {
    /// The HTTPS listeners' certificates and keys.
    certificates: Vec<Arc<crate::https::CertSlot>>,
    cluster: Arc<Cluster>,
    /// The engines' client certificate and CA, the JWT secrets and the secrets key.
    reload: Option<Reload>,
}

impl Hangup {
    fn spawn(self, shutdown: Shutdown) {
        #[cfg(unix)]
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut hangups) = signal(SignalKind::hangup()) else {
                return;
            };
            loop {
                tokio::select! {
                    _ = hangups.recv() => {}
                    _ = shutdown.begun() => return,
                }
                self.reload();
            }
        });
        #[cfg(not(unix))]
        let _ = (self, shutdown);
    }

    fn reload(&self) {
        for slot in &self.certificates {
            match slot.reload() {
                Ok(()) => tracing::info!("SIGHUP: certificate reloaded"),
                Err(why) => {
                    tracing::error!(%why, "SIGHUP: certificate not reloaded, the old one stays")
                }
            }
        }
        let Some(reload) = &self.reload else {
            return;
        };
        let pool = self.cluster.engine_pool();
        let loaded = (reload().map_err(|e| e.to_string())).and_then(|s| {
            pool.replace_tls(&s.tls).map_err(|e| e.to_string())?;
            Ok(s)
        });
        match loaded {
            Ok(settings) => {
                (self.cluster.metrics()).record_certificates(&settings.certificate_files());
                (self.cluster).replace_keys(Tokens::new(&settings.jwt), secret_box(&settings));
                tracing::info!("SIGHUP: engine certificate, JWT secrets and secrets key reloaded");
            }
            Err(why) => tracing::error!(%why, "SIGHUP: keys not reloaded, the old ones stay"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
