//! Redis: the only module that knows key names (see [`keys`]) and the migrations runner.
//!
//! [`Store`] is cheap to clone: it wraps one multiplexed [`ConnectionManager`] that reconnects by
//! itself after Redis restarts, and through Sentinel follows the master to another server
//! ([`link`]). Commands time out after two seconds so that a dead Redis turns into a quick
//! `503`, never a hung request; so do the errors of a server that is not (or no longer) the
//! master.

mod backup;
mod claims;
mod engine_cache;
mod engines;
mod events;
mod images;
pub mod keys;
mod link;
mod locks;
pub mod migrations;
mod quotas;
mod registries;
mod reservation_cache;
mod teams;
mod tlog;
mod tokens;
mod users;

use std::collections::HashMap;
use std::sync::Arc;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

pub use backup::DumpedKey;
pub use claims::{Claim, ClaimRefused, Reservations};
pub use events::{BlockingReader, Fields, IndexChange, StoredEntry, index_entry};
pub use images::StoredImage;
pub use keys::Keys;
pub use registries::RegistryRecord;
pub use teams::TeamRecord;
pub use tlog::Growth;
pub use tokens::TokenRecord;
pub use users::{AccountState, UserRecord};

use crate::config::StoreSettings;

/// What went wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis did not answer (down, restarting, timed out).
    #[error("redis is unavailable: {0}")]
    Unavailable(#[source] redis::RedisError),
    /// Redis answered with an error that is not about reachability.
    #[error("redis error: {0}")]
    Redis(#[source] redis::RedisError),
    /// A stored value could not be read back.
    #[error("stored value under {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    /// Redis (or a sentinel) refused clementine's login, certificate or commands: one sentence
    /// naming the setting that fixes it.
    #[error("{0}")]
    Access(String),
    /// The schema in Redis is newer than this binary understands.
    #[error(
        "the Redis schema is at version {found}, newer than this binary's {known}: upgrade clementine"
    )]
    SchemaTooNew { found: u32, known: u32 },
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_unrecoverable_error()
            // A replica (the old master, back after a failover), or a master that lost its
            // replicas or is loading: not this request's fault, try again soon.
            || matches!(e.code(), Some("READONLY" | "LOADING" | "MASTERDOWN" | "TRYAGAIN"))
        {
            StoreError::Unavailable(e)
        } else {
            StoreError::Redis(e)
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Handle on clementine's state in Redis.
#[derive(Clone)]
pub struct Store {
    link: Arc<link::Link>,
    keys: Arc<Keys>,
    /// The engine records, read from Redis at most every half second.
    engine_cache: Arc<engine_cache::EngineCache>,
    /// The reservations as last read, for a run's first placement.
    reservation_cache: Arc<reservation_cache::ReservationCache>,
}

impl Store {
    /// Connects to Redis (or finds it through the sentinels). Fails when Redis cannot be reached
    /// now; afterwards the connection heals by itself.
    /// Fails, with one sentence naming the setting, when Redis refuses the login, the
    /// certificate or a command clementine needs.
    pub async fn connect(settings: &StoreSettings) -> StoreResult<Self> {
        let store = Self {
            link: link::Link::connect(settings).await?,
            keys: Arc::new(Keys::new(settings.key_prefix.clone())),
            engine_cache: Arc::default(),
            reservation_cache: Arc::default(),
        };
        (store.check_access().await).map_err(|e| link::explain(e, link::Peer::Redis))?;
        Ok(store)
    }

    /// Sends one of each kind of command clementine needs, on its own keys: a script that
    /// writes, and reads of a hash, a set and the audit stream. A Redis user without them stops
    /// start-up here rather than failing the first request that needs them.
    async fn check_access(&self) -> StoreResult<()> {
        let (probe, events) = (self.keys.access_probe(), self.keys.events());
        let mut conn = self.conn();
        let _: i64 = redis::Script::new(
            "redis.call('SET', KEYS[1], '1', 'PX', 1000) return redis.call('XLEN', KEYS[2])",
        )
        .key(&probe)
        .key(&events)
        .invoke_async(&mut conn)
        .await?;
        let absent = format!("{probe}:absent");
        let _: HashMap<String, String> = conn.hgetall(&absent).await?;
        let _: Vec<String> = conn.smembers(&absent).await?;
        let _: redis::streams::StreamRangeReply =
            conn.xrevrange_count(&events, "+", "-", 1).await?;
        Ok(())
    }

    /// Through Sentinel, follows the master across failovers until `shutdown` begins.
    pub fn follow_master(&self, shutdown: crate::shutdown::Shutdown) {
        self.link.follow(shutdown);
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// A connection for one command or pipeline (a cheap clone of the shared multiplexed one).
    fn conn(&self) -> ConnectionManager {
        self.link.conn()
    }

    /// `PING`: is Redis answering?
    pub async fn ping(&self) -> StoreResult<()> {
        let _: String = redis::cmd("PING").query_async(&mut self.conn()).await?;
        Ok(())
    }
}

fn corrupt(key: &str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        reason: reason.to_string(),
    }
}
