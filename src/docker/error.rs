//! Errors in Docker's shape, `{"message": "..."}`, so that the docker CLI and SDKs print one
//! clear line. Statuses come from the one mapping `/apiv1` uses (`api::error`); only the body
//! and the "No such container" wording are Docker's.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};

use crate::api::ApiError;
use crate::cluster::ClusterError;
use crate::domain::InvalidInput;

/// An error on its way to a Docker client.
#[derive(Debug, Clone)]
pub struct DockerError {
    pub status: StatusCode,
    pub message: String,
}

/// What the Docker front door answers.
pub type DockerResult<T> = Result<T, DockerError>;

impl DockerError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("No such {kind}: {id}"))
    }
}

/// A 403's reason, left on the response for the audit of denied attempts.
#[derive(Debug, Clone)]
pub struct Denied(pub String);

impl From<ClusterError> for DockerError {
    fn from(e: ClusterError) -> Self {
        if let ClusterError::NotFound { kind, id } = &e {
            return Self::not_found(kind, id);
        }
        let api = ApiError::from(e);
        Self::new(api.status(), api.message)
    }
}

impl From<InvalidInput> for DockerError {
    fn from(e: InvalidInput) -> Self {
        DockerError::from(ClusterError::from(e))
    }
}

impl std::fmt::Display for DockerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for DockerError {}

impl poem::error::ResponseError for DockerError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        let body = serde_json::json!({ "message": self.message });
        let mut response = poem::web::Json(body)
            .with_status(self.status)
            .into_response();
        if self.status == StatusCode::FORBIDDEN {
            response
                .extensions_mut()
                .insert(Denied(self.message.clone()));
        }
        response
    }
}
