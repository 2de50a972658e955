//! How an entry is laid out in the stream: one field per attribute, absent when empty.
//!
//! | field        | meaning                                                                 |
//! |--------------|-------------------------------------------------------------------------|
//! | `action`     | `container.schedule`, `engine.add`, `auth.login_failed` ...             |
//! | `phase`      | `intent` or `outcome`; absent on single entries (`auth.denied`)        |
//! | `actor`      | username (the name tried, for failed logins)                            |
//! | `role`       | the actor's role                                                        |
//! | `engine`, `container`, `name`, `owner` | where and what, for container actions         |
//! | `target`     | the user, engine or saved config acted on                               |
//! | `image`      | the image config, JSON                                                  |
//! | `outcome`    | `ok` or `error` (outcomes only)                                         |
//! | `error`      | the error message                                                       |
//! | `request_id` | the HTTP request                                                        |
//! | `token`      | the id of the API token the request came with (never its text)         |
//! | `via`        | the front door: `api` (`/apiv1`) or `docker` (the Docker API listener)  |
//! | `op`         | shared by an intent and its outcome; the container's `clementine.op`    |
//! | `ref_op`     | for destroys and reschedules, the op that scheduled the container       |
//! | `detail`     | JSON with anything else                                                 |
//! | `time`       | RFC 3339, milliseconds                                                  |

use super::Draft;
use crate::domain::{AuditEvent, Phase};
use crate::store::{Fields, StoredEntry};

/// Stream fields of one half of an action. `error` is `Some(None)` for a successful outcome,
/// `Some(Some(msg))` for a failed one, `None` for an intent.
pub fn encode(
    draft: &Draft,
    phase: Option<Phase>,
    error: Option<Option<&str>>,
    time: &str,
) -> Fields {
    let mut f: Fields = vec![("action", draft.action.to_string())];
    if let Some(phase) = phase {
        f.push(("phase", phase.as_str().to_string()));
    }
    f.push(("actor", draft.actor.clone()));
    let mut opt = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            f.push((k, v.clone()));
        }
    };
    opt("role", &draft.role.map(str::to_string));
    opt("engine", &draft.engine);
    opt("container", &draft.container);
    opt("name", &draft.name);
    opt("owner", &draft.owner);
    opt("team", &draft.team);
    opt("target", &draft.target);
    opt("image", &draft.image);
    opt("request_id", &draft.request_id);
    opt("token", &draft.token);
    opt("via", &draft.via.map(str::to_string));
    opt("ref_op", &draft.ref_op);
    opt("detail", &draft.detail);
    if let Some(result) = error {
        f.push((
            "outcome",
            if result.is_some() { "error" } else { "ok" }.to_string(),
        ));
        if let Some(message) = result {
            f.push(("error", message.to_string()));
        }
    }
    f.push(("op", draft.op.clone()));
    f.push(("time", time.to_string()));
    f
}

/// An entry read back from the stream.
pub fn decode((id, mut f): StoredEntry) -> AuditEvent {
    let mut take = |k: &str| f.remove(k);
    AuditEvent {
        id,
        action: take("action").unwrap_or_default(),
        phase: take("phase").and_then(|p| match p.as_str() {
            "intent" => Some(Phase::Intent),
            "outcome" => Some(Phase::Outcome),
            _ => None,
        }),
        actor: take("actor").unwrap_or_default(),
        role: take("role"),
        engine: take("engine"),
        container: take("container"),
        name: take("name"),
        owner: take("owner"),
        team: take("team"),
        target: take("target"),
        image: take("image"),
        outcome: take("outcome"),
        error: take("error"),
        request_id: take("request_id"),
        token: take("token"),
        via: take("via"),
        op: take("op").unwrap_or_default(),
        ref_op: take("ref_op"),
        detail: take("detail"),
        time: take("time").unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn as_map(fields: &Fields) -> HashMap<String, String> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn round_trip() {
        let draft = Draft {
            action: "container.schedule",
            actor: "ann".into(),
            role: Some("user"),
            engine: Some("e1".into()),
            op: "op1".into(),
            ..Default::default()
        };
        let fields = encode(&draft, Some(Phase::Outcome), Some(Some("boom")), "t");
        let event = decode(("1-0".into(), as_map(&fields)));
        assert_eq!(event.id, "1-0");
        assert_eq!(event.action, "container.schedule");
        assert_eq!(event.phase, Some(Phase::Outcome));
        assert_eq!(event.outcome.as_deref(), Some("error"));
        assert_eq!(event.error.as_deref(), Some("boom"));
        assert_eq!(event.engine.as_deref(), Some("e1"));
        assert_eq!(event.container, None);
        let intent = encode(&draft, Some(Phase::Intent), None, "t");
        assert!(!as_map(&intent).contains_key("outcome"));
    }
}
