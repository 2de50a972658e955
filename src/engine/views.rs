//! Each engine's containers as this process knows them: one full listing when it connects to the
//! engine, then kept current by that engine's Docker event stream (`GET /events`, containers
//! only). List-all reads these views instead of asking every engine on every request;
//! `?fresh=true` still asks them.
//!
//! - A stream that breaks (or that the transport ends after five minutes) is opened again and
//!   the engine listed again in full: whatever happened in the gap is in the listing. Events from
//!   one second before the listing are replayed, so nothing falls between the two; replays are
//!   harmless, since an event only makes the view ask the engine about that one container.
//! - A hung daemon keeps its stream open and silent, so a view also counts as stale when the
//!   health monitor finds its engine not answering. Answers carry a stale view, marked with when
//!   it was last in sync, for [`STALE_GRACE`]; then they list the engine under `failed`.
//! - The health monitor starts and stops the watchers as engines come and go ([`ContainerViews::follow`]);
//!   an engine this process adds is followed at once ([`ContainerViews::follow_new`]).
//!   Until an engine's first listing is in, list-all asks that engine live.
//! - What this process does itself (a run, a destroy, a stop) is written into the view at once,
//!   so its own answers read their writes; other processes see it when the event arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bollard::query_parameters::EventsOptions;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{EngineClient, EnginePool, to_container};
use crate::domain::{Container, Engine, HealthState};
use crate::shutdown::Shutdown;
use crate::time::now_ms;

/// How long a stale view is still answered from before its engine is listed as failed.
pub const STALE_GRACE: Duration = Duration::from_secs(10);
/// Longest wait between two attempts to reconnect a broken stream.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Event actions that change what a listing shows of a container.
const CHANGES: &[&str] = &[
    "create", "start", "die", "pause", "unpause", "rename", "update", "destroy",
];

/// A container of this deployment that the engine removed (its `destroy` event), with the op
/// whose claim it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vanished {
    pub engine: String,
    pub container: String,
    pub owner: Option<String>,
    pub op: String,
}

/// Every engine's view, by engine id.
pub struct ContainerViews {
    pool: Arc<EnginePool>,
    /// Containers removed, as the streams tell (see [`ContainerViews::vanished`]).
    vanished: tokio::sync::broadcast::Sender<Vanished>,
    /// This deployment's key prefix: containers of other deployments are nobody's here.
    deployment: String,
    views: RwLock<HashMap<String, Arc<View>>>,
    /// The shutdown the monitor's first [`follow`](Self::follow) gave: what ends watchers
    /// started between its ticks ([`follow_new`](Self::follow_new)).
    shutdown: std::sync::OnceLock<Shutdown>,
}

struct View {
    addr: String,
    deployment: String,
    vanished: tokio::sync::broadcast::Sender<Vanished>,
    state: Mutex<ViewState>,
    stop: CancellationToken,
}

#[derive(Default)]
struct ViewState {
    containers: HashMap<String, Container>,
    /// Unix ms of the first complete listing; `None`: never listed yet.
    listed_at: Option<u64>,
    /// The stream is open and the view current.
    connected: bool,
    /// Unix ms when the stream last broke.
    lost_at: Option<u64>,
    /// Unix ms when the engine last said something on the stream (an event, or the listing
    /// that opened it): proof that it answers, which the health monitor takes instead of a ping.
    heard_at: Option<u64>,
}

/// What one engine's view says now.
pub enum Read {
    /// Never listed: ask the engine.
    Unknown,
    /// The containers, when the view was last known in sync (unix ms), and whether it is stale
    /// (stream down, or the engine not answering the monitor).
    Known {
        containers: Vec<Container>,
        synced_at: u64,
        stale: bool,
    },
}

impl ContainerViews {
    pub fn new(pool: Arc<EnginePool>, deployment: &str) -> Self {
        Self {
            pool,
            vanished: tokio::sync::broadcast::channel(1024).0,
            deployment: deployment.to_string(),
            views: RwLock::new(HashMap::new()),
            shutdown: std::sync::OnceLock::new(),
        }
    }

    /// Containers of this deployment the engines remove from now on (auto-removed ones, or
    /// ones removed behind clementine's back), so their claims can be released at once.
    pub fn vanished(&self) -> tokio::sync::broadcast::Receiver<Vanished> {
        self.vanished.subscribe()
    }

    fn view(&self, id: &str) -> Option<Arc<View>> {
        self.views
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Watches exactly these engines: starts watchers for new ones (or moved ones), stops those
    /// of engines no longer listed. Watchers end when `shutdown` begins.
    pub fn follow(&self, engines: &[Engine], shutdown: &Shutdown) {
        let shutdown = self.shutdown.get_or_init(|| shutdown.clone());
        let mut views = self.views.write().unwrap_or_else(|p| p.into_inner());
        views.retain(|id, view| {
            let keep = engines.iter().any(|e| &e.id == id && e.addr == view.addr);
            if !keep {
                view.stop.cancel();
            }
            keep
        });
        for engine in engines {
            self.start(&mut views, engine, shutdown);
        }
    }

    /// Starts watching an engine this process just added, without waiting for the monitor's
    /// next tick (nothing until the monitor has started).
    pub fn follow_new(&self, engine: &Engine) {
        if let Some(shutdown) = self.shutdown.get() {
            let mut views = self.views.write().unwrap_or_else(|p| p.into_inner());
            self.start(&mut views, engine, shutdown);
        }
    }

    fn start(&self, views: &mut HashMap<String, Arc<View>>, engine: &Engine, shutdown: &Shutdown) {
        if views.contains_key(&engine.id) {
            return;
        }
        let view = Arc::new(View {
            addr: engine.addr.clone(),
            deployment: self.deployment.clone(),
            vanished: self.vanished.clone(),
            state: Mutex::default(),
            stop: CancellationToken::new(),
        });
        views.insert(engine.id.clone(), view.clone());
        let (client, engine, shutdown) =
            (self.pool.client(engine), engine.clone(), shutdown.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = watch(&client, &engine, &view) => {}
                _ = view.stop.cancelled() => {}
                _ = shutdown.begun() => {}
            }
        });
    }

    /// What the view of `engine` (as stored now: its health decides staleness too) holds of
    /// the containers `keep` accepts (only those are copied out: at 10,000 containers the copies
    /// were most of a list-all's time).
    pub fn read(&self, engine: &Engine, keep: impl Fn(&Container) -> bool) -> Read {
        let Some(view) = self.view(&engine.id).filter(|v| v.addr == engine.addr) else {
            return Read::Unknown;
        };
        let state = view.state();
        let Some(listed_at) = state.listed_at else {
            return Read::Unknown;
        };
        let answering = engine.health.state != HealthState::Unhealthy;
        let synced_at = match (state.connected, answering) {
            (true, true) => now_ms(),
            (true, false) => last_seen_ms(engine).unwrap_or(listed_at),
            (false, _) => state.lost_at.unwrap_or(listed_at),
        };
        let containers = (state.containers.values())
            .filter(|c| keep(c))
            .map(|c| Container {
                id: c.id.clone(),
                name: c.name.clone(),
                image: c.image.clone(),
                engine: engine.clone(),
                state: c.state,
                ports: c.ports.clone(),
                owner: c.owner.clone(),
                config: c.config.clone(),
                created: c.created.clone(),
            });
        Read::Known {
            containers: containers.collect(),
            synced_at,
            stale: !(state.connected && answering),
        }
    }

    /// This process started or changed a container: the view shows it at once.
    /// When the engine last said something on its open event stream (unix ms), if it did
    /// within `within`: the health monitor need not ping it.
    pub fn heard_from(&self, engine: &str, within: Duration) -> Option<u64> {
        let view = self.view(engine)?;
        let state = view.state();
        let heard = state.heard_at.filter(|_| state.connected)?;
        (now_ms().saturating_sub(heard) < within.as_millis() as u64).then_some(heard)
    }

    pub fn upsert(&self, container: &Container) {
        if let Some(view) = self.view(&container.engine.id) {
            view.state()
                .containers
                .insert(container.id.clone(), container.clone());
        }
    }

    /// This process removed a container.
    pub fn remove(&self, engine: &str, id: &str) {
        if let Some(view) = self.view(engine) {
            view.state().containers.remove(id);
        }
    }
}

fn last_seen_ms(engine: &Engine) -> Option<u64> {
    let seen = engine.health.last_seen.as_deref()?;
    let at = humantime::parse_rfc3339(seen).ok()?;
    Some(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as u64)
}

impl View {
    fn state(&self) -> std::sync::MutexGuard<'_, ViewState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Tells of a removed container of this deployment that held a claim.
fn note_vanished(engine: &Engine, view: &View, actor: &bollard::models::EventActor) {
    let Some(labels) = actor.attributes.as_ref() else {
        return;
    };
    let ours = labels.get(super::labels::CLUSTER) == Some(&view.deployment);
    if let (true, Some(op)) = (
        ours,
        labels.get(super::labels::OP).filter(|op| !op.is_empty()),
    ) {
        let _ = view.vanished.send(Vanished {
            engine: engine.id.clone(),
            container: actor.id.clone().unwrap_or_default(),
            owner: labels.get(super::labels::OWNER).cloned(),
            op: op.clone(),
        });
    }
}

/// Lists, then follows the event stream; again after every break, with a growing pause.
async fn watch(client: &EngineClient, engine: &Engine, view: &View) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match follow_once(client, engine, view).await {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(e) => tracing::debug!(engine = %engine.id, error = %e, "container events lost"),
        }
        {
            let mut state = view.state();
            if state.connected {
                state.lost_at = Some(now_ms());
            }
            state.connected = false;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection: events from just before a full listing, applied until the stream ends.
async fn follow_once(
    client: &EngineClient,
    engine: &Engine,
    view: &View,
) -> Result<(), super::EngineError> {
    let since = (now_ms() / 1000).saturating_sub(1).to_string();
    let filters = HashMap::from([("type".to_string(), vec!["container".to_string()])]);
    let options = EventsOptions {
        since: Some(since),
        filters: Some(filters),
        ..Default::default()
    };
    let mut events = client.docker().events(Some(options));
    let listed = client.list_containers(None).await?;
    {
        let mut state = view.state();
        state.containers = (listed.into_iter())
            .map(|s| to_container(s, engine, &view.deployment))
            .map(|c| (c.id.clone(), c))
            .collect();
        state.listed_at = Some(now_ms());
        state.heard_at = state.listed_at;
        state.connected = true;
        state.lost_at = None;
    }
    while let Some(event) = events.next().await {
        let event = event.map_err(super::EngineError::from_bollard)?;
        view.state().heard_at = Some(now_ms());
        let action = event.action.unwrap_or_default();
        let Some(actor) = event.actor else {
            continue;
        };
        if action == "destroy" {
            note_vanished(engine, view, &actor);
        }
        let Some(id) = actor.id else {
            continue;
        };
        if !CHANGES.contains(&action.as_str()) {
            continue;
        }
        let now = client.container_by_id(&id).await?;
        let mut state = view.state();
        match now {
            Some(summary) => {
                let container = to_container(summary, engine, &view.deployment);
                state.containers.insert(id, container)
            }
            None => state.containers.remove(&id),
        };
    }
    Ok(())
}
