//! clementine: an authenticated, multi-tenant gateway that runs containers across a cluster of
//! Docker engines.
//!
//! The layers, from the outside in (dependencies only point down):
//!
//! - [`api`]: thin poem-openapi handlers grouped by resource, the bearer-token extractor and the one
//!   place where errors become HTTP responses.
//! - [`cluster`]: one function per action; reads the store, checks the access policy, calls the
//!   engines.
//! - [`auth`]: argon2id passwords, JWT issue and verification, the access policy.
//! - [`engine`]: bollard clients over mutual TLS (one per engine, reused) and the health monitor.
//! - [`store`]: the only module that knows Redis key names; the migrations runner.
//! - [`scheduler`]: pure placement: (request, engine snapshots) -> an engine, or a reason per
//!   engine. No I/O.
//! - [`events`]: the audit stream: intents and outcomes, queries, the shared live tail, the fold.
//! - [`domain`]: plain types shared by all of the above, and the shape checks of what clients
//!   send.
//!
//! Around them: [`config`] (typed settings from a file and `CLEMENTINE_*` variables),
//! [`startup`] (wires the layers together so that tests can start the whole server on port 0),
//! [`shutdown`] (the signal every background task watches), [`cli`] (the command line `main`
//! hands over to), [`pki`] (the deployment's certificates), [`telemetry`] (logging), and two helpers: [`json`] (parse errors that name
//! the field) and [`time`] (clock and RFC 3339).

pub mod api;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod docker;
pub mod domain;
pub mod engine;
pub mod events;
pub mod https;
pub mod json;
pub mod pki;
pub mod scheduler;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod time;
