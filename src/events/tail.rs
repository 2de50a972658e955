//! Live tail: one blocking reader per process feeds every live client through a broadcast
//! channel, so a hundred SSE clients cost one Redis connection, not a hundred.
//!
//! A client first catches up from where it left off (`Last-Event-ID` or `since`) with range
//! reads, then follows the broadcast, skipping what it already saw. A client too slow for the
//! broadcast buffer falls back to range reads from its last entry, so it never misses one.
//!
//! A stream lives only as long as its caller may be served: a [`Recheck`] runs every second,
//! and before any entry past one that changes access (see [`changes_access`]) is considered.
//! Those entries are in the stream every replica reads, so the notice reaches every replica, and
//! in order: nothing after the change is delivered to a caller it cut off.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use futures::future::BoxFuture;
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
/// How often a live caller is checked again, whatever the stream says.
const RECHECK_EVERY: Duration = Duration::from_secs(1);

/// Asks whether the caller of a stream may still be served (their account, role and credential
/// as when it began).
pub type Recheck = Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

/// Who a stream is for, as the tail sees it: their check, and when their credential ends (unix
/// ms; nothing is delivered from then on, whatever the check last said).
#[derive(Clone)]
pub struct Caller {
    pub recheck: Recheck,
    pub ends_ms: Option<u64>,
}

/// Actions after which a stream asks its [`Recheck`] before going on: whatever can take a
/// caller's access away.
pub fn changes_access(action: &str) -> bool {
    use super::actions::*;
    [
        USER_DELETE,
        USER_PURGE,
        USER_REVOKE,
        USER_ROLE,
        USER_PASSWORD,
        TOKEN_REVOKE,
        TEAM_MEMBERS,
        TEAM_DELETE,
    ]
    .contains(&action)
}

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
        caller: Caller,
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
            caller,
            checked: tokio::time::Instant::now(),
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
    /// Entries read while catching up, not yet considered.
    backlog: VecDeque<AuditEvent>,
    caller: Caller,
    /// When the caller was last checked.
    checked: tokio::time::Instant,
}

impl Follow {
    async fn next(&mut self) -> Option<AuditEvent> {
        loop {
            if self.checked.elapsed() >= RECHECK_EVERY && !self.still_allowed().await {
                return None;
            }
            if let Some(e) = self.backlog.pop_front() {
                match self.pass(&e).await? {
                    Some(e) => return Some(e),
                    None => continue,
                }
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
                    self.backlog.push_back(decode(entry));
                }
                continue;
            }
            let next = tokio::select! {
                next = self.rx.recv() => next,
                _ = tokio::time::sleep_until(self.checked + RECHECK_EVERY) => continue,
            };
            match next {
                Ok(e) => {
                    if id_key(&e.id) <= id_key(&self.cursor) {
                        continue;
                    }
                    self.cursor = e.id.clone();
                    if let Some(e) = self.pass(&e).await? {
                        return Some(e);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next entry in stream order, past the caller's check: `None` ends the stream (the
    /// entry cut the caller off), `Some(None)` skips it, `Some(Some(e))` delivers it.
    async fn pass(&mut self, e: &AuditEvent) -> Option<Option<AuditEvent>> {
        let expired = (self.caller.ends_ms).is_some_and(|end| crate::time::now_ms() >= end);
        if expired || (changes_access(&e.action) && !self.still_allowed().await) {
            return None;
        }
        Some(self.filter.keeps(e).then(|| e.clone()))
    }

    async fn still_allowed(&mut self) -> bool {
        self.checked = tokio::time::Instant::now();
        (self.caller.recheck)().await
    }
}
