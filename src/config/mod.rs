//! Typed settings: a JSON file, then `CLEMENTINE_*` environment variables on top.
//!
//! Every field of the file has an environment variable that overrides it (one table, `env::ENV`), so
//! a deployment can run `clementine` with no file at all; every default is in [`defaults`]. The
//! names below are a contract that deployment scripts rely on.
//!
//! | file field             | environment variable              | default                   |
//! |------------------------|-----------------------------------|---------------------------|
//! | `listen`               | `CLEMENTINE_LISTEN`               | `127.0.0.1:8080`          |
//! | `redis_url`            | `CLEMENTINE_REDIS_URL`            | `redis://127.0.0.1:6379/` |
//! | `redis_sentinels`      | `CLEMENTINE_REDIS_SENTINELS`      | none: else `host:port,...`, and `redis_url` is unused |
//! | `redis_master`         | `CLEMENTINE_REDIS_MASTER`         | `mymaster`                |
//! | `redis_username`       | `CLEMENTINE_REDIS_USERNAME`       | none: the URL's, else `default` |
//! | `redis_password`       | `CLEMENTINE_REDIS_PASSWORD`       | none: the URL's           |
//! | `redis_password_file`  | `CLEMENTINE_REDIS_PASSWORD_FILE`  |                           |
//! | `redis_ca`             | `CLEMENTINE_REDIS_CA`             | none: the system's roots (TLS only) |
//! | `redis_client_cert`    | `CLEMENTINE_REDIS_CLIENT_CERT`    | none (TLS only, with `redis_client_key`) |
//! | `redis_client_key`     | `CLEMENTINE_REDIS_CLIENT_KEY`     |                           |
//! | `redis_sentinel_password` | `CLEMENTINE_REDIS_SENTINEL_PASSWORD` | none              |
//! | `redis_sentinel_tls`   | `CLEMENTINE_REDIS_SENTINEL_TLS`   | `false`: with `true`, TLS to the sentinels and the master |
//! | `key_prefix`           | `CLEMENTINE_KEY_PREFIX`           | `clementine:`             |
//! | `tls.ca`               | `CLEMENTINE_TLS_CA`               | required                  |
//! | `tls.cert`             | `CLEMENTINE_TLS_CERT`             | required                  |
//! | `tls.key`              | `CLEMENTINE_TLS_KEY`              | required                  |
//! | `jwt.secret`           | `CLEMENTINE_JWT_SECRET`           | required, or secret_file  |
//! | `jwt.secret_file`      | `CLEMENTINE_JWT_SECRET_FILE`      |                           |
//! | `jwt.previous_secret`  | `CLEMENTINE_JWT_PREVIOUS_SECRET`  | none: after a rotation, the old secret |
//! | `jwt.previous_secret_file` | `CLEMENTINE_JWT_PREVIOUS_SECRET_FILE` |                   |
//! | `jwt.ttl_secs`         | `CLEMENTINE_JWT_TTL_SECS`         | `3600`                    |
//! | `jwt.issuer`           | `CLEMENTINE_JWT_ISSUER`           | `clementine`              |
//! | `jwt.audience`         | `CLEMENTINE_JWT_AUDIENCE`         | `clementine-api`          |
//! | `monitor_interval_ms`  | `CLEMENTINE_MONITOR_INTERVAL_MS`  | `5000`                    |
//! | `engine_timeout_ms`    | `CLEMENTINE_ENGINE_TIMEOUT_MS`    | `5000`                    |
//! | `max_body_bytes`       | `CLEMENTINE_MAX_BODY_BYTES`       | `1048576`                 |
//! | `admin_user`           | `CLEMENTINE_ADMIN_USER`           | none                      |
//! | `admin_password`       | `CLEMENTINE_ADMIN_PASSWORD`       | none                      |
//! | `log_format`           | `CLEMENTINE_LOG_FORMAT`           | `text` (or `json`)        |
//! | `strategy`             | `CLEMENTINE_STRATEGY`             | `binpack` (or `spread`)   |
//! | `default_cpus`         | `CLEMENTINE_DEFAULT_CPUS`         | `0.1`                     |
//! | `default_memory_mb`    | `CLEMENTINE_DEFAULT_MEMORY_MB`    | `64`                      |
//! | `reconcile_interval_ms`| `CLEMENTINE_RECONCILE_INTERVAL_MS`| `30000`                   |
//! | `audit_max_len`        | `CLEMENTINE_AUDIT_MAX_LEN`        | none: the stream is never trimmed |
//! | `audit_checkpoint_secs`| `CLEMENTINE_AUDIT_CHECKPOINT_SECS`| `10`                      |
//! | `audit_signing_key_file` | `CLEMENTINE_AUDIT_SIGNING_KEY_FILE` | none: generated on first start, kept in Redis |
//! | `shutdown_grace_ms`    | `CLEMENTINE_SHUTDOWN_GRACE_MS`    | `20000`                   |
//! | `pull_timeout_ms`      | `CLEMENTINE_PULL_TIMEOUT_MS`      | `300000`                  |
//! | `pull_registries`      | `CLEMENTINE_PULL_REGISTRIES`      | any (comma-separated list) |
//! | `trusted_proxies`      | `CLEMENTINE_TRUSTED_PROXIES`      | none: the client is the TCP peer |
//! | `secrets_key`          | `CLEMENTINE_SECRETS_KEY`          | none: no registry credentials |
//! | `secrets_key_file`     | `CLEMENTINE_SECRETS_KEY_FILE`     |                           |
//! | `secrets_previous_key` | `CLEMENTINE_SECRETS_PREVIOUS_KEY` | none: during a rotation, the old key |
//! | `secrets_previous_key_file` | `CLEMENTINE_SECRETS_PREVIOUS_KEY_FILE` |                 |
//! | `docker.listen`        | `CLEMENTINE_DOCKER_LISTEN`        | none: the Docker API is off |
//! | `docker.tls_cert`      | `CLEMENTINE_DOCKER_TLS_CERT`      | none: plain HTTP (with `tls_key`, HTTPS) |
//! | `docker.tls_key`       | `CLEMENTINE_DOCKER_TLS_KEY`       |                           |
//! | `docker.client_ca`     | `CLEMENTINE_DOCKER_CLIENT_CA`     | none: with it, client certificates are required |
//! | `api_tls.cert`         | `CLEMENTINE_API_TLS_CERT`         | none: plain HTTP (with `api_tls.key`, HTTPS) |
//! | `api_tls.key`          | `CLEMENTINE_API_TLS_KEY`          |                           |
//! | `api_tls.client_ca`    | `CLEMENTINE_API_CLIENT_CA`        | none: with it, client certificates are required |
//!
//! Relative paths are taken from the working directory. The JWT secret must be at least 32 bytes.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::scheduler::Strategy;
use raw::{RawConfig, millis};

mod env;
mod fields;
mod raw;

/// Start-up cannot go on: one sentence that names the field.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// A secret string whose `Debug` never shows the value, so it cannot leak through logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything the server needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub store: StoreSettings,
    pub tls: TlsFiles,
    pub jwt: JwtSettings,
    pub monitor_interval: Duration,
    pub engine_timeout: Duration,
    pub max_body_bytes: usize,
    /// First admin, created at start-up when no user exists yet.
    pub bootstrap_admin: Option<(String, Secret)>,
    pub log_format: LogFormat,
    pub placement: PlacementSettings,
    pub reconcile_interval: Duration,
    /// Trim the audit stream to about this many entries; `None` keeps everything.
    pub audit_max_len: Option<u64>,
    /// How long in-flight requests get to answer once shutdown begins.
    pub shutdown_grace: Duration,
    /// How long one image pull may take (apart from the quick-call engine timeout).
    pub pull_timeout: Duration,
    /// The registries engines may pull from (`host[:port]`, `docker.io` for unqualified
    /// images); `None`: any.
    pub pull_registries: Option<Vec<String>>,
    /// The key that seals registry credentials at rest; `None`: none can be stored.
    pub secrets_key: Option<Secret>,
    /// At most one signed checkpoint of the audit tree per this much time.
    pub audit_checkpoint_every: Duration,
    /// The Ed25519 key (note format) checkpoints are signed with; `None`: one generated on
    /// first start and kept in Redis.
    pub audit_signing_key_file: Option<PathBuf>,
    /// The secrets key before a rotation: it still opens what it sealed.
    pub secrets_previous_key: Option<Secret>,
    /// Proxies (HAProxy in front of replicas) whose `X-Forwarded-For` names the client; any
    /// other peer is the client itself.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The Docker Engine API listener; `None`: off.
    pub docker: Option<DockerSettings>,
    /// HTTPS on the API listener; `None`: plain HTTP.
    pub api_tls: Option<ServeTls>,
}

/// Where the Docker Engine API listens, and its TLS when it serves HTTPS.
#[derive(Debug, Clone)]
pub struct DockerSettings {
    pub listen: SocketAddr,
    pub tls: Option<ServeTls>,
}

/// A listener's HTTPS: its certificate chain and key (PEM), and the CA whose client
/// certificates it requires, if any (mutual TLS for machines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

/// How containers are placed when a request does not say.
#[derive(Debug, Clone, Copy)]
pub struct PlacementSettings {
    pub strategy: Strategy,
    /// Reserved (and limited to) when an image config gives no `cpus`.
    pub default_cpus: f64,
    /// Reserved (and limited to) when an image config gives no `memory`, in MB.
    pub default_memory_mb: u64,
}

impl Default for PlacementSettings {
    fn default() -> Self {
        Self {
            strategy: Strategy::Binpack,
            default_cpus: defaults::DEFAULT_CPUS,
            default_memory_mb: defaults::DEFAULT_MEMORY_MB,
        }
    }
}

/// The one source of every default value.
pub mod defaults {
    pub const LISTEN: &str = "127.0.0.1:8080";
    pub const REDIS_URL: &str = "redis://127.0.0.1:6379/";
    /// Sentinel's own default name for a master.
    pub const REDIS_MASTER: &str = "mymaster";
    pub const KEY_PREFIX: &str = "clementine:";
    pub const JWT_TTL_SECS: u64 = 3600;
    pub const JWT_ISSUER: &str = "clementine";
    pub const JWT_AUDIENCE: &str = "clementine-api";
    pub const MONITOR_INTERVAL_MS: u64 = 5000;
    pub const ENGINE_TIMEOUT_MS: u64 = 5000;
    pub const MAX_BODY_BYTES: usize = 1 << 20;
    pub const LOG_FORMAT: &str = "text";
    pub const STRATEGY: &str = "binpack";
    pub const DEFAULT_CPUS: f64 = 0.1;
    pub const DEFAULT_MEMORY_MB: u64 = 64;
    pub const RECONCILE_INTERVAL_MS: u64 = 30_000;
    pub const SHUTDOWN_GRACE_MS: u64 = 20_000;
    pub const PULL_TIMEOUT_MS: u64 = 300_000;
    pub const AUDIT_CHECKPOINT_SECS: u64 = 10;
}

/// Where the state lives; all `clementine` subcommands need this much.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// Where Redis is, unless it is found through Sentinel.
    pub redis_url: Secret,
    /// Sentinels (`host:port`) that say where the master is; when there are any, `redis_url`
    /// is unused.
    pub redis_sentinels: Vec<String>,
    /// The name the sentinels know the master by.
    pub redis_master: String,
    pub key_prefix: String,
    /// How clementine logs in to Redis (and its sentinels) and checks their certificates.
    pub redis_access: RedisAccess,
}

/// Credentials and TLS files for Redis. Over TLS without a CA, the system's roots are trusted.
#[derive(Debug, Clone, Default)]
pub struct RedisAccess {
    /// The ACL user (else the URL's, else `default`).
    pub username: Option<String>,
    /// The ACL user's password (else the URL's).
    pub password: Option<Secret>,
    /// The CA that signed Redis's (and the sentinels') certificates.
    pub ca: Option<PathBuf>,
    /// A client certificate and key, for a Redis that asks for one (`tls-auth-clients`).
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// The sentinels' own password (`requirepass` in sentinel.conf).
    pub sentinel_password: Option<Secret>,
    /// TLS to the sentinels and to the master they name.
    pub sentinel_tls: bool,
}

impl Settings {
    /// clementine's own certificate files, named as `/metrics` labels them.
    pub fn certificate_files(&self) -> Vec<(&'static str, PathBuf)> {
        let mut files = vec![
            ("engines-client", self.tls.cert.clone()),
            ("engines-ca", self.tls.ca.clone()),
        ];
        let access = &self.store.redis_access;
        files.extend(access.ca.clone().map(|ca| ("redis-ca", ca)));
        files.extend((access.client_cert.clone()).map(|(cert, _)| ("redis-client", cert)));
        files.extend(self.api_tls.as_ref().map(|t| ("api", t.cert.clone())));
        let docker_tls = self.docker.as_ref().and_then(|d| d.tls.as_ref());
        files.extend(docker_tls.map(|t| ("docker-api", t.cert.clone())));
        files
    }
}

impl StoreSettings {
    /// The sentinels and master name, when Redis is found through Sentinel.
    pub fn sentinel(&self) -> Option<SentinelSettings> {
        (!self.redis_sentinels.is_empty()).then(|| SentinelSettings {
            sentinels: self.redis_sentinels.clone(),
            master: self.redis_master.clone(),
        })
    }
}

/// Redis found through Sentinel: the sentinels (`host:port`) and the master's name.
#[derive(Debug, Clone)]
pub struct SentinelSettings {
    pub sentinels: Vec<String>,
    pub master: String,
}

/// The client certificate, key and CA used for every engine.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub secret: Secret,
    /// The secret before the last rotation: tokens it signed are accepted until they expire.
    pub previous_secret: Option<Secret>,
    pub ttl: Duration,
    pub issuer: String,
    pub audience: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Reads variables; a function so tests need not touch the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl StoreSettings {
    /// Settings for the subcommands that only talk to Redis (`migrate`, `user add`).
    pub fn load(path: Option<&Path>, env: EnvLookup) -> Result<Self, ConfigError> {
        let mut raw = RawConfig::read(path)?;
        env::apply_env(&mut raw, env)?;
        raw.store()
    }
}

impl Settings {
    /// Reads the file (if any), applies the environment and checks every field.
    pub fn load(path: Option<&Path>, env: EnvLookup) -> Result<Self, ConfigError> {
        let mut raw = RawConfig::read(path)?;
        env::apply_env(&mut raw, env)?;
        Ok(Settings {
            listen: raw.listen()?,
            store: raw.store()?,
            tls: raw.tls_files()?,
            jwt: raw.jwt()?,
            monitor_interval: millis(
                raw.monitor_interval_ms,
                defaults::MONITOR_INTERVAL_MS,
                "monitor_interval_ms (CLEMENTINE_MONITOR_INTERVAL_MS)",
                100,
            )?,
            engine_timeout: millis(
                raw.engine_timeout_ms,
                defaults::ENGINE_TIMEOUT_MS,
                "engine_timeout_ms (CLEMENTINE_ENGINE_TIMEOUT_MS)",
                100,
            )?,
            max_body_bytes: raw
                .max_body_bytes
                .unwrap_or(defaults::MAX_BODY_BYTES)
                .max(1024),
            bootstrap_admin: raw.bootstrap_admin()?,
            log_format: raw.log_format()?,
            placement: raw.placement()?,
            reconcile_interval: millis(
                raw.reconcile_interval_ms,
                defaults::RECONCILE_INTERVAL_MS,
                "reconcile_interval_ms (CLEMENTINE_RECONCILE_INTERVAL_MS)",
                100,
            )?,
            audit_max_len: raw.audit_max_len()?,
            audit_checkpoint_every: raw.audit_checkpoint_every(),
            audit_signing_key_file: raw.audit_signing_key_file()?,
            shutdown_grace: millis(
                raw.shutdown_grace_ms,
                defaults::SHUTDOWN_GRACE_MS,
                "shutdown_grace_ms (CLEMENTINE_SHUTDOWN_GRACE_MS)",
                0,
            )?,
            pull_timeout: millis(
                raw.pull_timeout_ms,
                defaults::PULL_TIMEOUT_MS,
                "pull_timeout_ms (CLEMENTINE_PULL_TIMEOUT_MS)",
                1000,
            )?,
            secrets_key: raw.secrets_key()?,
            secrets_previous_key: raw.secrets_previous_key()?,
            trusted_proxies: raw.trusted_proxies()?,
            docker: raw.docker()?,
            api_tls: raw.api_tls()?,
            pull_registries: raw.pull_registries(),
        })
    }
}

#[cfg(test)]
mod tests;
