//! Images on the engines: what an engine holds, and pre-pulls.

use poem_openapi::Object;
use serde::Deserialize;

/// An image an engine holds.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct EngineImage {
    /// Docker's image id (`sha256:...`).
    pub id: String,
    /// `name:tag` references pointing at it.
    pub tags: Vec<String>,
    /// Bytes on disk.
    pub size: i64,
    /// When it was built (RFC 3339).
    pub created: String,
}

/// Pull an image onto engines ahead of runs.
#[derive(Debug, Clone, PartialEq, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    /// Image reference, for example `127.0.0.1:5000/team/app:1`.
    pub image: String,
    /// Engine ids (admins: any engine; users: granted ones).
    pub engines: Vec<String>,
}

/// How a pull went on one engine.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PullResult {
    pub engine: String,
    pub ok: bool,
    /// Why it failed.
    pub error: Option<String>,
}
