//! A run's config in engine-side names: the tenant's container name, volumes and network
//! become names only that tenant can produce (see `domain::Scope`), and the tenant objects the
//! engine must hold first are listed. [`engine_side`] is the pure translation; the `Cluster`
//! methods make the objects on the chosen engine and check whose they are.
//!
//! Users: a named volume `data:/path` is theirs alone; a missing `network_mode` (or
//! `default`) is their own bridge network on that engine, another name another network of
//! theirs, `none` no network; Docker's shared `bridge` is refused by the tenant guard. Admins
//! are trusted with raw Docker: their volume and network names are engine-side names, as
//! written. Every caller's container name is scoped to its owner.

use std::collections::HashMap;

use super::{Cluster, ClusterError, ClusterResult, Conflict};
use crate::auth::Principal;
use crate::domain::{Engine, ImageConfig, InvalidInput, Role, Scope, check_object_name};
use crate::engine::EngineError;
use crate::engine::labels::ObjectLabels;

/// How long a network lock lives if its holder dies, and how often a waiter tries it (20 ms
/// apart: about 10 s in all).
const LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(10);
const LOCK_TRIES: usize = 500;

/// The network a user's containers join when they name none.
pub const DEFAULT_NETWORK: &str = "default";

/// A tenant's volume or network: the name they gave, and the engine's name for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::cluster) struct TenantObject {
    pub given: String,
    pub engine_name: String,
}

/// What the engine gets for one run.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::cluster) struct EngineSide {
    /// The config with engine-side names.
    pub config: ImageConfig,
    /// The tenant network to join, made on first use.
    pub network: Option<TenantObject>,
    /// The tenant's named volumes to mount, made on first use.
    pub volumes: Vec<TenantObject>,
}

/// Translates a (checked) config for its owner.
pub(in crate::cluster) fn engine_side(
    scope: &Scope,
    owner: &Principal,
    config: &ImageConfig,
) -> Result<EngineSide, InvalidInput> {
    let mut side = EngineSide {
        config: config.clone(),
        network: None,
        volumes: Vec::new(),
    };
    let user = &owner.username;
    side.config.container_name = (config.container_name.as_ref()).map(|n| scope.name(user, n));
    if owner.role == Role::Admin {
        return Ok(side);
    }
    for (i, entry) in side.config.volumes.iter_mut().enumerate() {
        let Some((source, rest)) = entry.split_once(':') else {
            continue; // an anonymous volume
        };
        check_object_name(&format!("volumes[{i}]"), source)?;
        let volume = TenantObject {
            given: source.to_string(),
            engine_name: scope.name(user, source),
        };
        *entry = format!("{}:{rest}", volume.engine_name);
        side.volumes.push(volume);
    }
    let network = match config.network_mode.as_deref() {
        None => Some(DEFAULT_NETWORK),
        Some("none") => None,
        Some(name) => Some(name),
    };
    if let Some(given) = network {
        check_object_name("network_mode", given)?;
        let object = TenantObject {
            given: given.to_string(),
            engine_name: scope.name(user, given),
        };
        side.config.network_mode = Some(object.engine_name.clone());
        side.network = Some(object);
    }
    Ok(side)
}

impl Cluster {
    /// Makes the run's network and volumes on the engine (or finds them), refusing any that is
    /// not the owner's.
    pub(in crate::cluster) async fn ensure_tenant_objects(
        &self,
        engine: &Engine,
        owner: &str,
        side: &EngineSide,
    ) -> ClusterResult<()> {
        let client = self.engines.client(engine);
        let labels = |given: &str| ObjectLabels {
            cluster: self.store.keys().prefix().to_string(),
            owner: owner.to_string(),
            name: given.to_string(),
        };
        // A network the engine's view holds with this owner's labels is there already; any
        // other (missing, or made behind clementine's back) goes through the check below.
        if let Some(network) = side.network.as_ref()
            && !(self.views.network_labels(engine, &network.engine_name))
                .is_some_and(|held| ObjectLabels::from_map(&held) == Some(labels(&network.given)))
        {
            let wanted = labels(&network.given);
            let lock = format!("network:{}:{}", engine.id, network.engine_name);
            let token = self.wait_for_lock(&lock).await?;
            let found = client
                .ensure_network(&network.engine_name, wanted.to_map())
                .await;
            if let Err(e) = self.store.unlock(&lock, &token).await {
                tracing::warn!(error = %e, "network lock not released; it expires by itself");
            }
            check_owned(engine, "network", &network.given, &wanted, found)?;
            let made = Some(wanted.to_map());
            self.views
                .network_is(&engine.id, &network.engine_name, made);
        }
        for volume in &side.volumes {
            let wanted = labels(&volume.given);
            let found = self.volume_labels(engine, owner, volume, &wanted).await?;
            check_owned(engine, "volume", &volume.given, &wanted, found)?;
        }
        Ok(())
    }

    /// The labels of the run's volume on the engine: the engine's view answers when it holds
    /// it, else the engine is asked; a missing one is made now, within the owner's quota (the
    /// slot given back if that fails).
    async fn volume_labels(
        &self,
        engine: &Engine,
        owner: &str,
        volume: &TenantObject,
        wanted: &ObjectLabels,
    ) -> ClusterResult<Result<HashMap<String, String>, EngineError>> {
        let client = self.engines.client(engine);
        let looked_up = match self.views.volume(engine, &volume.engine_name) {
            Some(v) => Ok(v),
            None => client.inspect_volume(&volume.engine_name).await,
        };
        match looked_up {
            Ok(v) => Ok(Ok(v.labels)),
            Err(EngineError::NotFound(_)) => {
                self.take_volume(owner).await?;
                let made = client
                    .ensure_volume(&volume.engine_name, wanted.to_map())
                    .await;
                match &made {
                    Ok(labels) => {
                        let named = bollard::models::Volume {
                            name: volume.engine_name.clone(),
                            driver: "local".into(),
                            labels: labels.clone(),
                            ..Default::default()
                        };
                        self.views
                            .volume_is(&engine.id, &volume.engine_name, Some(named));
                    }
                    Err(_) => {
                        if let Err(e) = self.store.give_volume(owner).await {
                            tracing::warn!(error = %e, "volume quota not given back; reconcile will");
                        }
                    }
                }
                Ok(made)
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Takes a Redis lock, waiting for another holder (this process or another) to finish.
    /// Networks are made under one, since dockerd 20.10 lets two racing creates make two
    /// networks of one name, which it then refuses to attach to.
    async fn wait_for_lock(&self, name: &str) -> ClusterResult<String> {
        for _ in 0..LOCK_TRIES {
            if let Some(token) = self.store.try_lock(name, LOCK_TTL).await? {
                return Ok(token);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Err(ClusterError::EngineUnavailable(format!(
            "{name} is held too long by another request; try again"
        )))
    }
}

/// The object found on the engine must carry the labels it was made with.
fn check_owned(
    engine: &Engine,
    kind: &str,
    given: &str,
    wanted: &ObjectLabels,
    found: Result<HashMap<String, String>, EngineError>,
) -> ClusterResult<()> {
    let labels = found.map_err(|e| ClusterError::engine(&engine.id, e))?;
    if ObjectLabels::from_map(&labels).as_ref() == Some(wanted) {
        return Ok(());
    }
    Err(ClusterError::conflict(
        Conflict::NotOwned,
        format!(
            "{kind} {given} on engine {} was not made by clementine for you; an admin must remove it",
            engine.id
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role) -> Principal {
        Principal {
            username: "ann".into(),
            account: "1".into(),
            role,
            request_id: None,
            token: None,
            session: None,
            teams: Vec::new(),
            via: Default::default(),
        }
    }

    fn config(volumes: &[&str], network: Option<&str>) -> ImageConfig {
        ImageConfig {
            name: "busybox:latest".into(),
            container_name: Some("web".into()),
            volumes: volumes.iter().map(|v| v.to_string()).collect(),
            network_mode: network.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn users_get_their_own_names_volumes_and_network() {
        let scope = Scope::of_deployment("t:");
        let c = config(&["data:/data:ro", "/scratch"], None);
        let side = engine_side(&scope, &caller(Role::User), &c).unwrap();
        let data = scope.name("ann", "data");
        assert_eq!(side.config.container_name, Some(scope.name("ann", "web")));
        assert_eq!(
            side.config.volumes,
            [format!("{data}:/data:ro"), "/scratch".into()]
        );
        assert_eq!(side.volumes[0].engine_name, data);
        let default = scope.name("ann", DEFAULT_NETWORK);
        assert_eq!(side.config.network_mode, Some(default.clone()));
        assert_eq!(side.network.unwrap().engine_name, default);
        let named = engine_side(&scope, &caller(Role::User), &config(&[], Some("back"))).unwrap();
        assert_eq!(named.config.network_mode, Some(scope.name("ann", "back")));
        let none = engine_side(&scope, &caller(Role::User), &config(&[], Some("none"))).unwrap();
        assert_eq!(
            (none.config.network_mode.as_deref(), none.network),
            (Some("none"), None)
        );
    }

    #[test]
    fn bad_names_never_reach_the_engine() {
        let scope = Scope::of_deployment("t:");
        let user = caller(Role::User);
        let err = engine_side(&scope, &user, &config(&["../x:/x"], None)).unwrap_err();
        assert_eq!(err.field, "volumes[0]");
        let err = engine_side(&scope, &user, &config(&[], Some("a b"))).unwrap_err();
        assert_eq!(err.field, "network_mode");
    }

    #[test]
    fn admins_name_engine_objects_as_they_are() {
        let scope = Scope::of_deployment("t:");
        let c = config(&["shared:/s"], Some("bridge"));
        let side = engine_side(&scope, &caller(Role::Admin), &c).unwrap();
        assert_eq!(side.config.volumes, ["shared:/s"]);
        assert_eq!(side.config.network_mode.as_deref(), Some("bridge"));
        assert!(side.volumes.is_empty() && side.network.is_none());
        assert_eq!(side.config.container_name, Some(scope.name("ann", "web")));
    }
}
