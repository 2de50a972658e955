//! Answers written straight to bytes: the big lists (list-all, `GET /engines`) are serialised
//! from borrowed views of the domain values (by serde, or field by field for list-all's
//! containers), without the JSON value tree poem-openapi's `Json` builds first, while the spec
//! still documents them with the domain types' schemas. The unit tests hold the bytes to what
//! `Json` would have written.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ToJSON, Type};
use serde::Serialize;

use super::{ApiError, Envelope};
use crate::cluster::{ListSink, ListSync};
use crate::domain::{Engine, EngineHealth, EngineStatus};
use crate::engine::Listed;

/// A success envelope already written, documented as `Envelope<T>`.
pub struct Written<T> {
    bytes: Bytes,
    schema: PhantomData<fn() -> T>,
}

/// What the handlers that answer big lists return.
pub type WrittenResult<T> = Result<Written<Envelope<T>>, ApiError>;

#[derive(Serialize)]
struct EnvelopeOut<D> {
    ok: bool,
    data: D,
}

/// `{"ok":true,"data":...}` with `data` serialised by serde into a buffer of about `size`
/// bytes (growing a 7 MB answer by doubling copied it twice over).
pub fn written<T: ParseFromJSON + ToJSON>(data: impl Serialize, size: usize) -> WrittenResult<T> {
    let mut bytes = Vec::with_capacity(size);
    let envelope = EnvelopeOut { ok: true, data };
    serde_json::to_writer(&mut bytes, &envelope).unwrap_or_default();
    Ok(Written {
        bytes: bytes.into(),
        schema: PhantomData,
    })
}

/// The last engine list written, kept while the engine records it was written from are the
/// same shared copy (see `Cluster::engines_shown`): at 1,000 engines, writing the list was
/// most of a `GET /engines`.
#[derive(Default)]
pub struct EnginesWritten {
    last: Mutex<Option<(Arc<Vec<Engine>>, Bytes)>>,
}

impl EnginesWritten {
    pub fn write(&self, engines: Arc<Vec<Engine>>) -> WrittenResult<Vec<Engine>> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((from, bytes)) = last.as_ref()
            && Arc::ptr_eq(from, &engines)
        {
            return Ok(Written {
                bytes: bytes.clone(),
                schema: PhantomData,
            });
        }
        let answer = written::<Vec<Engine>>(engines_out(&engines), engines.len() * ENGINE_BYTES)?;
        *last = Some((engines, answer.bytes.clone()));
        Ok(answer)
    }
}

impl<T: Type> Payload for Written<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        content_type.starts_with("application/json")
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Send> IntoResponse for Written<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(self.bytes)
    }
}

impl<T: Type + Send> ApiResponse for Written<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Self::CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// An engine as the API shows it (its stored form leaves health out).
#[derive(Serialize)]
pub struct EngineOut<'a> {
    id: &'a str,
    addr: &'a str,
    cpus: f64,
    memory: u64,
    labels: &'a [String],
    status: EngineStatus,
    publish_ips: &'a [String],
    health: &'a EngineHealth,
}

impl<'a> From<&'a Engine> for EngineOut<'a> {
    fn from(e: &'a Engine) -> Self {
        Self {
            id: &e.id,
            addr: &e.addr,
            cpus: e.cpus,
            memory: e.memory,
            labels: &e.labels,
            status: e.status,
            publish_ips: &e.publish_ips,
            health: &e.health,
        }
    }
}

/// About how many bytes one engine takes when written.
pub const ENGINE_BYTES: usize = 512;

/// Engines as `GET /engines` lists them.
pub fn engines_out(engines: &[Engine]) -> Vec<EngineOut<'_>> {
    engines.iter().map(EngineOut::from).collect()
}

/// `s` as a JSON string. Most strings in a list (ids, names, images, times) need no escape:
/// those are checked 16 bytes at a time, which the compiler turns into vector compares, and
/// copied whole; serde_json checks and copies byte by byte (~40 % of list-all's time, `perf`).
fn write_str(bytes: &mut Vec<u8>, s: &str) {
    let needs_escape = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    let plain = (s.as_bytes().chunks(16))
        .all(|chunk| !chunk.iter().fold(false, |any, &b| any | needs_escape(b)));
    if plain {
        bytes.reserve(s.len() + 2);
        bytes.push(b'"');
        bytes.extend_from_slice(s.as_bytes());
        bytes.push(b'"');
    } else {
        serde_json::to_writer(bytes, s).unwrap_or_default();
    }
}

fn serialize(bytes: &mut Vec<u8>, value: &impl Serialize) {
    serde_json::to_writer(bytes, value).unwrap_or_default();
}

/// How a container's engine is written into it: its record, or its id (`engines=ref`).
enum EngineIn<'a> {
    Record(&'a [u8]),
    Id(&'a str),
}

/// List-all written as it is read ([`ListSink`]): each container goes from its engine's view,
/// under that view's lock, straight into the answer's bytes, in the seed's shape (each
/// container carrying its engine, whose record is written once and copied in) or compact
/// (`engines=ref`: each container names its engine, listed once in `engine_records`).
pub struct ListWriter {
    /// The answer so far: the envelope's opening, then the containers, comma-separated.
    bytes: Vec<u8>,
    any: bool,
    /// `Some` for the compact answer: the engine records, comma-separated.
    records: Option<Vec<u8>>,
}

const OPENING: &[u8] = br#"{"ok":true,"data":{"containers":["#;

/// How long the last list-all written in each shape (full, compact) was: the next one's buffer
/// starts that big, since most lists are about as long as the one before (grown by doubling,
/// a 3.4 MB answer was copied about 4 MB over; pages a shorter answer leaves unwritten are
/// never touched).
static LAST_LENGTH: [AtomicUsize; 2] = [AtomicUsize::new(64 * 1024), AtomicUsize::new(64 * 1024)];

impl ListWriter {
    pub fn new(compact: bool) -> Self {
        // 64 KiB more than the last: exactly as long, a list one container longer doubled its
        // buffer when the closing fields went in (a 34 MB answer took 68). Not a share of it:
        // an eighth more took a 7 MB answer past jemalloc's 8 MiB threshold, where every buffer
        // is fresh pages from the system (full list-all 23-25 -> 25-31 ms, paired).
        let last = LAST_LENGTH[compact as usize].load(Ordering::Relaxed);
        let mut bytes = Vec::with_capacity(last + 64 * 1024);
        bytes.extend_from_slice(OPENING);
        Self {
            bytes,
            any: false,
            records: compact.then(Vec::new),
        }
    }

    /// One container, its fields in the order (and with the absent ones left out) of the
    /// schema's `Container`.
    fn container(&mut self, c: &Listed, engine: &EngineIn) {
        let b = &mut self.bytes;
        if std::mem::replace(&mut self.any, true) {
            b.push(b',');
        }
        b.extend_from_slice(br#"{"id":"#);
        write_str(b, &c.id);
        b.extend_from_slice(br#","name":"#);
        write_str(b, &c.name);
        b.extend_from_slice(br#","image":"#);
        serialize(b, &c.image_config());
        b.extend_from_slice(br#","engine":"#);
        match engine {
            EngineIn::Record(record) => b.extend_from_slice(record),
            EngineIn::Id(id) => write_str(b, id),
        }
        b.extend_from_slice(br#","state":"#);
        serialize(b, &c.state);
        b.extend_from_slice(br#","ports":"#);
        serialize(b, &c.ports);
        if let Some(owner) = &c.owner {
            b.extend_from_slice(br#","owner":"#);
            write_str(b, owner);
        }
        if let Some(config) = c.labels.as_ref().and_then(|l| l.config.as_deref()) {
            b.extend_from_slice(br#","config":"#);
            write_str(b, config);
        }
        b.extend_from_slice(br#","created":"#);
        write_str(b, &c.created);
        b.push(b'}');
    }

    /// The whole answer, with how current each engine's share is.
    pub fn finish<T: ParseFromJSON + ToJSON>(mut self, sync: &ListSync) -> WrittenResult<T> {
        let bytes = &mut self.bytes;
        bytes.extend_from_slice(br#"],"failed":"#);
        serde_json::to_writer(&mut *bytes, &sync.failed).unwrap_or_default();
        bytes.extend_from_slice(br#","engines":"#);
        serde_json::to_writer(&mut *bytes, &sync.engines).unwrap_or_default();
        if let Some(records) = &self.records {
            bytes.extend_from_slice(br#","engine_records":["#);
            bytes.extend_from_slice(records);
            bytes.push(b']');
        }
        bytes.extend_from_slice(b"}}");
        let shape = self.records.is_some() as usize;
        LAST_LENGTH[shape].store(bytes.len(), Ordering::Relaxed);
        Ok(Written {
            bytes: std::mem::take(bytes).into(),
            schema: PhantomData,
        })
    }
}

impl ListSink for ListWriter {
    fn part<'a>(&mut self, engine: &Engine, containers: impl Iterator<Item = &'a Listed>) {
        let mut containers = containers.peekable();
        if containers.peek().is_none() {
            return;
        }
        let record = serde_json::to_string(&EngineOut::from(engine)).unwrap_or_default();
        if let Some(records) = &mut self.records {
            if !records.is_empty() {
                records.push(b',');
            }
            records.extend_from_slice(record.as_bytes());
            let id = EngineIn::Id(&engine.id);
            containers.for_each(|c| self.container(c, &id));
            return;
        }
        let record = EngineIn::Record(record.as_bytes());
        containers.for_each(|c| self.container(c, &record));
    }
}

#[cfg(test)]
mod tests;
