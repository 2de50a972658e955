//! The integration tests: one binary (one link), a module per capability. They run against the
//! real Redis and TLS engines of `scripts/testbed.sh`; see `common` for the `TestApp` harness.

#[allow(dead_code)]
mod common;

mod account_end;
mod audit;
mod audit_live;
mod audit_tree;
mod auth;
mod backup;
mod bad_input;
mod big_numbers;
mod bola;
mod cli;
mod concurrency;
mod container_tenancy;
mod containers;
mod deployments;
mod docker_cli;
mod engine_failure;
mod engines;
mod failover;
mod hollow;
#[path = "../../benches/hollow/mod.rs"]
#[allow(dead_code)]
mod hollow_engines;
mod https;
mod images;
mod inventory;
mod isolation;
mod live_streams;
mod lockout;
mod metrics;
mod migrations;
mod narrow_tokens;
mod openapi;
mod pki;
mod placement;
mod publish;
mod pulls;
mod quotas;
mod reconcile;
mod redis_outage;
mod redis_tls;
mod registries;
mod replay;
mod replicas;
mod rotation;
mod shutdown;
mod teams;
mod tenancy;
mod token_attacks;
mod tokens;
