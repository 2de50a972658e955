//! The Docker API front door's long calls: logs, waits, resizes, attach and exec, relayed byte
//! for byte to the container's engine (see `engine::raw`) after the same checks as every other
//! action. Attaching and making an exec are audited; reading logs and waiting are not.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response};
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;

use super::audited::{Settle, plain};
use super::lifecycle::Found;
use super::{Cluster, ClusterError, ClusterResult};
use crate::auth::{AuthError, Principal};
use crate::domain::{Container, ExecConfig, InvalidInput};
use crate::events::actions;

/// How long an exec instance made through the Docker API can be found again.
const EXEC_TTL: Duration = Duration::from_secs(24 * 3600);

/// A relayed call on a container.
#[derive(Debug, Clone, Copy)]
pub enum ContainerCall {
    /// `GET /containers/{id}/logs`.
    Logs,
    /// `POST /containers/{id}/wait`.
    Wait,
    /// `POST /containers/{id}/resize`.
    Resize,
}

/// A relayed call on an exec instance.
#[derive(Debug, Clone, Copy)]
pub enum ExecCall {
    /// `GET /exec/{id}/json`.
    Inspect,
    /// `POST /exec/{id}/resize`.
    Resize,
}

/// A connection the engine hijacked: its content type and the raw stream.
pub type Hijacked = (Option<String>, TokioIo<Upgraded>);

impl Cluster {
    /// A container and the engine's own inspect answer.
    pub async fn inspect_raw(
        &self,
        principal: &Principal,
        cid: &str,
    ) -> ClusterResult<(Container, bollard::models::ContainerInspectResponse)> {
        let found = self.locate(principal, cid).await?;
        Ok((found.container, found.raw))
    }

    /// Relays `call` with `query` (built by the caller from checked values).
    pub async fn relay(
        &self,
        principal: &Principal,
        cid: &str,
        call: ContainerCall,
        query: &str,
    ) -> ClusterResult<(Container, Response<Incoming>)> {
        let found = self.locate(principal, cid).await?;
        let (method, what) = match call {
            ContainerCall::Logs => (Method::GET, "logs"),
            ContainerCall::Wait => (Method::POST, "wait"),
            ContainerCall::Resize => (Method::POST, "resize"),
        };
        let path = format!("/containers/{}/{what}?{query}", found.container.id);
        let response = (found.client.raw(method, &path, None).await)
            .map_err(|e| ClusterError::engine(&found.engine.id, e))?;
        Ok((found.container, response))
    }

    /// Attaches to a container's streams (audited): the engine's hijacked connection.
    pub async fn attach(
        &self,
        principal: &Principal,
        cid: &str,
        query: &str,
    ) -> ClusterResult<Hijacked> {
        let found = self.locate(principal, cid).await?;
        let draft = found.draft(principal, actions::CONTAINER_ATTACH);
        let path = format!("/containers/{}/attach?{query}", found.container.id);
        let work = async {
            (found.client.upgrade(Method::POST, &path, None).await)
                .map_err(|e| ClusterError::engine(&found.engine.id, e))
        };
        self.audited(draft, work, plain).await
    }

    /// Makes an exec instance in a container (audited, with its command); answers its id.
    pub async fn exec_create(
        &self,
        principal: &Principal,
        cid: &str,
        config: &ExecConfig,
    ) -> ClusterResult<String> {
        config.check()?;
        if config.privileged == Some(true) && !principal.is_admin() {
            let why = "Privileged: this option is for admins only".to_string();
            return Err(AuthError::OptionNotAllowed(why).into());
        }
        let found = self.locate(principal, cid).await?;
        let mut draft = found.draft(principal, actions::CONTAINER_EXEC);
        draft.detail = Some(serde_json::json!({ "cmd": config.cmd }).to_string());
        let body = Bytes::from(serde_json::to_vec(config).unwrap_or_default());
        let path = format!("/containers/{}/exec", found.container.id);
        let work = async {
            let engine = &found.engine.id;
            let response = (found.client.raw(Method::POST, &path, Some(body)).await)
                .map_err(|e| ClusterError::engine(engine, e))?;
            let id = exec_id(response).await?;
            (self.store)
                .put_exec(&id, engine, &found.container.id, EXEC_TTL)
                .await?;
            Ok(id)
        };
        self.audited(draft, work, |id: &String, _| {
            Settle::detail(serde_json::json!({ "exec": id, "cmd": config.cmd }))
        })
        .await
    }

    /// Starts an exec instance: hijacked, or (`detach`) answered at once.
    pub async fn exec_start(
        &self,
        principal: &Principal,
        exec: &str,
        body: Bytes,
        detach: bool,
    ) -> ClusterResult<Result<Hijacked, Response<Incoming>>> {
        let found = self.exec_found(principal, exec).await?;
        let path = format!("/exec/{exec}/start");
        let engine = &found.engine.id;
        let started = match detach {
            true => (found.client.raw(Method::POST, &path, Some(body)).await).map(Err),
            false => (found.client.upgrade(Method::POST, &path, Some(body)).await).map(Ok),
        };
        started.map_err(|e| ClusterError::engine(engine, e))
    }

    /// Relays `call` on an exec instance.
    pub async fn exec_relay(
        &self,
        principal: &Principal,
        exec: &str,
        call: ExecCall,
        query: &str,
    ) -> ClusterResult<Response<Incoming>> {
        let found = self.exec_found(principal, exec).await?;
        let (method, path) = match call {
            ExecCall::Inspect => (Method::GET, format!("/exec/{exec}/json")),
            ExecCall::Resize => (Method::POST, format!("/exec/{exec}/resize?{query}")),
        };
        (found.client.raw(method, &path, None).await)
            .map_err(|e| ClusterError::engine(&found.engine.id, e))
    }

    /// The container event streams of every engine the caller may use (this deployment's
    /// containers only; the caller filters by owner). Engines that do not answer are left out.
    pub async fn container_events(
        &self,
        principal: &Principal,
        query: &str,
    ) -> ClusterResult<Vec<Response<Incoming>>> {
        let filters = serde_json::json!({
            "type": ["container"],
            "label": [crate::engine::labels::ContainerLabels::cluster_filter(self.deployment())],
        });
        let filters =
            serde_urlencoded::to_string([("filters", filters.to_string())]).unwrap_or_default();
        let path = format!("/events?{filters}&{query}");
        let engines = self.list_engines(principal).await?;
        let answers = futures::future::join_all(engines.iter().map(|e| {
            let path = path.clone();
            async move { self.engines.client(e).raw(Method::GET, &path, None).await }
        }))
        .await;
        Ok(answers.into_iter().filter_map(Result::ok).collect())
    }

    /// The container of an exec instance, if the caller may touch it; else "not found".
    async fn exec_found(&self, principal: &Principal, exec: &str) -> ClusterResult<Found> {
        let well_formed = exec.len() == 64 && exec.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(InvalidInput::new("id", "must be an exec id (64 hex digits)").into());
        }
        let not_found = || ClusterError::not_found("exec", exec);
        let (engine, container) = self.store.get_exec(exec).await?.ok_or_else(not_found)?;
        match self.find_container(principal, &engine, &container).await {
            Err(ClusterError::NotFound { .. }) => Err(not_found()),
            found => found,
        }
    }
}

/// The `Id` of Docker's exec create answer.
async fn exec_id(response: Response<Incoming>) -> ClusterResult<String> {
    use http_body_util::BodyExt;
    let body = (response.into_body().collect().await)
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("Id")?.as_str().map(str::to_string))
        .ok_or_else(|| ClusterError::EngineUnavailable("the engine made no exec id".into()))
}
