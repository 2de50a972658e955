//! `GET /events`: the container events of the caller's engines, merged, only of containers the
//! caller may touch, in the caller's names. Ends with its caller, like every long call.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use http_body_util::BodyStream;
use poem::web::{Data, Query};
use poem::{Body, Response, handler};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::Caller;
use super::shapes::in_callers_words;
use super::stream::caller_gone;
use super::{DockerError, DockerResult};
use crate::auth::Principal;
use crate::cluster::Cluster;
use crate::shutdown::Shutdown;

#[derive(Debug, Deserialize, Serialize)]
pub struct EventsQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<String>,
}

fn timestamp(field: &str, value: &Option<String>) -> DockerResult<()> {
    let ok = value.as_deref().is_none_or(|v| {
        !v.is_empty() && v.len() <= 32 && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    });
    match ok {
        true => Ok(()),
        false => Err(DockerError::bad_request(format!(
            "{field} must be a unix timestamp"
        ))),
    }
}

#[handler]
pub async fn events(
    cluster: Data<&Arc<Cluster>>,
    shutdown: Data<&Shutdown>,
    Caller(caller): Caller,
    Query(q): Query<EventsQuery>,
) -> DockerResult<Response> {
    timestamp("since", &q.since)?;
    timestamp("until", &q.until)?;
    let query = serde_urlencoded::to_string(&q).unwrap_or_default();
    let streams = cluster.container_events(&caller, &query).await?;
    let merged = futures::stream::select_all(
        streams
            .into_iter()
            .map(|r| lines(BodyStream::new(r.into_body())).boxed()),
    );
    let (shown_to, cluster2) = (caller.clone(), cluster.clone());
    let shown = merged.filter_map(move |line| {
        let event = shown(&cluster2, &shown_to, &line);
        async move { event.map(Ok::<_, std::io::Error>) }
    });
    let gone = caller_gone(cluster.clone(), caller, shutdown.clone());
    let body = Body::from_bytes_stream(shown.take_until(Box::pin(gone)));
    Ok(Response::builder()
        .content_type("application/json")
        .body(body))
}

/// One event line, if the caller may see its container, in the caller's names.
fn shown(cluster: &Cluster, caller: &Principal, line: &[u8]) -> Option<Bytes> {
    let mut event: Value = serde_json::from_slice(line).ok()?;
    let attributes = event.pointer("/Actor/Attributes")?.as_object()?;
    let owner = attributes.get("clementine.owner").and_then(Value::as_str);
    if owner.is_none() || !caller.may_touch_container(owner) {
        return None;
    }
    if let Some(Value::Object(a)) = event.pointer_mut("/Actor/Attributes") {
        a.retain(|k, _| !k.starts_with(crate::domain::RESERVED_LABEL_PREFIX));
    }
    in_callers_words(&cluster.scope, &mut event);
    let mut out = serde_json::to_vec(&event).ok()?;
    out.push(b'\n');
    Some(Bytes::from(out))
}

/// A body as its lines (Docker writes one JSON event per line).
fn lines(body: BodyStream<hyper::body::Incoming>) -> impl Stream<Item = Bytes> + Send {
    futures::stream::unfold((body, BytesMut::new()), |(mut body, mut buf)| async move {
        loop {
            if let Some(at) = buf.iter().position(|b| *b == b'\n') {
                let line = buf.split_to(at + 1).freeze();
                return Some((line, (body, buf)));
            }
            match body.next().await? {
                Ok(frame) => buf.extend_from_slice(&frame.into_data().unwrap_or_default()),
                Err(_) => return None,
            }
        }
    })
}
