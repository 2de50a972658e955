//! Saved image configs and scaling.

use poem_openapi::Object;
use serde::Deserialize;

use super::{Container, ImageConfig};

/// A named image config to save (`redis:latest` can be saved as `cache` and as `cache-big`).
#[derive(Debug, Clone, PartialEq, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewSavedImage {
    /// The config's own name (letters, digits, `_`, `-`, `.`; at most 64 characters).
    pub name: String,
    /// What to run.
    pub image: ImageConfig,
    /// The team that owns the config (the caller must be a member); its runs are the team's.
    pub team: Option<String>,
}

/// A saved image config.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct SavedImage {
    pub name: String,
    pub image: ImageConfig,
    /// Whose it is.
    pub owner: String,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339.
    pub updated: String,
}

/// How many instances a saved config should have.
#[derive(Debug, Clone, PartialEq, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ScaleRequest {
    /// Running containers wanted (0 to 100).
    pub instances: u32,
}

/// What a scale did.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct ScaleResult {
    /// Running containers of the config after the scale.
    pub instances: u32,
    /// Whether the wanted number was reached.
    pub complete: bool,
    pub created: Vec<Container>,
    pub destroyed: Vec<Container>,
    /// Why the wanted number was not reached.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
}
