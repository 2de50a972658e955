//! The engines' answers in the caller's words: engine-side names (`clm.<tag>.<len>.<owner>.<name>`)
//! become the names the owner gave, and clementine's own labels are not shown. Everything else
//! is the engine's answer as it is, so tools read the fields they expect.

use serde_json::{Map, Value};

use crate::domain::{RESERVED_LABEL_PREFIX, Scope};

/// Rewrites every engine-side name in `value`, in strings and in map keys, including names
/// inside paths and `source:target` pairs; removes clementine's labels from `Labels` maps.
pub fn in_callers_words(scope: &Scope, value: &mut Value) {
    match value {
        Value::String(s) => *s = rename(scope, s),
        Value::Array(items) => items.iter_mut().for_each(|i| in_callers_words(scope, i)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (key, mut v) in old {
                if key == "Labels"
                    && let Value::Object(labels) = &mut v
                {
                    labels.retain(|k, _| !k.starts_with(RESERVED_LABEL_PREFIX));
                    map.insert(key, v);
                    continue;
                }
                in_callers_words(scope, &mut v);
                map.insert(rename(scope, &key), v);
            }
        }
        _ => {}
    }
}

/// `text` with each engine-side name among its `/`- and `:`-separated parts replaced.
fn rename(scope: &Scope, text: &str) -> String {
    if !text.contains("clm.") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut part = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if c == '/' || c == ':' || c == '\0' {
            match scope.parse(&part) {
                Some((_, given)) => out.push_str(&given),
                None => out.push_str(&part),
            }
            part.clear();
            if c != '\0' {
                out.push(c);
            }
        } else {
            part.push(c);
        }
    }
    out
}

/// Docker's `filters` query: `{"label": ["a=b"]}`, or the old `{"label": {"a=b": true}}`.
pub fn parse_filters(raw: Option<&str>) -> Result<Map<String, Value>, String> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(Map::new());
    };
    let parsed: Map<String, Value> =
        serde_json::from_str(raw).map_err(|e| format!("filters: not a JSON object: {e}"))?;
    let mut out = Map::new();
    for (key, v) in parsed {
        let values: Vec<Value> = match v {
            Value::Array(items) => items,
            Value::Object(set) => set.into_iter().map(|(k, _)| Value::String(k)).collect(),
            _ => return Err(format!("filters: {key} must be a list")),
        };
        out.insert(key, Value::Array(values));
    }
    Ok(out)
}

/// The strings of one filter.
pub fn filter_values<'a>(filters: &'a Map<String, Value>, key: &str) -> Vec<&'a str> {
    (filters
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten())
    .filter_map(Value::as_str)
    .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_and_labels_are_the_owner_s() {
        let scope = Scope::of_deployment("t:");
        let net = scope.name("ann", "shop_default");
        let vol = scope.name("team:ops", "data");
        let mut v = json!({
            "Name": format!("/{}", scope.name("ann", "web")),
            "HostConfig": {"NetworkMode": net, "Binds": [format!("{vol}:/data:ro")]},
            "NetworkSettings": {"Networks": {net.clone(): {"Aliases": ["web"]}}},
            "Config": {"Labels": {"clementine.owner": "ann", "app": "shop"}},
            "Mounts": [{"Source": format!("/var/lib/docker/volumes/{vol}/_data")}],
        });
        in_callers_words(&scope, &mut v);
        assert_eq!(v["Name"], "/web");
        assert_eq!(v["HostConfig"]["NetworkMode"], "shop_default");
        assert_eq!(v["HostConfig"]["Binds"][0], "data:/data:ro");
        assert!(v["NetworkSettings"]["Networks"]["shop_default"].is_object());
        assert_eq!(v["Config"]["Labels"], json!({"app": "shop"}));
        assert_eq!(
            v["Mounts"][0]["Source"],
            "/var/lib/docker/volumes/data/_data"
        );
    }

    #[test]
    fn other_deployments_names_stay() {
        let ours = Scope::of_deployment("a:");
        let theirs = Scope::of_deployment("b:").name("ann", "web");
        let mut v = json!({ "Name": theirs.clone() });
        in_callers_words(&ours, &mut v);
        assert_eq!(v["Name"], theirs);
    }

    #[test]
    fn filters_in_both_shapes() {
        let new = parse_filters(Some(r#"{"label":["a=b"],"status":["running"]}"#)).unwrap();
        let old = parse_filters(Some(r#"{"label":{"a=b":true}}"#)).unwrap();
        assert_eq!(filter_values(&new, "label"), vec!["a=b"]);
        assert_eq!(filter_values(&old, "label"), vec!["a=b"]);
        assert!(parse_filters(Some("[1]")).is_err());
    }
}
