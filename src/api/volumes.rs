//! Named volumes: the caller's on every engine, and removal.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{OpenApi, Tags};

use super::ApiResult;
use super::response::ok;
use super::security::Auth;
use crate::cluster::Cluster;
use crate::domain::{Volume, VolumeList};

#[derive(Tags)]
enum Tag {
    /// Named volumes: each belongs to the user whose run made it, on the engine it was made on.
    Volumes,
}

pub struct VolumesApi;

#[OpenApi(tag = "Tag::Volumes")]
impl VolumesApi {
    /// The caller's named volumes on every engine they may use (admins: every volume, with its
    /// owner). Engines that do not answer are listed in `failed`.
    #[oai(path = "/volumes", method = "get", operation_id = "listVolumes")]
    async fn list(&self, cluster: Data<&Arc<Cluster>>, auth: Auth) -> ApiResult<VolumeList> {
        ok(cluster.list_volumes(&auth.0).await?)
    }

    /// Remove a volume: the owner by the name they gave it, an admin any volume by its engine
    /// name. 409 while a container uses it.
    #[oai(
        path = "/engine/:id/volume/:name",
        method = "delete",
        operation_id = "deleteVolume"
    )]
    async fn delete(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
        name: Path<String>,
    ) -> ApiResult<Volume> {
        ok(cluster.delete_volume(&auth.0, &id, &name).await?)
    }
}
