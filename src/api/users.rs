//! User management (admin only).

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{Object, OpenApi, Tags};

use super::ApiResult;
use super::body::JsonBody;
use super::response::ok;
use super::security::Auth;
use crate::cluster::Cluster;
use crate::domain::{Grants, NewUser, Role, User};

#[derive(Tags)]
enum Tag {
    /// Accounts, grants and revocation (admin only).
    Users,
}

/// A user's new role.
#[derive(Debug, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// `admin` or `user`.
    pub role: Role,
}

/// A deleted object.
#[derive(Debug, Object)]
pub struct Deleted {
    /// Id or name of what was deleted.
    pub deleted: String,
}

/// The result of a revocation.
#[derive(Debug, Object)]
pub struct Revoked {
    pub username: String,
    /// The user's new token version; tokens carrying an older one are refused.
    pub token_version: u64,
}

pub struct UsersApi;

#[OpenApi(tag = "Tag::Users")]
impl UsersApi {
    /// Create a user (`role` defaults to `user`).
    #[oai(path = "/user", method = "post", operation_id = "createUser")]
    async fn create(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        body: JsonBody<NewUser>,
    ) -> ApiResult<User> {
        ok(cluster.create_user(&auth.0, &body).await?)
    }

    /// Every user.
    #[oai(path = "/users", method = "get", operation_id = "listUsers")]
    async fn list(&self, cluster: Data<&Arc<Cluster>>, auth: Auth) -> ApiResult<Vec<User>> {
        ok(cluster.list_users(&auth.0).await?)
    }

    /// One user.
    #[oai(path = "/user/:name", method = "get", operation_id = "getUser")]
    async fn get(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
    ) -> ApiResult<User> {
        ok(cluster.get_user(&auth.0, &name).await?)
    }

    /// Delete a user: their login sessions, API tokens, grants, saved configs and registry
    /// credentials go with the account. While they own containers or volumes this answers 409
    /// (`user_owns_objects`) naming them, unless `purge=true`, which destroys them first (each
    /// audited).
    #[oai(path = "/user/:name", method = "delete", operation_id = "deleteUser")]
    async fn delete(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        /// Destroy the user's containers and volumes too.
        purge: Query<Option<bool>>,
    ) -> ApiResult<Deleted> {
        (cluster.delete_user(&auth.0, &name, purge.0.unwrap_or(false))).await?;
        ok(Deleted { deleted: name.0 })
    }

    /// Change a user's role (not one's own); it applies to their next request at once and
    /// ends their live streams.
    #[oai(path = "/user/:name", method = "patch", operation_id = "setRole")]
    async fn set_role(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        body: JsonBody<RoleChange>,
    ) -> ApiResult<User> {
        ok(cluster.set_role(&auth.0, &name, body.role).await?)
    }

    /// Replace the engines granted to a user.
    #[oai(
        path = "/user/:name/engines",
        method = "put",
        operation_id = "setGrants"
    )]
    async fn set_grants(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        body: JsonBody<Grants>,
    ) -> ApiResult<User> {
        ok(cluster.set_grants(&auth.0, &name, &body.engines).await?)
    }

    /// Revoke every token issued to a user so far.
    #[oai(
        path = "/user/:name/revoke",
        method = "post",
        operation_id = "revokeTokens"
    )]
    async fn revoke(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
    ) -> ApiResult<Revoked> {
        let token_version = cluster.revoke(&auth.0, &name).await?;
        ok(Revoked {
            username: name.0,
            token_version,
        })
    }
}
