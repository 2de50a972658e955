//! The bearer-token extractor: every handler that takes [`Auth`] requires a valid token.

use std::sync::Arc;

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::ApiError;
use crate::auth::Principal;
use crate::cluster::Cluster;

/// JWT from `POST /apiv1/login`, sent as `Authorization: Bearer <token>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "authenticate")]
pub struct Auth(pub Principal);

async fn authenticate(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let cluster = req
        .data::<Arc<Cluster>>()
        .expect("the app installs the cluster as request data");
    cluster
        .authenticate(&bearer.token)
        .await
        .map_err(|e| ApiError::from(e).into())
}
