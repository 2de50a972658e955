//! Tenant networks as objects of their own (the Docker API's `network create|ls|rm`). A network
//! is the owner's name for a bridge network on each engine their containers use: made on one
//! engine when created, and on any other engine on first use by a run (see `tenancy`). Listing
//! shows one entry per name; removing removes it from every engine.

use std::collections::{BTreeMap, HashMap};

use futures::future::join_all;

use super::audited::plain;
use super::{Cluster, ClusterError, ClusterResult, Conflict};
use crate::auth::Principal;
use crate::domain::{Engine, EngineStatus, HealthState, check_object_name};
use crate::engine::EngineError;
use crate::engine::labels::{ContainerLabels, ObjectLabels};
use crate::events::{Draft, actions};

/// One tenant network, as its owner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantNetwork {
    /// The name the owner gave it.
    pub name: String,
    /// Docker's id of it on the first engine that holds it.
    pub id: String,
    pub owner: String,
    /// The engines that hold it, with its engine-side name.
    pub engines: Vec<String>,
    pub engine_name: String,
    /// The owner's own labels (compose's among them).
    pub labels: BTreeMap<String, String>,
    pub created: Option<String>,
}

impl Cluster {
    /// The caller's networks (their own and their teams'; admins: every tenant's), one per name.
    pub async fn list_networks(&self, principal: &Principal) -> ClusterResult<Vec<TenantNetwork>> {
        let engines = self.list_engines(principal).await?;
        let filters = vec![ContainerLabels::cluster_filter(self.deployment())];
        let listed = join_all(engines.iter().map(|e| {
            let filters = filters.clone();
            async move { (e, self.engines.client(e).list_networks(filters).await) }
        }))
        .await;
        let mut by_name: BTreeMap<(String, String), TenantNetwork> = BTreeMap::new();
        for (engine, answer) in listed {
            let Ok(networks) = answer else { continue };
            for n in networks {
                let labels = n.labels.clone().unwrap_or_default();
                let Some(ours) = ObjectLabels::from_map(&labels) else {
                    continue;
                };
                if ours.cluster != self.deployment()
                    || !principal.may_touch_container(Some(&ours.owner))
                {
                    continue;
                }
                let entry = by_name.entry((ours.owner.clone(), ours.name.clone()));
                let network = entry.or_insert_with(|| TenantNetwork {
                    name: ours.name.clone(),
                    id: n.id.clone().unwrap_or_default(),
                    owner: ours.owner.clone(),
                    engines: Vec::new(),
                    engine_name: n.name.clone().unwrap_or_default(),
                    labels: BTreeMap::new(),
                    created: n.created.clone(),
                });
                network.engines.push(engine.id.clone());
                network.labels.extend(own_labels(labels));
            }
        }
        Ok(by_name.into_values().collect())
    }

    /// One of the caller's networks, by the name they gave it or by a Docker id.
    pub async fn find_network(
        &self,
        principal: &Principal,
        name_or_id: &str,
    ) -> ClusterResult<TenantNetwork> {
        let networks = self.list_networks(principal).await?;
        let own = |n: &&TenantNetwork| n.name == name_or_id && n.owner == principal.username;
        let any_named = |n: &&TenantNetwork| n.name == name_or_id;
        let by_id = |n: &&TenantNetwork| name_or_id.len() >= 4 && n.id.starts_with(name_or_id);
        let found = (networks.iter().find(own))
            .or_else(|| networks.iter().find(any_named))
            .or_else(|| networks.iter().find(by_id));
        found
            .cloned()
            .ok_or_else(|| ClusterError::not_found("network", name_or_id))
    }

    /// Makes a network (audited) on the first engine the owner may use that answers; `team`
    /// makes it the team's. 409 when the owner has one of that name.
    pub async fn create_network(
        &self,
        principal: &Principal,
        name: &str,
        labels: &BTreeMap<String, String>,
        team: Option<&str>,
    ) -> ClusterResult<TenantNetwork> {
        check_object_name("Name", name)?;
        check_own_labels(labels)?;
        let owner = self.owner_for(principal, team).await?;
        if let Ok(n) = self.find_network(&owner, name).await
            && n.owner == owner.username
        {
            let why = format!("network with name {name} already exists");
            return Err(ClusterError::conflict(Conflict::EngineConflict, why));
        }
        let engine = self.first_usable_engine(&owner).await?;
        let mut draft = Draft::by(principal, actions::NETWORK_CREATE).engine(&engine.id);
        (draft.target, draft.owner, draft.team) = (
            Some(name.into()),
            Some(owner.username.clone()),
            team.map(Into::into),
        );
        let engine_name = self.scope.name(&owner.username, name);
        let wanted = ObjectLabels {
            cluster: self.deployment().to_string(),
            owner: owner.username.clone(),
            name: name.to_string(),
        };
        let mut all = wanted.to_map();
        all.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        let client = self.engines.client(&engine);
        let work = async {
            (client.ensure_network(&engine_name, all).await)
                .map_err(|e| ClusterError::engine(&engine.id, e))?;
            self.find_network(&owner, name).await
        };
        self.audited(draft, work, plain).await
    }

    /// Removes a network from every engine that holds it (audited); 409 while a container uses
    /// it anywhere (what was removed elsewhere stays removed).
    pub async fn remove_network(
        &self,
        principal: &Principal,
        name_or_id: &str,
    ) -> ClusterResult<()> {
        let network = self.find_network(principal, name_or_id).await?;
        let mut draft = Draft::by(principal, actions::NETWORK_DELETE);
        (draft.target, draft.owner) = (Some(network.name.clone()), Some(network.owner.clone()));
        let work = async {
            for id in &network.engines {
                let engine = self.get_engine(principal, id).await?;
                match self
                    .engines
                    .client(&engine)
                    .remove_network(&network.engine_name)
                    .await
                {
                    Ok(()) | Err(EngineError::NotFound(_)) => {}
                    Err(EngineError::Conflict(_) | EngineError::Docker { status: 403, .. }) => {
                        let why =
                            format!("network {} is in use by a container on {id}", network.name);
                        return Err(ClusterError::conflict(Conflict::EngineConflict, why));
                    }
                    Err(e) => return Err(ClusterError::engine(id, e)),
                }
                self.views
                    .network_is(&engine.id, &network.engine_name, None);
            }
            Ok(())
        };
        self.audited(draft, work, plain).await
    }

    /// Connects a container to a network of the same owner (made on the container's engine if
    /// it is not there yet), with `aliases` on it; or (`aliases` = `None`) disconnects it.
    /// Audited as `network.connect` / `network.disconnect`.
    pub async fn connect_network(
        &self,
        principal: &Principal,
        network: &str,
        container: &str,
        aliases: Option<&[String]>,
    ) -> ClusterResult<()> {
        for (i, alias) in aliases.unwrap_or_default().iter().enumerate() {
            check_object_name(&format!("EndpointConfig.Aliases[{i}]"), alias)?;
        }
        let found = self.locate(principal, container).await?;
        let owner = found.container.owner.clone().unwrap_or_default();
        let network = self.find_network(principal, network).await?;
        if network.owner != owner {
            return Err(ClusterError::not_found("network", &network.name));
        }
        let action = match aliases {
            Some(_) => actions::NETWORK_CONNECT,
            None => actions::NETWORK_DISCONNECT,
        };
        let mut draft = found.draft(principal, action);
        draft.target = Some(network.name.clone());
        let client = &found.client;
        let work = async {
            let engine_name = &network.engine_name;
            let result = match aliases {
                Some(aliases) => {
                    let labels = ObjectLabels {
                        cluster: self.deployment().to_string(),
                        owner: owner.clone(),
                        name: network.name.clone(),
                    };
                    (client.ensure_network(engine_name, labels.to_map()).await)
                        .map_err(|e| ClusterError::engine(&found.engine.id, e))?;
                    client
                        .connect(engine_name, &found.container.id, aliases)
                        .await
                }
                None => client.disconnect(engine_name, &found.container.id).await,
            };
            result.map_err(|e| ClusterError::engine(&found.engine.id, e))
        };
        self.audited(draft, work, plain).await
    }

    /// Where a new network or volume goes: the first active engine the owner may use that is
    /// not known to be down.
    pub(in crate::cluster) async fn first_usable_engine(
        &self,
        owner: &Principal,
    ) -> ClusterResult<Engine> {
        let engines = self.list_engines(owner).await?;
        engines
            .into_iter()
            .find(|e| e.status == EngineStatus::Active && e.health.state != HealthState::Unhealthy)
            .ok_or_else(|| ClusterError::EngineUnavailable("no engine you may use answers".into()))
    }
}

/// The labels of an object that are not clementine's own.
pub(in crate::cluster) fn own_labels(labels: HashMap<String, String>) -> BTreeMap<String, String> {
    (labels.into_iter())
        .filter(|(k, _)| !k.starts_with(crate::domain::RESERVED_LABEL_PREFIX))
        .collect()
}

/// Owners' labels on volumes and networks: the same rules as on containers.
pub(in crate::cluster) fn check_own_labels(labels: &BTreeMap<String, String>) -> ClusterResult<()> {
    let probe = crate::domain::ImageConfig {
        name: "x".into(),
        container_labels: labels.clone(),
        ..Default::default()
    };
    crate::domain::check_config(&probe).map_err(|mut e| {
        e.field = e.field.replacen("container_labels", "Labels", 1);
        ClusterError::from(e)
    })
}
