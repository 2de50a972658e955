//! Quotas: admins set them per user (and per team, with teams); everyone reads their own.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{OpenApi, Tags};

use super::ApiResult;
use super::body::JsonBody;
use super::response::ok;
use super::security::Auth;
use crate::cluster::Cluster;
use crate::domain::{Quota, QuotaLimits};

#[derive(Tags)]
enum Tag {
    /// The most each user and team may hold at once, and what they hold.
    Quotas,
}

pub struct QuotasApi;

#[OpenApi(tag = "Tag::Quotas")]
impl QuotasApi {
    /// Replace a user's limits (admins). An absent field has no limit; `{}` lifts them all.
    /// Runs past a limit answer 409 `quota_exceeded`.
    #[oai(
        path = "/user/:name/quota",
        method = "put",
        operation_id = "setUserQuota"
    )]
    async fn set_user(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        body: JsonBody<QuotaLimits>,
    ) -> ApiResult<Quota> {
        ok(cluster.set_user_quota(&auth.0, &name, &body).await?)
    }

    /// The caller's quota and their teams': limits and what each holds now.
    #[oai(path = "/quota", method = "get", operation_id = "getQuota")]
    async fn mine(&self, cluster: Data<&Arc<Cluster>>, auth: Auth) -> ApiResult<Vec<Quota>> {
        ok(cluster.my_quotas(&auth.0).await?)
    }
}
