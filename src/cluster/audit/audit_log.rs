//! Reading the audit log: pages and the live tail, under the visibility rule (admins see every
//! entry; users the entries of their own actions and about their own containers).

use std::sync::Arc;

use futures::Stream;

use super::{Cluster, ClusterResult};
use crate::auth::Principal;
use crate::domain::{AuditEvent, EventPage, InvalidInput};
use crate::events::query::{self, EventFilter, MAX_LIMIT, Order, parse_bound};
use crate::events::tail::{Caller, Recheck};

/// A query as the API receives it.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub engine: Option<String>,
    pub container: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

impl EventQuery {
    fn filter(&self, principal: &Principal) -> Result<EventFilter, InvalidInput> {
        let filter = EventFilter {
            action: self.action.clone(),
            actor: self.actor.clone(),
            engine: self.engine.clone(),
            container: self.container.clone(),
            outcome: self.outcome.clone(),
            since: self
                .since
                .as_deref()
                .map(|s| parse_bound("since", s))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|u| parse_bound("until", u))
                .transpose()?,
            visible_to: principal.visible_owners(),
        };
        filter.check_outcome()?;
        Ok(filter)
    }
}

impl Cluster {
    /// One page of the log.
    pub async fn events(
        &self,
        principal: &Principal,
        q: &EventQuery,
        order: Order,
        limit: usize,
        cursor: Option<&str>,
    ) -> ClusterResult<EventPage> {
        let filter = q.filter(principal)?;
        if limit == 0 || limit > MAX_LIMIT {
            return Err(InvalidInput::new("limit", format!("must be 1 to {MAX_LIMIT}")).into());
        }
        let cursor = cursor.map(|c| parse_bound("cursor", c)).transpose()?;
        Ok(query::page(&self.store, &filter, order, limit, cursor.as_deref()).await?)
    }

    /// The live tail, from after `after` (a stream id; `None`: from now on). It ends when its
    /// caller may no longer be served as they were: checked every second, and at once, in
    /// stream order, at every entry that changes who may see what (a delete, revoke or role
    /// change on any replica), so no entry after such a change reaches them.
    pub async fn follow_events(
        self: &Arc<Self>,
        principal: &Principal,
        q: &EventQuery,
        after: Option<&str>,
    ) -> ClusterResult<impl Stream<Item = AuditEvent> + Send + 'static> {
        let filter = q.filter(principal)?;
        let after = after.map(|a| parse_bound("Last-Event-ID", a)).transpose()?;
        let (cluster, caller) = (self.clone(), principal.clone());
        let recheck: Recheck = Arc::new(move || {
            let (cluster, caller) = (cluster.clone(), caller.clone());
            Box::pin(async move { cluster.still_allowed(&caller).await })
        });
        let caller = Caller {
            recheck,
            ends_ms: principal.credential_ends_ms(),
        };
        Ok(self.tail.follow(filter, after, caller).await?)
    }

    /// Live tail clients of this process.
    pub fn tail_clients(&self) -> usize {
        self.tail.clients()
    }
}
