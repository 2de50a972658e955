//! Registry credentials: store (sealed), list (never the password), delete.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{OpenApi, Tags};

use super::ApiResult;
use super::body::JsonBody;
use super::response::ok;
use super::security::Auth;
use crate::cluster::Cluster;
use crate::domain::{NewRegistry, Registry};

#[derive(Tags)]
enum Tag {
    /// Credentials for private registries, per user (or shared by an admin), used when an
    /// engine pulls for their owner. Passwords are sealed at rest and never answered.
    Registries,
}

pub struct RegistriesApi;

#[OpenApi(tag = "Tag::Registries")]
impl RegistriesApi {
    /// Store credentials for a registry (`shared`: admins only, for every user's pulls).
    #[oai(path = "/registry", method = "post", operation_id = "addRegistry")]
    async fn add(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        body: JsonBody<NewRegistry>,
    ) -> ApiResult<Registry> {
        ok(cluster.add_registry(&auth.0, &body).await?)
    }

    /// The caller's credentials and the shared ones (admins: all); never a password.
    #[oai(path = "/registries", method = "get", operation_id = "listRegistries")]
    async fn list(&self, cluster: Data<&Arc<Cluster>>, auth: Auth) -> ApiResult<Vec<Registry>> {
        ok(cluster.list_registries(&auth.0).await?)
    }

    /// Delete stored credentials (their owner, or an admin).
    #[oai(
        path = "/registry/:id",
        method = "delete",
        operation_id = "deleteRegistry"
    )]
    async fn delete(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
    ) -> ApiResult<Registry> {
        ok(cluster.delete_registry(&auth.0, &id).await?)
    }
}
