//! The success envelope: `{"ok": true, "data": ...}`.

use poem_openapi::Object;
use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};

use super::ApiError;

/// A successful answer.
#[derive(Debug, Object)]
pub struct Envelope<T: ParseFromJSON + ToJSON> {
    /// Always `true` for a success.
    pub ok: bool,
    /// The answer itself.
    pub data: T,
}

/// What every handler returns.
pub type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

/// Wraps data in the success envelope.
pub fn ok<T: ParseFromJSON + ToJSON>(data: T) -> ApiResult<T> {
    Ok(Json(Envelope { ok: true, data }))
}
