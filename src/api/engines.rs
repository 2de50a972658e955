//! Engines and their containers.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{OpenApi, Tags};

use super::ApiResult;
use super::body::JsonBody;
use super::response::ok;
use super::security::Auth;
use super::users::Deleted;
use super::written::{EnginesWritten, WrittenResult};
use crate::cluster::Cluster;
use crate::domain::{Container, Engine, EnginePatch, NewEngine};

#[derive(Tags)]
enum Tag {
    /// Docker engines in the cluster.
    Engines,
}

#[derive(Default)]
pub struct EnginesApi {
    written: EnginesWritten,
}

#[OpenApi(tag = "Tag::Engines")]
impl EnginesApi {
    /// Add an engine (admin). It must answer a ping over mutual TLS first; `cpus` and `memory`
    /// default to what it reports.
    #[oai(path = "/engine", method = "post", operation_id = "addEngine")]
    async fn add(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        body: JsonBody<NewEngine>,
    ) -> ApiResult<Engine> {
        ok(cluster.add_engine(&auth.0, &body).await?)
    }

    /// The engines the caller may use (admins: all).
    #[oai(path = "/engines", method = "get", operation_id = "listEngines")]
    async fn list(&self, cluster: Data<&Arc<Cluster>>, auth: Auth) -> WrittenResult<Vec<Engine>> {
        self.written.write(cluster.engines_shown(&auth.0).await?)
    }

    /// One engine, with its health.
    #[oai(path = "/engine/:id", method = "get", operation_id = "getEngine")]
    async fn get(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
    ) -> ApiResult<Engine> {
        ok(cluster.get_engine(&auth.0, &id).await?)
    }

    /// Change an engine's labels, capacity or status (admin).
    #[oai(path = "/engine/:id", method = "patch", operation_id = "updateEngine")]
    async fn patch(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
        body: JsonBody<EnginePatch>,
    ) -> ApiResult<Engine> {
        ok(cluster.patch_engine(&auth.0, &id, &body).await?)
    }

    /// Remove an engine from clementine (admin). Its containers keep running.
    #[oai(path = "/engine/:id", method = "delete", operation_id = "removeEngine")]
    async fn delete(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
    ) -> ApiResult<Deleted> {
        cluster.delete_engine(&auth.0, &id).await?;
        ok(Deleted { deleted: id.0 })
    }

    /// The containers on one engine (users: only their own), from its event-fed view; asked
    /// live before the view's first listing and while it is stale.
    #[oai(
        path = "/engine/:id/containers",
        method = "get",
        operation_id = "listEngineContainers"
    )]
    async fn containers(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
    ) -> ApiResult<Vec<Container>> {
        ok(cluster.engine_containers(&auth.0, &id).await?)
    }
}
