//! `JsonBody<T>`: a request body documented with `T`'s OpenAPI schema and read with serde, so
//! that a bad body gets an answer naming the field (`labels[2]: invalid type: integer ...`).
//!
//! poem-openapi's own `Json<T>` reports "Expected input type string, found null (occurred while
//! parsing NewEngine)", which does not say which field. It also insists on a JSON content type,
//! while the seed's curl examples send `-d @file.json` (form-encoded); any content type is read
//! as JSON here.

use std::ops::Deref;

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;

use super::{ApiError, ErrorCode};

/// A JSON request body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T> Deref for JsonBody<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

fn bad_body(message: String) -> poem::Error {
    ApiError::new(ErrorCode::InvalidRequest, message).into()
}

/// Reads a body as JSON, naming the path of the first bad field.
pub fn parse_json<T: DeserializeOwned>(data: &[u8]) -> Result<T, String> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err("body: a JSON body is required".into());
    }
    crate::json::from_slice_naming_field(data)
}

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(_content_type: &str) -> bool {
        true
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        parse_json(&data).map(JsonBody).map_err(bad_body)
    }
}

impl<'a, T: Type + DeserializeOwned> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        <Self as ParsePayload>::from_request(request, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewEngine;

    #[test]
    fn errors_name_the_field() {
        let e = parse_json::<NewEngine>(br#"{"id":1,"addr":"https://x"}"#).unwrap_err();
        assert!(e.starts_with("id: invalid type"), "{e}");
        let e = parse_json::<NewEngine>(br#"{"id":"a"}"#).unwrap_err();
        assert!(e.contains("missing field `addr`"), "{e}");
        let e = parse_json::<NewEngine>(br#"{"id":"a","addr":"x","labels":["a",2]}"#).unwrap_err();
        assert!(e.starts_with("labels[1]:"), "{e}");
        let e = parse_json::<NewEngine>(br#"{"id":"a","addr":"x","colour":"red"}"#).unwrap_err();
        assert!(e.contains("unknown field `colour`"), "{e}");
        let e = parse_json::<NewEngine>(b"{").unwrap_err();
        assert!(e.starts_with("body: EOF"), "{e}");
        assert_eq!(
            parse_json::<NewEngine>(b"").unwrap_err(),
            "body: a JSON body is required"
        );
        let e = parse_json::<NewEngine>(br#"{"id":"a","addr":"x","memory":-1}"#).unwrap_err();
        assert!(e.starts_with("memory:"), "{e}");
    }
}
