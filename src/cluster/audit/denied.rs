//! Denied attempts in the audit log: every 403 (a role check, the tenant guard, a grant or
//! token-scope check) becomes one `auth.denied` entry, so auditors see probing as it happens.

use super::Cluster;
use crate::auth::Principal;
use crate::events::{Draft, actions};

impl Cluster {
    /// Records a refused request: `route` is `METHOD /path`, `object` what it named (the path,
    /// which carries the ids), `reason` the refusal as answered. Never fails the request; an
    /// entry Redis cannot take now is queued like an outcome. A flood from one client is
    /// written up to an allowance, then counted (see `events::flood`).
    pub async fn record_denied(
        &self,
        caller: Option<&Principal>,
        client: &str,
        route: &str,
        object: &str,
        reason: &str,
    ) {
        let mut draft = match caller {
            Some(principal) => Draft::by(principal, actions::AUTH_DENIED),
            None => Draft {
                action: actions::AUTH_DENIED,
                actor: "anonymous".into(),
                op: uuid::Uuid::now_v7().to_string(),
                ..Default::default()
            },
        };
        draft.target = Some(object.to_string());
        draft.detail = Some(serde_json::json!({ "route": route, "client": client }).to_string());
        tracing::info!(actor = %draft.actor, %route, %reason, %client, "request denied");
        if self.audit.admit_refusal(actions::AUTH_DENIED, client).await {
            self.audit.single(draft, reason).await;
        }
    }
}
