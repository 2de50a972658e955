//! Each engine's objects as this process knows them: its containers, the images it holds, its
//! named volumes and its networks, from one full listing when it connects to the engine, then
//! kept current by that engine's Docker event stream (`GET /events`, those four types; see
//! `follow`). This is the one inventory every reader uses: list-all, locating a container,
//! placement's image locality, the tenant networks known to exist, `GET /volumes`, the
//! per-engine container route and the reconcile, settle and replay passes read it instead of
//! asking every engine each time; `?fresh=true` still asks them. Containers are kept as their
//! listing says, with clementine's labels ([`Listed`]), and built into the API's shape when read.
//!
//! - A stream that breaks (or that the transport ends after five minutes) is opened again and
//!   the engine listed again in full: whatever happened in the gap is in the listing. Events from
//!   one second before the listing are replayed, so nothing falls between the two; replays are
//!   harmless, since an event only makes the view ask the engine about that one object.
//! - A hung daemon keeps its stream open and silent, so a view also counts as stale when the
//!   health monitor finds its engine not answering. Answers carry a stale view, marked with when
//!   it was last in sync, for [`STALE_GRACE`]; then they list the engine under `failed`.
//! - The health monitor starts and stops the watchers as engines come and go ([`ContainerViews::follow`]);
//!   an engine this process adds is followed at once ([`ContainerViews::follow_new`]).
//!   Until an engine's first listing is in, list-all asks that engine live.
//! - What this process does itself (a run, a destroy, a stop) is written into the view at once,
//!   so its own answers read their writes; other processes see it when the event arrives.

mod follow;

pub use follow::image_refs;

use std::collections::hash_map::Values;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bollard::models::Volume;
use tokio_util::sync::CancellationToken;

use super::labels::ContainerLabels;
use super::{EnginePool, Listed};
use crate::domain::{Container, ContainerState, Engine, HealthState};
use crate::shutdown::Shutdown;
use crate::time::now_ms;

/// How long a stale view is still answered from before its engine is listed as failed.
pub const STALE_GRACE: Duration = Duration::from_secs(10);
/// Longest wait between two attempts to reconnect a broken stream.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

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
    /// Boxed: the table keeps room for more entries than it holds, and a slot the size of a
    /// pointer wastes less of it than one the size of a record (~130 bytes a container).
    containers: HashMap<String, Box<Listed>>,
    /// References (tags and digests) of the images the engine holds.
    images: HashSet<String>,
    /// Named volumes, by name, as the engine describes them.
    volumes: HashMap<String, Volume>,
    /// Networks' labels, by network name.
    networks: HashMap<String, HashMap<String, String>>,
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

/// How current one engine's view is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    /// When the view was last known in sync (unix ms).
    pub at: u64,
    /// Its stream is down, or the engine does not answer the monitor.
    pub stale: bool,
}

/// What one engine's view says now.
pub enum Read<T = Container> {
    /// Never listed: ask the engine.
    Unknown,
    /// The containers, when the view was last known in sync (unix ms), and whether it is stale
    /// (stream down, or the engine not answering the monitor).
    Known {
        containers: Vec<T>,
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
                _ = follow::watch(&client, &engine, &view) => {}
                _ = view.stop.cancelled() => {}
                _ = shutdown.begun() => {}
            }
        });
    }

    /// What the view of `engine` (as stored now: its health decides staleness too) holds of
    /// the containers `keep` accepts, in the API's shape (only those are built: at 10,000
    /// containers the copies were most of a list-all's time).
    pub fn read(&self, engine: &Engine, keep: impl Fn(&Listed) -> bool) -> Read {
        self.read_as(engine, keep, |c| c.container(engine))
    }

    /// Like [`read`](Self::read), in the shape `make` gives.
    pub fn read_as<T>(
        &self,
        engine: &Engine,
        keep: impl Fn(&Listed) -> bool,
        make: impl Fn(&Listed) -> T,
    ) -> Read<T> {
        let read = self.read_with(engine, |synced, all| Read::Known {
            containers: all.filter(|c| keep(c)).map(|c| make(c)).collect(),
            synced_at: synced.at,
            stale: synced.stale,
        });
        read.unwrap_or(Read::Unknown)
    }

    /// Hands `with` how current the view of `engine` is and every container it holds, under
    /// the view's lock (so that a reader writes them out without copying them first); `None`
    /// before its first listing (ask the engine).
    pub fn read_with<R>(
        &self,
        engine: &Engine,
        with: impl FnOnce(Synced, Values<'_, String, Box<Listed>>) -> R,
    ) -> Option<R> {
        let view = self.view(&engine.id).filter(|v| v.addr == engine.addr)?;
        let state = view.state();
        let listed_at = state.listed_at?;
        let answering = engine.health.state != HealthState::Unhealthy;
        let at = match (state.connected, answering) {
            (true, true) => now_ms(),
            (true, false) => last_seen_ms(engine).unwrap_or(listed_at),
            (false, _) => state.lost_at.unwrap_or(listed_at),
        };
        let stale = !(state.connected && answering);
        Some(with(Synced { at, stale }, state.containers.values()))
    }

    /// When the engine last said something on its open event stream (unix ms), if it did
    /// within `within`: the health monitor need not ping it.
    pub fn heard_from(&self, engine: &str, within: Duration) -> Option<u64> {
        let view = self.view(engine)?;
        let state = view.state();
        let heard = state.heard_at.filter(|_| state.connected)?;
        (now_ms().saturating_sub(heard) < within.as_millis() as u64).then_some(heard)
    }

    /// This process started or changed a container: the view shows it at once. `labels`:
    /// those it carries, or `None` to keep those the view knows.
    pub fn upsert(&self, container: &Container, labels: Option<ContainerLabels>) {
        if let Some(view) = self.view(&container.engine.id) {
            let mut state = view.state();
            let known = state.containers.get(&container.id);
            let labels = labels.or_else(|| known.and_then(|k| k.labels.clone()));
            let listed = Listed::of(container, labels);
            state
                .containers
                .insert(container.id.clone(), Box::new(listed));
        }
    }

    /// The state of container `id` as the view of `engine` shows it now (`Some(None)`: not
    /// there); `None` while the view is not in sync (never listed, or its stream down).
    pub fn shows(&self, engine: &str, id: &str) -> Option<Option<ContainerState>> {
        let view = self.view(engine)?;
        let state = view.state();
        let in_sync = state.listed_at.is_some() && state.connected;
        in_sync.then(|| state.containers.get(id).map(|c| c.state))
    }

    /// This process removed a container.
    pub fn remove(&self, engine: &str, id: &str) {
        if let Some(view) = self.view(engine) {
            view.state().containers.remove(id);
        }
    }

    /// The state of a view that has listed its engine (at the address stored now).
    fn listed(&self, engine: &Engine) -> Option<Arc<View>> {
        let view = self.view(&engine.id).filter(|v| v.addr == engine.addr)?;
        let listed = view.state().listed_at.is_some();
        listed.then_some(view)
    }

    /// For each engine, whether it holds `image` (a reference with its tag, or a digest);
    /// `None` before its view's first listing. A hint for placement: an image removed since
    /// makes the create fail with "no such image", and the run pulls or moves on. One read of
    /// the views for all of them: a run over 1,000 engines asks every one.
    pub fn hold_image(&self, engines: &[Engine], image: &str) -> Vec<Option<bool>> {
        let views = self.views.read().unwrap_or_else(|p| p.into_inner());
        (engines.iter())
            .map(|engine| {
                let view = views.get(&engine.id).filter(|v| v.addr == engine.addr)?;
                let state = view.state();
                state.listed_at.map(|_| state.images.contains(image))
            })
            .collect()
    }

    /// This process pulled `image` onto the engine, or a create found it missing: the view
    /// says so before the engine's event does (or where no event comes).
    pub fn image_is(&self, engine: &str, image: &str, present: bool) {
        if let Some(view) = self.view(engine) {
            let images = &mut view.state().images;
            match present {
                true => images.insert(image.to_string()),
                false => images.remove(image),
            };
        }
    }

    /// The labels of the network `name` on `engine`, when its view holds it (whose it is
    /// is the caller's to check: a network made behind clementine's back is there too).
    pub fn network_labels(&self, engine: &Engine, name: &str) -> Option<HashMap<String, String>> {
        self.listed(engine)?.state().networks.get(name).cloned()
    }

    /// This process made the network `name` with `labels` (`Some`), or found it missing.
    pub fn network_is(&self, engine: &str, name: &str, labels: Option<HashMap<String, String>>) {
        if let Some(view) = self.view(engine) {
            let networks = &mut view.state().networks;
            match labels {
                Some(labels) => networks.insert(name.to_string(), labels),
                None => networks.remove(name),
            };
        }
    }

    /// The engine's named volumes carrying every `key=value` label given; `None` before its
    /// first listing (ask the engine).
    pub fn volumes(&self, engine: &Engine, labels: &[String]) -> Option<Vec<Volume>> {
        let view = self.listed(engine)?;
        let state = view.state();
        let carries = |v: &&Volume| {
            labels.iter().all(|l| match l.split_once('=') {
                Some((k, want)) => v.labels.get(k).is_some_and(|have| have == want),
                None => v.labels.contains_key(l),
            })
        };
        Some(state.volumes.values().filter(carries).cloned().collect())
    }

    /// The engine's volume `name`, when its view holds it.
    pub fn volume(&self, engine: &Engine, name: &str) -> Option<Volume> {
        self.listed(engine)?.state().volumes.get(name).cloned()
    }

    /// This process made (`Some`) or removed (`None`) the volume `name` on the engine.
    pub fn volume_is(&self, engine: &str, name: &str, volume: Option<Volume>) {
        if let Some(view) = self.view(engine) {
            let volumes = &mut view.state().volumes;
            match volume {
                Some(v) => volumes.insert(name.to_string(), v),
                None => volumes.remove(name),
            };
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
