//! API tokens for programs: create (the text is shown once), list, revoke.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{OpenApi, Tags};

use super::ApiResult;
use super::body::JsonBody;
use super::response::ok;
use super::security::Auth;
use crate::cluster::Cluster;
use crate::domain::{ApiToken, IssuedApiToken, NewToken};

#[derive(Tags)]
enum Tag {
    /// Scoped API tokens (`clm_...`) for CI jobs and scripts; managed from a login session.
    Tokens,
}

pub struct TokensApi;

#[OpenApi(tag = "Tag::Tokens")]
impl TokensApi {
    /// Create an API token for the caller. `data.token` is shown this once; only its hash is
    /// kept. Send it as `Authorization: Bearer <token>`.
    #[oai(path = "/tokens", method = "post", operation_id = "createToken")]
    async fn create(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        body: JsonBody<NewToken>,
    ) -> ApiResult<IssuedApiToken> {
        ok(cluster.create_token(&auth.0, &body).await?)
    }

    /// The caller's API tokens (never their secrets); `?all=true` for an admin: everyone's.
    #[oai(path = "/tokens", method = "get", operation_id = "listTokens")]
    async fn list(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        /// Admins: every user's tokens.
        all: Query<Option<bool>>,
    ) -> ApiResult<Vec<ApiToken>> {
        ok(cluster.list_tokens(&auth.0, all.0.unwrap_or(false)).await?)
    }

    /// Revoke an API token (its owner, or an admin); it answers 401 from then on.
    #[oai(path = "/token/:id", method = "delete", operation_id = "revokeToken")]
    async fn revoke(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        id: Path<String>,
    ) -> ApiResult<ApiToken> {
        ok(cluster.revoke_token(&auth.0, &id).await?)
    }
}
