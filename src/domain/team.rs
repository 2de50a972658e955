//! Teams: tenants made of people. A team owns objects as a user does; its members see and act on
//! them, maintainers also manage the members, admins everything.

use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

/// A member's role in a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum TeamRole {
    /// Sees and acts on the team's objects.
    #[default]
    Member,
    /// And manages the members.
    Maintainer,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Member => "member",
            TeamRole::Maintainer => "maintainer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(TeamRole::Member),
            "maintainer" => Some(TeamRole::Maintainer),
            _ => None,
        }
    }
}

/// One member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Object)]
#[serde(deny_unknown_fields)]
pub struct TeamMember {
    pub user: String,
    #[oai(default)]
    #[serde(default)]
    pub role: TeamRole,
}

/// A team to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Object)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    /// Letters, digits, `_`, `-`, `.`; at most 64 characters.
    pub name: String,
}

/// The members, replaced as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Object)]
#[serde(deny_unknown_fields)]
pub struct TeamMembers {
    pub members: Vec<TeamMember>,
}

/// A team as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Object)]
pub struct Team {
    pub name: String,
    pub members: Vec<TeamMember>,
    /// Engines granted to the team (its members may use them too).
    pub engines: Vec<String>,
    /// RFC 3339.
    pub created: String,
}

/// Most members of one team.
pub const MAX_MEMBERS: usize = 1024;
