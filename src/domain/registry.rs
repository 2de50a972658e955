//! Registry credentials: stored per owner (or shared by an admin), sealed at rest, never
//! answered back.

use poem_openapi::Object;
use serde::Deserialize;

/// Credentials to store. The password (a token may stand for it) is sealed at rest and never
/// returned, logged or audited.
#[derive(Debug, Clone, PartialEq, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRegistry {
    /// The registry, `host[:port]` as image references name it (`registry.example:5000`); a host-local one (`localhost`, `127.0.0.1:5001`) takes only an admin's shared credentials.
    pub server: String,
    pub username: String,
    pub password: String,
    /// Admins only: every user's pulls from this registry may use them.
    #[oai(default)]
    #[serde(default)]
    pub shared: bool,
    /// The team whose pulls use them (the caller must be a member).
    pub team: Option<String>,
}

/// Stored credentials as listed: never the password.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct Registry {
    pub id: String,
    pub server: String,
    pub username: String,
    pub owner: String,
    pub shared: bool,
    /// RFC 3339.
    pub created: String,
}
