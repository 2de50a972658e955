//! The shutdown signal every background task watches, in two steps.
//!
//! 1. [`Shutdown::begin`] (on SIGTERM or Ctrl-C): the health monitor and the reconcile pass stop
//!    after their current round, and live-tail (SSE) streams end, so the server can drain: it
//!    stops accepting and lets in-flight requests answer, within `shutdown_grace_ms`.
//! 2. [`Shutdown::close`] (after the last request answered): the audit outbox writes what it
//!    still holds and stops.
//!
//! Two steps because the outbox must outlive the requests whose outcomes it may carry, while
//! the live tail must end before the server can finish draining.

use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    begun: CancellationToken,
    closed: CancellationToken,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stop taking new work.
    pub fn begin(&self) {
        self.begun.cancel();
    }

    /// Every request has answered: write what is queued and stop.
    pub fn close(&self) {
        self.begun.cancel();
        self.closed.cancel();
    }

    /// Resolves when shutdown has begun.
    pub async fn begun(&self) {
        self.begun.cancelled().await
    }

    /// Resolves when shutdown closes.
    pub async fn closed(&self) {
        self.closed.cancelled().await
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }
}
