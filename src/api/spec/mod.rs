//! The OpenAPI document clients are generated from: poem-openapi's, polished where common
//! generators (openapi-python-client, openapi-typescript) stumble, and told what the server
//! really enforces. The committed `openapi/clementine.json` and `GET /openapi.json` are this.
//!
//! - media types are plain `application/json` (the server answers with a `charset=utf-8`
//!   parameter, which changes nothing for JSON, but generators skip what they do not know);
//! - a property that refers to another schema is a plain `$ref`, not poem-openapi's
//!   `allOf: [$ref, {description}]`, which generators cannot follow for enums;
//! - each operation lists only the error statuses it can answer ([`errors`]);
//! - request fields and parameters carry the limits the server checks, from the same constants
//!   ([`constraints`]).

mod constraints;
mod errors;

use serde_json::Value;

/// The polished spec as pretty JSON.
pub fn spec_json() -> String {
    let mut spec: Value =
        serde_json::from_str(&super::openapi().spec()).expect("poem-openapi writes valid JSON");
    plain_json_media(&mut spec);
    plain_refs(&mut spec);
    errors::per_operation(&mut spec);
    constraints::apply(&mut spec);
    serde_json::to_string_pretty(&spec).expect("a JSON value serialises")
}

/// Renames every `application/json; charset=utf-8` content entry to `application/json`.
fn plain_json_media(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(entry) = map.remove("application/json; charset=utf-8") {
                map.insert("application/json".into(), entry);
            }
            map.values_mut().for_each(plain_json_media);
        }
        Value::Array(items) => items.iter_mut().for_each(plain_json_media),
        _ => {}
    }
}

/// `{"allOf": [{"$ref": X}, {...}], "description": ...}` becomes `{"$ref": X}`: in OpenAPI
/// 3.0 a `$ref` stands alone, so the description and default poem-openapi repeats beside it
/// are dropped (the referenced schema carries its own).
fn plain_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let reference = map
                .get("allOf")
                .and_then(|a| a.as_array())
                .and_then(|a| a.first())
                .and_then(|first| first.get("$ref"))
                .cloned();
            if let Some(reference) = reference {
                map.clear();
                map.insert("$ref".into(), reference);
                return;
            }
            map.values_mut().for_each(plain_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(plain_refs),
        _ => {}
    }
}

/// Every operation, as (`METHOD /path`, operation object), for the polishing passes.
fn operations(spec: &mut Value) -> impl Iterator<Item = (String, &mut Value)> {
    spec["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.iter_mut())
        .flat_map(|(path, item)| {
            let path = path.clone();
            item.as_object_mut()
                .into_iter()
                .flat_map(|ops| ops.iter_mut())
                .map(move |(method, op)| (format!("{} {path}", method.to_uppercase()), op))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_lands_on_a_field_of_the_spec() {
        let spec: Value = serde_json::from_str(&spec_json()).unwrap();
        for (schema, property, _) in constraints::fields() {
            let path = format!("/components/schemas/{schema}/properties/{property}");
            let field = spec.pointer(&path);
            assert!(field.is_some_and(Value::is_object), "{path}");
        }
        assert!(!spec.to_string().contains("\"parameters\":null"));
    }

    #[test]
    fn every_operation_has_an_id_and_only_its_own_errors() {
        let mut spec: Value = serde_json::from_str(&spec_json()).unwrap();
        for (op, body) in operations(&mut spec) {
            assert!(body["operationId"].is_string(), "{op} has no operationId");
            let responses = body["responses"].as_object().unwrap();
            assert!(responses.contains_key("503"), "{op}");
            if op == "GET /me" {
                assert!(!responses.contains_key("404") && !responses.contains_key("409"));
            }
        }
    }
}
