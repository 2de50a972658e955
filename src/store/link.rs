//! The connection to Redis: straight to `redis_url`, or to whichever server the sentinels say is
//! the master, followed across failovers without a restart.
//!
//! Through Sentinel, [`Link::follow`] asks the sentinels every [`WATCH_EVERY`] where the master is;
//! when it moved, a new connection to the new master replaces the shared one (the commands in
//! flight on the old one fail, and their requests answer 503). Lua scripts need nothing more:
//! `redis::Script` sends `EVALSHA` and loads the script again when the new master says `NOSCRIPT`.
//! The live tail's blocking reader reconnects through [`Link::client`], so it follows too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{ClientTlsConfig, ConnectionAddr, IntoConnectionInfo, TlsCertificates};

use super::{StoreError, StoreResult};
use crate::config::{RedisAccess, Secret, SentinelSettings, StoreSettings};
use crate::shutdown::Shutdown;

/// How often the sentinels are asked where the master is.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// Bounds connecting and every command, so that a dead Redis is a quick 503, never a hang.
const TIMEOUT: Duration = Duration::from_secs(2);

/// How long a claim waits for a replica to acknowledge it (through Sentinel).
const REPLICA_WAIT_MS: u64 = 100;
/// After a wait that no replica acknowledged, claims stop waiting for this long (so a missing
/// replica costs one wait every few seconds, not one per run).
const REPLICA_BACKOFF_MS: u64 = 5_000;

/// The shared connection and where it points.
pub(super) struct Link {
    current: RwLock<Current>,
    sentinel: Option<SentinelSettings>,
    dialer: Dialer,
    /// Unix ms before which claims do not wait for a replica.
    skip_waits_until: AtomicU64,
}

struct Current {
    conn: ConnectionManager,
    client: redis::Client,
    /// `host:port` of the master (through Sentinel), else empty.
    master: String,
}

async fn open(client: redis::Client) -> StoreResult<(ConnectionManager, redis::Client)> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500));
    let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
    Ok((conn, client))
}

impl Link {
    /// Connects now (fails when Redis, or every sentinel, cannot be reached).
    pub async fn connect(settings: &StoreSettings) -> StoreResult<Arc<Self>> {
        let sentinel = settings.sentinel();
        let dialer = Dialer(settings.redis_access.clone());
        let (client, master) = match &sentinel {
            None => (dialer.redis(settings.redis_url.expose())?, String::new()),
            Some(s) => {
                let mut sentinels = Sentinels::new(&s.sentinels, dialer.clone());
                let master =
                    (sentinels.master(&s.master).await).map_err(|e| explain(e, Peer::Sentinel))?;
                (dialer.master(&master)?, master)
            }
        };
        let (conn, client) = open(client).await.map_err(|e| explain(e, Peer::Redis))?;
        let current = Current {
            conn,
            client,
            master,
        };
        Ok(Arc::new(Self {
            current: RwLock::new(current),
            sentinel,
            dialer,
            skip_waits_until: AtomicU64::new(0),
        }))
    }

    /// Reads the current connection without copying the rest (every Redis command comes here).
    fn current(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        self.current.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The shared multiplexed connection (a cheap clone).
    pub fn conn(&self) -> ConnectionManager {
        self.current().conn.clone()
    }

    /// A client for the current master, for connections of their own (blocking reads).
    pub fn client(&self) -> redis::Client {
        self.current().client.clone()
    }

    /// Through Sentinel: `WAIT 1` until a replica holds every write made so far on the shared
    /// connection (bounded by [`REPLICA_WAIT_MS`]). Replication is asynchronous; this narrows
    /// what a failover can lose to the writes of the last moment before the master died. A wait
    /// no replica answers is logged and switches waiting off for a while. Without Sentinel:
    /// nothing.
    pub async fn wait_for_replica(&self) {
        let now = crate::time::now_ms();
        if self.sentinel.is_none() || now < self.skip_waits_until.load(Ordering::Relaxed) {
            return;
        }
        let acked: redis::RedisResult<i64> = redis::cmd("WAIT")
            .arg(1)
            .arg(REPLICA_WAIT_MS)
            .query_async(&mut self.conn())
            .await;
        if !matches!(acked, Ok(n) if n > 0) {
            tracing::warn!(
                ?acked,
                "no redis replica acknowledged a claim; not waiting for a while"
            );
            let until = now + REPLICA_BACKOFF_MS;
            self.skip_waits_until.store(until, Ordering::Relaxed);
        }
    }

    /// Through Sentinel: follows the master until `shutdown` begins. Otherwise does nothing.
    pub fn follow(self: &Arc<Self>, shutdown: Shutdown) {
        let Some(settings) = self.sentinel.clone() else {
            return;
        };
        let link = self.clone();
        tokio::spawn(async move {
            let mut sentinels = Sentinels::new(&settings.sentinels, link.dialer.clone());
            loop {
                tokio::select! {
                    _ = shutdown.begun() => return,
                    _ = tokio::time::sleep(WATCH_EVERY) => {}
                }
                link.move_if_needed(&mut sentinels, &settings.master).await;
            }
        });
    }

    async fn move_if_needed(&self, sentinels: &mut Sentinels, name: &str) {
        let Ok(master) = sentinels.master(name).await else {
            return; // No sentinel answered: keep what we have.
        };
        if master == self.current().master {
            return;
        }
        let opened = match self.dialer.master(&master) {
            Ok(client) => open(client).await,
            Err(e) => Err(e),
        };
        match opened {
            Ok((conn, client)) => {
                tracing::warn!(%master, "redis master moved; following it");
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Current {
                    conn,
                    client,
                    master,
                };
            }
            Err(e) => tracing::warn!(%master, error = %e, "cannot reach the new redis master yet"),
        }
    }
}

/// Makes clients for Redis and the sentinels with the deployment's ACL user and TLS files (read
/// for each new client: a master found after a failover is reached with the files as they are).
#[derive(Clone)]
struct Dialer(RedisAccess);

impl Dialer {
    /// A client for `url`, with the configured user and password instead of the URL's.
    fn redis(&self, url: &str) -> StoreResult<redis::Client> {
        let access = &self.0;
        self.client(url, access.username.as_deref(), access.password.as_ref())
    }

    /// A client for the master the sentinels named (`host:port`).
    fn master(&self, addr: &str) -> StoreResult<redis::Client> {
        self.redis(&format!("{}://{addr}/", self.scheme()))
    }

    /// A client for one sentinel (`host:port`), with the sentinels' own password.
    fn sentinel(&self, addr: &str) -> StoreResult<redis::Client> {
        let url = format!("{}://{addr}/", self.scheme());
        self.client(&url, None, self.0.sentinel_password.as_ref())
    }

    fn scheme(&self) -> &'static str {
        if self.0.sentinel_tls {
            "rediss"
        } else {
            "redis"
        }
    }

    fn client(
        &self,
        url: &str,
        username: Option<&str>,
        password: Option<&Secret>,
    ) -> StoreResult<redis::Client> {
        let mut info = url.into_connection_info()?;
        let mut login = info.redis_settings().clone();
        if let Some(username) = username {
            login = login.set_username(username);
        }
        if let Some(password) = password {
            login = login.set_password(password.expose());
        }
        // Commands are small and answered at once: Nagle's delay only adds latency (more so
        // over TLS, whose records can leave in more than one write).
        let tcp = info.tcp_settings().clone().set_nodelay(true);
        info = info.set_redis_settings(login).set_tcp_settings(tcp);
        if !matches!(info.addr(), ConnectionAddr::TcpTls { .. }) {
            return Ok(redis::Client::open(info)?);
        }
        Ok(redis::Client::build_with_tls(info, self.certificates()?)?)
    }

    /// The CA and client certificate, read now.
    fn certificates(&self) -> StoreResult<TlsCertificates> {
        let read = |path: &std::path::Path, var: &str| {
            std::fs::read(path).map_err(|e| {
                StoreError::Access(format!("{var} {} cannot be read: {e}", path.display()))
            })
        };
        let root_cert = (self.0.ca.as_deref())
            .map(|ca| read(ca, "CLEMENTINE_REDIS_CA"))
            .transpose()?;
        let client_tls = match &self.0.client_cert {
            Some((cert, key)) => Some(ClientTlsConfig {
                client_cert: read(cert, "CLEMENTINE_REDIS_CLIENT_CERT")?,
                client_key: read(key, "CLEMENTINE_REDIS_CLIENT_KEY")?,
            }),
            None => None,
        };
        Ok(TlsCertificates {
            client_tls,
            root_cert,
        })
    }
}

/// Which side refused: the settings that fix it differ.
#[derive(Clone, Copy)]
pub(super) enum Peer {
    Redis,
    Sentinel,
}

/// Turns a refusal at start-up into one sentence naming the setting that fixes it; other errors
/// stay as they are.
pub(super) fn explain(e: StoreError, peer: Peer) -> StoreError {
    let (StoreError::Unavailable(cause) | StoreError::Redis(cause)) = &e else {
        return e;
    };
    let text = cause.to_string();
    let (password, user) = match peer {
        Peer::Redis => ("CLEMENTINE_REDIS_PASSWORD", "CLEMENTINE_REDIS_USERNAME"),
        Peer::Sentinel => (
            "CLEMENTINE_REDIS_SENTINEL_PASSWORD",
            "CLEMENTINE_REDIS_SENTINEL_PASSWORD",
        ),
    };
    let why = match cause.code() {
        Some("NOAUTH") => format!("it asks for a password: set {password} (or its _FILE)"),
        Some("WRONGPASS") => {
            format!("it refused the user or password: check {user} and {password}")
        }
        _ if cause.kind() == redis::ErrorKind::AuthenticationFailed => {
            format!("it refused the user or password: check {user} and {password}")
        }
        Some("NOPERM") => format!(
            "the user may not do everything clementine needs ({text}): give {user} the ACL in SECURITY.md"
        ),
        _ if text.contains("certificate") || text.contains("UnknownIssuer") => format!(
            "its TLS certificate is not trusted ({text}): set CLEMENTINE_REDIS_CA to the CA that signed it"
        ),
        _ if text.contains("reset by peer") => format!(
            "it closed the connection at once ({text}): if it speaks TLS, use a rediss:// URL (through Sentinel, CLEMENTINE_REDIS_SENTINEL_TLS=true)"
        ),
        _ => return e,
    };
    StoreError::Access(format!("{} refused clementine: {why}", peer.name()))
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Redis => "Redis",
            Peer::Sentinel => "the Redis sentinel",
        }
    }
}

/// Connections to the sentinels, made when first needed and again after an error.
struct Sentinels {
    addrs: Vec<String>,
    conns: Vec<Option<MultiplexedConnection>>,
    dialer: Dialer,
}

impl Sentinels {
    fn new(addrs: &[String], dialer: Dialer) -> Self {
        Self {
            addrs: addrs.to_vec(),
            conns: vec![None; addrs.len()],
            dialer,
        }
    }

    /// `host:port` of master `name`, from the first sentinel that knows it.
    async fn master(&mut self, name: &str) -> StoreResult<String> {
        let mut last = None;
        for i in 0..self.addrs.len() {
            match self.ask(i, name).await {
                Ok(Some(addr)) => return Ok(addr),
                Ok(None) => {}
                Err(e) => {
                    self.conns[i] = None;
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            redis::RedisError::from((
                redis::ErrorKind::Io,
                "no sentinel knows the master",
                name.to_string(),
            ))
            .into()
        }))
    }

    async fn ask(&mut self, i: usize, name: &str) -> StoreResult<Option<String>> {
        if self.conns[i].is_none() {
            let client = self.dialer.sentinel(&self.addrs[i])?;
            let config = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(TIMEOUT))
                .set_response_timeout(Some(TIMEOUT));
            let conn = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            self.conns[i] = Some(conn);
        }
        let Some(conn) = self.conns[i].as_mut() else {
            return Ok(None);
        };
        let found: Option<(String, String)> = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(name)
            .query_async(conn)
            .await?;
        Ok(found.map(|(host, port)| format!("{host}:{port}")))
    }
}
