//! Tenant objects on one engine besides containers: named volumes and bridge networks. Each is
//! made on first use with clementine's labels (see [`ObjectLabels`](super::labels::ObjectLabels)),
//! and found again by name.

use std::collections::HashMap;

use bollard::models::{NetworkCreateRequest, Volume, VolumeCreateRequest};
use bollard::query_parameters::{ListVolumesOptions, RemoveVolumeOptions};

use super::{EngineClient, EngineError};

/// The bridge driver's option that says where published ports listen.
const HOST_BINDING: &str = "com.docker.network.bridge.host_binding_ipv4";

impl EngineClient {
    /// The labels of the named volume, made with `labels` when it does not exist yet (an
    /// existing volume keeps the labels it has: the caller checks whose it is).
    pub async fn ensure_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<HashMap<String, String>, EngineError> {
        match self
            .call("volume_inspect", self.docker().inspect_volume(name))
            .await
        {
            Ok(volume) => return Ok(volume.labels),
            Err(EngineError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels),
            ..Default::default()
        };
        // Creating a volume that exists answers the existing one: a race here is harmless.
        let volume = self
            .call("volume_create", self.docker().create_volume(request))
            .await?;
        Ok(volume.labels)
    }

    /// The default bridge's host binding (dockerd's `--ip`), for a new network to publish
    /// where the engine's admin said ports go: a user-defined bridge would otherwise publish
    /// on every address of the host, IPv6 included.
    async fn default_bridge_binding(&self) -> Result<HashMap<String, String>, EngineError> {
        let bridge = self
            .call(
                "network_inspect",
                self.docker().inspect_network("bridge", None),
            )
            .await?;
        let options = bridge.options.unwrap_or_default();
        Ok(options
            .get(HOST_BINDING)
            .map(|ip| HashMap::from([(HOST_BINDING.to_string(), ip.clone())]))
            .unwrap_or_default())
    }

    /// Volumes carrying every `key=value` label given (all volumes with none).
    pub async fn list_volumes(
        &self,
        label_filters: Vec<String>,
    ) -> Result<Vec<Volume>, EngineError> {
        let filters = (!label_filters.is_empty())
            .then(|| HashMap::from([("label".to_string(), label_filters)]));
        let options = ListVolumesOptions { filters };
        let listed = self
            .call("volume_list", self.docker().list_volumes(Some(options)))
            .await?;
        Ok(listed.volumes.unwrap_or_default())
    }

    pub async fn inspect_volume(&self, name: &str) -> Result<Volume, EngineError> {
        self.call("volume_inspect", self.docker().inspect_volume(name))
            .await
    }

    /// Removes a volume; Docker answers 409 while a container uses it.
    pub async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        let options = RemoveVolumeOptions { force: false };
        self.call(
            "volume_remove",
            self.docker().remove_volume(name, Some(options)),
        )
        .await
    }

    /// The labels of the named bridge network, made with `labels` when it does not exist yet.
    ///
    /// dockerd 20.10 lets two networks share a name when two creates race; the caller
    /// serialises creates per engine and name within a process, which is where races come from.
    pub async fn ensure_network(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<HashMap<String, String>, EngineError> {
        match self
            .call("network_inspect", self.docker().inspect_network(name, None))
            .await
        {
            Ok(network) => return Ok(network.labels.unwrap_or_default()),
            Err(EngineError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels.clone()),
            options: Some(self.default_bridge_binding().await?),
            ..Default::default()
        };
        self.call("network_create", self.docker().create_network(request))
            .await?;
        Ok(labels)
    }

    /// Networks carrying every `key=value` label given.
    pub async fn list_networks(
        &self,
        label_filters: Vec<String>,
    ) -> Result<Vec<bollard::models::Network>, EngineError> {
        let filters = (!label_filters.is_empty())
            .then(|| HashMap::from([("label".to_string(), label_filters)]));
        let options = bollard::query_parameters::ListNetworksOptions { filters };
        self.call("network_list", self.docker().list_networks(Some(options)))
            .await
    }

    /// Removes a network; Docker answers 403 or 409 while a container is connected.
    pub async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        self.call("network_remove", self.docker().remove_network(name))
            .await
    }

    /// Connects a container to a network, with aliases there.
    pub async fn connect(
        &self,
        network: &str,
        container: &str,
        aliases: &[String],
    ) -> Result<(), EngineError> {
        let request = bollard::models::NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(bollard::models::EndpointSettings {
                aliases: (!aliases.is_empty()).then(|| aliases.to_vec()),
                ..Default::default()
            }),
        };
        self.call(
            "network_connect",
            self.docker().connect_network(network, request),
        )
        .await
    }

    /// Disconnects a container from a network.
    pub async fn disconnect(&self, network: &str, container: &str) -> Result<(), EngineError> {
        let request = bollard::models::NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(true),
        };
        let call = self.docker().disconnect_network(network, request);
        self.call("network_disconnect", call).await
    }
}
