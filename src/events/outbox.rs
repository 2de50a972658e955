//! Outcomes Redis could not take, retried in order until it can.
//!
//! The queue is in memory: a crash loses it, which is why the reconcile pass settles intents
//! without outcome from what the engines show.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::shutdown::Shutdown;
use crate::store::{Fields, IndexChange, Store};

type Queued = (String, Fields, IndexChange);

#[derive(Clone)]
pub struct Outbox {
    queue: Arc<Mutex<VecDeque<Queued>>>,
    wake: Arc<Notify>,
    drained: Arc<Notify>,
}

impl Outbox {
    /// Starts the worker; once `shutdown` closes it writes what it holds and stops.
    pub fn spawn(store: Store, max_len: Option<u64>, shutdown: Shutdown) -> Self {
        let outbox = Outbox {
            queue: Arc::new(Mutex::new(VecDeque::new())),
            wake: Arc::new(Notify::new()),
            drained: Arc::new(Notify::new()),
        };
        let worker = outbox.clone();
        tokio::spawn(async move { worker.run(store, max_len, shutdown).await });
        outbox
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Queued>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn push(&self, op: String, fields: Fields, index: IndexChange) {
        self.lock().push_back((op, fields, index));
        self.wake.notify_one();
    }

    /// Returns once the queue is empty.
    pub async fn flush(&self) {
        loop {
            let drained = self.drained.notified();
            if self.is_empty() {
                return;
            }
            self.wake.notify_one();
            let _ = tokio::time::timeout(Duration::from_millis(200), drained).await;
        }
    }

    async fn run(&self, store: Store, max_len: Option<u64>, shutdown: Shutdown) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let next = self.lock().front().cloned();
            let Some((op, fields, index)) = next else {
                self.drained.notify_waiters();
                if shutdown.is_closed() {
                    return;
                }
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = shutdown.closed() => {}
                }
                continue;
            };
            match store.append_outcome(&op, &fields, &index, max_len).await {
                Ok(_) => {
                    self.lock().pop_front();
                    backoff = Duration::from_millis(100);
                    tracing::info!(op = %op, "queued audit outcome written");
                }
                Err(e) => {
                    tracing::warn!(op = %op, error = %e, "audit outcome still not written; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}
