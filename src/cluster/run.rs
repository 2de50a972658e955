//! Running containers: validate, guard, place, claim, create and start; and destroying them.

use std::collections::HashMap;

use futures::StreamExt;

use super::placement::{is_unique, port_text};
use super::validate::{check_config, forbidden_for_users, image_with_tag};
use super::{Cluster, ClusterError, ClusterResult};
use crate::auth::{AuthError, Principal};
use crate::domain::{Container, ImageConfig, InvalidInput};
use crate::engine::{EngineError, from_inspect, labels};
use crate::scheduler::Strategy;
use crate::store::Claim;

/// Most instances one request may ask for.
pub const MAX_COUNT: u32 = 100;
/// Instances of one request started at the same time.
const RUN_CONCURRENCY: usize = 8;

/// What a run request asks for beyond the config.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the configured strategy.
    pub strategy: Option<Strategy>,
    /// The saved config's name, recorded as a label so `scale` can find its containers.
    pub saved_as: Option<String>,
}

impl Cluster {
    /// Checks a config for this caller: shape and size, the tenant guard, and requests within
    /// the largest engine the caller may use.
    pub(super) async fn vet_config(
        &self,
        principal: &Principal,
        config: &ImageConfig,
    ) -> ClusterResult<Vec<crate::scheduler::PortKey>> {
        let ports = check_config(config)?;
        if !principal.is_admin() {
            if let Some(option) = forbidden_for_users(config) {
                return Err(AuthError::Forbidden(format!(
                    "{option}: this option is for admins only"
                ))
                .into());
            }
        }
        Ok(ports)
    }

    /// Runs `count` instances of a config; all or nothing: when one cannot be placed, the ones
    /// already started are destroyed again and the refusal is returned.
    pub async fn run(
        &self,
        principal: &Principal,
        config: &ImageConfig,
        count: u32,
        options: &RunOptions,
    ) -> ClusterResult<Vec<Container>> {
        if count == 0 || count > MAX_COUNT {
            return Err(InvalidInput::new("count", format!("must be 1 to {MAX_COUNT}")).into());
        }
        let ports = self.vet_config(principal, config).await?;
        self.check_largest_engine(principal, config).await?;
        let results: Vec<ClusterResult<Container>> = futures::stream::iter(0..count)
            .map(|_| self.run_one(principal, config, &ports, options))
            .buffer_unordered(RUN_CONCURRENCY)
            .collect()
            .await;
        let (ok, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        let created: Vec<Container> = ok.into_iter().filter_map(Result::ok).collect();
        if let Some(Err(error)) = failed.into_iter().next() {
            for c in &created {
                if let Err(e) = self.destroy_placed(&c.engine.id, &c.id).await {
                    tracing::warn!(container = %c.id, error = %e, "cannot undo a partial run");
                }
            }
            return Err(error);
        }
        Ok(created)
    }

    /// Users may not ask for more than the largest engine they can use has.
    async fn check_largest_engine(
        &self,
        principal: &Principal,
        config: &ImageConfig,
    ) -> ClusterResult<()> {
        if principal.is_admin() {
            return Ok(());
        }
        let engines = self.list_engines(principal).await?;
        let cpus = engines.iter().map(|e| e.cpus).fold(0.0, f64::max);
        let memory = engines.iter().map(|e| e.memory).max().unwrap_or(0);
        if let Some(c) = config.cpus
            && !engines.is_empty()
            && c > cpus
        {
            return Err(InvalidInput::new(
                "cpus",
                format!("{c} is more than the largest engine you may use has ({cpus})"),
            )
            .into());
        }
        if let Some(m) = config.memory
            && !engines.is_empty()
            && m > memory
        {
            return Err(InvalidInput::new(
                "memory",
                format!("{m} MB is more than the largest engine you may use has ({memory} MB)"),
            )
            .into());
        }
        Ok(())
    }

    /// One instance: place, claim, create, start. An engine that lacks the image is skipped
    /// and the next best one tried.
    pub(super) async fn run_one(
        &self,
        principal: &Principal,
        config: &ImageConfig,
        ports: &[crate::scheduler::PortKey],
        options: &RunOptions,
    ) -> ClusterResult<Container> {
        let image = image_with_tag(&config.name);
        let strategy = options.strategy.unwrap_or(self.placement.strategy);
        let op = uuid::Uuid::now_v7().to_string();
        let mut claim = Claim {
            op: op.clone(),
            engine: String::new(),
            owner: principal.username.clone(),
            image: image.clone(),
            cpus_milli: 0,
            memory: 0,
            ports: ports.iter().map(port_text).collect(),
            unique: is_unique(config.r#type),
        };
        let mut excluded: Vec<String> = Vec::new();
        let mut notes: HashMap<String, String> = HashMap::new();
        loop {
            let (engine, req) = self
                .place_and_claim(
                    principal, config, &image, ports, strategy, &mut claim, &excluded, &notes,
                )
                .await?;
            let mut effective = config.clone();
            effective.cpus = Some(req.cpus);
            effective.memory = Some(req.memory);
            let client = self.engines.client(&engine);
            let labels = container_labels(
                &effective,
                &image,
                &claim,
                options,
                self.store.keys().prefix(),
            );
            let failure = match client.create_and_start(&effective, labels).await {
                Ok(id) => match client.inspect(&id).await {
                    Ok(inspect) => {
                        tracing::info!(engine = %engine.id, container = %id, op = %op, owner = %principal.username, image = %image, "container started");
                        return Ok(from_inspect(inspect, &engine));
                    }
                    // It runs and holds its claim; the engine just failed to answer.
                    Err(e) => return Err(ClusterError::engine(&engine.id, e)),
                },
                Err(e) => e,
            };
            self.store.release(&engine.id, &op).await?;
            let note = match failure {
                EngineError::NotFound(ref m) if m.to_lowercase().contains("no such image") => {
                    format!(
                        "{}: image {image} is not present (no registry pull)",
                        engine.id
                    )
                }
                EngineError::Docker { ref message, .. }
                    if message.contains("port is already allocated")
                        || message.contains("address already in use") =>
                {
                    format!("{}: a host port is in use outside clementine", engine.id)
                }
                EngineError::Conflict(message) => {
                    return Err(ClusterError::conflict(
                        "engine_conflict",
                        format!("engine {}: {message}", engine.id),
                    ));
                }
                EngineError::NotFound(message)
                | EngineError::Docker {
                    status: 400..=499,
                    message,
                } => {
                    return Err(ClusterError::conflict(
                        "config_rejected",
                        format!("engine {} refused the config: {message}", engine.id),
                    ));
                }
                other => return Err(ClusterError::engine(&engine.id, other)),
            };
            notes.insert(engine.id.clone(), note);
            excluded.push(engine.id.clone());
        }
    }

    /// Kills and removes a container clementine placed, releasing its claim (no access check:
    /// for undoing a run and for scale-down, which checked already).
    pub(super) async fn destroy_placed(
        &self,
        engine_id: &str,
        container_id: &str,
    ) -> ClusterResult<()> {
        let engine = self
            .store
            .get_engine(engine_id)
            .await?
            .ok_or_else(|| ClusterError::not_found("engine", engine_id))?;
        let client = self.engines.client(&engine);
        let inspect = client
            .inspect(container_id)
            .await
            .map_err(|e| ClusterError::engine(engine_id, e))?;
        let op = inspect
            .config
            .as_ref()
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(labels::OP).cloned());
        client
            .remove(container_id)
            .await
            .map_err(|e| ClusterError::engine(engine_id, e))?;
        if let Some(op) = op {
            self.store.release(engine_id, &op).await?;
        }
        Ok(())
    }
}

/// The labels that make an engine say what a container is and whose.
fn container_labels(
    config: &ImageConfig,
    image: &str,
    claim: &Claim,
    options: &RunOptions,
    deployment: &str,
) -> HashMap<String, String> {
    let mut l = HashMap::from([
        (labels::CLUSTER.to_string(), deployment.to_string()),
        (labels::OWNER.to_string(), claim.owner.clone()),
        (labels::IMAGE.to_string(), image.to_string()),
        (labels::TYPE.to_string(), config.r#type.as_str().to_string()),
        (
            labels::CPUS.to_string(),
            config.cpus.unwrap_or_default().to_string(),
        ),
        (
            labels::MEMORY.to_string(),
            config.memory.unwrap_or_default().to_string(),
        ),
        (labels::OP.to_string(), claim.op.clone()),
        (labels::PORTS.to_string(), claim.ports.join(",")),
    ]);
    if let Some(name) = &options.saved_as {
        l.insert(labels::CONFIG.to_string(), name.clone());
    }
    l
}
