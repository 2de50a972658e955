//! Named volumes: the caller's, on every engine they may use, and removal. Users address their
//! volumes by the names they gave them; admins see every volume and address any by its
//! engine-side name. A volume another tenant owns answers 404, like one that does not exist.

use futures::future::join_all;

use super::audited::plain;
use super::{Cluster, ClusterError, ClusterResult, Conflict};
use crate::auth::Principal;
use crate::domain::{Engine, EngineFailure, Volume, VolumeList, check_object_name};
use crate::engine::EngineError;
use crate::engine::labels::{ContainerLabels, ObjectLabels};
use crate::events::{Draft, actions};

impl Cluster {
    /// Volumes on every engine the caller may use: a user's own, or (admins) all of them.
    pub async fn list_volumes(&self, principal: &Principal) -> ClusterResult<VolumeList> {
        let engines = self.list_engines(principal).await?;
        let filters = match principal.owner_filter() {
            Some(owner) => self.owned_by(owner),
            None if principal.is_admin() => Vec::new(),
            None => vec![ContainerLabels::cluster_filter(self.deployment())],
        };
        let mut list = self.volumes_on(&engines, filters).await;
        list.volumes
            .retain(|v| principal.may_touch_container(v.owner.as_deref()));
        Ok(list)
    }

    /// Every volume of `owner` in this deployment, on every engine (granted or not).
    pub(in crate::cluster) async fn volumes_of(&self, owner: &str) -> ClusterResult<VolumeList> {
        let engines = self.store.list_engines().await?;
        Ok(self.volumes_on(&engines, self.owned_by(owner)).await)
    }

    /// The label filters of `owner`'s objects in this deployment.
    fn owned_by(&self, owner: &str) -> Vec<String> {
        vec![
            ContainerLabels::owner_filter(owner),
            ContainerLabels::cluster_filter(self.store.keys().prefix()),
        ]
    }

    pub(in crate::cluster) async fn volumes_on(
        &self,
        engines: &[Engine],
        filters: Vec<String>,
    ) -> VolumeList {
        // From each engine's view (kept by its volume events); an engine not listed yet is asked.
        let answers = join_all(engines.iter().map(|engine| {
            let filters = filters.clone();
            async move {
                let answer = match self.views.volumes(engine, &filters) {
                    Some(volumes) => Ok(volumes),
                    None => self.engines.client(engine).list_volumes(filters).await,
                };
                (engine, answer)
            }
        }))
        .await;
        let mut list = VolumeList {
            volumes: Vec::new(),
            failed: Vec::new(),
        };
        for (engine, answer) in answers {
            match answer {
                Ok(volumes) => list
                    .volumes
                    .extend(volumes.into_iter().map(|v| self.volume_view(engine, v))),
                Err(e) => list.failed.push(EngineFailure {
                    engine: engine.id.clone(),
                    error: e.to_string(),
                }),
            }
        }
        list.volumes
            .sort_by(|a, b| (&a.engine, &a.name).cmp(&(&b.engine, &b.name)));
        list
    }

    fn volume_view(&self, engine: &Engine, v: bollard::models::Volume) -> Volume {
        let ours =
            ObjectLabels::from_map(&v.labels).filter(|l| l.cluster == self.store.keys().prefix());
        Volume {
            name: ours.as_ref().map_or(v.name.clone(), |l| l.name.clone()),
            engine: engine.id.clone(),
            owner: ours.map(|l| l.owner),
            engine_name: v.name,
            created: v.created_at.map(|t| t.to_string()),
            labels: super::networks::own_labels(v.labels),
        }
    }

    /// Makes a named volume (audited) on the first engine the owner may use, within the owner's
    /// quota; `team` makes it the team's. A volume the owner has of that name is answered as it
    /// is, as Docker's create does.
    pub async fn create_volume(
        &self,
        principal: &Principal,
        name: &str,
        labels: &std::collections::BTreeMap<String, String>,
        team: Option<&str>,
    ) -> ClusterResult<Volume> {
        check_object_name("Name", name)?;
        super::networks::check_own_labels(labels)?;
        let owner = self.owner_for(principal, team).await?;
        let existing = self.volumes_of(&owner.username).await?.volumes;
        if let Some(v) = existing.into_iter().find(|v| v.name == name) {
            return Ok(v);
        }
        let engine = self.first_usable_engine(&owner).await?;
        let mut draft = Draft::by(principal, actions::VOLUME_CREATE).engine(&engine.id);
        (draft.target, draft.owner) = (Some(name.into()), Some(owner.username.clone()));
        draft.team = team.map(Into::into);
        let mut all = ObjectLabels {
            cluster: self.deployment().to_string(),
            owner: owner.username.clone(),
            name: name.to_string(),
        }
        .to_map();
        all.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        let engine_name = self.scope.name(&owner.username, name);
        let client = self.engines.client(&engine);
        let work = async {
            self.take_volume(&owner.username).await?;
            let made = client.ensure_volume(&engine_name, all).await;
            let made = match made {
                Ok(_) => client.inspect_volume(&engine_name).await,
                Err(e) => Err(e),
            };
            match made {
                Ok(v) => {
                    self.views
                        .volume_is(&engine.id, &engine_name, Some(v.clone()));
                    Ok(self.volume_view(&engine, v))
                }
                Err(e) => {
                    if let Err(e) = self.store.give_volume(&owner.username).await {
                        tracing::warn!(error = %e, "volume quota not given back; reconcile will");
                    }
                    Err(ClusterError::engine(&engine.id, e))
                }
            }
        };
        self.audited(draft, work, plain).await
    }

    /// One of the caller's volumes by the name they gave it (their own first, then their
    /// teams'), on whichever engine holds it; admins also by engine-side name.
    pub async fn find_volume_named(
        &self,
        principal: &Principal,
        name: &str,
    ) -> ClusterResult<Volume> {
        check_object_name("name", name)?;
        let volumes = self.list_volumes(principal).await?.volumes;
        let own = |v: &&Volume| v.name == name && v.owner.as_deref() == Some(&principal.username);
        let named = |v: &&Volume| v.name == name;
        let raw = |v: &&Volume| principal.is_admin() && v.engine_name == name;
        (volumes.iter().find(own))
            .or_else(|| volumes.iter().find(named))
            .or_else(|| volumes.iter().find(raw))
            .cloned()
            .ok_or_else(|| ClusterError::not_found("volume", name))
    }

    /// Removes a volume (its owner or an admin); 409 while a container uses it. Audited.
    pub async fn delete_volume(
        &self,
        principal: &Principal,
        engine_id: &str,
        name: &str,
    ) -> ClusterResult<Volume> {
        check_object_name("name", name)?;
        let engine = self.get_engine(principal, engine_id).await?;
        let volume = self.find_volume(principal, &engine, name).await?;
        self.remove_volume(principal, &engine, volume).await
    }

    /// Removes a volume found already (the caller was checked), audited.
    pub(in crate::cluster) async fn remove_volume(
        &self,
        principal: &Principal,
        engine: &Engine,
        volume: Volume,
    ) -> ClusterResult<Volume> {
        let mut draft = Draft::by(principal, actions::VOLUME_DELETE).engine(&engine.id);
        draft.target = Some(volume.name.clone());
        draft.owner = volume.owner.clone();
        let client = self.engines.client(engine);
        let (name, engine_id) = (&volume.name, &engine.id);
        let work = async {
            match client.remove_volume(&volume.engine_name).await {
                Ok(()) => {
                    self.views.volume_is(engine_id, &volume.engine_name, None);
                    if let Some(owner) = &volume.owner {
                        self.store.give_volume(owner).await?;
                    }
                    Ok(volume.clone())
                }
                Err(EngineError::Conflict(_)) => Err(ClusterError::conflict(
                    Conflict::VolumeInUse,
                    format!("volume {name} is in use by a container on {engine_id}"),
                )),
                Err(EngineError::NotFound(_)) => Err(ClusterError::not_found("volume", name)),
                Err(e) => Err(ClusterError::engine(engine_id, e)),
            }
        };
        self.audited(draft, work, plain).await
    }

    /// A volume by the name its owner gave it: the caller's own, or one of their teams'; for
    /// admins also any volume by its engine-side name.
    async fn find_volume(
        &self,
        principal: &Principal,
        engine: &Engine,
        name: &str,
    ) -> ClusterResult<Volume> {
        let client = self.engines.client(engine);
        // The caller's own name first, then their teams'; admins also any engine-side name.
        let teams = principal.teams.iter().map(|t| crate::domain::team_owner(t));
        let owners = std::iter::once(principal.username.clone()).chain(teams);
        let mut tries: Vec<String> = owners.map(|o| self.scope.name(&o, name)).collect();
        if principal.is_admin() {
            tries.push(name.to_string());
        }
        let mut found = Err(EngineError::NotFound(name.to_string()));
        for candidate in &tries {
            found = client.inspect_volume(candidate).await;
            if !matches!(found, Err(EngineError::NotFound(_))) {
                break;
            }
        }
        let volume = match found {
            Ok(v) => self.volume_view(engine, v),
            Err(EngineError::NotFound(_)) => return Err(ClusterError::not_found("volume", name)),
            Err(e) => return Err(ClusterError::engine(&engine.id, e)),
        };
        if !principal.may_touch_container(volume.owner.as_deref()) {
            return Err(ClusterError::not_found("volume", name));
        }
        Ok(volume)
    }
}
