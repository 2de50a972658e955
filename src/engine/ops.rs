//! Container operations on one engine: create and start, inspect, stop, start, restart, remove,
//! logs. Each has its own timeout: quick calls use the engine timeout, slow ones (start, stop)
//! a longer one.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{
    CreateContainerOptions, LogsOptions, RemoveContainerOptions, RestartContainerOptions,
    StopContainerOptions,
};
use futures::StreamExt;

use super::{EngineClient, EngineError};
use crate::domain::ImageConfig;

/// Upper bound for calls that wait on processes (start, stop, restart).
const SLOW_CALL: Duration = Duration::from_secs(360);

impl EngineClient {
    /// Creates a container (not started). Returns the container id.
    pub async fn create(
        &self,
        config: &ImageConfig,
        labels: HashMap<String, String>,
        alias: Option<&str>,
    ) -> Result<String, EngineError> {
        let body = super::spec::create_body(config, labels, alias);
        let options = CreateContainerOptions {
            name: config.container_name.clone(),
            ..Default::default()
        };
        let created = self
            .call(
                "create",
                self.docker().create_container(Some(options), body),
            )
            .await?;
        Ok(created.id)
    }

    /// Creates and starts a container; when the start fails the container is removed again, so
    /// a failed run leaves nothing behind. Returns the container id.
    pub async fn create_and_start(
        &self,
        config: &ImageConfig,
        labels: HashMap<String, String>,
        alias: Option<&str>,
    ) -> Result<String, EngineError> {
        let id = self.create(config, labels, alias).await?;
        if let Err(e) = self
            .call_with("start", SLOW_CALL, self.docker().start_container(&id, None))
            .await
        {
            let _ = self.remove(&id).await;
            return Err(e);
        }
        Ok(id)
    }

    /// Inspects a container by id or name.
    pub async fn inspect(&self, id_or_name: &str) -> Result<ContainerInspectResponse, EngineError> {
        self.call("inspect", self.docker().inspect_container(id_or_name, None))
            .await
    }

    /// Kills and removes a container with its anonymous volumes.
    pub async fn remove(&self, id: &str) -> Result<(), EngineError> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        self.call_with(
            "remove",
            SLOW_CALL,
            self.docker().remove_container(id, Some(options)),
        )
        .await
    }

    /// Sends a signal to the container's main process.
    pub async fn kill(&self, id: &str, signal: &str) -> Result<(), EngineError> {
        let options = bollard::query_parameters::KillContainerOptions {
            signal: signal.to_string(),
        };
        self.call("kill", self.docker().kill_container(id, Some(options)))
            .await
    }

    pub async fn start(&self, id: &str) -> Result<(), EngineError> {
        self.call_with("start", SLOW_CALL, self.docker().start_container(id, None))
            .await
    }

    /// Stops with SIGTERM, then SIGKILL after `grace` seconds.
    pub async fn stop(&self, id: &str, grace: u32) -> Result<(), EngineError> {
        let options = StopContainerOptions {
            t: Some(grace as i32),
            ..Default::default()
        };
        self.call_with(
            "stop",
            SLOW_CALL,
            self.docker().stop_container(id, Some(options)),
        )
        .await
    }

    pub async fn restart(&self, id: &str, grace: u32) -> Result<(), EngineError> {
        let options = RestartContainerOptions {
            t: Some(grace as i32),
            ..Default::default()
        };
        self.call_with(
            "restart",
            SLOW_CALL,
            self.docker().restart_container(id, Some(options)),
        )
        .await
    }

    /// The last `tail` lines of stdout and stderr, interleaved as Docker returns them.
    pub async fn logs(&self, id: &str, tail: u32) -> Result<Vec<String>, EngineError> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        let collect = async {
            let mut lines = Vec::new();
            let mut stream = self.docker().logs(id, Some(options));
            while let Some(chunk) = stream.next().await {
                let text = chunk?.to_string();
                lines.extend(text.lines().map(str::to_string));
            }
            Ok(lines)
        };
        self.call("logs", collect).await
    }
}
