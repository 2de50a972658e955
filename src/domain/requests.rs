//! Request bodies: what clients send to change things. Shapes are checked by poem-openapi;
//! values are checked by the cluster layer, which names the field at fault.

use poem_openapi::Object;
use serde::Deserialize;

use super::{EngineStatus, Role};

/// An engine to add.
#[derive(Debug, Clone, PartialEq, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewEngine {
    /// Unique id (letters, digits, `_`, `-`, `.`; at most 64 characters).
    pub id: String,
    /// Docker API address, `https://host:port`; the engine must answer over mutual TLS.
    pub addr: String,
    /// CPUs to hand out; defaults to what the engine reports.
    pub cpus: Option<f64>,
    /// Memory in MB to hand out; defaults to what the engine reports.
    pub memory: Option<u64>,
    /// Labels for `service` placement.
    #[oai(default)]
    #[serde(default)]
    pub labels: Vec<String>,
    /// Addresses users may publish ports on; by default the one in `addr`.
    pub publish_ips: Option<Vec<String>>,
}

/// Changes to an engine; absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Default, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct EnginePatch {
    /// New labels (replaces the old list).
    pub labels: Option<Vec<String>>,
    /// New CPU capacity.
    pub cpus: Option<f64>,
    /// New memory capacity in MB.
    pub memory: Option<u64>,
    /// `active`, `draining` or `disabled`.
    pub status: Option<EngineStatus>,
    /// Addresses users may publish ports on (replaces the old list).
    pub publish_ips: Option<Vec<String>>,
}

/// Login.
#[derive(Debug, Clone, PartialEq, Object, Deserialize)]
pub struct Credentials {
    /// The login name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// The login name (letters, digits, `_`, `-`, `.`; at most 64 characters).
    pub username: String,
    /// At least 8 characters.
    pub password: String,
    /// `user` (default) or `admin`.
    #[oai(default)]
    #[serde(default)]
    pub role: Role,
}

/// The engines a user may use.
#[derive(Debug, Clone, PartialEq, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Engine ids; replaces the user's previous grants.
    pub engines: Vec<String>,
}

/// A password change.
#[derive(Debug, Clone, PartialEq, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password, at least 8 characters.
    pub new_password: String,
}
