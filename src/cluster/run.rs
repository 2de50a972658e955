//! Running containers: validate, guard, place, claim, create and start; and destroying them.

use std::collections::HashMap;

use futures::StreamExt;

use super::guard::forbidden_for_users;
use super::placement::{is_unique, port_text};
use super::validate::{check_config, image_with_tag};
use super::{Cluster, ClusterError, ClusterResult, Conflict};
use crate::auth::{AuthError, Principal};
use crate::domain::{Container, ImageConfig, InvalidInput};
use crate::engine::{EngineError, from_inspect, labels};
use crate::events::{Draft, actions};
use crate::scheduler::Strategy;
use crate::store::{Claim, IndexChange};

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
            .map(|_| {
                self.run_one(
                    principal,
                    config,
                    &ports,
                    options,
                    Draft::by(principal, actions::CONTAINER_SCHEDULE),
                )
            })
            .buffer_unordered(RUN_CONCURRENCY)
            .collect()
            .await;
        let (ok, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        let created: Vec<Container> = ok.into_iter().filter_map(Result::ok).collect();
        if let Some(Err(error)) = failed.into_iter().next() {
            for c in &created {
                if let Err(e) = self.destroy_placed(principal, &c.engine.id, &c.id).await {
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

    /// One instance, audited: the intent is written before anything is placed; the outcome
    /// says where it went or why it did not. `placement` is whose grants and name the container
    /// gets (the caller, or the original owner on a reschedule); `draft` says who acts and how.
    pub(super) async fn run_one(
        &self,
        placement: &Principal,
        config: &ImageConfig,
        ports: &[crate::scheduler::PortKey],
        options: &RunOptions,
        mut draft: Draft,
    ) -> ClusterResult<Container> {
        draft.owner = Some(placement.username.clone());
        draft.image = Some(serde_json::to_string(config).unwrap_or_default());
        draft.name = config.container_name.clone();
        if let Some(saved) = &options.saved_as {
            draft.target = Some(saved.clone());
        }
        let op = draft.op.clone();
        let mut pending = self.audit.intent(draft).await?;
        let result = self
            .place_and_start(placement, config, ports, options, &op)
            .await;
        match &result {
            Ok(c) => {
                pending.draft.engine = Some(c.engine.id.clone());
                pending.draft.container = Some(c.id.clone());
                pending.draft.name = Some(c.name.clone());
                let json = serde_json::json!({
                    "container": c.id, "engine": c.engine.id, "owner": placement.username, "name": c.name,
                });
                self.audit
                    .outcome(
                        pending,
                        None,
                        IndexChange::Add {
                            op,
                            json: json.to_string(),
                        },
                    )
                    .await;
            }
            Err(e) => {
                self.audit
                    .outcome(pending, Some(e.to_string()), IndexChange::None)
                    .await
            }
        }
        result
    }

    /// Place, claim, create, start. An engine that lacks the image is skipped and the next
    /// best one tried.
    async fn place_and_start(
        &self,
        principal: &Principal,
        config: &ImageConfig,
        ports: &[crate::scheduler::PortKey],
        options: &RunOptions,
        op: &str,
    ) -> ClusterResult<Container> {
        let image = image_with_tag(&config.name);
        let strategy = options.strategy.unwrap_or(self.placement.strategy);
        let mut claim = Claim {
            op: op.to_string(),
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
            self.store.release(&engine.id, op).await?;
            let note = if failure.is_missing_image() {
                format!(
                    "{}: image {image} is not present (no registry pull)",
                    engine.id
                )
            } else if failure.is_port_in_use() {
                format!("{}: a host port is in use outside clementine", engine.id)
            } else if let EngineError::Conflict(message) = failure {
                return Err(ClusterError::conflict(
                    Conflict::EngineConflict,
                    format!("engine {}: {message}", engine.id),
                ));
            } else if failure.is_refusal() {
                return Err(ClusterError::conflict(
                    Conflict::ConfigRejected,
                    format!("engine {} refused the config: {failure}", engine.id),
                ));
            } else {
                return Err(ClusterError::engine(&engine.id, failure));
            };
            notes.insert(engine.id.clone(), note);
            excluded.push(engine.id.clone());
        }
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
