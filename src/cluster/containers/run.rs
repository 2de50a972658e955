//! Running containers: check the config (shape, then the tenant guard), place, claim, create
//! and start, each instance audited; `count` instances all or nothing.

use std::collections::HashMap;

use futures::StreamExt;

use super::audited::Settle;
use super::placement::{Attempt, Candidates, is_unique, port_text, ports_of};
use super::start::{StartFailure, rule_out};
use super::tenancy::engine_side;
use super::{Cluster, ClusterResult};
use crate::auth::{AuthError, Principal, forbidden_for_users};
use crate::domain::{
    Container, ImageConfig, InvalidInput, PullPolicy, check_config, image_with_tag,
};
use crate::engine::labels::ContainerLabels;
use crate::events::{Draft, actions};
use crate::scheduler::Strategy;
use crate::store::{Claim, IndexChange};
use crate::telemetry::clock::{self, phase};

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
    /// The team that owns what runs (the caller must be a member, or an admin).
    pub team: Option<String>,
    /// Create the containers but do not start them (Docker's `create`; `start` follows). They
    /// hold their reservations from now on.
    pub create_only: bool,
}

impl Cluster {
    /// Checks a config for this caller: shape and size, the tenant guard, and requests within
    /// the largest engine the caller may use.
    pub(in crate::cluster) async fn vet_config(
        &self,
        principal: &Principal,
        config: &ImageConfig,
    ) -> ClusterResult<Vec<crate::scheduler::PortKey>> {
        check_config(config)?;
        if !principal.is_admin() {
            if let Some(option) = forbidden_for_users(config) {
                let why = format!("{option}: this option is for admins only");
                return Err(AuthError::OptionNotAllowed(why).into());
            }
            self.check_publish_addresses(principal, config).await?;
        }
        // The names it gives volumes and networks are checked here too.
        engine_side(&self.scope, principal, config)?;
        Ok(ports_of(config))
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
        let vet = async {
            let ports = self.vet_config(principal, config).await?;
            self.check_largest_engine(principal, config).await?;
            ClusterResult::Ok(ports)
        };
        let ports = phase("vet", vet).await?;
        let owner = self.owner_for(principal, options.team.as_deref()).await?;
        let results: Vec<ClusterResult<Container>> = futures::stream::iter(0..count)
            .map(|_| {
                let mut draft = Draft::by(principal, actions::CONTAINER_SCHEDULE);
                draft.team = options.team.clone();
                self.run_one(&owner, config, &ports, options, draft)
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
    pub(in crate::cluster) async fn run_one(
        &self,
        placement: &Principal,
        config: &ImageConfig,
        ports: &[crate::scheduler::PortKey],
        options: &RunOptions,
        mut draft: Draft,
    ) -> ClusterResult<Container> {
        clock::mark("run");
        draft.owner = Some(placement.username.clone());
        draft.image = Some(serde_json::to_string(config).unwrap_or_default());
        draft.name = config.container_name.clone();
        if let Some(saved) = &options.saved_as {
            draft.target = Some(saved.clone());
        }
        let op = draft.op.clone();
        // The placement snapshot is read beside the intent, in its round trip.
        let snapshot = Box::pin(phase("snapshot", self.candidates(placement, false)));
        // Boxed: placing and starting is a deep future, and callers (replay, scale) nest it.
        let work = |snapshot| {
            Box::pin(self.place_and_start(placement, config, ports, options, &op, snapshot))
        };
        let audited = self.audited_reading(draft, snapshot, work, |c, outcome| {
            outcome.engine = Some(c.engine.id.clone());
            outcome.container = Some(c.id.clone());
            outcome.name = Some(c.name.clone());
            let owner = &placement.username;
            Settle {
                index: IndexChange::added(&op, &c.id, &c.engine.id, owner, &c.name),
                ..Default::default()
            }
        });
        Box::pin(audited).await
    }

    /// Place (first on `snapshot`), claim, create, start. An engine that lacks the image (or
    /// whose host port is taken outside clementine) is ruled out and the next best one tried.
    async fn place_and_start(
        &self,
        principal: &Principal,
        config: &ImageConfig,
        ports: &[crate::scheduler::PortKey],
        options: &RunOptions,
        op: &str,
        snapshot: Candidates,
    ) -> ClusterResult<Container> {
        let image = image_with_tag(&config.name);
        let side = engine_side(&self.scope, principal, config)?;
        let mut attempt = Attempt {
            principal,
            config,
            image: &image,
            ports,
            strategy: options.strategy.unwrap_or(self.placement.strategy),
            volumes: &side.volumes,
            network: (side.network.as_ref()).filter(|n| n.given != super::tenancy::DEFAULT_NETWORK),
            holders_only: self.pull_policy(&image, config.pull) == PullPolicy::Never,
            ruled_out: HashMap::new(),
        };
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
        let mut snapshot = Some(snapshot);
        loop {
            let (engine, req) =
                (self.place_and_claim(&attempt, &mut claim, snapshot.take())).await?;
            let labels = self.labels_of(&claim, config, options, (req.cpus, req.memory));
            let start = !options.create_only;
            match self
                .start_on(principal, &engine, &side, labels.clone(), start)
                .await
            {
                Ok(container) => {
                    self.views.upsert(&container, Some(labels));
                    return Ok(container);
                }
                Err(StartFailure::Kept(e)) => return Err(e),
                Err(StartFailure::Released(failed)) => {
                    self.store.release(&engine.id, op).await?;
                    let why = rule_out(&engine.id, &image, failed)?;
                    attempt.ruled_out.insert(engine.id.clone(), why);
                }
            }
        }
    }

    /// The labels a run's container carries: whose it is, what it reserves, and its op.
    fn labels_of(
        &self,
        claim: &Claim,
        config: &ImageConfig,
        options: &RunOptions,
        (cpus, memory): (f64, u64),
    ) -> ContainerLabels {
        ContainerLabels {
            cluster: self.store.keys().prefix().to_string(),
            owner: claim.owner.clone(),
            image: claim.image.clone(),
            placement: config.r#type,
            cpus,
            memory,
            op: claim.op.clone(),
            ports: claim.ports.clone(),
            config: options.saved_as.clone(),
            name: config.container_name.clone(),
        }
    }
}
