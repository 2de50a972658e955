//! Engines: add (after a TLS ping), list, get, patch, delete, and one engine's containers.

use std::sync::Arc;

use super::audited::{Settle, plain};
use super::{Cluster, ClusterError, ClusterResult, Conflict, admin_only};
use crate::auth::Principal;
use crate::domain::{
    Container, Engine, EngineHealth, EnginePatch, EngineRecord, EngineStatus, HealthState,
    InvalidInput, MAX_CPUS, MAX_MEMORY_MB, MIN_CPUS, NewEngine, OwnerKind, check_engine_id,
    check_labels, check_publish_ips, owner_kind,
};
use crate::engine::views::Read;
use crate::engine::{Listed, parse_engine_addr, to_container};
use crate::events::{Draft, actions};
use crate::time::{now_ms, rfc3339_ms};

fn check_cpus(cpus: f64) -> Result<(), InvalidInput> {
    if !cpus.is_finite() || !(MIN_CPUS..=MAX_CPUS).contains(&cpus) {
        return Err(InvalidInput::new(
            "cpus",
            format!("must be {MIN_CPUS} to {MAX_CPUS}"),
        ));
    }
    Ok(())
}

fn check_memory(memory: u64) -> Result<(), InvalidInput> {
    if memory == 0 || memory > MAX_MEMORY_MB {
        return Err(InvalidInput::new(
            "memory",
            format!("must be between 1 and {MAX_MEMORY_MB} MB"),
        ));
    }
    Ok(())
}

impl Cluster {
    /// Adds an engine after it answered over mutual TLS; capacity defaults to what it reports.
    pub async fn add_engine(
        &self,
        principal: &Principal,
        new: &NewEngine,
    ) -> ClusterResult<Engine> {
        admin_only(principal)?;
        check_engine_id("id", &new.id)?;
        let addr = parse_engine_addr("addr", &new.addr)?;
        check_labels("labels", &new.labels)?;
        if let Some(ips) = &new.publish_ips {
            check_publish_ips("publish_ips", ips)?;
        }
        if let Some(cpus) = new.cpus {
            check_cpus(cpus)?;
        }
        if let Some(memory) = new.memory {
            check_memory(memory)?;
        }
        if self.store.get_engine(&new.id).await?.is_some() {
            return Err(engine_exists(&new.id));
        }
        let draft = Draft::by(principal, actions::ENGINE_ADD)
            .engine(&new.id)
            .target(&new.id)
            .detail(serde_json::json!({"addr": addr, "labels": new.labels}));
        self.audited(draft, self.probe_and_store(new, addr), engine_detail)
            .await
    }

    async fn probe_and_store(&self, new: &NewEngine, addr: String) -> ClusterResult<Engine> {
        let probe = self
            .engines
            .detached(&new.id, &addr)
            .probe()
            .await
            .map_err(|source| ClusterError::EngineRejected {
                id: new.id.clone(),
                source,
            })?;
        let now = rfc3339_ms(now_ms());
        let (certificate_expires_at, certificate_expiring) =
            crate::engine::certificate_of(&self.engines, &addr);
        let engine = Engine {
            id: new.id.clone(),
            addr,
            cpus: new.cpus.unwrap_or(probe.cpus),
            memory: new.memory.unwrap_or(probe.memory_mb),
            labels: new.labels.clone(),
            status: EngineStatus::Active,
            publish_ips: new.publish_ips.clone().unwrap_or_default(),
            health: EngineHealth {
                state: HealthState::Healthy,
                last_seen: Some(now.clone()),
                checked_at: Some(now),
                last_error: None,
                response_ms: Some(probe.response_ms),
                docker_version: Some(probe.docker_version),
                api_version: Some(probe.api_version),
                certificate_expires_at,
                certificate_expiring,
            },
        }
        .with_default_publish_ips();
        if !self.store.add_engine(&engine).await? {
            return Err(engine_exists(&new.id));
        }
        self.engines.client(&engine);
        self.views.follow_new(&engine);
        tracing::info!(engine = %engine.id, addr = %engine.addr, "engine added");
        Ok(engine)
    }

    /// The engines the caller may see: all for admins; for users their own grants and their
    /// teams'; for a team (placing a team's run) the team's.
    pub async fn list_engines(&self, principal: &Principal) -> ClusterResult<Vec<Engine>> {
        let all = self.store.cached_engines().await?;
        let mut engines = if principal.is_admin() {
            all.to_vec()
        } else {
            let granted = self.granted_ids(principal).await?;
            let granted: std::collections::HashSet<&String> = granted.iter().collect();
            (all.iter())
                .filter(|e| granted.contains(&e.id))
                .cloned()
                .collect()
        };
        engines.iter_mut().for_each(|e| self.passive_health(e));
        Ok(engines)
    }

    /// The engines the caller may see, shared: for an admin, while no engine is suspect in this
    /// process, the store's own copy itself (the same one until the records change or 500 ms
    /// pass), which lets the answer written from it be kept as long.
    pub async fn engines_shown(&self, principal: &Principal) -> ClusterResult<Arc<Vec<Engine>>> {
        let all = self.store.cached_engines().await?;
        let suspects = self.engines.suspects();
        if principal.is_admin() && !all.iter().any(|e| suspects.contains(&e.id)) {
            return Ok(all);
        }
        Ok(Arc::new(self.list_engines(principal).await?))
    }

    /// A healthy engine whose last quick call in this process timed out is suspect at once.
    pub(in crate::cluster) fn passive_health(&self, engine: &mut Engine) {
        if engine.health.state == HealthState::Healthy
            && self.engines.suspects().contains(&engine.id)
        {
            engine.health.state = HealthState::Suspect;
        }
    }

    /// Engine ids granted to a user (or their teams), or to a team.
    pub(in crate::cluster) async fn granted_ids(
        &self,
        principal: &Principal,
    ) -> ClusterResult<Vec<String>> {
        if let (OwnerKind::Team, team) = owner_kind(&principal.username) {
            return Ok(self.store.team_grants(&[team.to_string()]).await?);
        }
        let mut ids = self.store.grants(&principal.username).await?;
        if !principal.teams.is_empty() {
            ids.extend(self.store.team_grants(&principal.teams).await?);
            ids.sort();
            ids.dedup();
        }
        Ok(ids)
    }

    /// One engine, if the caller may see it (otherwise: not found).
    pub async fn get_engine(&self, principal: &Principal, id: &str) -> ClusterResult<Engine> {
        check_engine_id("id", id)?;
        let granted =
            principal.is_admin() || self.granted_ids(principal).await?.iter().any(|g| g == id);
        if !principal.may_use_engine(granted) {
            return Err(ClusterError::not_found("engine", id));
        }
        let mut engine = (self.store.get_engine(id).await?)
            .ok_or_else(|| ClusterError::not_found("engine", id))?;
        self.passive_health(&mut engine);
        Ok(engine)
    }

    pub async fn patch_engine(
        &self,
        principal: &Principal,
        id: &str,
        patch: &EnginePatch,
    ) -> ClusterResult<Engine> {
        admin_only(principal)?;
        let mut engine = self.get_engine(principal, id).await?;
        if let Some(labels) = &patch.labels {
            check_labels("labels", labels)?;
            engine.labels = labels.clone();
        }
        if let Some(cpus) = patch.cpus {
            check_cpus(cpus)?;
            engine.cpus = cpus;
        }
        if let Some(memory) = patch.memory {
            check_memory(memory)?;
            engine.memory = memory;
        }
        if let Some(status) = patch.status {
            engine.status = status;
        }
        if let Some(ips) = &patch.publish_ips {
            check_publish_ips("publish_ips", ips)?;
            engine.publish_ips = ips.clone();
        }
        let draft = Draft::by(principal, actions::ENGINE_UPDATE)
            .engine(id)
            .target(id);
        let work = async {
            if !self.store.update_engine(&engine).await? {
                return Err(ClusterError::not_found("engine", id));
            }
            Ok(engine.clone())
        };
        self.audited(draft, work, engine_detail).await
    }

    /// Removes an engine from clementine (its containers keep running on it).
    pub async fn delete_engine(&self, principal: &Principal, id: &str) -> ClusterResult<()> {
        admin_only(principal)?;
        check_engine_id("id", id)?;
        let draft = Draft::by(principal, actions::ENGINE_REMOVE)
            .engine(id)
            .target(id);
        let work = async {
            if !self.store.delete_engine(id).await? {
                return Err(ClusterError::not_found("engine", id));
            }
            self.engines.forget(id);
            tracing::info!(engine = %id, "engine removed");
            Ok(())
        };
        self.audited(draft, work, plain).await
    }

    /// The containers on one engine the caller may see: from its view while that is in sync;
    /// asked live before the view's first listing or while it is stale (so that an engine
    /// that does not answer says so, as before).
    pub async fn engine_containers(
        &self,
        principal: &Principal,
        id: &str,
    ) -> ClusterResult<Vec<Container>> {
        let engine = self.get_engine(principal, id).await?;
        let visible = |c: &Listed| principal.may_touch_container(c.owner.as_deref());
        if let Read::Known {
            containers,
            stale: false,
            ..
        } = self.views.read(&engine, visible)
        {
            return Ok(containers);
        }
        let client = self.engines.client(&engine);
        let summaries = client
            .list_containers(principal.owner_filter().map(|o| (o, self.deployment())))
            .await
            .map_err(|e| ClusterError::engine(id, e))?;
        Ok(summaries
            .into_iter()
            .map(|s| to_container(s, &engine, self.deployment()))
            .filter(|c| principal.may_touch_container(c.owner.as_deref()))
            .collect())
    }
}

/// The engine as the audit log records it: enough to add it again (replay into an empty Redis).
fn engine_detail(e: &Engine, _: &mut Draft) -> Settle {
    Settle::detail(serde_json::to_value(EngineRecord::of(e)).unwrap_or_default())
}

fn engine_exists(id: &str) -> ClusterError {
    ClusterError::conflict(
        Conflict::EngineExists,
        format!("engine {id} already exists"),
    )
}
