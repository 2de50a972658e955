//! The error statuses each operation can really answer. Most follow from its shape: every
//! operation can meet a Redis outage (503); one that needs a token can answer 401, and 403 (a
//! role, a grant, the tenant guard, or a token's scopes); one with parameters or a body 400;
//! with path parameters 404; with a body 413. The rest are listed by operation.

use serde_json::Value;

/// Statuses beyond those the shape implies.
const EXTRA: &[(&str, &[u16])] = &[
    ("login", &[401, 429]),
    ("createUser", &[409]),
    ("deleteUser", &[409]),
    ("setRole", &[409]),
    ("setUserQuota", &[404]),
    ("createTeam", &[409]),
    ("deleteTeam", &[409]),
    ("setGrants", &[404]),
    ("addEngine", &[409, 422]),
    ("runContainer", &[404, 409, 422]),
    ("destroyContainer", &[409]),
    ("startContainer", &[409]),
    ("stopContainer", &[409]),
    ("restartContainer", &[409]),
    ("saveImage", &[409]),
    ("runImage", &[409, 422]),
    ("scaleImage", &[409, 422]),
    ("deleteVolume", &[409]),
    ("addRegistry", &[409]),
];

pub(super) fn per_operation(spec: &mut Value) {
    for (_, op) in super::operations(spec) {
        let keep = statuses(op);
        if let Some(responses) = op["responses"].as_object_mut() {
            responses.retain(|status, _| {
                status
                    .parse::<u16>()
                    .is_ok_and(|s| s < 400 || keep.contains(&s))
            });
        }
    }
}

fn statuses(op: &Value) -> Vec<u16> {
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let body = op.get("requestBody").is_some();
    let mut keep = vec![503];
    if op.get("security").is_some() {
        keep.extend([401, 403]);
    }
    if body || !params.is_empty() {
        keep.push(400);
    }
    if params.iter().any(|p| p["in"] == "path") {
        keep.push(404);
    }
    if body {
        keep.push(413);
    }
    let id = op["operationId"].as_str().unwrap_or_default();
    if let Some((_, extra)) = EXTRA.iter().find(|(op_id, _)| *op_id == id) {
        keep.extend(extra.iter());
    }
    keep
}
