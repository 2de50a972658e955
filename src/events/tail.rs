//! Live tail: one blocking reader per process feeds every live client through a broadcast
//! channel, so a hundred SSE clients cost one Redis connection, not a hundred.
//!
//! A client first catches up from where it left off (`Last-Event-ID` or `since`) with range
//! reads, then follows the broadcast, skipping what it already saw. A client too slow for the
//! broadcast buffer falls back to range reads from its last entry, so it never misses one.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use tokio::sync::broadcast;

use super::decode;
use super::query::{EventFilter, id_key};
use crate::domain::AuditEvent;
use crate::shutdown::Shutdown;
use crate::store::{Store, StoreResult};

/// Entries the broadcast buffers for slow clients.
const BUFFER: usize = 4096;
/// Entries one catch-up read fetches.
const CATCH_UP_BATCH: usize = 500;

/// The process's shared reader.
#[derive(Clone)]
pub struct TailHub {
    sender: broadcast::Sender<Arc<AuditEvent>>,
    store: Store,
    shutdown: Shutdown,
}

impl TailHub {
    /// Starts the reader task. When shutdown begins the reader stops and every live stream
    /// ends, so the server can drain.
    pub fn spawn(store: Store, shutdown: Shutdown) -> Self {
        let (sender, _) = broadcast::channel(BUFFER);
        let hub = TailHub {
            sender,
            store,
            shutdown,
        };
        let reader = hub.clone();
        let shutdown = hub.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = reader.read_forever() => {}
                _ = shutdown.begun() => {}
            }
        });
        hub
    }

    async fn read_forever(self) {
        let mut last: Option<String> = None;
        let mut backoff = Duration::from_millis(200);
        loop {
            let outcome: StoreResult<()> = async {
                let mut reader = self.store.blocking_reader().await?;
                if last.is_none() {
                    last = Some(
                        self.store
                            .last_event_id()
                            .await?
                            .unwrap_or_else(|| "0-0".into()),
                    );
                }
                loop {
                    let from = last.clone().unwrap_or_else(|| "0-0".into());
                    let entries = reader
                        .read_after(&from, Duration::from_secs(5), 1000)
                        .await?;
                    backoff = Duration::from_millis(200);
                    for entry in entries {
                        last = Some(entry.0.clone());
                        // No receivers is fine: nobody is tailing right now.
                        let _ = self.sender.send(Arc::new(decode(entry)));
                    }
                }
            }
            .await;
            if let Err(e) = outcome {
                tracing::warn!(error = %e, "audit tail reader lost Redis; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }

    /// Live clients right now.
    pub fn clients(&self) -> usize {
        self.sender.receiver_count()
    }

    /// A client's stream: entries after `after` (exclusive; `None`: from now on) that pass the
    /// filter.
    pub async fn follow(
        &self,
        filter: EventFilter,
        after: Option<String>,
    ) -> StoreResult<impl Stream<Item = AuditEvent> + Send + 'static> {
        // Subscribe before looking at the stream, so nothing falls between the two.
        let rx = self.sender.subscribe();
        let (cursor, catching_up) = match after {
            Some(id) => (id, true),
            None => (
                self.store
                    .last_event_id()
                    .await?
                    .unwrap_or_else(|| "0-0".into()),
                false,
            ),
        };
        let state = Follow {
            shutdown: self.shutdown.clone(),
            store: self.store.clone(),
            filter,
            rx,
            cursor,
            catching_up,
            backlog: VecDeque::new(),
        };
        Ok(futures::stream::unfold(state, |mut s| async move {
            let shutdown = s.shutdown.clone();
            let next = tokio::select! {
                next = s.next() => next?,
                _ = shutdown.begun() => return None,
            };
            Some((next, s))
        }))
    }
}

struct Follow {
    shutdown: Shutdown,
    store: Store,
    filter: EventFilter,
    rx: broadcast::Receiver<Arc<AuditEvent>>,
    /// Every entry up to here has been considered.
    cursor: String,
    catching_up: bool,
    backlog: VecDeque<AuditEvent>,
}

impl Follow {
    async fn next(&mut self) -> Option<AuditEvent> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                return Some(e);
            }
            if self.catching_up {
                let entries = match self
                    .store
                    .events_range(&format!("({}", self.cursor), "+", CATCH_UP_BATCH, false)
                    .await
                {
                    Ok(entries) => entries,
                    Err(e) => {
                        tracing::warn!(error = %e, "tail catch-up failed; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                };
                if entries.len() < CATCH_UP_BATCH {
                    self.catching_up = false;
                }
                for entry in entries {
                    self.cursor = entry.0.clone();
                    let e = decode(entry);
                    if self.filter.keeps(&e) {
                        self.backlog.push_back(e);
                    }
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(e) => {
                    if id_key(&e.id) <= id_key(&self.cursor) {
                        continue;
                    }
                    self.cursor = e.id.clone();
                    if self.filter.keeps(&e) {
                        return Some((*e).clone());
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
