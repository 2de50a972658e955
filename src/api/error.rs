//! Errors as HTTP: the only place that decides status codes and error codes.
//!
//! Every error answer is `{"ok": false, "error": {"code": "snake_case", "message": "sentence"}}`.
//! Errors raised outside the handlers (unknown route, bad JSON, missing token, body too large) are
//! caught by [`render_poem_error`] and given the same shape.

use std::fmt;

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::Object;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;

use crate::auth::AuthError;
use crate::cluster::ClusterError;
use crate::engine::EngineError;
use crate::store::StoreError;

/// An error answer.
#[derive(Debug, Clone, Object)]
pub struct ErrorEnvelope {
    /// Always `false` for an error.
    pub ok: bool,
    pub error: ErrorBody,
}

/// What went wrong.
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    /// Stable machine-readable code, for example `engine_not_found` or `invalid_request`.
    pub code: String,
    /// A sentence for humans; for bad input it names the field.
    pub message: String,
}

/// An error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn body(&self) -> ErrorEnvelope {
        ErrorEnvelope {
            ok: false,
            error: ErrorBody {
                code: self.code.clone(),
                message: self.message.clone(),
            },
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        Json(self.body()).with_status(self.status).into_response()
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        const STATUSES: &[(u16, &str)] = &[
            (400, "Bad input; the message names the field"),
            (
                401,
                "Missing, invalid, expired or revoked bearer token, or wrong credentials",
            ),
            (403, "The caller's role or grants do not allow this"),
            (404, "No such object, or one the caller may not see"),
            (
                409,
                "Conflicts with the current state (duplicate id, nothing fits ...)",
            ),
            (413, "Request body too large"),
            (
                422,
                "Well-formed but unusable (an engine that does not answer over TLS ...)",
            ),
            (
                429,
                "Too many failed logins for this username; wait for the window to end",
            ),
            (503, "Redis or an engine is unavailable"),
        ];
        MetaResponses {
            responses: STATUSES
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: ErrorEnvelope::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorEnvelope::register(registry);
    }
}

impl From<ClusterError> for ApiError {
    fn from(e: ClusterError) -> Self {
        use StatusCode as S;
        match e {
            ClusterError::Invalid(i) => {
                ApiError::new(S::BAD_REQUEST, "invalid_field", i.to_string())
            }
            ClusterError::NotFound { kind, .. } => {
                ApiError::new(S::NOT_FOUND, format!("{kind}_not_found"), e.to_string())
            }
            ClusterError::Conflict { code, message } => ApiError::new(S::CONFLICT, code, message),
            ClusterError::Auth(a) => a.into(),
            ClusterError::EngineRejected { ref source, .. } => {
                let code = match source {
                    EngineError::Tls(_) => "engine_tls_failed",
                    EngineError::Timeout(_) => "engine_timeout",
                    _ => "engine_unreachable",
                };
                ApiError::new(S::UNPROCESSABLE_ENTITY, code, e.to_string())
            }
            ClusterError::Engine { ref source, .. } => match source {
                EngineError::NotFound(_) => ApiError::new(S::NOT_FOUND, "not_found", e.to_string()),
                EngineError::Conflict(_) => {
                    ApiError::new(S::CONFLICT, "engine_conflict", e.to_string())
                }
                _ => ApiError::new(S::SERVICE_UNAVAILABLE, "engine_unavailable", e.to_string()),
            },
            ClusterError::Store(s) => s.into(),
            ClusterError::AuditUnavailable(_) => {
                ApiError::new(S::SERVICE_UNAVAILABLE, "audit_unavailable", e.to_string())
            }
            ClusterError::NoFit { .. } => {
                ApiError::new(S::CONFLICT, "no_engine_fits", e.to_string())
            }
            ClusterError::Throttled { .. } => {
                ApiError::new(S::TOO_MANY_REQUESTS, "too_many_attempts", e.to_string())
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        use StatusCode as S;
        match e {
            AuthError::InvalidCredentials => {
                ApiError::new(S::UNAUTHORIZED, "invalid_credentials", e.to_string())
            }
            AuthError::InvalidToken(_) => {
                ApiError::new(S::UNAUTHORIZED, "invalid_token", e.to_string())
            }
            AuthError::Forbidden(_) => ApiError::new(S::FORBIDDEN, "forbidden", e.to_string()),
            AuthError::Hashing(_) => internal(&e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the state store (Redis) is unavailable; try again shortly",
            ),
            _ => internal(&e),
        }
    }
}

/// A server-side fault: logged in full, answered in general terms.
fn internal(e: &dyn std::error::Error) -> ApiError {
    tracing::error!(error = %e, "internal error");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}

/// Gives errors raised outside the handlers the JSON error shape.
pub async fn render_poem_error(err: poem::Error) -> Response {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return poem::error::ResponseError::as_response(api);
    }
    let status = err.status();
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => ("invalid_request", err.to_string()),
        StatusCode::UNAUTHORIZED => (
            "unauthorized",
            "a valid bearer token is required: POST /apiv1/login, then send Authorization: Bearer <token>".to_string(),
        ),
        StatusCode::NOT_FOUND => ("not_found", "no such route".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed on this route".to_string()),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "request body too large".to_string()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json".to_string(),
        ),
        s if s.is_server_error() => {
            tracing::error!(error = %err, "internal error");
            ("internal", "internal error".to_string())
        }
        _ => ("error", err.to_string()),
    };
    ApiError::new(status, code, message).as_response_ref()
}

impl ApiError {
    fn as_response_ref(&self) -> Response {
        poem::error::ResponseError::as_response(self)
    }
}
