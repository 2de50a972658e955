//! The HTTP API: thin poem-openapi handlers grouped by resource, the bearer-token extractor, the
//! response envelope, and the one place where errors become HTTP responses ([`error`]).
//!
//! Layout of the server:
//!
//! - `/apiv1/...`: the documented API (see `openapi/clementine.json`);
//! - `/docs`: Swagger UI; `/openapi.json`: the spec;
//! - `/healthz`, `/metrics`: unauthenticated probes.

mod audit;
mod body;
mod containers;
mod engine_images;
mod engines;
pub mod error;
mod events;
mod images;
mod middleware;
mod probes;
mod quotas;
mod registries;
mod response;
mod security;
mod session;
mod spec;
mod teams;
mod tokens;
mod users;
mod volumes;
mod written;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;

pub use error::{ApiError, ErrorCode};
pub use middleware::{BodyLimit, ClientAddr, RequestId};
pub use response::{ApiResult, Envelope};

use crate::cluster::Cluster;

/// Every resource's handlers, as one OpenAPI document.
pub type Apis = (
    session::SessionApi,
    users::UsersApi,
    engines::EnginesApi,
    containers::ContainersApi,
    images::ImagesApi,
    events::EventsApi,
    volumes::VolumesApi,
    tokens::TokensApi,
    registries::RegistriesApi,
    engine_images::EngineImagesApi,
    quotas::QuotasApi,
    teams::TeamsApi,
    audit::AuditApi,
);

/// The OpenAPI service; `clementine openapi` prints its spec.
pub fn openapi() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            session::SessionApi,
            users::UsersApi,
            engines::EnginesApi::default(),
            containers::ContainersApi,
            images::ImagesApi,
            events::EventsApi,
            volumes::VolumesApi,
            tokens::TokensApi,
            registries::RegistriesApi,
            engine_images::EngineImagesApi,
            quotas::QuotasApi,
            teams::TeamsApi,
            audit::AuditApi,
        ),
        "clementine",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Runs containers across a cluster of Docker engines for many users. Log in with \
         `POST /apiv1/login`, then send the token as `Authorization: Bearer <token>`. Every \
         answer is `{\"ok\":true,\"data\":...}` or `{\"ok\":false,\"error\":{\"code\":...,\
         \"message\":...}}`.",
    )
    .server("/apiv1")
}

pub use spec::spec_json;

/// The whole HTTP application.
pub fn app(
    cluster: Arc<Cluster>,
    max_body_bytes: usize,
    trusted_proxies: Vec<std::net::IpAddr>,
) -> impl Endpoint {
    let api = openapi();
    let docs = api.swagger_ui();
    Route::new()
        .nest("/apiv1", api)
        .nest("/docs", docs)
        .at("/openapi.json", probes::spec)
        .at("/healthz", probes::healthz)
        .at("/metrics", probes::metrics)
        .catch_all_error(error::render_poem_error)
        .with(middleware::BodyLimit::new(max_body_bytes))
        .with(middleware::RequestLog::new(
            cluster.clone(),
            trusted_proxies,
        ))
        .data(cluster)
}
