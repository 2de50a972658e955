//! Passive health: engines whose last quick call timed out.

use std::collections::HashSet;
use std::sync::Mutex;

/// Engines whose last quick call timed out (passive health): placement skips them at once,
/// instead of waiting for the monitor's next ping, until a check of the monitor answers.
#[derive(Debug, Default)]
pub struct Suspects(Mutex<HashSet<String>>);

impl Suspects {
    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks an engine; whether it was not marked before.
    pub fn mark(&self, id: &str) -> bool {
        self.set().insert(id.to_string())
    }

    pub fn clear(&self, id: &str) {
        self.set().remove(id);
    }

    pub fn contains(&self, id: &str) -> bool {
        self.set().contains(id)
    }

    /// Whether no engine is marked (the usual case: a placement then marks none).
    pub fn is_empty(&self) -> bool {
        self.set().is_empty()
    }
}
