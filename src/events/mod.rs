//! The audit stream: every state-changing action as an intent entry, written before the action
//! touches anything, and an outcome entry after, sharing one `op` id.
//!
//! - [`Audit`] appends (intent first; no intent, no action) and retries outcomes that Redis could
//!   not take, in order, until it can;
//! - [`query`] pages through the stream with filters and the visibility rule;
//! - [`tail`] shares one blocking reader per process among all live (SSE) clients;
//! - [`fold`] folds the stream into the set of containers that should exist, for replay;
//! - [`tree`] makes the stream tamper-evident: a Merkle tree, signed checkpoints, proofs.
//!
//! Entries never hold a secret: passwords and tokens never reach this module, and the only
//! request data recorded are names, ids and image configs.

pub mod actions;
mod entry;
pub mod flood;
pub mod fold;
mod outbox;
pub mod query;
pub mod tail;
pub mod tree;

use std::sync::Arc;

pub use entry::{decode, encode};
pub use query::{EventFilter, Order};
pub use tail::TailHub;

use crate::auth::{Principal, Via};
use crate::shutdown::Shutdown;
use crate::store::{IndexChange, Store, StoreError};
use crate::time::{now_ms, rfc3339_ms};

/// The audit log could not take an intent: the action must not happen.
#[derive(Debug, thiserror::Error)]
#[error("the audit log is unavailable, so the action was refused: {0}")]
pub struct AuditUnavailable(#[source] pub StoreError);

/// What an entry says, before it has an id. Both halves of an action carry the same draft; the
/// outcome adds what the action learned (engine, container) and how it ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    pub action: &'static str,
    pub actor: String,
    pub role: Option<&'static str>,
    pub engine: Option<String>,
    pub container: Option<String>,
    pub name: Option<String>,
    pub owner: Option<String>,
    /// The team that owns what the action is about, when a team does.
    pub team: Option<String>,
    pub target: Option<String>,
    pub image: Option<String>,
    pub request_id: Option<String>,
    /// The API token the request came with, by id.
    pub token: Option<String>,
    /// The front door the request came in by (`api`, `docker`).
    pub via: Option<&'static str>,
    pub op: String,
    pub ref_op: Option<String>,
    pub detail: Option<String>,
}

impl Draft {
    /// A draft for an action by this caller, with a fresh op id.
    pub fn by(principal: &Principal, action: &'static str) -> Self {
        Draft {
            action,
            actor: principal.username.clone(),
            role: Some(principal.role.as_str()),
            request_id: principal.request_id.clone(),
            token: principal.token.as_ref().map(|t| t.id.clone()),
            via: Some(principal.via.as_str()),
            op: uuid::Uuid::now_v7().to_string(),
            ..Default::default()
        }
    }

    pub fn engine(mut self, id: &str) -> Self {
        self.engine = Some(id.to_string());
        self
    }

    pub fn target(mut self, target: &str) -> Self {
        self.target = Some(target.to_string());
        self
    }

    pub fn team(mut self, team: &str) -> Self {
        self.team = Some(team.to_string());
        self
    }

    pub fn owner(mut self, owner: &str) -> Self {
        self.owner = Some(owner.to_string());
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail.to_string());
        self
    }
}

impl Draft {
    /// The draft an intent entry was written from, so that an outcome written later (by the
    /// reconcile pass) mirrors it.
    pub fn from_intent(e: &crate::domain::AuditEvent) -> Option<Self> {
        Some(Draft {
            action: actions::named(&e.action)?,
            actor: e.actor.clone(),
            role: e
                .role
                .as_deref()
                .and_then(crate::domain::Role::parse)
                .map(|r| r.as_str()),
            engine: e.engine.clone(),
            container: e.container.clone(),
            name: e.name.clone(),
            owner: e.owner.clone(),
            team: e.team.clone(),
            target: e.target.clone(),
            image: e.image.clone(),
            request_id: e.request_id.clone(),
            token: e.token.clone(),
            via: match e.via.as_deref() {
                Some("docker") => Some(Via::Docker.as_str()),
                Some("api") => Some(Via::Api.as_str()),
                _ => None,
            },
            op: e.op.clone(),
            ref_op: e.ref_op.clone(),
            detail: e.detail.clone(),
        })
    }
}

/// An action whose intent is recorded and whose outcome is due.
#[derive(Debug, Clone)]
pub struct Pending {
    pub draft: Draft,
}

/// Appends to the audit stream.
#[derive(Clone)]
pub struct Audit {
    store: Store,
    max_len: Option<u64>,
    outbox: outbox::Outbox,
    flood: std::sync::Arc<flood::FloodGate>,
}

impl Audit {
    /// `max_len`: trim the stream to about this many entries; `None` keeps everything. The
    /// outbox worker stops once `shutdown` closes, after writing what it holds; the flood
    /// gate's summaries are written every few seconds, and all of them once shutdown begins.
    pub fn new(store: Store, max_len: Option<u64>, shutdown: Shutdown) -> Self {
        let outbox = outbox::Outbox::spawn(store.clone(), max_len, shutdown.clone());
        let audit = Self {
            store,
            max_len,
            outbox,
            flood: Default::default(),
        };
        let flusher = audit.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {
                        flusher.flush_refusals(false).await;
                    }
                    _ = shutdown.begun() => break,
                }
            }
            flusher.flush_refusals(true).await;
        });
        audit
    }

    /// Whether to write a refusal (`action` from `client`) one by one: the flood gate's
    /// answer (see [`flood`]). Summaries of this client's ended windows are written first.
    pub async fn admit_refusal(&self, action: &'static str, client: &str) -> bool {
        let (admit, ended) = self.flood.admit(action, client, now_ms());
        for summary in ended {
            self.write_summary(summary).await;
        }
        admit == flood::Admit::Write
    }

    /// Writes the summaries of every flood window ended by now (`all`: every window, at
    /// shutdown).
    pub async fn flush_refusals(&self, all: bool) {
        let now = if all { u64::MAX } else { now_ms() };
        for summary in self.flood.due(now) {
            self.write_summary(summary).await;
        }
    }

    async fn write_summary(&self, s: flood::Summary) {
        let detail = serde_json::json!({
            "count": s.count,
            "client": s.client,
            "since": rfc3339_ms(s.since_ms),
            "until": rfc3339_ms(s.until_ms),
        });
        let draft = Draft {
            action: s.action,
            actor: "clementine".into(),
            target: Some(s.client.clone()),
            op: uuid::Uuid::now_v7().to_string(),
            detail: Some(detail.to_string()),
            ..Default::default()
        };
        let reason = format!(
            "{} more from {} counted, not written one by one",
            s.count, s.client
        );
        self.single(draft, &reason).await
    }

    /// Records the intent. When Redis cannot take it the action must not go ahead.
    pub async fn intent(&self, draft: Draft) -> Result<Pending, AuditUnavailable> {
        let fields = encode(
            &draft,
            Some(crate::domain::Phase::Intent),
            None,
            &rfc3339_ms(now_ms()),
        );
        self.store
            .append_intent(&draft.op, &fields, self.max_len)
            .await
            .map_err(AuditUnavailable)?;
        Ok(Pending { draft })
    }

    /// Records the outcome: `error` is `None` for success. Never fails: when Redis cannot take
    /// it now, the entry is queued and retried in order until it can (and the reconcile pass
    /// settles intents whose outcome was lost with the process).
    pub async fn outcome(&self, pending: Pending, error: Option<String>, index: IndexChange) {
        let Pending { draft } = pending;
        let fields = encode(
            &draft,
            Some(crate::domain::Phase::Outcome),
            Some(error.as_deref()),
            &rfc3339_ms(now_ms()),
        );
        self.append_or_queue(draft, fields, index).await
    }

    /// A single entry with no pair and no phase (a denied attempt: nothing was done), with the
    /// reason as its error. Never fails, like an outcome.
    pub async fn single(&self, draft: Draft, reason: &str) {
        let fields = encode(&draft, None, Some(Some(reason)), &rfc3339_ms(now_ms()));
        self.append_or_queue(draft, fields, IndexChange::None).await
    }

    async fn append_or_queue(
        &self,
        draft: Draft,
        fields: crate::store::Fields,
        index: IndexChange,
    ) {
        if self.outbox.is_empty() {
            match self
                .store
                .append_outcome(&draft.op, &fields, &index, self.max_len)
                .await
            {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(op = %draft.op, error = %e, "audit outcome queued for retry")
                }
            }
        }
        self.outbox.push(draft.op, fields, index);
    }

    /// An action with nothing to wait for between its halves (a failed login).
    pub async fn record(
        &self,
        draft: Draft,
        error: Option<String>,
    ) -> Result<(), AuditUnavailable> {
        let pending = self.intent(draft).await?;
        self.outcome(pending, error, IndexChange::None).await;
        Ok(())
    }

    /// Outcomes waiting for Redis.
    pub fn queued(&self) -> usize {
        self.outbox.len()
    }

    /// Waits until every queued outcome is written (tests, shutdown).
    pub async fn flush(&self) {
        self.outbox.flush().await
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// Shared handle used by the cluster.
pub type SharedAudit = Arc<Audit>;
