//! The one path every state-changing action takes: intent → work → outcome.
//!
//! The intent is appended before the work starts (no intent, no action: when Redis cannot take
//! it the caller gets 503 and nothing is touched); the outcome after, with what the work
//! produced, and with the change it makes to the container index, in one Redis step.

use super::{Cluster, ClusterResult};
use crate::events::Draft;
use crate::store::IndexChange;
use crate::telemetry::clock::phase;

/// What a successful action adds to its outcome entry.
#[derive(Debug, Default)]
pub(crate) struct Settle {
    /// JSON for the outcome's `detail`.
    pub detail: Option<serde_json::Value>,
    /// The work succeeded as a call but fell short (a scale that did not reach its count).
    pub error: Option<String>,
    pub index: IndexChange,
}

impl Settle {
    pub fn detail(detail: serde_json::Value) -> Self {
        Self {
            detail: Some(detail),
            ..Default::default()
        }
    }
}

/// For actions whose success adds nothing to the outcome.
pub(crate) fn plain<T>(_: &T, _: &mut Draft) -> Settle {
    Settle::default()
}

impl Cluster {
    /// Runs `work` between an intent and its outcome. `work` is a future, so nothing of it runs
    /// before the intent is written. On success `settle` may fill in the outcome's draft (the
    /// engine and container the work chose) and say what else the outcome records.
    pub(crate) async fn audited<T>(
        &self,
        draft: Draft,
        work: impl Future<Output = ClusterResult<T>>,
        settle: impl FnOnce(&T, &mut Draft) -> Settle,
    ) -> ClusterResult<T> {
        let pending = phase("intent", self.audit.intent(draft)).await?;
        let result = work.await;
        self.write_outcome(pending, result, settle).await
    }

    /// As [`Cluster::audited`], with `read` run beside the intent and its answer handed to the
    /// work: Redis gets both in one round trip (a run's placement snapshot costs none of its
    /// own). `read` only reads: nothing may change before the intent is in. A failed read is
    /// the action's failure, and its outcome says so.
    pub(crate) async fn audited_reading<R, T, W>(
        &self,
        draft: Draft,
        read: impl Future<Output = ClusterResult<R>>,
        work: impl FnOnce(R) -> W,
        settle: impl FnOnce(&T, &mut Draft) -> Settle,
    ) -> ClusterResult<T>
    where
        W: Future<Output = ClusterResult<T>>,
    {
        let (pending, read) = futures::join!(phase("intent", self.audit.intent(draft)), read);
        let pending = pending?;
        let result = match read {
            Ok(answer) => work(answer).await,
            Err(e) => Err(e),
        };
        self.write_outcome(pending, result, settle).await
    }

    /// The outcome of an action whose intent is `pending`: what `settle` makes of a success,
    /// or the error.
    async fn write_outcome<T>(
        &self,
        mut pending: crate::events::Pending,
        result: ClusterResult<T>,
        settle: impl FnOnce(&T, &mut Draft) -> Settle,
    ) -> ClusterResult<T> {
        let (error, index) = match &result {
            Ok(value) => {
                let settled = settle(value, &mut pending.draft);
                if let Some(detail) = settled.detail {
                    pending.draft.detail = Some(detail.to_string());
                }
                (settled.error, settled.index)
            }
            Err(e) => (Some(e.to_string()), IndexChange::None),
        };
        phase("outcome", self.audit.outcome(pending, error, index)).await;
        result
    }
}
