//! The image config: what to run and how to place it (the seed's "image", the run request).

use std::collections::BTreeMap;

use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

/// What to run, and the placement rule that picks its engine.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Object)]
#[oai(skip_serializing_if_is_none)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// Docker image reference, for example `busybox:latest`.
    pub name: String,
    /// Placement rule: `service` (engine carries every label), `unique` (no running copy of the
    /// image on the engine), `host` (labels `host:<engine id>` pin it), `port` (the host ports
    /// are free on the engine), `multi` (service, unique and port together).
    #[oai(default)]
    #[serde(default)]
    pub r#type: PlacementType,
    /// Labels the engine must carry (`service`, `multi`) or `host:<engine id>` pins (`host`).
    #[oai(default)]
    #[serde(default)]
    pub labels: Vec<String>,
    /// Arguments passed to the entrypoint (Docker's `Cmd`).
    #[oai(default, skip_serializing_if_is_empty)]
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Overrides the image's entrypoint.
    #[oai(default, skip_serializing_if_is_empty)]
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    /// Environment variables.
    #[oai(default, skip_serializing_if_is_empty)]
    #[serde(default)]
    #[serde(skip_serializing_if = "is_empty")]
    pub environment: BTreeMap<String, String>,
    /// Container hostname.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Container domain name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// CPUs reserved for (and limited to) the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Memory in MB reserved for (and limited to) the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// Ports to publish on the engine.
    #[oai(default)]
    #[serde(default)]
    pub bind_ports: Vec<BindPort>,
    /// Publish every port the image exposes on a random host port.
    #[oai(default)]
    #[serde(default)]
    pub publish: bool,
    /// Docker network mode (`bridge` by default; `host` is admin-only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// Volumes: `name:/path[:ro]` for named volumes, `/host:/path` bind mounts (admin-only), or
    /// `/path` for an anonymous volume.
    #[oai(default, skip_serializing_if_is_empty)]
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// Docker restart policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// Name for the container (Docker picks one when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// When the chosen engine pulls the image: `missing` (default: only when it lacks it),
    /// `always` (before every run, for moving tags), `never` (only engines that hold it).
    #[oai(default, skip_serializing_if = "PullPolicy::is_missing")]
    #[serde(default, skip_serializing_if = "PullPolicy::is_missing")]
    pub pull: PullPolicy,
    /// Allocate a terminal (Docker's `Tty`): output is one raw stream, not stdout and stderr.
    #[oai(default, skip_serializing_if = "is_false")]
    #[serde(default, skip_serializing_if = "is_false")]
    pub tty: bool,
    /// Keep stdin open for attaching (Docker's `OpenStdin`).
    #[oai(default, skip_serializing_if = "is_false")]
    #[serde(default, skip_serializing_if = "is_false")]
    pub open_stdin: bool,
    /// Close stdin when the first attached client closes it (Docker's `StdinOnce`).
    #[oai(default, skip_serializing_if = "is_false")]
    #[serde(default, skip_serializing_if = "is_false")]
    pub stdin_once: bool,
    /// Working directory of the process (an absolute path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Who the process runs as: `user`, `uid`, `user:group` or `uid:gid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Labels on the container itself (Docker's `Labels`; keys under `clementine.` are
    /// clementine's own and refused).
    #[oai(default, skip_serializing_if_is_empty)]
    #[serde(default)]
    #[serde(skip_serializing_if = "is_empty")]
    pub container_labels: BTreeMap<String, String>,
    /// More names the container answers to on its network (beside `container_name`).
    #[oai(default, skip_serializing_if_is_empty)]
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub network_aliases: Vec<String>,
    /// Remove the container when it exits (Docker's `AutoRemove`); its reservation goes with it.
    #[oai(default, skip_serializing_if = "is_false")]
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_remove: bool,
    /// Admin-only: run privileged.
    #[oai(default, skip_serializing_if = "is_false")]
    #[serde(default)]
    #[serde(skip_serializing_if = "is_false")]
    pub privileged: bool,
    /// Admin-only: Linux capabilities to add.
    #[oai(default, skip_serializing_if_is_empty)]
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    /// Admin-only: host devices to map, `/dev/x[:/dev/y[:rwm]]`.
    #[oai(default, skip_serializing_if_is_empty)]
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// Admin-only: PID namespace mode (`host`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    /// Admin-only: IPC namespace mode (`host`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_empty(m: &BTreeMap<String, String>) -> bool {
    m.is_empty()
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Object)]
#[serde(deny_unknown_fields)]
pub struct BindPort {
    /// `tcp` (default) or `udp`.
    #[oai(default = "default_proto")]
    #[serde(default = "default_proto")]
    pub proto: String,
    /// Host address to publish on; the engine's own address when absent.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// Host port.
    pub port: u16,
    /// Port inside the container.
    pub container_port: u16,
}

fn default_proto() -> String {
    "tcp".to_string()
}

/// Docker's restart policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Object)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    /// `no`, `always`, `unless-stopped` or `on-failure`.
    #[oai(default)]
    #[serde(default)]
    pub name: String,
    /// Retries for `on-failure`.
    #[oai(default)]
    #[serde(default)]
    pub maximum_retry: i64,
}

/// When an engine pulls the image of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum PullPolicy {
    /// Only when the chosen engine lacks it.
    #[default]
    Missing,
    /// Before every run.
    Always,
    /// Never: only engines that hold it are used.
    Never,
}

impl PullPolicy {
    pub fn is_missing(&self) -> bool {
        *self == PullPolicy::Missing
    }
}

/// The placement rule of an image config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum PlacementType {
    /// The engine carries every label of the image.
    #[default]
    Service,
    /// No running container of the same image on the engine.
    Unique,
    /// Labels `host:<engine id>` pin the container to those engines.
    Host,
    /// No running container on the engine publishes the same host ip:port/proto.
    Port,
    /// Service, unique and port together.
    Multi,
}

impl PlacementType {
    pub fn as_str(self) -> &'static str {
        match self {
            PlacementType::Service => "service",
            PlacementType::Unique => "unique",
            PlacementType::Host => "host",
            PlacementType::Port => "port",
            PlacementType::Multi => "multi",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "service" => Self::Service,
            "unique" => Self::Unique,
            "host" => Self::Host,
            "port" => Self::Port,
            "multi" => Self::Multi,
            _ => return None,
        })
    }
}
