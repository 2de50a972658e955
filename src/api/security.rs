//! The bearer-token extractor: every handler that takes [`Auth`] requires a valid token.

use std::sync::Arc;

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::middleware::CallerSlot;
use super::{ApiError, RequestId};
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
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let principal = cluster
        .authenticate(&bearer.token, request_id)
        .await
        .map_err(ApiError::from)?;
    if let Some(slot) = req.extensions().get::<CallerSlot>() {
        slot.set(&principal);
    }
    Ok(principal)
}
