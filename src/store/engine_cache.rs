//! The engine records, with their health, as last read from Redis, kept for at most
//! [`FRESH_FOR`]: `GET /engines`, list-all and every run's placement snapshot would otherwise
//! read them all again. Every write of an engine record or its health through this process's
//! [`Store`] (add, update, remove, its own monitor's checks) drops the copy at once; another
//! process's writes show within [`FRESH_FOR`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Store, StoreResult};
use crate::domain::Engine;

/// How old a copy of the engine records may be.
pub(crate) const FRESH_FOR: Duration = Duration::from_millis(500);

#[derive(Default)]
pub(crate) struct EngineCache {
    copy: Mutex<Option<(Instant, Arc<Vec<Engine>>)>>,
    /// Bumped by every change, so that a read that raced one does not keep its older answer.
    generation: AtomicU64,
}

impl EngineCache {
    /// Every engine, from the copy when it is fresh, else from Redis.
    pub async fn all(&self, store: &Store) -> StoreResult<Arc<Vec<Engine>>> {
        if let Some((at, engines)) = self.copy.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(engines.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let engines = Arc::new(store.list_engines().await?);
        let mut copy = self.copy.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            *copy = Some((Instant::now(), engines.clone()));
        }
        Ok(engines)
    }

    /// This process changed an engine: the next read goes to Redis.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *self.copy.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
