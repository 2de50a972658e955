//! What the last scales of a config did, left beside its scale lock, so that the next holder
//! (maybe another process) counts the running instances from its engine views only once they
//! show it. A view hears of another process's containers from the engine's events, a few
//! milliseconds late, while the lock passes at once: counted too early, the next scale would
//! find too few and start too many.
//!
//! The trail keeps every create and destroy of the scales of the last [`KEPT`]; a holder waits
//! up to [`WAIT`] for its views to show all of them, and counts live from the engines when they
//! do not (a view out of sync, an instance removed since, or a trail too long to keep).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Cluster;
use crate::domain::{ContainerState, ScaleResult};
use crate::store::StoreResult;
use crate::time::now_ms;

/// How long a scale's creates and destroys stay in the trail.
pub(super) const KEPT: Duration = Duration::from_secs(30);
/// How long a holder waits for its views to show the trail.
const WAIT: Duration = Duration::from_secs(2);
/// Most steps kept; past that the next holder counts live.
const MOST: usize = 1_000;

/// One container a scale started (or destroyed: `gone`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Step {
    engine: String,
    container: String,
    gone: bool,
    /// Unix ms.
    at: u64,
}

/// The steps of the scales of the last [`KEPT`]; `None`: too many to keep (count live).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Trail {
    steps: Option<Vec<Step>>,
}

impl Trail {
    /// No steps: what a holder that counted live leaves before its own.
    pub(super) fn empty() -> Self {
        Self {
            steps: Some(Vec::new()),
        }
    }

    /// The trail with these steps, done `now`, and without steps older than [`KEPT`].
    fn and(mut self, done: Vec<Step>, now: u64) -> Self {
        let oldest = now.saturating_sub(KEPT.as_millis() as u64);
        self.steps = self.steps.map(|mut steps| {
            steps.retain(|s| s.at >= oldest);
            steps.extend(done);
            steps
        });
        self.steps = self.steps.filter(|s| s.len() <= MOST);
        self
    }

    /// Whether `shows` (engine, container -> the state a view shows; `None`: out of sync)
    /// shows every step: a started container running or past it, a destroyed one not there.
    fn shown(&self, shows: impl Fn(&str, &str) -> Option<Option<ContainerState>>) -> bool {
        let Some(steps) = &self.steps else {
            return false;
        };
        steps.iter().all(|s| match shows(&s.engine, &s.container) {
            Some(Some(state)) => !s.gone && state != ContainerState::Created,
            Some(None) => s.gone,
            None => false,
        })
    }
}

impl Cluster {
    /// The trail left beside the lock `lock`.
    pub(super) async fn trail(&self, lock: &str) -> StoreResult<Trail> {
        let note = self.store.lock_note(lock).await?;
        // A note that does not read is a trail not to trust: count live.
        Ok(note.map_or_else(Trail::empty, |n| {
            serde_json::from_str(&n).unwrap_or_default()
        }))
    }

    /// Whether this process's views show the trail, waiting up to [`WAIT`] for them. A holder
    /// that counts live instead starts the trail again ([`Trail::empty`]).
    pub(super) async fn views_show(&self, trail: &mut Trail) -> bool {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if trail.shown(|engine, id| self.views.shows(engine, id)) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                *trail = Trail::empty();
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Leaves the trail with this scale's steps for the next holder of `lock` (still held).
    pub(super) async fn leave_trail(
        &self,
        lock: &str,
        trail: Trail,
        result: &ScaleResult,
    ) -> StoreResult<()> {
        let now = now_ms();
        let step = |c: &crate::domain::Container, gone| Step {
            engine: c.engine.id.clone(),
            container: c.id.clone(),
            gone,
            at: now,
        };
        let done = (result.created.iter().map(|c| step(c, false)))
            .chain(result.destroyed.iter().map(|c| step(c, true)));
        let trail = trail.and(done.collect(), now);
        let note = serde_json::to_string(&trail).unwrap_or_default();
        self.store.set_lock_note(lock, &note, KEPT).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(container: &str, gone: bool, at: u64) -> Step {
        let (engine, container) = ("e1".to_string(), container.to_string());
        Step {
            engine,
            container,
            gone,
            at,
        }
    }

    #[test]
    fn a_trail_is_shown_when_every_step_is() {
        let trail = Trail {
            steps: Some(vec![step("up", false, 1), step("down", true, 1)]),
        };
        let running = |_: &str, id: &str| Some((id == "up").then_some(ContainerState::Running));
        assert!(trail.shown(running));
        // Not yet heard of; heard of its create but not its start; a destroy not heard of.
        assert!(!trail.shown(|_, _| Some(None)));
        assert!(!trail.shown(|_, id| Some((id == "up").then_some(ContainerState::Created))));
        assert!(!trail.shown(|_, _| Some(Some(ContainerState::Running))));
        // A view out of sync shows nothing; a trail too long to keep is never shown.
        assert!(!trail.shown(|_, _| None));
        assert!(!Trail { steps: None }.shown(running));
        assert!(Trail::default().steps.is_none());
    }

    #[test]
    fn a_trail_keeps_what_is_recent_and_not_too_much() {
        let kept = KEPT.as_millis() as u64;
        let now = 10 * kept;
        let old = Trail {
            steps: Some(vec![
                step("old", false, now - kept - 1),
                step("new", true, now - 1),
            ]),
        };
        let trail = old.and(vec![step("this", false, now)], now);
        let ids: Vec<&str> = (trail.steps.iter().flatten())
            .map(|s| s.container.as_str())
            .collect();
        assert_eq!(ids, ["new", "this"]);
        let many = (0..=MOST)
            .map(|i| step(&i.to_string(), false, now))
            .collect();
        assert_eq!(Trail::empty().and(many, now).steps, None);
        // Once too long, it stays so until a holder counts live and starts it again.
        assert_eq!(Trail::default().and(Vec::new(), now).steps, None);
        let note = serde_json::to_string(&trail).unwrap();
        assert_eq!(serde_json::from_str::<Trail>(&note).unwrap(), trail);
    }
}
