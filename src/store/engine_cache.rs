//! The engine records, with their health, as last read from Redis: `GET /engines`, list-all and
//! every run's placement snapshot would otherwise read them all again.
//!
//! A copy is used as it is for [`FRESH_FOR`]. After that it is checked, not read again: every
//! change of an engine record or of an engine's health *state* bumps `engines:version` in
//! Redis, and a copy whose version still matches is good for another [`FRESH_FOR`] (placement
//! checks it in the round trip that reads reservations, so the check costs nothing there).
//! Every write of an engine record or its health through this process's [`Store`] (add, update,
//! remove, its own monitor's checks) drops the copy at once. So another process's changes show
//! within [`FRESH_FOR`]; only the times in another process's health records (`last_seen`,
//! `checked_at`) may be older, until this process reads the records again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Store, StoreResult};
use crate::domain::Engine;

/// How long a copy of the engine records is used before it is checked again.
pub(crate) const FRESH_FOR: Duration = Duration::from_millis(500);

/// A copy of every engine record, and the engines' version it was read at.
#[derive(Clone)]
pub(crate) struct Held {
    checked: Instant,
    version: u64,
    generation: u64,
    pub engines: Arc<Vec<Engine>>,
}

#[derive(Default)]
pub(crate) struct EngineCache {
    copy: Mutex<Option<Held>>,
    /// Bumped by every change, so that a read that raced one does not keep its older answer.
    generation: AtomicU64,
}

impl Held {
    /// Young enough to be used without checking the version.
    pub fn is_fresh(&self) -> bool {
        self.checked.elapsed() < FRESH_FOR
    }
}

impl EngineCache {
    /// Every engine: the copy when it is fresh or its version still holds, else from Redis.
    pub async fn all(&self, store: &Store) -> StoreResult<Arc<Vec<Engine>>> {
        if let Some(held) = self.held() {
            if held.checked.elapsed() < FRESH_FOR {
                return Ok(held.engines);
            }
            if self.confirm(&held, store.engines_version().await?) {
                return Ok(held.engines);
            }
        }
        let generation = self.generation.load(Ordering::Acquire);
        let (version, engines) = store.list_engines_versioned().await?;
        let engines = Arc::new(engines);
        let mut copy = self.lock();
        if self.generation.load(Ordering::Acquire) == generation {
            *copy = Some(Held {
                checked: Instant::now(),
                version,
                generation,
                engines: engines.clone(),
            });
        }
        Ok(engines)
    }

    /// The copy, however old (to be checked with [`EngineCache::confirm`]).
    pub fn held(&self) -> Option<Held> {
        self.lock().clone()
    }

    /// Whether `held` is still good, given the engines' version read after it: fresh, or read
    /// at that version and not dropped since. A good copy is fresh again from now.
    pub fn confirm(&self, held: &Held, version: u64) -> bool {
        if held.checked.elapsed() < FRESH_FOR {
            return true;
        }
        let mut copy = self.lock();
        let current = copy.as_mut().filter(|c| c.generation == held.generation);
        match current {
            Some(c) if c.version == version => {
                c.checked = Instant::now();
                true
            }
            _ => false,
        }
    }

    /// This process changed an engine: the next read goes to Redis.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        self.copy.lock().unwrap_or_else(|p| p.into_inner())
    }
}
