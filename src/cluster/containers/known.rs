//! What this process has learned about each engine that a run would otherwise ask again: the
//! images it holds (for image locality) and the tenant networks known to exist there.
//!
//! Both are hints, never authority, so they may go stale without harm:
//! - an image listed here but removed since: the create fails with "no such image", the fact is
//!   dropped, and the run pulls or moves on exactly as without the hint; image sets are listed
//!   again after [`IMAGES_FRESH_FOR`], and a pull by this process adds its image at once;
//! - a network listed here but removed since: the start fails with "network not found", the fact
//!   is dropped, and the run makes the network again (under its lock) and retries once.
//!
//! Facts are keyed by engine id and address, so an engine re-added elsewhere starts empty.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::Engine;

/// How long an engine's image list is trusted before a run lists it again.
pub(crate) const IMAGES_FRESH_FOR: Duration = Duration::from_secs(15);

#[derive(Default)]
pub(crate) struct Known {
    images: Mutex<HashMap<String, (Instant, HashSet<String>)>>,
    networks: Mutex<HashSet<(String, String)>>,
}

fn key(engine: &Engine) -> String {
    format!("{}@{}", engine.id, engine.addr)
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Known {
    /// Whether `engine` holds `image`, if its list is fresh; `None`: list it again.
    pub fn holds_image(&self, engine: &Engine, image: &str) -> Option<bool> {
        let images = locked(&self.images);
        let (at, held) = images.get(&key(engine))?;
        (at.elapsed() < IMAGES_FRESH_FOR).then(|| held.contains(image))
    }

    /// Records what `engine` holds now (its image tags and digests).
    pub fn listed_images(&self, engine: &Engine, held: HashSet<String>) {
        locked(&self.images).insert(key(engine), (Instant::now(), held));
    }

    /// `image` is on `engine` now (this process pulled it), or is not (a create missed it).
    pub fn image_is(&self, engine: &Engine, image: &str, present: bool) {
        if let Some((_, held)) = locked(&self.images).get_mut(&key(engine)) {
            match present {
                true => held.insert(image.to_string()),
                false => held.remove(image),
            };
        }
    }

    /// Whether the tenant network `name` is known to exist on `engine`, made by clementine for
    /// its owner (checked when it was recorded).
    pub fn has_network(&self, engine: &Engine, name: &str) -> bool {
        locked(&self.networks).contains(&(key(engine), name.to_string()))
    }

    pub fn network_is(&self, engine: &Engine, name: &str, present: bool) {
        let fact = (key(engine), name.to_string());
        let mut networks = locked(&self.networks);
        match present {
            true => networks.insert(fact),
            false => networks.remove(&fact),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(addr: &str) -> Engine {
        Engine {
            id: "e1".into(),
            addr: addr.into(),
            cpus: 1.0,
            memory: 1024,
            labels: Vec::new(),
            status: Default::default(),
            publish_ips: Vec::new(),
            health: Default::default(),
        }
    }

    #[test]
    fn facts_are_per_engine_address_and_can_be_dropped() {
        let known = Known::default();
        let (here, moved) = (
            engine("https://127.0.0.11:2376"),
            engine("https://127.0.0.12:2376"),
        );
        assert_eq!(known.holds_image(&here, "busybox:latest"), None);
        known.listed_images(&here, HashSet::from(["busybox:latest".to_string()]));
        assert_eq!(known.holds_image(&here, "busybox:latest"), Some(true));
        assert_eq!(known.holds_image(&here, "alpine:3"), Some(false));
        assert_eq!(known.holds_image(&moved, "busybox:latest"), None);
        known.image_is(&here, "busybox:latest", false);
        known.image_is(&here, "alpine:3", true);
        assert_eq!(known.holds_image(&here, "busybox:latest"), Some(false));
        assert_eq!(known.holds_image(&here, "alpine:3"), Some(true));

        known.network_is(&here, "clm.x.3.ann.default", true);
        assert!(known.has_network(&here, "clm.x.3.ann.default"));
        assert!(!known.has_network(&moved, "clm.x.3.ann.default"));
        known.network_is(&here, "clm.x.3.ann.default", false);
        assert!(!known.has_network(&here, "clm.x.3.ann.default"));
    }
}
