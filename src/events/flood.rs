//! The flood gate: refusals (failed logins, `auth.denied`) are written one by one up to a number
//! per client and window, then only counted; when the window ends, one summary entry carries the
//! count. A flood from one client costs a few entries, so it cannot push real history out of a
//! capped stream (`CLEMENTINE_AUDIT_MAX_LEN`), and auditors still see how many there were.
//!
//! Pure bookkeeping: the caller passes the time and writes what it is told to. Each process
//! keeps its own gate, so with replicas a client gets the allowance once per replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Entries written one by one per client, action and window.
pub const PER_WINDOW: u32 = 20;
/// The window refusals are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Clients tracked at once; past this the oldest windows are summarised early.
const MAX_CLIENTS: usize = 10_000;

/// What a window held beyond its allowance: written as one entry with the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub action: &'static str,
    pub client: String,
    /// Refusals not written one by one.
    pub count: u64,
    /// Unix ms of the window's start and of the last refusal counted.
    pub since_ms: u64,
    pub until_ms: u64,
}

#[derive(Debug)]
struct Window {
    start_ms: u64,
    written: u32,
    suppressed: u64,
    last_ms: u64,
}

/// Whether to write a refusal now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Write,
    /// Counted into the window's summary.
    Counted,
}

#[derive(Debug, Default)]
pub struct FloodGate {
    windows: Mutex<HashMap<(&'static str, String), Window>>,
}

impl FloodGate {
    /// Takes one refusal of `action` from `client` at `now_ms`; answers whether to write it,
    /// and the summaries of windows that ended (this client's, or the oldest when the gate is
    /// full) to write first.
    pub fn admit(&self, action: &'static str, client: &str, now_ms: u64) -> (Admit, Vec<Summary>) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let mut ended = Vec::new();
        let key = (action, client.to_string());
        if windows.get(&key).is_some_and(|w| over(w, now_ms)) {
            ended.extend(windows.remove(&key).and_then(|w| summary(&key, w)));
        }
        if windows.len() >= MAX_CLIENTS && !windows.contains_key(&key) {
            ended.extend(take_due(&mut windows, u64::MAX));
        }
        let w = windows.entry(key).or_insert(Window {
            start_ms: now_ms,
            written: 0,
            suppressed: 0,
            last_ms: now_ms,
        });
        w.last_ms = now_ms;
        let admit = if w.written < PER_WINDOW {
            w.written += 1;
            Admit::Write
        } else {
            w.suppressed += 1;
            Admit::Counted
        };
        (admit, ended)
    }

    /// The summaries of every window ended by `now_ms` (a periodic flush); `u64::MAX` ends all
    /// (shutdown).
    pub fn due(&self, now_ms: u64) -> Vec<Summary> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        take_due(&mut windows, now_ms)
    }
}

fn over(w: &Window, now_ms: u64) -> bool {
    now_ms.saturating_sub(w.start_ms) >= WINDOW.as_millis() as u64
}

fn take_due(windows: &mut HashMap<(&'static str, String), Window>, now_ms: u64) -> Vec<Summary> {
    let ended: Vec<_> = (windows.iter())
        .filter(|(_, w)| now_ms == u64::MAX || over(w, now_ms))
        .map(|(k, _)| k.clone())
        .collect();
    (ended.into_iter())
        .filter_map(|k| windows.remove(&k).and_then(|w| summary(&k, w)))
        .collect()
}

fn summary(key: &(&'static str, String), w: Window) -> Option<Summary> {
    (w.suppressed > 0).then(|| Summary {
        action: key.0,
        client: key.1.clone(),
        count: w.suppressed,
        since_ms: w.start_ms,
        until_ms: w.last_ms,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const MIN: u64 = 60_000;

    #[test]
    fn a_flood_is_written_up_to_the_allowance_then_counted() {
        let gate = FloodGate::default();
        let mut written = 0;
        for i in 0..1000 {
            let (admit, ended) = gate.admit("auth.denied", "10.0.0.1", 1_000 + i);
            assert!(ended.is_empty());
            written += (admit == Admit::Write) as u32;
        }
        assert_eq!(written, PER_WINDOW);
        // Another client has its own allowance.
        assert_eq!(gate.admit("auth.denied", "10.0.0.2", 2_000).0, Admit::Write);
        assert!(gate.due(1_000 + MIN - 1).is_empty());
        let due = gate.due(1_000 + MIN);
        assert_eq!(due.len(), 1, "{due:?}");
        assert_eq!(due[0].count, 1000 - PER_WINDOW as u64);
        assert_eq!((due[0].since_ms, due[0].until_ms), (1_000, 1_999));
        assert_eq!(due[0].client, "10.0.0.1");
    }

    #[test]
    fn the_next_refusal_after_a_window_brings_its_summary() {
        let gate = FloodGate::default();
        for i in 0..(PER_WINDOW as u64 + 5) {
            gate.admit("auth.login_failed", "c", i);
        }
        let (admit, ended) = gate.admit("auth.login_failed", "c", MIN + 10);
        assert_eq!(admit, Admit::Write);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].count, 5);
        assert!(gate.due(u64::MAX).is_empty(), "nothing counted since");
    }

    proptest! {
        /// Whatever the order and timing, every refusal is either written or counted in exactly
        /// one summary: nothing is lost and nothing counted twice.
        #[test]
        fn every_refusal_is_written_or_counted_once(
            events in prop::collection::vec((0u8..3, 0u64..200_000), 0..400),
        ) {
            let gate = FloodGate::default();
            let mut events = events;
            events.sort_by_key(|(_, t)| *t);
            let (mut written, mut counted) = (0u64, 0u64);
            for (client, t) in &events {
                let (admit, ended) = gate.admit("auth.denied", &client.to_string(), *t);
                written += (admit == Admit::Write) as u64;
                counted += ended.iter().map(|s| s.count).sum::<u64>();
            }
            counted += gate.due(u64::MAX).iter().map(|s| s.count).sum::<u64>();
            prop_assert_eq!(written + counted, events.len() as u64);
        }
    }
}
