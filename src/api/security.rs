//! The bearer-token extractor: every handler that takes [`Auth`] requires a valid token.

use std::sync::Arc;

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::middleware::CallerSlot;
use super::{ApiError, RequestId};
use crate::auth::api_token::{Need, covers, required_scope};
use crate::auth::{AuthError, Principal};
use crate::cluster::Cluster;

/// A login JWT from `POST /apiv1/login`, or an API token (`clm_...`) from `POST /apiv1/tokens`,
/// sent as `Authorization: Bearer <token>`. An API token reaches only the routes its scopes
/// cover (403 elsewhere, audited like any refusal).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "authenticate")]
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
    if let Some(grant) = &principal.token {
        let (method, path) = (req.method().as_str(), req.original_uri().path());
        let need = required_scope(method, path);
        if !covers(&grant.scopes, need) {
            let needs = match need {
                Need::Scope(scope) => format!("the {} scope", scope.as_str()),
                Need::Session => "a login session".to_string(),
            };
            let message = format!("this API token cannot {method} {path}: that needs {needs}");
            return Err(ApiError::from(AuthError::Forbidden(message)).into());
        }
    }
    Ok(principal)
}
