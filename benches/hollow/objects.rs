//! One hollow engine's containers, images, volumes and networks, in memory, and the events
//! their changes send (as dockerd sends them on `/events`).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Mutex;

use bollard::models::{
    ContainerCreateBody, EventActor, EventMessage, EventMessageTypeEnum, PortBinding,
};
use tokio::sync::broadcast;

use super::Options;

/// A container as the engine keeps it.
#[derive(Debug, Clone)]
pub struct Held {
    pub id: String,
    pub name: String,
    pub body: ContainerCreateBody,
    /// Unix seconds.
    pub created: i64,
    pub state: &'static str,
}

impl Held {
    pub fn labels(&self) -> HashMap<String, String> {
        self.body.labels.clone().unwrap_or_default()
    }

    pub fn bindings(&self) -> HashMap<String, Option<Vec<PortBinding>>> {
        (self.body.host_config.as_ref())
            .and_then(|h| h.port_bindings.clone())
            .unwrap_or_default()
    }
}

/// A named volume or network.
#[derive(Debug, Clone)]
pub struct Named {
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
    pub options: HashMap<String, String>,
    pub created: i64,
}

#[derive(Default)]
pub struct State {
    pub containers: BTreeMap<String, Held>,
    /// Tag (`busybox:latest`) -> image id.
    pub images: BTreeMap<String, String>,
    pub volumes: BTreeMap<String, Named>,
    pub networks: BTreeMap<String, Named>,
}

/// What one engine holds, and its event stream.
pub struct Objects {
    pub name: String,
    pub cpus: i64,
    pub memory: i64,
    state: Mutex<State>,
    events: broadcast::Sender<EventMessage>,
}

pub fn new_id() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

pub fn now_secs() -> i64 {
    clementine::time::now_ms() as i64 / 1000
}

impl Objects {
    pub fn new(addr: &SocketAddr, options: &Options) -> Self {
        let mut state = State::default();
        for image in &options.images {
            state
                .images
                .insert(image.clone(), format!("sha256:{}", new_id()));
        }
        let bridge = Named {
            id: new_id(),
            name: "bridge".into(),
            labels: HashMap::new(),
            options: HashMap::from([(
                "com.docker.network.bridge.host_binding_ipv4".into(),
                addr.ip().to_string(),
            )]),
            created: now_secs(),
        };
        state.networks.insert(bridge.id.clone(), bridge);
        Self {
            name: format!("hollow-{}", addr.ip()),
            cpus: options.cpus,
            memory: options.memory_mb * 1024 * 1024,
            state: Mutex::new(state),
            events: broadcast::channel(4096).0,
        }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EventMessage> {
        self.events.subscribe()
    }

    /// Sends an event about an object (`type` container, image, volume or network).
    pub fn emit(
        &self,
        typ: EventMessageTypeEnum,
        action: &str,
        id: &str,
        attributes: HashMap<String, String>,
    ) {
        let now = clementine::time::now_ms() as i64;
        let _ = self.events.send(EventMessage {
            typ: Some(typ),
            action: Some(action.to_string()),
            actor: Some(EventActor {
                id: Some(id.to_string()),
                attributes: Some(attributes),
            }),
            scope: Some(bollard::models::EventMessageScopeEnum::LOCAL),
            time: Some(now / 1000),
            time_nano: Some(now * 1_000_000),
        });
    }

    /// A container event, with the container's labels, name and image as dockerd sends them.
    pub fn emit_container(&self, action: &str, held: &Held) {
        let mut attributes = held.labels();
        attributes.insert("name".into(), held.name.clone());
        attributes.insert("image".into(), held.body.image.clone().unwrap_or_default());
        self.emit(
            EventMessageTypeEnum::CONTAINER,
            action,
            &held.id,
            attributes,
        );
    }
}

impl Objects {
    /// A running container made behind clementine's back, with `labels` (a benchmark's way to
    /// fill the views without the run path): created and started, with their events.
    pub fn plant(&self, name: &str, image: &str, labels: HashMap<String, String>) {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            cmd: Some(vec!["sleep".into(), "3600".into()]),
            labels: Some(labels),
            ..Default::default()
        };
        let held = Held {
            id: new_id(),
            name: name.to_string(),
            body,
            created: now_secs(),
            state: "running",
        };
        self.emit_container("create", &held);
        self.emit_container("start", &held);
        self.state().containers.insert(held.id.clone(), held);
    }
}

impl State {
    /// A container by id, unique id prefix or name (with or without the leading `/`).
    pub fn find(&self, key: &str) -> Option<String> {
        let name = key.trim_start_matches('/');
        if self.containers.contains_key(key) {
            return Some(key.to_string());
        }
        if let Some(held) = self.containers.values().find(|c| c.name == name) {
            return Some(held.id.clone());
        }
        let mut prefixed = self.containers.keys().filter(|id| id.starts_with(key));
        match (prefixed.next(), prefixed.next()) {
            (Some(id), None) if !key.is_empty() => Some(id.clone()),
            _ => None,
        }
    }

    /// An image by tag (`busybox` meaning `busybox:latest`) or id.
    pub fn image(&self, name: &str) -> Option<(String, String)> {
        let tagged = match name.rsplit_once(':') {
            Some((_, tag)) if !tag.contains('/') => name.to_string(),
            _ => format!("{name}:latest"),
        };
        (self.images.get_key_value(&tagged))
            .map(|(t, id)| (t.clone(), id.clone()))
            .or_else(|| {
                (self.images.iter())
                    .find(|(_, id)| id.as_str() == name)
                    .map(|(t, id)| (t.clone(), id.clone()))
            })
    }

    /// A network by id or name.
    pub fn network(&self, key: &str) -> Option<Named> {
        (self.networks.get(key).cloned())
            .or_else(|| self.networks.values().find(|n| n.name == key).cloned())
    }
}
