//! Users and their roles.

use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

/// What a user may do: admins manage engines, users and grants and see everything; users see
/// and touch only the engines granted to them and the containers they own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum Role {
    Admin,
    #[default]
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// A user account as the API shows it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Object)]
pub struct User {
    /// The login name.
    pub username: String,
    /// `admin` or `user`.
    pub role: Role,
    /// Ids of the engines granted to this user (admins see all engines regardless).
    pub engines: Vec<String>,
    /// When the account was created (RFC 3339).
    pub created: String,
}
