//! The actions clementine performs, one function each. Every function takes the caller
//! ([`Principal`]) first and checks the access policy for the object it touches before doing
//! anything; handlers stay thin and never decide who may do what.

mod audit_log;
mod engines;
mod error;
mod guard;
mod images;
mod inventory;
mod lifecycle;
mod listing;
mod placement;
mod reconcile;
mod replay;
mod run;
mod session;
mod users;
mod validate;

use std::sync::Arc;

pub use audit_log::EventQuery;
pub use error::{ClusterError, Conflict};
pub use lifecycle::{Action, MAX_TAIL};
pub use listing::ContainerFilter;
pub use reconcile::{CLAIM_GRACE, ReconcileReport, SettleReport, spawn_reconciler};
pub use run::{MAX_COUNT, RunOptions};
pub use validate::image_with_tag;

use crate::auth::{Passwords, Principal, Tokens};
use crate::config::PlacementSettings;
use crate::engine::EnginePool;
use crate::events::{Audit, Draft, TailHub};
use crate::store::IndexChange;
use crate::store::Store;

/// Result of a cluster action.
pub type ClusterResult<T> = Result<T, ClusterError>;

/// The services behind the API: state, engines and credentials.
pub struct Cluster {
    pub(crate) store: Store,
    pub(crate) engines: Arc<EnginePool>,
    pub(crate) passwords: Passwords,
    pub(crate) tokens: Tokens,
    pub(crate) placement: PlacementSettings,
    pub(crate) audit: Audit,
    pub(crate) tail: TailHub,
}

impl Cluster {
    pub fn new(
        store: Store,
        engines: Arc<EnginePool>,
        passwords: Passwords,
        tokens: Tokens,
        placement: PlacementSettings,
        audit: Audit,
        tail: TailHub,
    ) -> Self {
        Self {
            store,
            engines,
            passwords,
            tokens,
            placement,
            audit,
            tail,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    pub fn engine_pool(&self) -> &Arc<EnginePool> {
        &self.engines
    }

    pub fn audit(&self) -> &Audit {
        &self.audit
    }
}

impl Cluster {
    /// Runs `work` between an intent and its outcome. `work` is a future, so nothing of it runs
    /// before the intent is written; `describe` may put what the work produced into the
    /// outcome's `detail`.
    pub(crate) async fn audited<T>(
        &self,
        draft: Draft,
        work: impl Future<Output = ClusterResult<T>>,
        describe: impl FnOnce(&T) -> Option<serde_json::Value>,
    ) -> ClusterResult<T> {
        let mut pending = self.audit.intent(draft).await?;
        let result = work.await;
        let error = match &result {
            Ok(value) => {
                if let Some(detail) = describe(value) {
                    pending.draft.detail = Some(detail.to_string());
                }
                None
            }
            Err(e) => Some(e.to_string()),
        };
        self.audit.outcome(pending, error, IndexChange::None).await;
        result
    }
}

/// Shorthand used by every action that is admin-only.
fn admin_only(principal: &Principal) -> ClusterResult<()> {
    principal.require_admin().map_err(ClusterError::from)
}
