//! Answers written straight to bytes: the big lists (list-all, `GET /engines`) are serialised by
//! serde from borrowed views of the domain values, without the JSON value tree poem-openapi's
//! `Json` builds first, while the spec still documents them with the domain types' schemas.
//! The unit tests hold the bytes to what `Json` would have written.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ToJSON, Type};
use serde::Serialize;

use super::{ApiError, Envelope};
use crate::domain::{
    BindPort, Container, ContainerList, ContainerState, Engine, EngineFailure, EngineHealth,
    EngineStatus, EngineSync, ImageConfig,
};

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

/// About how many bytes one engine, or one container with its engine, takes when written.
pub const ENGINE_BYTES: usize = 512;
pub const CONTAINER_BYTES: usize = 768;

/// Engines as `GET /engines` lists them.
pub fn engines_out(engines: &[Engine]) -> Vec<EngineOut<'_>> {
    engines.iter().map(EngineOut::from).collect()
}

/// A container, with its engine in full (`E` = [`EngineOut`]) or by id (`E` = `&str`).
#[derive(Serialize)]
struct ContainerOut<'a, E> {
    id: &'a str,
    name: &'a str,
    image: &'a ImageConfig,
    engine: E,
    state: ContainerState,
    ports: &'a [BindPort],
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<&'a str>,
    created: &'a str,
}

fn container_out<'a, E>(c: &'a Container, engine: E) -> ContainerOut<'a, E> {
    ContainerOut {
        id: &c.id,
        name: &c.name,
        image: &c.image,
        engine,
        state: c.state,
        ports: &c.ports,
        owner: c.owner.as_deref(),
        config: c.config.as_deref(),
        created: &c.created,
    }
}

/// List-all in the seed's shape.
#[derive(Serialize)]
pub struct ListOut<'a> {
    containers: Vec<ContainerOut<'a, EngineOut<'a>>>,
    failed: &'a [EngineFailure],
    engines: &'a [EngineSync],
}

/// List-all with `engines=ref`: each engine once, each container naming it.
#[derive(Serialize)]
pub struct CompactListOut<'a> {
    containers: Vec<ContainerOut<'a, &'a str>>,
    failed: &'a [EngineFailure],
    engines: &'a [EngineSync],
    engine_records: Vec<EngineOut<'a>>,
}

pub fn list_out(list: &ContainerList) -> ListOut<'_> {
    ListOut {
        containers: (list.containers.iter())
            .map(|c| container_out(c, EngineOut::from(&c.engine)))
            .collect(),
        failed: &list.failed,
        engines: &list.engines,
    }
}

pub fn compact_list_out(list: &ContainerList) -> CompactListOut<'_> {
    let mut seen = std::collections::HashSet::new();
    let records = (list.containers.iter())
        .filter(|c| seen.insert(c.engine.id.as_str()))
        .map(|c| EngineOut::from(&c.engine))
        .collect();
    CompactListOut {
        containers: (list.containers.iter())
            .map(|c| container_out(c, c.engine.id.as_str()))
            .collect(),
        failed: &list.failed,
        engines: &list.engines,
        engine_records: records,
    }
}

#[cfg(test)]
mod tests;
