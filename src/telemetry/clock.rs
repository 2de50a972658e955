//! How long one request waited on engines, apart from everything else it did.
//!
//! The request middleware runs each request inside [`RequestClock::scope`]; every engine call
//! holds an [`EngineWait`] while it is in flight. Calls of one request may overlap (a run of
//! several instances starts them together), so the clock counts the wall time during which at
//! least one call was in flight, not the sum of the calls: the rest of the request's time is the
//! gateway's own cost, which `/metrics` reports for runs as `clementine_run_overhead_seconds`.
//!
//! Named [`phase`]s (snapshot, claim, audit...) are summed per request for its log line, so that
//! a slow run can be explained from that line alone; each also runs in a debug-level span.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;

tokio::task_local! {
    static CLOCK: RequestClock;
}

/// One request's clock; cheap to clone (the clones share it).
#[derive(Clone, Default)]
pub struct RequestClock(Arc<Mutex<State>>);

#[derive(Default)]
struct State {
    /// Engine calls in flight now, and since when at least one has been.
    in_flight: u32,
    since: Option<Instant>,
    engine: Duration,
    /// What kind of request this turned out to be (`run`), set by the action it called.
    kind: Option<&'static str>,
    phases: Vec<(&'static str, Duration)>,
}

impl RequestClock {
    /// Runs `f` with this clock as the current request's.
    pub async fn scope<F: Future>(&self, f: F) -> F::Output {
        CLOCK.scope(self.clone(), f).await
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wall time during which at least one engine call of this request was in flight.
    pub fn engine_time(&self) -> Duration {
        self.state().engine
    }

    /// The kind an action marked this request with ([`mark`]).
    pub fn kind(&self) -> Option<&'static str> {
        self.state().kind
    }

    /// `snapshot=0.412 claim=0.305 ...` in milliseconds, in the order the phases first ran.
    pub fn phases_text(&self) -> String {
        let state = self.state();
        let each = state.phases.iter().map(|(name, d)| {
            let ms = d.as_secs_f64() * 1000.0;
            format!("{name}={ms:.3}")
        });
        each.collect::<Vec<_>>().join(" ")
    }
}

fn current() -> Option<RequestClock> {
    CLOCK.try_with(RequestClock::clone).ok()
}

/// Marks the current request (if any) as a `kind` request.
pub fn mark(kind: &'static str) {
    if let Some(clock) = current() {
        clock.state().kind = Some(kind);
    }
}

/// Held while an engine call is in flight; outside a request it does nothing.
pub struct EngineWait(Option<RequestClock>);

/// Starts counting engine time for the current request until the returned guard drops.
pub fn engine_wait() -> EngineWait {
    let clock = current();
    if let Some(clock) = &clock {
        let mut state = clock.state();
        if state.in_flight == 0 {
            state.since = Some(Instant::now());
        }
        state.in_flight += 1;
    }
    EngineWait(clock)
}

impl Drop for EngineWait {
    fn drop(&mut self) {
        let Some(clock) = &self.0 else { return };
        let mut state = clock.state();
        state.in_flight -= 1;
        if state.in_flight == 0
            && let Some(since) = state.since.take()
        {
            state.engine += since.elapsed();
        }
    }
}

/// Runs one phase of the current request, adding its time to the phase of that name.
pub async fn phase<F: Future>(name: &'static str, f: F) -> F::Output {
    let started = Instant::now();
    let out = f.instrument(tracing::debug_span!("phase", name)).await;
    if let Some(clock) = current() {
        let took = started.elapsed();
        let mut state = clock.state();
        match state.phases.iter_mut().find(|(n, _)| *n == name) {
            Some((_, d)) => *d += took,
            None => state.phases.push((name, took)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn engine_call(ms: u64) {
        let _wait = engine_wait();
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn overlapping_calls_count_once_and_other_work_not_at_all() {
        let clock = RequestClock::default();
        clock
            .scope(async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                futures::join!(engine_call(30), engine_call(20));
                phase("audit", tokio::time::sleep(Duration::from_millis(2))).await;
                phase("audit", tokio::time::sleep(Duration::from_millis(3))).await;
                engine_call(10).await;
                mark("run");
            })
            .await;
        assert_eq!(clock.engine_time(), Duration::from_millis(40));
        assert_eq!(clock.kind(), Some("run"));
        assert_eq!(clock.phases_text(), "audit=5.000");
    }

    #[tokio::test(start_paused = true)]
    async fn outside_a_request_nothing_is_counted() {
        // Work outside any request's scope runs as usual and counts into no clock.
        engine_call(10).await;
        mark("run");
        assert_eq!(phase("x", async { 7 }).await, 7);
        assert!(current().is_none());
        // A task spawned from inside a request is outside it: its engine time, mark and phases
        // do not reach the request's clock.
        let clock = RequestClock::default();
        clock
            .scope(async {
                let outside = tokio::spawn(async {
                    engine_call(10).await;
                    mark("run");
                    phase("x", tokio::time::sleep(Duration::from_millis(2))).await;
                });
                outside.await.unwrap();
            })
            .await;
        assert_eq!(clock.engine_time(), Duration::ZERO);
        assert_eq!(clock.kind(), None);
        assert_eq!(clock.phases_text(), "");
    }
}
