//! Starting a run on the engine it claimed: its tenant objects, the image (pulled when the
//! config's `pull` policy says so), create and start. What a failure means for the claim and
//! for the other engines is decided here ([`rule_out`]).

use super::tenancy::EngineSide;
use super::{Cluster, ClusterError, ClusterResult, Conflict};
use crate::auth::Principal;
use crate::domain::{Container, Engine, ImageConfig, PullPolicy};
use crate::engine::labels::ContainerLabels;
use crate::engine::{EngineError, PullFailure, from_inspect, registry_of};
use crate::telemetry::clock::phase;

/// Why a start on the claimed engine failed.
pub(in crate::cluster) enum StartFailure {
    /// Nothing runs: the claim is to be released, and [`rule_out`] decides what next.
    Released(Failed),
    /// The container runs and keeps its claim; the engine did not answer afterwards.
    Kept(ClusterError),
}

/// What failed before anything ran.
pub(in crate::cluster) enum Failed {
    /// The tenant's network or volumes could not be made or are not theirs.
    Objects(ClusterError),
    Create(EngineError),
    Pull(PullFailure, String),
}

impl Cluster {
    /// The pull policy in force: a registry pulls may not use counts as `never`.
    pub(in crate::cluster) fn pull_policy(&self, image: &str, asked: PullPolicy) -> PullPolicy {
        match self.engines.may_pull_from(registry_of(image)) {
            true => asked,
            false => PullPolicy::Never,
        }
    }

    /// Tenant objects, the image as the policy says, create and start. A create that misses
    /// the image pulls it (policy `missing`) and tries again once; one that misses the tenant's
    /// network (removed behind clementine's back since this process last saw it) makes it again
    /// and tries again once.
    pub(in crate::cluster) async fn start_on(
        &self,
        principal: &Principal,
        engine: &Engine,
        side: &EngineSide,
        labels: ContainerLabels,
        start: bool,
    ) -> Result<Container, StartFailure> {
        self.objects_on(engine, &labels.owner, side).await?;
        let policy = self.pull_policy(&labels.image, side.config.pull);
        if policy == PullPolicy::Always {
            self.pull_onto(principal, engine, &labels.image).await?;
        }
        let (mut pulled, mut remade) = (false, false);
        loop {
            let failure = match self.create_on(engine, &side.config, &labels, start).await? {
                Ok(container) => return Ok(container),
                Err(failure) => failure,
            };
            if failure.is_missing_image() {
                self.views.image_is(&engine.id, &labels.image, false);
                if policy == PullPolicy::Missing && !pulled {
                    pulled = true;
                    self.pull_onto(principal, engine, &labels.image).await?;
                    continue;
                }
            } else if let Some(network) = side.network.as_ref().filter(|_| !remade)
                && failure.is_missing_network()
            {
                remade = true;
                self.views
                    .network_is(&engine.id, &network.engine_name, None);
                self.objects_on(engine, &labels.owner, side).await?;
                continue;
            }
            return Err(StartFailure::Released(Failed::Create(failure)));
        }
    }

    async fn objects_on(
        &self,
        engine: &Engine,
        owner: &str,
        side: &EngineSide,
    ) -> Result<(), StartFailure> {
        let objects = self.ensure_tenant_objects(engine, owner, side);
        (phase("objects", objects).await).map_err(|e| StartFailure::Released(Failed::Objects(e)))
    }

    async fn pull_onto(
        &self,
        principal: &Principal,
        engine: &Engine,
        image: &str,
    ) -> Result<(), StartFailure> {
        (self.pull_for_run(principal, engine, image).await)
            .map_err(|(f, m)| StartFailure::Released(Failed::Pull(f, m)))
    }

    /// Creates (and starts, with `start`), limited to what the labels reserve. The inner error
    /// is a failed create; the outer one a failed inspect after a good start.
    async fn create_on(
        &self,
        engine: &Engine,
        config: &ImageConfig,
        labels: &ContainerLabels,
        start: bool,
    ) -> Result<Result<Container, EngineError>, StartFailure> {
        let mut effective = config.clone();
        effective.cpus = Some(labels.cpus);
        effective.memory = Some(labels.memory);
        let client = self.engines.client(engine);
        let alias = labels.name.as_deref();
        let created = async {
            match start {
                true => {
                    client
                        .create_and_start(&effective, labels.to_map(), alias)
                        .await
                }
                false => client.create(&effective, labels.to_map(), alias).await,
            }
        };
        let id = match phase("create", created).await {
            Ok(id) => id,
            Err(failure) => return Ok(Err(failure)),
        };
        let inspect = (phase("inspect", client.inspect(&id)).await)
            .map_err(|e| StartFailure::Kept(ClusterError::engine(&engine.id, e)))?;
        let what = if start {
            "container started"
        } else {
            "container created"
        };
        tracing::info!(engine = %engine.id, container = %id, op = %labels.op, owner = %labels.owner, image = %labels.image, "{what}");
        Ok(Ok(from_inspect(inspect, engine, self.deployment())))
    }
}

/// Whether a failed start rules out only this engine (the reason to give for it) or ends the
/// run (the error to answer).
pub(in crate::cluster) fn rule_out(
    engine: &str,
    image: &str,
    failed: Failed,
) -> ClusterResult<String> {
    let failure = match failed {
        Failed::Objects(e) => return Err(e),
        Failed::Pull(PullFailure::Engine, message) => {
            return Ok(format!("{engine}: pulling {image} failed there: {message}"));
        }
        Failed::Pull(failure, message) => {
            let registry = registry_of(image).to_string();
            let image = image.to_string();
            return Err(ClusterError::Pull {
                image,
                registry,
                failure,
                message,
            });
        }
        Failed::Create(failure) => failure,
    };
    if failure.is_missing_image() {
        Ok(format!(
            "{engine}: image {image} is not present (and not pulled)"
        ))
    } else if failure.is_port_in_use() {
        Ok(format!(
            "{engine}: a host port is in use outside clementine"
        ))
    } else if let EngineError::Conflict(message) = failure {
        Err(ClusterError::conflict(
            Conflict::EngineConflict,
            format!("engine {engine}: {message}"),
        ))
    } else if failure.is_refusal() {
        Err(ClusterError::conflict(
            Conflict::ConfigRejected,
            format!("engine {engine} refused the config: {failure}"),
        ))
    } else {
        Err(ClusterError::engine(engine, failure))
    }
}
