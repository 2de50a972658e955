//! The limits the server checks, written into the request schemas from the same constants the
//! checks use, so a client can validate before it sends.

use serde_json::{Value, json};

use crate::cluster::{MAX_COUNT, MAX_GRACE_SECS, MAX_REF, MAX_TAIL};
use crate::domain::{
    MAX_CPUS, MAX_IMAGE_REF, MAX_ITEM, MAX_LABEL_LEN, MAX_LABELS, MAX_LIST, MAX_MEMORY_MB,
    MAX_NAME_LEN, MAX_OBJECT_NAME, MAX_PASSWORD_LEN, MAX_QUOTA_COUNT, MIN_CPUS, MIN_MEMORY_MB,
    MIN_PASSWORD_LEN,
};
use crate::events::query::MAX_LIMIT;

/// Ids and names: what `domain::names` and `domain::scope` accept.
const NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]*$";

fn name(max: usize) -> Value {
    json!({"pattern": NAME_PATTERN, "minLength": 1, "maxLength": max})
}

fn list(max_items: usize, item: Value) -> Value {
    json!({"maxItems": max_items, "items": item})
}

/// (schema, property, constraints) for request bodies.
pub(super) fn fields() -> Vec<(&'static str, &'static str, Value)> {
    let label = json!({"minLength": 1, "maxLength": MAX_LABEL_LEN});
    let item = json!({"maxLength": MAX_ITEM});
    let cpus = json!({"minimum": MIN_CPUS, "maximum": MAX_CPUS});
    let ips = json!({"minItems": 1, "maxItems": crate::domain::MAX_PUBLISH_IPS});
    vec![
        (
            "Credentials",
            "username",
            json!({"maxLength": MAX_NAME_LEN}),
        ),
        (
            "Credentials",
            "password",
            json!({"maxLength": MAX_PASSWORD_LEN}),
        ),
        ("NewUser", "username", name(MAX_NAME_LEN)),
        (
            "NewUser",
            "password",
            json!({"minLength": MIN_PASSWORD_LEN, "maxLength": MAX_PASSWORD_LEN}),
        ),
        (
            "PasswordChange",
            "new_password",
            json!({"minLength": MIN_PASSWORD_LEN, "maxLength": MAX_PASSWORD_LEN}),
        ),
        ("Grants", "engines", list(1024, name(MAX_NAME_LEN))),
        ("NewEngine", "id", name(MAX_NAME_LEN)),
        (
            "NewEngine",
            "addr",
            json!({"pattern": "^https://", "maxLength": 256}),
        ),
        ("NewEngine", "labels", list(MAX_LABELS, label.clone())),
        ("NewEngine", "cpus", cpus.clone()),
        (
            "NewEngine",
            "memory",
            json!({"minimum": 1, "maximum": MAX_MEMORY_MB}),
        ),
        ("NewEngine", "publish_ips", ips.clone()),
        ("EnginePatch", "publish_ips", ips),
        ("EnginePatch", "labels", list(MAX_LABELS, label.clone())),
        ("EnginePatch", "cpus", cpus.clone()),
        (
            "EnginePatch",
            "memory",
            json!({"minimum": 1, "maximum": MAX_MEMORY_MB}),
        ),
        ("NewSavedImage", "name", name(MAX_NAME_LEN)),
        ("NewToken", "name", name(MAX_OBJECT_NAME)),
        ("NewToken", "scopes", json!({"minItems": 1})),
        (
            "NewToken",
            "expires_in_secs",
            json!({"minimum": 60, "maximum": crate::domain::MAX_TOKEN_SECS}),
        ),
        (
            "ScaleRequest",
            "instances",
            json!({"minimum": 0, "maximum": MAX_COUNT}),
        ),
        (
            "ImageConfig",
            "name",
            json!({"pattern": "^[A-Za-z0-9_][A-Za-z0-9._/:@-]*$", "minLength": 1, "maxLength": MAX_IMAGE_REF}),
        ),
        ("ImageConfig", "labels", list(MAX_LABELS, label)),
        ("ImageConfig", "args", list(MAX_LIST, item.clone())),
        ("ImageConfig", "entrypoint", list(MAX_LIST, item.clone())),
        (
            "ImageConfig",
            "volumes",
            list(
                MAX_LIST,
                json!({"pattern": "^[^:]+(:/[^:]*)?(:ro|:rw)?$", "maxLength": MAX_ITEM}),
            ),
        ),
        ("ImageConfig", "cap_add", list(MAX_LIST, item.clone())),
        ("ImageConfig", "devices", list(MAX_LIST, item)),
        (
            "ImageConfig",
            "environment",
            json!({"maxProperties": MAX_LIST, "additionalProperties": {"type": "string", "maxLength": MAX_ITEM}}),
        ),
        (
            "ImageConfig",
            "hostname",
            json!({"pattern": "^[A-Za-z0-9][A-Za-z0-9.-]*$", "maxLength": 63}),
        ),
        (
            "ImageConfig",
            "domain",
            json!({"pattern": "^[A-Za-z0-9][A-Za-z0-9.-]*$", "maxLength": 253}),
        ),
        ("ImageConfig", "cpus", cpus),
        (
            "ImageConfig",
            "memory",
            json!({"minimum": MIN_MEMORY_MB, "maximum": MAX_MEMORY_MB}),
        ),
        ("ImageConfig", "bind_ports", json!({"maxItems": 64})),
        (
            "ImageConfig",
            "network_mode",
            json!({"minLength": 1, "maxLength": 128}),
        ),
        ("ImageConfig", "container_name", name(128)),
        (
            "ImageConfig",
            "working_dir",
            json!({"pattern": "^/", "maxLength": MAX_ITEM}),
        ),
        (
            "ImageConfig",
            "user",
            json!({"pattern": "^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$", "maxLength": 256}),
        ),
        (
            "ImageConfig",
            "network_aliases",
            list(16, name(MAX_OBJECT_NAME)),
        ),
        (
            "ImageConfig",
            "container_labels",
            json!({"maxProperties": MAX_LIST, "additionalProperties": {"maxLength": MAX_ITEM}}),
        ),
        ("BindPort", "proto", json!({"enum": ["tcp", "udp", "sctp"]})),
        ("BindPort", "port", json!({"minimum": 1})),
        ("BindPort", "container_port", json!({"minimum": 1})),
        (
            "RestartPolicy",
            "name",
            json!({"enum": ["", "no", "always", "unless-stopped", "on-failure"]}),
        ),
        (
            "QuotaLimits",
            "cpus",
            json!({"minimum": 0, "maximum": MAX_CPUS * 1000.0}),
        ),
        (
            "QuotaLimits",
            "memory",
            json!({"minimum": 0, "maximum": MAX_MEMORY_MB * 1000}),
        ),
        (
            "QuotaLimits",
            "containers",
            json!({"minimum": 0, "maximum": MAX_QUOTA_COUNT}),
        ),
        (
            "QuotaLimits",
            "volumes",
            json!({"minimum": 0, "maximum": MAX_QUOTA_COUNT}),
        ),
        (
            "QuotaLimits",
            "published_ports",
            json!({"minimum": 0, "maximum": MAX_QUOTA_COUNT}),
        ),
        (
            "RestartPolicy",
            "maximum_retry",
            json!({"minimum": 0, "maximum": 1000}),
        ),
    ]
}

/// (parameter name, constraints) for path and query parameters, wherever they appear.
fn parameters() -> Vec<(&'static str, Value)> {
    vec![
        ("id", name(MAX_NAME_LEN)),
        ("name", name(MAX_OBJECT_NAME)),
        ("cid", name(MAX_REF)),
        ("engine", name(MAX_NAME_LEN)),
        ("config", name(MAX_NAME_LEN)),
        ("count", json!({"minimum": 1, "maximum": MAX_COUNT})),
        ("tail", json!({"minimum": 1, "maximum": MAX_TAIL})),
        ("t", json!({"minimum": 0, "maximum": MAX_GRACE_SECS})),
        ("limit", json!({"minimum": 1, "maximum": MAX_LIMIT})),
        ("strategy", json!({"enum": ["binpack", "spread"]})),
        ("order", json!({"enum": ["asc", "desc"]})),
        ("outcome", json!({"enum": ["ok", "error"]})),
        (
            "state",
            json!({"enum": ["created", "running", "paused", "restarting", "removing", "exited", "dead"]}),
        ),
    ]
}

pub(super) fn apply(spec: &mut Value) {
    for (schema, property, limits) in fields() {
        let path = format!("/components/schemas/{schema}/properties/{property}");
        let target = spec.pointer_mut(&path);
        // A field renamed in the code without this table would silently lose its limits.
        debug_assert!(target.is_some(), "{path} is not in the spec");
        if let Some(target) = target {
            merge(target, &limits);
        }
    }
    let limits = parameters();
    for (_, op) in super::operations(spec) {
        let params = op.get_mut("parameters").and_then(Value::as_array_mut);
        for param in params.into_iter().flatten() {
            let name = param["name"].as_str().unwrap_or_default().to_string();
            if let Some((_, l)) = limits.iter().find(|(n, _)| *n == name) {
                merge(&mut param["schema"], l);
            }
        }
    }
}

/// Adds `limits` to a schema object (an `items` or `additionalProperties` limit into its own).
fn merge(target: &mut Value, limits: &Value) {
    let (Some(target), Some(limits)) = (target.as_object_mut(), limits.as_object()) else {
        return;
    };
    for (key, value) in limits {
        match (key.as_str(), target.get_mut(key)) {
            ("items" | "additionalProperties", Some(inner)) => merge(inner, value),
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}
