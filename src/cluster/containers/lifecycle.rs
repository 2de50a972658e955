//! Acting on one container: inspect, destroy, start, stop, restart, logs. Every action first
//! finds the container on an engine the caller may use and checks that the caller owns it;
//! anything else answers "not found", like a container that does not exist.

use super::audited::{Settle, plain};
use super::{Cluster, ClusterError, ClusterResult};
use crate::auth::Principal;
use crate::domain::team_owner;
use crate::domain::{Container, Engine, InvalidInput};
use crate::engine::labels::ContainerLabels;
use crate::engine::{EngineClient, EngineError, from_inspect};
use crate::events::{Draft, actions};
use crate::store::IndexChange;

/// Longest container reference accepted (ids are 64 hex characters, names at most 128).
pub const MAX_REF: usize = 128;
/// Most log lines one call returns.
pub const MAX_TAIL: u32 = 10_000;

/// What the caller may do to a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Start,
    /// Stop, killing after this many seconds.
    Stop(u32),
    /// Restart, killing after this many seconds.
    Restart(u32),
    /// Send a signal (`SIGKILL`, `TERM`, `9` ...).
    Kill(String),
}

/// A signal as Docker takes it: a name (with or without `SIG`) or a number.
fn check_signal(signal: &str) -> Result<(), InvalidInput> {
    let ok = !signal.is_empty()
        && signal.len() <= 16
        && signal
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+');
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "signal",
            "must be a signal name like SIGTERM, or its number",
        ))
    }
}

/// Longest stop grace accepted, in seconds.
pub const MAX_GRACE_SECS: u32 = 300;

pub(in crate::cluster) fn check_ref(cid: &str) -> Result<(), InvalidInput> {
    let ok = !cid.is_empty()
        && cid.len() <= MAX_REF
        && cid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "cid",
            "must be a container id or name (letters, digits, '_', '.', '-')",
        ))
    }
}

/// The op that scheduled a container, from its labels.
fn op_label(inspect: &bollard::models::ContainerInspectResponse) -> Option<String> {
    let labels = inspect.config.as_ref()?.labels.as_ref()?;
    ContainerLabels::from_map(labels)
        .map(|l| l.op)
        .filter(|op| !op.is_empty())
}

/// A container the caller may touch.
pub(in crate::cluster) struct Found {
    pub engine: Engine,
    pub client: std::sync::Arc<EngineClient>,
    pub container: Container,
    pub op: Option<String>,
    /// The engine's own answer (the Docker API front door shows it, in the caller's names).
    pub raw: bollard::models::ContainerInspectResponse,
}

impl Found {
    /// The audit draft of `action` by `actor` on this container.
    pub fn draft(&self, actor: &Principal, action: &'static str) -> Draft {
        let mut draft = Draft::by(actor, action).engine(&self.engine.id);
        draft.container = Some(self.container.id.clone());
        draft.name = Some(self.container.name.clone());
        draft.owner = self.container.owner.clone();
        draft.ref_op = self.op.clone();
        draft
    }
}

impl Cluster {
    pub(in crate::cluster) async fn find_container(
        &self,
        principal: &Principal,
        engine_id: &str,
        cid: &str,
    ) -> ClusterResult<Found> {
        check_ref(cid)?;
        let engine = self.get_engine(principal, engine_id).await?;
        let client = self.engines.client(&engine);
        // The caller's own name first (names are scoped to their owner), then their teams',
        // then an id or an engine-side name as written.
        let teams = principal.teams.iter().map(|t| team_owner(t));
        let mut tries = (std::iter::once(principal.username.clone()).chain(teams))
            .map(|owner| self.scope.name(&owner, cid))
            .chain(std::iter::once(cid.to_string()));
        let mut inspect = Err(EngineError::NotFound(cid.to_string()));
        for name in tries.by_ref() {
            inspect = client.inspect(&name).await;
            if !matches!(inspect, Err(EngineError::NotFound(_))) {
                break;
            }
        }
        let inspect = match inspect {
            Ok(i) => i,
            Err(EngineError::NotFound(_)) => return Err(ClusterError::not_found("container", cid)),
            Err(e) => return Err(ClusterError::engine(engine_id, e)),
        };
        let op = op_label(&inspect);
        let container = from_inspect(inspect.clone(), &engine, self.deployment());
        if !principal.may_touch_container(container.owner.as_deref()) {
            return Err(ClusterError::not_found("container", cid));
        }
        Ok(Found {
            engine,
            client,
            container,
            op,
            raw: inspect,
        })
    }

    /// One container, inspected.
    pub async fn inspect_container(
        &self,
        principal: &Principal,
        engine_id: &str,
        cid: &str,
    ) -> ClusterResult<Container> {
        Ok(self
            .find_container(principal, engine_id, cid)
            .await?
            .container)
    }

    /// Kills and removes a container and releases its reservation.
    pub async fn destroy(
        &self,
        principal: &Principal,
        engine_id: &str,
        cid: &str,
    ) -> ClusterResult<Container> {
        let found = self.find_container(principal, engine_id, cid).await?;
        self.destroy_found(principal, found).await
    }

    /// Destroys a container clementine placed, without an access check (undoing a partial run,
    /// scaling down: the caller was checked already).
    pub(in crate::cluster) async fn destroy_placed(
        &self,
        actor: &Principal,
        engine_id: &str,
        container_id: &str,
    ) -> ClusterResult<Container> {
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
        let op = op_label(&inspect);
        let container = from_inspect(inspect.clone(), &engine, self.deployment());
        self.destroy_found(
            actor,
            Found {
                engine,
                client,
                container,
                op,
                raw: inspect,
            },
        )
        .await
    }

    /// The audited destroy: intent, kill and remove, release, outcome.
    async fn destroy_found(&self, actor: &Principal, found: Found) -> ClusterResult<Container> {
        let draft = found.draft(actor, actions::CONTAINER_DESTROY);
        let work = async {
            match found.client.remove(&found.container.id).await {
                Ok(()) | Err(EngineError::NotFound(_)) => {}
                Err(e) => return Err(ClusterError::engine(&found.engine.id, e)),
            }
            self.views.remove(&found.engine.id, &found.container.id);
            if let Some(op) = &found.op {
                self.store.release(&found.engine.id, op).await?;
            }
            tracing::info!(engine = %found.engine.id, container = %found.container.id, by = %actor.username, "container destroyed");
            Ok(())
        };
        self.audited(draft, work, |_, _| Settle {
            index: found
                .op
                .clone()
                .map_or(IndexChange::None, |op| IndexChange::Remove { op }),
            ..Default::default()
        })
        .await?;
        Ok(found.container)
    }

    /// Starts, stops, restarts or kills a container; answers its new state.
    pub async fn act(
        &self,
        principal: &Principal,
        engine_id: &str,
        cid: &str,
        action: Action,
    ) -> ClusterResult<Container> {
        let found = self.act_found(principal, engine_id, cid, action).await?;
        let id = &found.container.id;
        (found.client.inspect(id).await)
            .map(|i| from_inspect(i, &found.engine, self.deployment()))
            .map_err(|e| ClusterError::engine(engine_id, e))
            .inspect(|c| self.views.upsert(c, None))
    }

    /// Like [`act`](Self::act), without asking the engine for the state after (the Docker API
    /// answers none). That inspect would wait for an auto-removed container's removal.
    pub async fn act_only(
        &self,
        principal: &Principal,
        engine_id: &str,
        cid: &str,
        action: Action,
    ) -> ClusterResult<()> {
        self.act_found(principal, engine_id, cid, action).await?;
        Ok(())
    }

    /// The audited action, on the container found.
    async fn act_found(
        &self,
        principal: &Principal,
        engine_id: &str,
        cid: &str,
        action: Action,
    ) -> ClusterResult<Found> {
        if let Action::Stop(grace) | Action::Restart(grace) = action
            && grace > MAX_GRACE_SECS
        {
            return Err(
                InvalidInput::new("t", format!("must be 0 to {MAX_GRACE_SECS} seconds")).into(),
            );
        }
        if let Action::Kill(signal) = &action {
            check_signal(signal)?;
        }
        let found = self.find_container(principal, engine_id, cid).await?;
        let name = match action {
            Action::Start => actions::CONTAINER_START,
            Action::Stop(_) => actions::CONTAINER_STOP,
            Action::Restart(_) => actions::CONTAINER_RESTART,
            Action::Kill(_) => actions::CONTAINER_KILL,
        };
        let draft = found.draft(principal, name);
        let work = async {
            let id = &found.container.id;
            let done = match &action {
                Action::Start => found.client.start(id).await,
                Action::Stop(grace) => found.client.stop(id, *grace).await,
                Action::Restart(grace) => found.client.restart(id, *grace).await,
                Action::Kill(signal) => found.client.kill(id, signal).await,
            };
            // Docker answers 304 for start-when-running and stop-when-stopped; both are fine.
            match done {
                Ok(()) | Err(EngineError::Docker { status: 304, .. }) => Ok(()),
                Err(e) => Err(ClusterError::engine(engine_id, e)),
            }
        };
        self.audited(draft, work, plain).await?;
        Ok(found)
    }

    /// The last `tail` log lines.
    pub async fn logs(
        &self,
        principal: &Principal,
        engine_id: &str,
        cid: &str,
        tail: u32,
    ) -> ClusterResult<Vec<String>> {
        if tail == 0 || tail > MAX_TAIL {
            return Err(InvalidInput::new("tail", format!("must be 1 to {MAX_TAIL}")).into());
        }
        let found = self.find_container(principal, engine_id, cid).await?;
        found
            .client
            .logs(&found.container.id, tail)
            .await
            .map_err(|e| ClusterError::engine(engine_id, e))
    }
}
