//! Images on the engines: what one holds, and pre-pulls.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{OpenApi, Tags};

use super::ApiResult;
use super::body::JsonBody;
use super::response::ok;
use super::security::Auth;
use crate::cluster::Cluster;
use crate::domain::{EngineImage, PullRequest, PullResult};

#[derive(Tags)]
enum Tag {
    /// Images the engines hold, and pulls ahead of runs.
    EngineImages,
}

pub struct EngineImagesApi;

#[OpenApi(tag = "Tag::EngineImages")]
impl EngineImagesApi {
    /// The images an engine holds (admins: any engine; users: granted ones).
    #[oai(
        path = "/engine/:id/images",
        method = "get",
        operation_id = "listEngineImages"
    )]
    async fn list(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
    ) -> ApiResult<Vec<EngineImage>> {
        ok(cluster.engine_images(&auth.0, &id).await?)
    }

    /// Pull an image onto engines ahead of runs, all at once; one answer per engine. Uses the
    /// caller's own or shared registry credentials only. Audited as `image.pull`.
    #[oai(path = "/images/pull", method = "post", operation_id = "pullImage")]
    async fn pull(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        body: JsonBody<PullRequest>,
    ) -> ApiResult<Vec<PullResult>> {
        ok(cluster.pre_pull(&auth.0, &body).await?)
    }
}
