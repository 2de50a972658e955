//! API tokens: long-lived credentials for programs (CI jobs, scripts), each limited to scopes.

use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

/// What an API token may do. A token never does more than its owner may at the moment of use.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Enum,
)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum TokenScope {
    /// The GETs its owner may make (but the audit log).
    Read,
    /// Run, act on and destroy the owner's containers; saved configs; volumes.
    Run,
    /// The audit log: query and live stream.
    Events,
    /// Everything, admin routes included (admins only).
    Admin,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Run => "run",
            Self::Events => "events",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "read" => Self::Read,
            "run" => Self::Run,
            "events" => Self::Events,
            "admin" => Self::Admin,
            _ => return None,
        })
    }
}

/// Longest token lifetime: a year.
pub const MAX_TOKEN_SECS: u64 = 366 * 86_400;

/// A token to create.
#[derive(Debug, Clone, PartialEq, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for (`ci-deploy`): letters, digits, `_`, `.`, `-`; at most 64.
    pub name: String,
    /// At least one of `read`, `run`, `events`, `admin` (`admin` for admins only).
    pub scopes: Vec<TokenScope>,
    /// Lifetime in seconds (60 to one year); none: until revoked.
    #[oai(skip_serializing_if_is_none)]
    pub expires_in_secs: Option<u64>,
}

/// An API token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub scopes: Vec<TokenScope>,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339; absent: until revoked.
    pub expires: Option<String>,
    /// When it was last used (to the minute); absent: never.
    pub last_used: Option<String>,
}

/// A token just created: the only answer that ever holds its text.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct IssuedApiToken {
    /// Send as `Authorization: Bearer <token>`. Shown once; only a hash of it is kept. It starts
    /// with `clm_` so secret scanners can spot a leaked one.
    pub token: String,
    #[oai(flatten)]
    pub info: ApiToken,
}
