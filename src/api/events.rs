//! The audit log: query with cursor paging, and the live tail as Server-Sent Events.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use poem::web::Data;
use poem::web::sse::Event;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::EventStream;
use poem_openapi::types::ToJSON;
use poem_openapi::{OpenApi, Tags};

use super::response::ok;
use super::security::Auth;
use super::{ApiError, ApiResult};
use crate::cluster::{Cluster, ClusterError, EventQuery};
use crate::domain::{AuditEvent, EventPage, InvalidInput, ReplayPlan};
use crate::events::Order;

#[derive(Tags)]
enum Tag {
    /// The audit log of every state-changing action.
    Events,
}

/// Heartbeat comment interval on the live tail, so proxies keep it open.
const HEARTBEAT: Duration = Duration::from_secs(15);

pub struct EventsApi;

#[allow(clippy::too_many_arguments)]
#[OpenApi(tag = "Tag::Events")]
impl EventsApi {
    /// Audit entries, newest first by default. Admins see every entry; users the entries of
    /// their own actions and about their own containers. Pass `next` back as `cursor` for the
    /// next page.
    #[oai(path = "/events", method = "get", operation_id = "listEvents")]
    async fn list(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        /// Only this action (`container.schedule`), or a prefix ending in `.` (`container.`).
        action: Query<Option<String>>,
        /// Only this actor.
        actor: Query<Option<String>>,
        /// Only this engine.
        engine: Query<Option<String>>,
        /// Only this container id.
        container: Query<Option<String>>,
        /// Only outcomes `ok` or `error`.
        outcome: Query<Option<String>>,
        /// From this stream id or RFC 3339 time (inclusive).
        since: Query<Option<String>>,
        /// Up to this stream id or RFC 3339 time (inclusive).
        until: Query<Option<String>>,
        /// Entries per page, 1 to 1000 (default 100).
        limit: Query<Option<usize>>,
        /// `desc` (newest first, default) or `asc`.
        order: Query<Option<String>>,
        /// The `next` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<EventPage> {
        let q = EventQuery {
            action: action.0,
            actor: actor.0,
            engine: engine.0,
            container: container.0,
            outcome: outcome.0,
            since: since.0,
            until: until.0,
        };
        let order = match order.0.as_deref() {
            None | Some("desc") => Order::Desc,
            Some("asc") => Order::Asc,
            Some(_) => {
                return Err(
                    ClusterError::from(InvalidInput::new("order", "must be asc or desc")).into(),
                );
            }
        };
        let page = cluster
            .events(
                &auth.0,
                &q,
                order,
                limit.0.unwrap_or(100),
                cursor.0.as_deref(),
            )
            .await?;
        ok(page)
    }

    /// Replay the log (admin): fold it into the containers that should exist, compare with the
    /// engines, and plan where each missing one would go. A dry run unless `apply=true`, which
    /// places them again (`container.reschedule` entries), restores engines and reservations,
    /// and rebuilds the container index.
    #[oai(path = "/replay", method = "post", operation_id = "replay")]
    async fn replay(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        /// Carry the plan out.
        apply: Query<Option<bool>>,
    ) -> ApiResult<ReplayPlan> {
        ok(cluster.replay(&auth.0, apply.0.unwrap_or(false)).await?)
    }

    /// Follow the audit log live as Server-Sent Events (`id:` the stream id, `event:` the
    /// action, `data:` the entry as JSON), with a heartbeat comment every 15 s. Reconnect with
    /// `Last-Event-ID` (or `?since=<id>`) to get exactly the entries missed; without either,
    /// the stream starts at the next entry. Same filters and visibility as `GET /events`.
    #[oai(path = "/events/stream", method = "get", operation_id = "streamEvents")]
    async fn stream(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        /// Resume after this stream id (sent by browsers on reconnect).
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
        /// Resume after this stream id (when the header cannot be set).
        since: Query<Option<String>>,
        action: Query<Option<String>>,
        actor: Query<Option<String>>,
        engine: Query<Option<String>>,
        container: Query<Option<String>>,
        outcome: Query<Option<String>>,
    ) -> Result<EventStream<BoxStream<'static, AuditEvent>>, ApiError> {
        let q = EventQuery {
            action: action.0,
            actor: actor.0,
            engine: engine.0,
            container: container.0,
            outcome: outcome.0,
            ..Default::default()
        };
        let after = last_event_id.0.or(since.0);
        let events = cluster.follow_events(&auth.0, &q, after.as_deref()).await?;
        Ok(EventStream::new(events.boxed())
            .keep_alive(HEARTBEAT)
            .to_event(|e| {
                let id = e.id.clone();
                let action = e.action.clone();
                Event::message(e.to_json_string()).id(id).event_type(action)
            }))
    }
}
