//! Containers: run on the cluster, list all, inspect, destroy, start, stop, restart, logs; and
//! the capacity report.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{Object, OpenApi, Tags, Union};

use super::body::JsonBody;
use super::response::ok;
use super::security::Auth;
use super::written::{ListWriter, WrittenResult};
use super::{ApiError, ApiResult};
use crate::cluster::{Action, Cluster, ContainerFilter, RunOptions};
use crate::domain::{
    ClusterCapacity, Container, ContainerListing, ContainerState, ImageConfig, InvalidInput,
};
use crate::scheduler::Strategy;

#[derive(Tags)]
enum Tag {
    /// Running containers on the cluster.
    Containers,
}

/// One container (no `count` given), or the list of those started (`count` given).
#[derive(Debug, Union)]
pub enum RunAnswer {
    One(Box<Container>),
    Many(Vec<Container>),
}

impl RunAnswer {
    /// The seed's single container when no `count` was asked for, else the list.
    pub(super) fn shaped(mut started: Vec<Container>, count: Option<u32>) -> Self {
        match count {
            None if !started.is_empty() => RunAnswer::One(Box::new(started.remove(0))),
            _ => RunAnswer::Many(started),
        }
    }
}

/// Run options from `?strategy=`.
pub(super) fn run_options(strategy: Option<&str>) -> Result<RunOptions, ApiError> {
    Ok(RunOptions {
        strategy: self::strategy(strategy)?,
        ..Default::default()
    })
}

/// Log lines of a container.
#[derive(Debug, Object)]
pub struct Logs {
    /// The last lines of stdout and stderr, oldest first.
    pub lines: Vec<String>,
}

/// Parses `?strategy=`.
pub(super) fn strategy(value: Option<&str>) -> Result<Option<Strategy>, ApiError> {
    value
        .map(|s| {
            Strategy::parse(s).ok_or_else(|| {
                ApiError::from(crate::cluster::ClusterError::from(InvalidInput::new(
                    "strategy",
                    "must be binpack or spread",
                )))
            })
        })
        .transpose()
}

/// Parses `?engines=`: whether list-all names engines by id (`ref`) instead of in full.
fn compact(value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("full") => Ok(false),
        Some("ref") => Ok(true),
        Some(_) => Err(ApiError::from(crate::cluster::ClusterError::from(
            InvalidInput::new("engines", "must be full or ref"),
        ))),
    }
}

pub(super) fn state(value: Option<&str>) -> Result<Option<ContainerState>, ApiError> {
    value
        .map(|s| match ContainerState::parse(s) {
            ContainerState::Unknown => Err(ApiError::from(crate::cluster::ClusterError::from(
                InvalidInput::new(
                    "state",
                    "must be created, running, paused, restarting, removing, exited or dead",
                ),
            ))),
            state => Ok(state),
        })
        .transpose()
}

pub struct ContainersApi;

#[OpenApi(tag = "Tag::Containers")]
impl ContainersApi {
    /// Run an image config on the cluster. The scheduler picks an engine the caller may use
    /// that fits the placement type and has room; `count` runs that many (all or nothing).
    /// Answers 409 with every engine's reason when nothing fits, and 409 `quota_exceeded`
    /// past the owner's quota. With `team`, the team owns the containers (its members see and
    /// act on them) and they go to the team's engines.
    #[oai(path = "/container", method = "post", operation_id = "runContainer")]
    async fn run(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        body: JsonBody<ImageConfig>,
        /// How many instances (1 to 100); the answer is then a list.
        count: Query<Option<u32>>,
        /// `binpack` (default) or `spread`.
        strategy: Query<Option<String>>,
        /// The team that owns the containers (the caller must be a member).
        team: Query<Option<String>>,
    ) -> ApiResult<RunAnswer> {
        let mut options = run_options(strategy.0.as_deref())?;
        options.team = team.0;
        let started = cluster
            .run(&auth.0, &body, count.0.unwrap_or(1), &options)
            .await?;
        ok(RunAnswer::shaped(started, count.0))
    }

    /// Every container the caller may see, from this process's views of the engines (kept
    /// current by each engine's event stream) or, with `fresh=true`, asking all engines at once.
    /// `engines` says how current each engine's part is; engines that do not answer within
    /// their timeout, or whose view has been stale for more than 10 s, are listed in `failed`.
    #[oai(path = "/containers", method = "get", operation_id = "listContainers")]
    #[allow(clippy::too_many_arguments)] // one argument per query parameter
    async fn list_all(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        /// Only this engine.
        engine: Query<Option<String>>,
        /// Only this image (`busybox` means `busybox:latest`).
        image: Query<Option<String>>,
        /// Only this state (`running`, `exited` ...).
        state: Query<Option<String>>,
        /// Only this owner (admins; users always see only their own).
        owner: Query<Option<String>>,
        /// Only containers run from this saved image config (the container's `config`).
        config: Query<Option<String>>,
        /// Ask every engine now instead of reading the views their event streams keep.
        fresh: Query<Option<bool>>,
        /// `ref`: the compact answer, each engine listed once in `engine_records` and each
        /// container naming its engine by id; `full` (default): each container carries its engine.
        engines: Query<Option<String>>,
    ) -> WrittenResult<ContainerListing> {
        let compact = compact(engines.0.as_deref())?;
        let filter = ContainerFilter {
            engine: engine.0,
            image: image.0,
            state: self::state(state.0.as_deref())?,
            owner: owner.0,
            config: config.0,
            fresh: fresh.0.unwrap_or(false),
        };
        let mut writer = ListWriter::new(compact);
        let sync = cluster.list_into(&auth.0, &filter, &mut writer).await?;
        writer.finish(&sync)
    }

    /// One container.
    #[oai(
        path = "/engine/:id/container/:cid",
        method = "get",
        operation_id = "inspectContainer"
    )]
    async fn inspect(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
        cid: Path<String>,
    ) -> ApiResult<Container> {
        ok(cluster.inspect_container(&auth.0, &id, &cid).await?)
    }

    /// Kill and remove a container (by id or name) and release its reservation.
    #[oai(
        path = "/engine/:id/container/:cid",
        method = "delete",
        operation_id = "destroyContainer"
    )]
    async fn destroy(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
        cid: Path<String>,
    ) -> ApiResult<Container> {
        ok(cluster.destroy(&auth.0, &id, &cid).await?)
    }

    /// Start a stopped container.
    #[oai(
        path = "/engine/:id/container/:cid/start",
        method = "post",
        operation_id = "startContainer"
    )]
    async fn start(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
        cid: Path<String>,
    ) -> ApiResult<Container> {
        ok(cluster.act(&auth.0, &id, &cid, Action::Start).await?)
    }

    /// Stop a container: SIGTERM, then SIGKILL after `t` seconds. It keeps its reservation.
    #[oai(
        path = "/engine/:id/container/:cid/stop",
        method = "post",
        operation_id = "stopContainer"
    )]
    async fn stop(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
        cid: Path<String>,
        /// Seconds to wait before killing (0 to 300, default 10).
        t: Query<Option<u32>>,
    ) -> ApiResult<Container> {
        ok(cluster
            .act(&auth.0, &id, &cid, Action::Stop(t.0.unwrap_or(10)))
            .await?)
    }

    /// Restart a container: stop as for `stop`, then start.
    #[oai(
        path = "/engine/:id/container/:cid/restart",
        method = "post",
        operation_id = "restartContainer"
    )]
    async fn restart(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
        cid: Path<String>,
        /// Seconds to wait before killing (0 to 300, default 10).
        t: Query<Option<u32>>,
    ) -> ApiResult<Container> {
        ok(cluster
            .act(&auth.0, &id, &cid, Action::Restart(t.0.unwrap_or(10)))
            .await?)
    }

    /// The last lines of a container's output.
    #[oai(
        path = "/engine/:id/container/:cid/logs",
        method = "get",
        operation_id = "containerLogs"
    )]
    async fn logs(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
        cid: Path<String>,
        /// Lines to return (1 to 10000, default 100).
        tail: Query<Option<u32>>,
    ) -> ApiResult<Logs> {
        let lines = cluster
            .logs(&auth.0, &id, &cid, tail.0.unwrap_or(100))
            .await?;
        ok(Logs { lines })
    }

    /// Capacity, reservations and free room of the engines the caller may use.
    #[oai(path = "/cluster", method = "get", operation_id = "getCapacity")]
    async fn capacity(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
    ) -> ApiResult<ClusterCapacity> {
        ok(cluster.capacity(&auth.0).await?)
    }
}
