//! The service layer's error: what went wrong, in terms the API maps to HTTP (in `api/error.rs`,
//! and nowhere else).

use crate::auth::AuthError;
use crate::domain::InvalidInput;
use crate::engine::EngineError;
use crate::store::StoreError;

/// Why an action clashes with the current state. The API gives each its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    EngineExists,
    UserExists,
    ImageExists,
    CannotDeleteSelf,
    ScaleInProgress,
    /// The engine refused the create (for example a container name it already holds).
    EngineConflict,
    /// The engine refused the config as given.
    ConfigRejected,
    /// A volume or network of the caller's name exists on the engine but is not theirs.
    NotOwned,
    /// A volume still mounted by a container.
    VolumeInUse,
    /// Registry credentials cannot be stored: no secrets key is configured.
    NoSecretsKey,
    /// A user still owns containers or volumes (deleting them needs `purge`).
    UserOwnsObjects,
    /// A team still owns containers or volumes (deleting them needs `purge`).
    TeamOwnsObjects,
    TeamExists,
    /// The owner's quota has no room for what was asked.
    QuotaExceeded,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A field the client sent is not acceptable.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// No such object, or one the caller may not see (the two look the same on purpose).
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    /// The action clashes with the current state.
    #[error("{message}")]
    Conflict { kind: Conflict, message: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// An engine being added could not be used (unreachable, TLS refused, not Docker).
    #[error("engine {id} cannot be used: {source}")]
    EngineRejected {
        id: String,
        #[source]
        source: EngineError,
    },
    /// An engine in the cluster failed while serving this request.
    #[error("engine {id} failed: {source}")]
    Engine {
        id: String,
        #[source]
        source: EngineError,
    },
    /// An engine the action depends on did not answer, so the action was not done.
    #[error("{0}")]
    EngineUnavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Redis could not take the intent, so nothing was done.
    #[error(transparent)]
    AuditUnavailable(#[from] crate::events::AuditUnavailable),
    /// Too many failed logins for this username: wait.
    #[error("too many failed logins for this user; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// The registry would not give the image: it does not have it, wants other credentials,
    /// or does not answer.
    #[error("pulling {image} from {registry} failed: {message}")]
    Pull {
        image: String,
        registry: String,
        failure: crate::engine::PullFailure,
        message: String,
    },
    /// No engine can take the container; the reason for each engine.
    #[error("no engine can run {image}: {}", reasons.join("; "))]
    NoFit { image: String, reasons: Vec<String> },
}

impl ClusterError {
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        ClusterError::NotFound {
            kind,
            id: id.into(),
        }
    }

    pub fn conflict(kind: Conflict, message: impl Into<String>) -> Self {
        ClusterError::Conflict {
            kind,
            message: message.into(),
        }
    }

    pub fn engine(id: &str, source: EngineError) -> Self {
        ClusterError::Engine {
            id: id.to_string(),
            source,
        }
    }
}
