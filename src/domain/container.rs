//! A container as clementine shows it: the seed's shape plus owner and creation time.

use poem_openapi::{Enum, Object};

use super::{BindPort, Engine, ImageConfig};

/// A container on one of the engines.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct Container {
    /// Docker's container id.
    pub id: String,
    /// The name its owner gave it, with a leading `/` as Docker reports names (on the engine it
    /// carries a prefix that keeps tenants apart); Docker's own name when none was given.
    pub name: String,
    /// The image config the container runs, as far as the engine reports it.
    pub image: ImageConfig,
    /// The engine the container runs on.
    pub engine: Engine,
    /// Docker's state: `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    pub state: ContainerState,
    /// Published ports.
    pub ports: Vec<BindPort>,
    /// The clementine user who owns it (from its `clementine.owner` label); absent for containers
    /// clementine did not start.
    #[oai(skip_serializing_if_is_none)]
    pub owner: Option<String>,
    /// The saved image config it was run from (`POST /image/{name}/run` or `scale`), if any.
    #[oai(skip_serializing_if_is_none)]
    pub config: Option<String>,
    /// When the container was created (RFC 3339).
    pub created: String,
}

/// What listings are narrowed by, read alike from a built container and from the record an
/// engine's view keeps (`engine::Listed`), so that a view is filtered before anything is built.
pub trait ContainerFacts {
    fn id(&self) -> &str;
    /// The name as shown, with Docker's leading `/`.
    fn shown_name(&self) -> &str;
    /// The image reference it runs.
    fn image_name(&self) -> &str;
    fn state(&self) -> ContainerState;
    /// The clementine user or team that owns it here.
    fn owner(&self) -> Option<&str>;
    /// The saved image config it was run from.
    fn config(&self) -> Option<&str>;
}

impl ContainerFacts for Container {
    fn id(&self) -> &str {
        &self.id
    }
    fn shown_name(&self) -> &str {
        &self.name
    }
    fn image_name(&self) -> &str {
        &self.image.name
    }
    fn state(&self) -> ContainerState {
        self.state
    }
    fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }
    fn config(&self) -> Option<&str> {
        self.config.as_deref()
    }
}

/// Docker's container state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    Unknown,
}

impl ContainerState {
    pub fn parse(s: &str) -> Self {
        match s {
            "created" => Self::Created,
            "running" => Self::Running,
            "paused" => Self::Paused,
            "restarting" => Self::Restarting,
            "removing" => Self::Removing,
            "exited" => Self::Exited,
            "dead" => Self::Dead,
            _ => Self::Unknown,
        }
    }
}
