//! Hollow engines: any number of fake Docker daemons served from one process, for measuring the
//! control plane where real daemons cannot go (30 real dockerds already fill two cores). Like
//! Kubernetes' kubemark hollow nodes, each answers the Engine API subset clementine calls (ping,
//! version, info, containers, images, volumes, networks and `/events` as a real stream) from
//! memory, on a loopback address of its own, over mutual TLS with a certificate from the test
//! bed's CA (issued at start by `clementine::pki`, as the real engines' are).
//!
//! Behaviour tests never run on these: they run on real dockerd. A test
//! (`tests/api/hollow.rs`) sends the same requests to a real engine and a hollow one and checks
//! that the answers have the same shape.
//!
//! - [`HollowSet::start`] serves `count` engines on `first`, `first + 1`, ... (port 2376).
//! - Each engine can be given a delay per call, hung (calls wait until it is freed: what a
//!   wedged daemon looks like) or killed (its listener and connections closed).

mod answers;
mod objects;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use clementine::config::ServeTls;
use clementine::https::{TlsAcceptorOf, server_config};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{EndpointExt, Route, Server};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use objects::Objects;

/// The port every hollow engine listens on (Docker's TLS port), each on its own address.
pub const PORT: u16 = 2376;

/// What the engines are given.
#[derive(Debug, Clone)]
pub struct Options {
    pub count: usize,
    /// The first engine's address; the others follow it.
    pub first: Ipv4Addr,
    /// A folder holding the CA (`ca.pem`, `ca-key.pem`), as `clementine pki init` makes it.
    pub ca_dir: PathBuf,
    /// Images every engine holds from the start (`busybox:latest`, ...).
    pub images: Vec<String>,
    pub cpus: i64,
    pub memory_mb: i64,
}

/// One fake daemon.
pub struct Hollow {
    pub addr: SocketAddr,
    pub objects: Objects,
    delay_ms: AtomicU64,
    hung: AtomicBool,
    freed: Notify,
    killed: CancellationToken,
    calls: AtomicU64,
}

impl Hollow {
    /// Every call waits this long before it is answered (events streams excepted).
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// Calls wait, unanswered, until [`free`](Self::free): a wedged daemon.
    pub fn hang(&self) {
        self.hung.store(true, Ordering::SeqCst);
    }

    pub fn free(&self) {
        self.hung.store(false, Ordering::SeqCst);
        self.freed.notify_waiters();
    }

    /// Closes the listener and every connection: a daemon that died.
    pub fn kill(&self) {
        self.killed.cancel();
    }

    /// Calls answered so far (event streams count once, when opened).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The wait every call makes first: the delay, and for as long as the engine is hung.
    async fn before_answer(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let delay = self.delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        while self.hung.load(Ordering::SeqCst) {
            let freed = self.freed.notified();
            if !self.hung.load(Ordering::SeqCst) {
                break;
            }
            tokio::select! {
                _ = freed => {}
                _ = self.killed.cancelled() => std::future::pending::<()>().await,
            }
        }
    }
}

/// The engines served, stopped when dropped.
pub struct HollowSet {
    pub engines: Vec<Arc<Hollow>>,
    stop: CancellationToken,
    certs: PathBuf,
}

impl HollowSet {
    /// Issues one server certificate naming every address, then serves each engine.
    pub async fn start(options: &Options) -> Result<Self, String> {
        let addrs: Vec<Ipv4Addr> = (0..options.count)
            .map(|i| Ipv4Addr::from(u32::from(options.first) + i as u32))
            .collect();
        let certs = issue_certificate(&options.ca_dir, &addrs)?;
        let (config, _) = server_config(&ServeTls {
            cert: certs.join("engines/hollow/cert.pem"),
            key: certs.join("engines/hollow/key.pem"),
            client_ca: Some(options.ca_dir.join("ca.pem")),
        })?;
        let stop = CancellationToken::new();
        let mut engines = Vec::with_capacity(addrs.len());
        for ip in addrs {
            let addr = SocketAddr::new(IpAddr::V4(ip), PORT);
            let engine = Arc::new(Hollow {
                addr,
                objects: Objects::new(&addr, options),
                delay_ms: AtomicU64::new(0),
                hung: AtomicBool::new(false),
                freed: Notify::new(),
                killed: stop.child_token(),
                calls: AtomicU64::new(0),
            });
            let tcp = TcpListener::bind(addr)
                .into_acceptor()
                .await
                .map_err(|e| format!("listening on {addr}: {e}"))?;
            let acceptor = TlsAcceptorOf::new(tcp, config.clone());
            tokio::spawn(serve(acceptor, engine.clone()));
            engines.push(engine);
        }
        Ok(Self {
            engines,
            stop,
            certs,
        })
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for HollowSet {
    fn drop(&mut self) {
        self.stop.cancel();
        let _ = std::fs::remove_dir_all(&self.certs);
    }
}

async fn serve(acceptor: impl Acceptor + 'static, engine: Arc<Hollow>) {
    let killed = engine.killed.clone();
    let app = Route::new().at("/*path", answers::dispatch).data(engine);
    let server = Server::new_with_acceptor(acceptor).idle_timeout(Duration::from_secs(300));
    let _ = server
        .run_with_graceful_shutdown(app, killed.cancelled_owned(), Some(Duration::ZERO))
        .await;
}

/// A server certificate for every address, signed by the CA in `ca_dir`, in a folder of its
/// own (removed when the set is dropped): `clementine pki engine`'s own code makes it.
fn issue_certificate(ca_dir: &Path, addrs: &[Ipv4Addr]) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "clementine-hollow-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for file in ["ca.pem", "ca-key.pem"] {
        std::fs::copy(ca_dir.join(file), dir.join(file))
            .map_err(|e| format!("{}: {e}", ca_dir.join(file).display()))?;
    }
    let spec = clementine::pki::EngineSpec {
        name: "hollow".into(),
        ips: addrs.iter().map(|ip| IpAddr::V4(*ip)).collect(),
        tls_dir: dir.display().to_string(),
        unix_socket: String::new(),
    };
    clementine::pki::engine(&dir, &spec, &clementine::pki::Validity { days: 2 })
        .map_err(|e| e.to_string())?;
    Ok(dir)
}
