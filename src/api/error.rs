//! Errors as HTTP: the only place that decides status codes and error codes ([`ErrorCode`]).
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
use crate::cluster::{ClusterError, Conflict};
use crate::engine::{EngineError, PullFailure};
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

/// Every error code the API answers, each with its one HTTP status (see [`ErrorCode::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the body, a query or a path parameter is not acceptable; the message names it.
    InvalidRequest,
    /// 401: no bearer token, or not a valid one.
    Unauthorized,
    InvalidCredentials,
    InvalidToken,
    /// 403: the caller's role or grants do not allow this.
    Forbidden,
    /// 403: an option of the request is not the caller's to use (the message names the field).
    OptionNotAllowed,
    /// 404: no such object (of this kind), or one the caller may not see; or no such route.
    NotFound(&'static str),
    MethodNotAllowed,
    /// 409: the action clashes with the current state.
    Conflict(Conflict),
    NoEngineFits,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// 422: an engine being added does not answer over mutual TLS.
    EngineUnreachable,
    EngineTlsFailed,
    EngineTimeout,
    TooManyAttempts,
    /// 422: the registry wants credentials the caller does not have.
    RegistryUnauthorized,
    /// 503: the registry does not answer.
    RegistryUnavailable,
    /// 503: something clementine depends on is down; try again.
    EngineUnavailable,
    StoreUnavailable,
    AuditUnavailable,
    Internal,
}

impl ErrorCode {
    /// The HTTP status of every answer with this code.
    pub fn status(self) -> StatusCode {
        use ErrorCode as C;
        use StatusCode as S;
        match self {
            C::InvalidRequest => S::BAD_REQUEST,
            C::Unauthorized | C::InvalidCredentials | C::InvalidToken => S::UNAUTHORIZED,
            C::Forbidden | C::OptionNotAllowed => S::FORBIDDEN,
            C::NotFound(_) => S::NOT_FOUND,
            C::MethodNotAllowed => S::METHOD_NOT_ALLOWED,
            C::Conflict(_) | C::NoEngineFits => S::CONFLICT,
            C::PayloadTooLarge => S::PAYLOAD_TOO_LARGE,
            C::UnsupportedMediaType => S::UNSUPPORTED_MEDIA_TYPE,
            C::EngineUnreachable | C::EngineTlsFailed | C::EngineTimeout => S::UNPROCESSABLE_ENTITY,
            C::TooManyAttempts => S::TOO_MANY_REQUESTS,
            C::RegistryUnauthorized => S::UNPROCESSABLE_ENTITY,
            C::RegistryUnavailable => S::SERVICE_UNAVAILABLE,
            C::EngineUnavailable | C::StoreUnavailable | C::AuditUnavailable => {
                S::SERVICE_UNAVAILABLE
            }
            C::Internal => S::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable snake_case code clients match on.
    pub fn as_str(self) -> std::borrow::Cow<'static, str> {
        use ErrorCode as C;
        let code = match self {
            C::InvalidRequest => "invalid_request",
            C::Unauthorized => "unauthorized",
            C::InvalidCredentials => "invalid_credentials",
            C::InvalidToken => "invalid_token",
            C::Forbidden => "forbidden",
            C::OptionNotAllowed => "option_not_allowed",
            C::NotFound("") => "not_found",
            C::NotFound(kind) => return format!("{kind}_not_found").into(),
            C::MethodNotAllowed => "method_not_allowed",
            C::Conflict(kind) => conflict_code(kind),
            C::NoEngineFits => "no_engine_fits",
            C::PayloadTooLarge => "payload_too_large",
            C::UnsupportedMediaType => "unsupported_media_type",
            C::EngineUnreachable => "engine_unreachable",
            C::EngineTlsFailed => "engine_tls_failed",
            C::EngineTimeout => "engine_timeout",
            C::TooManyAttempts => "too_many_attempts",
            C::RegistryUnauthorized => "registry_unauthorized",
            C::RegistryUnavailable => "registry_unavailable",
            C::EngineUnavailable => "engine_unavailable",
            C::StoreUnavailable => "store_unavailable",
            C::AuditUnavailable => "audit_unavailable",
            C::Internal => "internal",
        };
        code.into()
    }
}

fn conflict_code(kind: Conflict) -> &'static str {
    match kind {
        Conflict::EngineExists => "engine_exists",
        Conflict::UserExists => "user_exists",
        Conflict::ImageExists => "image_exists",
        Conflict::CannotDeleteSelf => "cannot_delete_self",
        Conflict::ScaleInProgress => "scale_in_progress",
        Conflict::EngineConflict => "engine_conflict",
        Conflict::ConfigRejected => "config_rejected",
        Conflict::NotOwned => "not_owned",
        Conflict::VolumeInUse => "volume_in_use",
        Conflict::NoSecretsKey => "no_secrets_key",
        Conflict::UserOwnsObjects => "user_owns_objects",
        Conflict::TeamOwnsObjects => "team_owns_objects",
        Conflict::TeamExists => "team_exists",
        Conflict::QuotaExceeded => "quota_exceeded",
    }
}

/// An error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn body(&self) -> ErrorEnvelope {
        ErrorEnvelope {
            ok: false,
            error: ErrorBody {
                code: self.code.as_str().into_owned(),
                message: self.message.clone(),
            },
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status(),
            self.code.as_str(),
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The JSON answer; the error itself rides along in the response's extensions, for the
    /// middleware that audits denied attempts.
    fn as_response(&self) -> Response {
        let mut response = Json(self.body()).with_status(self.status()).into_response();
        response.extensions_mut().insert(self.clone());
        response
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
        use ErrorCode as C;
        let message = e.to_string();
        let code = match e {
            ClusterError::Auth(a) => return a.into(),
            ClusterError::Store(s) => return s.into(),
            ClusterError::Invalid(_) => C::InvalidRequest,
            ClusterError::NotFound { kind, .. } => C::NotFound(kind),
            ClusterError::Conflict { kind, .. } => C::Conflict(kind),
            ClusterError::EngineRejected { source, .. } => match source {
                EngineError::Tls(_) => C::EngineTlsFailed,
                EngineError::Timeout(_) => C::EngineTimeout,
                _ => C::EngineUnreachable,
            },
            ClusterError::Engine { source, .. } => match source {
                EngineError::NotFound(_) => C::NotFound(""),
                EngineError::Conflict(_) => C::Conflict(Conflict::EngineConflict),
                _ => C::EngineUnavailable,
            },
            ClusterError::EngineUnavailable(_) => C::EngineUnavailable,
            ClusterError::AuditUnavailable(_) => C::AuditUnavailable,
            ClusterError::NoFit { .. } => C::NoEngineFits,
            ClusterError::Pull { failure, .. } => match failure {
                PullFailure::NotFound => C::NotFound("image"),
                PullFailure::Unauthorized => C::RegistryUnauthorized,
                _ => C::RegistryUnavailable,
            },
            ClusterError::Throttled { .. } => C::TooManyAttempts,
        };
        ApiError::new(code, message)
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let code = match e {
            AuthError::InvalidCredentials => ErrorCode::InvalidCredentials,
            AuthError::InvalidToken(_) => ErrorCode::InvalidToken,
            AuthError::Forbidden(_) => ErrorCode::Forbidden,
            AuthError::OptionNotAllowed(_) => ErrorCode::OptionNotAllowed,
            AuthError::Hashing(_) => return internal(&e),
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => ApiError::new(
                ErrorCode::StoreUnavailable,
                "the state store (Redis) is unavailable; try again shortly",
            ),
            _ => internal(&e),
        }
    }
}

/// A server-side fault: logged in full, answered in general terms.
fn internal(e: &dyn std::error::Error) -> ApiError {
    tracing::error!(error = %e, "internal error");
    ApiError::new(ErrorCode::Internal, "internal error")
}

/// Gives errors raised outside the handlers the JSON error shape.
pub async fn render_poem_error(err: poem::Error) -> Response {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return poem::error::ResponseError::as_response(api);
    }
    let (code, message) = match err.status() {
        StatusCode::BAD_REQUEST => (ErrorCode::InvalidRequest, err.to_string()),
        StatusCode::UNAUTHORIZED => (
            ErrorCode::Unauthorized,
            "a valid bearer token is required: POST /apiv1/login, then send Authorization: Bearer <token>".to_string(),
        ),
        StatusCode::NOT_FOUND => (ErrorCode::NotFound(""), "no such route".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "method not allowed on this route".to_string(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::PayloadTooLarge,
            "request body too large".to_string(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with Content-Type: application/json".to_string(),
        ),
        s if s.is_client_error() => (ErrorCode::InvalidRequest, err.to_string()),
        _ => {
            tracing::error!(error = %err, "internal error");
            (ErrorCode::Internal, "internal error".to_string())
        }
    };
    ApiError::new(code, message).as_response_ref()
}

impl ApiError {
    fn as_response_ref(&self) -> Response {
        poem::error::ResponseError::as_response(self)
    }
}
