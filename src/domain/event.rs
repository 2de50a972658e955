//! Audit events: what the stream records, as the API shows it.

use poem_openapi::{Enum, Object};

/// Which half of an action an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum Phase {
    /// Written before the action touches anything.
    Intent,
    /// Written after, with `outcome` `ok` or `error`.
    Outcome,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Intent => "intent",
            Phase::Outcome => "outcome",
        }
    }
}

/// One entry of the audit stream.
#[derive(Debug, Clone, PartialEq, Default, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditEvent {
    /// The Redis stream id (`<ms>-<seq>`): the entry's position and its cursor.
    pub id: String,
    /// What was done: `container.schedule`, `container.destroy`, `engine.add`, `user.create`,
    /// `auth.login_failed` ... (see README, "Audit stream").
    pub action: String,
    /// `intent` or `outcome`.
    pub phase: Option<Phase>,
    /// Who did it (the username; for a failed login, the name tried).
    pub actor: String,
    /// The actor's role, `admin` or `user` (absent for failed logins).
    pub role: Option<String>,
    /// Engine acted on or in.
    pub engine: Option<String>,
    /// Container id.
    pub container: Option<String>,
    /// Container name.
    pub name: Option<String>,
    /// Whose container it is (a user, or `team:<name>`).
    pub owner: Option<String>,
    /// The team that owns what the action is about, when a team does.
    pub team: Option<String>,
    /// The user, engine or saved config acted on, for actions that are not about a container.
    pub target: Option<String>,
    /// The image config as JSON.
    pub image: Option<String>,
    /// `ok` or `error` (outcome entries only).
    pub outcome: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
    /// The HTTP request that caused it.
    pub request_id: Option<String>,
    /// The id of the API token the request came with (never its text).
    pub token: Option<String>,
    /// The front door the request came in by: `api` (`/apiv1`) or `docker` (the Docker Engine
    /// API listener); absent for what clementine does by itself.
    pub via: Option<String>,
    /// Operation id shared by an intent and its outcome (and the container's `clementine.op`).
    pub op: String,
    /// For destroys and reschedules: the op that scheduled the container.
    pub ref_op: Option<String>,
    /// Anything else about the action, as JSON (engine settings, grants, scale counts ...).
    pub detail: Option<String>,
    /// When, RFC 3339 with milliseconds.
    pub time: String,
}

/// A page of audit events.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct EventPage {
    pub events: Vec<AuditEvent>,
    /// Pass as `cursor` to get the next page; absent at the end.
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<String>,
}
