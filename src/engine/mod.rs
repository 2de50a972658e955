//! Docker engines over mutual TLS: one bollard client per engine, built once and reused, the
//! health monitor, and each engine's containers as its event stream keeps them ([`views`]).
//!
//! Why not bollard's own `connect_with_ssl`: it opens a fresh TLS connection per request with
//! Nagle's algorithm on (~44 ms a call) and re-reads the key files on every handshake. Here all
//! engines share one hyper client whose pool keeps TLS connections alive per engine, with
//! `TCP_NODELAY`, trusting only the configured CA (see [`tls`] and [`client`]).

mod client;
mod containers;
mod error;
pub mod labels;
mod monitor;
mod objects;
mod ops;
mod pool;
mod pull;
mod raw;
mod spec;
mod suspects;
mod tls;
pub mod views;

pub use client::{EngineClient, Probe};
pub use containers::{Listed, from_inspect, owner_here, to_container};
pub use error::EngineError;
pub use monitor::{HealthMonitor, certificate_of, check_engine};
pub use pool::EnginePool;
pub use pull::{PullFailure, registry_of};
pub use suspects::Suspects;
pub use tls::{ServerCertificates, TlsError, client_config, parse_engine_addr};
