//! Pulls on placement, single-flight per engine and image: concurrent runs that need the same
//! image on the same engine wait for one pull and share its result, so ten runs of a missing
//! image pull it once per engine. Every pull is audited as `image.pull`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::Cluster;
use super::audited::Settle;
use crate::auth::Principal;
use crate::domain::Engine;
use crate::engine::{PullFailure, registry_of};
use crate::events::{Draft, actions};
use crate::telemetry::clock::{self, phase};

/// How a pull ended, cheap to share with the runs that waited for it.
pub(in crate::cluster) type PullOutcome = Result<(), (PullFailure, String)>;

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, PullOutcome)>>>;

/// The last pull per engine and image, and the lock that makes it single-flight.
#[derive(Default)]
pub(crate) struct PullFlights(Mutex<HashMap<String, Slot>>);

impl PullFlights {
    fn slot(&self, engine: &str, image: &str) -> Slot {
        let mut slots = self.0.lock().unwrap_or_else(|p| p.into_inner());
        slots
            .entry(format!("{engine}/{image}"))
            .or_default()
            .clone()
    }
}

impl Cluster {
    /// Pulls `image` onto `engine` for a run by `principal`. A pull that finished while this
    /// one waited for the lock answers for it too.
    pub(in crate::cluster) async fn pull_for_run(
        &self,
        principal: &Principal,
        engine: &Engine,
        image: &str,
    ) -> PullOutcome {
        let asked = Instant::now();
        let slot = self.pull_flights.slot(&engine.id, image);
        // Waiting for another run's pull is waiting on the engine too.
        let waited = async {
            let _wait = clock::engine_wait();
            slot.lock().await
        };
        let mut last = phase("pull", waited).await;
        if let Some((at, outcome)) = last.as_ref()
            && *at >= asked
        {
            return outcome.clone();
        }
        let outcome = phase("pull", self.audited_pull(principal, engine, image)).await;
        if outcome.is_ok() {
            self.views.image_is(&engine.id, image, true);
        }
        *last = Some((Instant::now(), outcome.clone()));
        outcome
    }

    async fn audited_pull(
        &self,
        principal: &Principal,
        engine: &Engine,
        image: &str,
    ) -> PullOutcome {
        let registry = registry_of(image);
        let mut draft = Draft::by(principal, actions::IMAGE_PULL).engine(&engine.id);
        draft.target = Some(image.to_string());
        draft.detail = Some(serde_json::json!({"image": image, "registry": registry}).to_string());
        let client = self.engines.client(engine);
        let started = Instant::now();
        let credentials = self.credentials_for(&principal.username, registry).await;
        let work = async {
            let timeout = self.engines.pull_timeout();
            let pulled = client.pull(image, timeout, credentials).await;
            pulled.map_err(|e| super::ClusterError::engine(&engine.id, e))
        };
        let result = self
            .audited(draft, work, |digest, _| {
                Settle::detail(serde_json::json!({
                    "image": image, "registry": registry, "digest": digest,
                    "seconds": (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
                }))
            })
            .await;
        result.map(|_| ()).map_err(|e| match e {
            super::ClusterError::Engine { source, .. } => {
                (source.pull_failure(), source.to_string())
            }
            other => (PullFailure::Engine, other.to_string()),
        })
    }
}
