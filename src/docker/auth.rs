//! Who calls: `Authorization: Bearer <login token or clm_ API token>`, which the docker CLI
//! sends from `HttpHeaders` in its `config.json`. The same check as `/apiv1` (the token, the
//! account, and an API token's scopes by the one scope table), with `via: docker` on the caller.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{FromRequest, Request, RequestBody};

use super::DockerError;
use crate::auth::api_token::{Need, covers, required_scope};
use crate::auth::{Principal, Via};
use crate::cluster::Cluster;

/// The authenticated caller of a Docker API request.
pub struct Caller(pub Principal);

/// Where the extractor leaves the caller, for the audit of a denied request.
#[derive(Clone, Default)]
pub struct CallerSlot(pub Arc<std::sync::Mutex<Option<Principal>>>);

/// What a client without a token is told.
pub const HOW_TO_LOG_IN: &str = "clementine needs a token: get one with POST /apiv1/login (or \
    make an API token with POST /apiv1/tokens) and put it in ~/.docker/config.json as \
    {\"HttpHeaders\": {\"Authorization\": \"Bearer <token>\"}}";

impl<'a> FromRequest<'a> for Caller {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let cluster = req
            .data::<Arc<Cluster>>()
            .expect("the Docker app installs the cluster as request data");
        let token = (req.headers().get("authorization"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| DockerError::new(StatusCode::UNAUTHORIZED, HOW_TO_LOG_IN))?;
        let request_id = Some(uuid::Uuid::now_v7().to_string());
        let mut principal = (cluster.authenticate(token, request_id).await)
            .map_err(|e| DockerError::new(StatusCode::UNAUTHORIZED, e.to_string()))?;
        principal.via = Via::Docker;
        if let Some(slot) = req.extensions().get::<CallerSlot>() {
            *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(principal.clone());
        }
        if let Some(grant) = &principal.token {
            let (method, path) = (req.method().as_str(), req.uri().path());
            let need = required_scope(method, path);
            if !covers(&grant.scopes, need) {
                let needs = match need {
                    Need::Scope(scope) => format!("the {} scope", scope.as_str()),
                    Need::Session => "a login session".to_string(),
                };
                let why = format!("this API token cannot {method} {path}: that needs {needs}");
                return Err(DockerError::new(StatusCode::FORBIDDEN, why).into());
            }
        }
        Ok(Caller(principal))
    }
}
