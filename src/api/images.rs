//! Saved image configs: save, list, get, replace, delete, run and scale by name.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{OpenApi, Tags};

use super::ApiResult;
use super::body::JsonBody;
use super::containers::{RunAnswer, run_options};
use super::response::ok;
use super::security::Auth;
use super::users::Deleted;
use crate::cluster::Cluster;
use crate::domain::{ImageConfig, NewSavedImage, SavedImage, ScaleRequest, ScaleResult};

#[derive(Tags)]
enum Tag {
    /// Named image configs of the caller, run and scaled by name.
    Images,
}

pub struct ImagesApi;

#[OpenApi(tag = "Tag::Images")]
impl ImagesApi {
    /// Save an image config under a name of its own (validated like a run request).
    #[oai(path = "/image", method = "post", operation_id = "saveImage")]
    async fn save(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        body: JsonBody<NewSavedImage>,
    ) -> ApiResult<SavedImage> {
        ok(cluster.save_image(&auth.0, &body).await?)
    }

    /// The caller's saved image configs, and their teams' (`owner` is `team:<name>`).
    #[oai(path = "/images", method = "get", operation_id = "listImages")]
    async fn list(&self, cluster: Data<&Arc<Cluster>>, auth: Auth) -> ApiResult<Vec<SavedImage>> {
        ok(cluster.list_images(&auth.0).await?)
    }

    /// One saved image config.
    #[oai(path = "/image/:name", method = "get", operation_id = "getImage")]
    async fn get(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        /// A team's config (the caller must be a member).
        team: Query<Option<String>>,
    ) -> ApiResult<SavedImage> {
        ok(cluster.get_image(&auth.0, &name, team.0.as_deref()).await?)
    }

    /// Replace a saved image config (the body is the image config itself).
    #[oai(path = "/image/:name", method = "put", operation_id = "replaceImage")]
    async fn replace(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        body: JsonBody<ImageConfig>,
        /// A team's config (the caller must be a member).
        team: Query<Option<String>>,
    ) -> ApiResult<SavedImage> {
        let team = team.0.as_deref();
        ok(cluster.replace_image(&auth.0, &name, team, &body).await?)
    }

    /// Delete a saved image config (its containers keep running).
    #[oai(path = "/image/:name", method = "delete", operation_id = "deleteImage")]
    async fn delete(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        /// A team's config (the caller must be a member).
        team: Query<Option<String>>,
    ) -> ApiResult<Deleted> {
        cluster
            .delete_image(&auth.0, &name, team.0.as_deref())
            .await?;
        ok(Deleted { deleted: name.0 })
    }

    /// Run a saved image config, like `POST /container`.
    #[oai(path = "/image/:name/run", method = "post", operation_id = "runImage")]
    async fn run(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        /// How many instances (1 to 100); the answer is then a list.
        count: Query<Option<u32>>,
        /// `binpack` (default) or `spread`.
        strategy: Query<Option<String>>,
        /// A team's config (the caller must be a member): the team owns what runs.
        team: Query<Option<String>>,
    ) -> ApiResult<RunAnswer> {
        let mut options = run_options(strategy.0.as_deref())?;
        options.team = team.0;
        let started = cluster
            .run_image(&auth.0, &name, count.0.unwrap_or(1), options)
            .await?;
        ok(RunAnswer::shaped(started, count.0))
    }

    /// Converge the caller's running containers of this config to `instances`: up through the
    /// scheduler, down by destroying the newest first. Reports what was created and destroyed.
    #[oai(
        path = "/image/:name/scale",
        method = "post",
        operation_id = "scaleImage"
    )]
    async fn scale(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        body: JsonBody<ScaleRequest>,
        /// A team's config (the caller must be a member).
        team: Query<Option<String>>,
    ) -> ApiResult<ScaleResult> {
        let team = team.0.as_deref();
        ok(cluster.scale(&auth.0, &name, team, body.instances).await?)
    }
}
