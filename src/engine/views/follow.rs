//! Keeping one engine's view: a full listing of its containers, images, volumes and networks
//! when the stream opens, then each event applied as it comes.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bollard::models::{EventMessage, EventMessageTypeEnum, ImageSummary, Volume};
use bollard::query_parameters::EventsOptions;
use futures::StreamExt;

use super::{MAX_BACKOFF, Vanished, View};
use crate::domain::Engine;
use crate::engine::{EngineClient, EngineError, Listed};
use crate::time::now_ms;

/// Event actions that change what a listing shows of a container.
const CHANGES: &[&str] = &[
    "create", "start", "die", "pause", "unpause", "rename", "update", "destroy",
];

/// The object types a view follows.
const TYPES: &[&str] = &["container", "image", "volume", "network"];

/// Every reference an image list names (tags and digests).
pub fn image_refs(images: Vec<ImageSummary>) -> HashSet<String> {
    (images.into_iter())
        .flat_map(|i| i.repo_tags.into_iter().chain(i.repo_digests))
        .collect()
}

/// Tells of a removed container of this deployment that held a claim.
fn note_vanished(engine: &Engine, view: &View, actor: &bollard::models::EventActor) {
    let Some(labels) = actor.attributes.as_ref() else {
        return;
    };
    let ours = labels.get(crate::engine::labels::CLUSTER) == Some(&view.deployment);
    if let (true, Some(op)) = (
        ours,
        labels
            .get(crate::engine::labels::OP)
            .filter(|op| !op.is_empty()),
    ) {
        let _ = view.vanished.send(Vanished {
            engine: engine.id.clone(),
            container: actor.id.clone().unwrap_or_default(),
            owner: labels.get(crate::engine::labels::OWNER).cloned(),
            op: op.clone(),
        });
    }
}

/// Lists, then follows the event stream; again after every break, with a growing pause.
pub(super) async fn watch(client: &EngineClient, engine: &Engine, view: &View) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match follow_once(client, engine, view).await {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(e) => tracing::debug!(engine = %engine.id, error = %e, "engine events lost"),
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
) -> Result<(), EngineError> {
    let since = (now_ms() / 1000).saturating_sub(1).to_string();
    let types = TYPES.iter().map(|t| t.to_string()).collect();
    let options = EventsOptions {
        since: Some(since),
        filters: Some(HashMap::from([("type".to_string(), types)])),
        ..Default::default()
    };
    let mut events = client.docker().events(Some(options));
    // Boxed: the listing's futures are large, and unboxed their room stays in the watcher's
    // task for as long as the stream it then follows (~7 KiB an engine).
    let listing = Box::pin(list_everything(client, view)).await?;
    {
        let mut state = view.state();
        state.containers = listing.containers;
        state.images = listing.images;
        state.volumes = listing.volumes;
        state.networks = listing.networks;
        state.listed_at = Some(now_ms());
        state.heard_at = state.listed_at;
        state.connected = true;
        state.lost_at = None;
    }
    while let Some(event) = events.next().await {
        let event = event.map_err(EngineError::from_bollard)?;
        view.state().heard_at = Some(now_ms());
        // Boxed too, for the same reason: an event's calls are rare beside the waiting.
        Box::pin(apply(client, engine, view, event)).await?;
    }
    Ok(())
}

/// Everything a view holds, as one full listing of its engine says.
struct Listing {
    containers: HashMap<String, Box<Listed>>,
    images: HashSet<String>,
    volumes: HashMap<String, Volume>,
    networks: HashMap<String, HashMap<String, String>>,
}

/// One listing after another, on one connection: asked at once, each engine's four listings
/// held four connections open (at 1,000 engines, 120 KB more resident memory per engine).
async fn list_everything(client: &EngineClient, view: &View) -> Result<Listing, EngineError> {
    let listed = client.list_containers(None).await?;
    let images = client.list_images().await?;
    let volumes = client.list_volumes(Vec::new()).await?;
    let networks = client.list_networks(Vec::new()).await?;
    Ok(Listing {
        containers: (listed.into_iter())
            .map(|s| Listed::from_summary(s, &view.deployment))
            .map(|c| (c.id.clone(), Box::new(c)))
            .collect(),
        images: image_refs(images),
        volumes: volumes.into_iter().map(|v| (v.name.clone(), v)).collect(),
        networks: (networks.into_iter())
            .filter_map(|n| Some((n.name?, n.labels.unwrap_or_default())))
            .collect(),
    })
}

/// One event: the object it names is asked about again (or dropped when it is gone).
async fn apply(
    client: &EngineClient,
    engine: &Engine,
    view: &View,
    event: EventMessage,
) -> Result<(), EngineError> {
    let action = event.action.unwrap_or_default();
    let Some(actor) = event.actor else {
        return Ok(());
    };
    match event.typ {
        Some(EventMessageTypeEnum::CONTAINER) => {
            if action == "destroy" {
                note_vanished(engine, view, &actor);
            }
            match actor.id.filter(|_| CHANGES.contains(&action.as_str())) {
                Some(id) => container_changed(client, view, id).await,
                None => Ok(()),
            }
        }
        // Pulls, tags, untags, deletes, imports and loads: the list again (images change
        // rarely, and one event can add or drop several references).
        Some(EventMessageTypeEnum::IMAGE) => {
            let images = image_refs(client.list_images().await?);
            view.state().images = images;
            Ok(())
        }
        Some(EventMessageTypeEnum::VOLUME) => {
            let name = actor.id.unwrap_or_default();
            match action.as_str() {
                "create" => volume_made(client, view, name).await,
                "destroy" => {
                    view.state().volumes.remove(&name);
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        Some(EventMessageTypeEnum::NETWORK) => {
            let name = (actor.attributes.as_ref())
                .and_then(|a| a.get("name").cloned())
                .unwrap_or_default();
            match action.as_str() {
                "create" => network_made(client, view, actor.id.unwrap_or_default(), name).await,
                "destroy" => {
                    view.state().networks.remove(&name);
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

async fn container_changed(
    client: &EngineClient,
    view: &View,
    id: String,
) -> Result<(), EngineError> {
    let now = client.container_by_id(&id).await?;
    let mut state = view.state();
    match now {
        Some(summary) => {
            let container = Listed::from_summary(summary, &view.deployment);
            state.containers.insert(id, Box::new(container))
        }
        None => state.containers.remove(&id),
    };
    Ok(())
}

async fn volume_made(client: &EngineClient, view: &View, name: String) -> Result<(), EngineError> {
    match client.inspect_volume(&name).await {
        Ok(volume) => drop(view.state().volumes.insert(name, volume)),
        Err(EngineError::NotFound(_)) => drop(view.state().volumes.remove(&name)),
        Err(e) => return Err(e),
    }
    Ok(())
}

async fn network_made(
    client: &EngineClient,
    view: &View,
    id: String,
    name: String,
) -> Result<(), EngineError> {
    let inspect = client.docker().inspect_network(&id, None);
    match client.call("network_inspect", inspect).await {
        Ok(n) => drop(
            view.state()
                .networks
                .insert(name, n.labels.unwrap_or_default()),
        ),
        Err(EngineError::NotFound(_)) => drop(view.state().networks.remove(&name)),
        Err(e) => return Err(e),
    }
    Ok(())
}
