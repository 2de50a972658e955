//! Typed settings: a JSON file, then `CLEMENTINE_*` environment variables on top.
//!
//! Every field of the file has an environment variable that overrides it, so a deployment can run
//! `clementine` with no file at all. The names below are a contract that deployment scripts rely on.
//!
//! | file field             | environment variable              | default                   |
//! |------------------------|-----------------------------------|---------------------------|
//! | `listen`               | `CLEMENTINE_LISTEN`               | `127.0.0.1:8080`          |
//! | `redis_url`            | `CLEMENTINE_REDIS_URL`            | `redis://127.0.0.1:6379/` |
//! | `key_prefix`           | `CLEMENTINE_KEY_PREFIX`           | `clementine:`             |
//! | `tls.ca`               | `CLEMENTINE_TLS_CA`               | required                  |
//! | `tls.cert`             | `CLEMENTINE_TLS_CERT`             | required                  |
//! | `tls.key`              | `CLEMENTINE_TLS_KEY`              | required                  |
//! | `jwt.secret`           | `CLEMENTINE_JWT_SECRET`           | required, or secret_file  |
//! | `jwt.secret_file`      | `CLEMENTINE_JWT_SECRET_FILE`      |                           |
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
//!
//! Relative paths are taken from the working directory. The JWT secret must be at least 32 bytes.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::scheduler::Strategy;
use raw::{RawConfig, millis, required_path};

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
            default_cpus: 0.1,
            default_memory_mb: 64,
        }
    }
}

/// Where the state lives; all `clementine` subcommands need this much.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub redis_url: Secret,
    pub key_prefix: String,
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
        raw.apply_env(env)?;
        raw.store()
    }
}

impl Settings {
    /// Reads the file (if any), applies the environment and checks every field.
    pub fn load(path: Option<&Path>, env: EnvLookup) -> Result<Self, ConfigError> {
        let mut raw = RawConfig::read(path)?;
        raw.apply_env(env)?;
        let store = raw.store()?;

        let listen_text = raw
            .listen
            .clone()
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen = listen_text.parse().map_err(|_| {
            ConfigError(format!(
                "listen (CLEMENTINE_LISTEN) must be host:port with an IP address, not {listen_text:?}"
            ))
        })?;

        let tls = TlsFiles {
            ca: required_path(&raw.tls.ca, "tls.ca", "CLEMENTINE_TLS_CA")?,
            cert: required_path(&raw.tls.cert, "tls.cert", "CLEMENTINE_TLS_CERT")?,
            key: required_path(&raw.tls.key, "tls.key", "CLEMENTINE_TLS_KEY")?,
        };

        let secret = match (&raw.jwt.secret, &raw.jwt.secret_file) {
            (_, Some(file)) => std::fs::read_to_string(file)
                .map(|s| s.trim().to_string())
                .map_err(|e| {
                    ConfigError(format!(
                        "jwt.secret_file (CLEMENTINE_JWT_SECRET_FILE) {file} cannot be read: {e}"
                    ))
                })?,
            (Some(secret), None) => secret.clone(),
            (None, None) => {
                return Err(ConfigError(
                    "jwt.secret is missing: set CLEMENTINE_JWT_SECRET, or jwt.secret or jwt.secret_file in the config file".into(),
                ));
            }
        };
        if secret.len() < 32 {
            return Err(ConfigError(
                "jwt.secret (CLEMENTINE_JWT_SECRET) must be at least 32 bytes".into(),
            ));
        }
        let ttl_secs = raw.jwt.ttl_secs.unwrap_or(3600);
        if !(10..=30 * 86_400).contains(&ttl_secs) {
            return Err(ConfigError(
                "jwt.ttl_secs (CLEMENTINE_JWT_TTL_SECS) must be between 10 and 2592000".into(),
            ));
        }
        let jwt = JwtSettings {
            secret: Secret::new(secret),
            ttl: Duration::from_secs(ttl_secs),
            issuer: raw
                .jwt
                .issuer
                .clone()
                .unwrap_or_else(|| "clementine".into()),
            audience: raw
                .jwt
                .audience
                .clone()
                .unwrap_or_else(|| "clementine-api".into()),
        };

        let bootstrap_admin = match (&raw.admin_user, &raw.admin_password) {
            (Some(user), Some(password)) => Some((user.clone(), Secret::new(password.clone()))),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError(
                    "admin_password (CLEMENTINE_ADMIN_PASSWORD) is missing while admin_user is set"
                        .into(),
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError(
                    "admin_user (CLEMENTINE_ADMIN_USER) is missing while admin_password is set"
                        .into(),
                ));
            }
        };

        let log_format = match raw.log_format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError(format!(
                    "log_format (CLEMENTINE_LOG_FORMAT) must be text or json, not {other:?}"
                )));
            }
        };

        let strategy_text = raw.strategy.as_deref().unwrap_or("binpack");
        let strategy = Strategy::parse(strategy_text).ok_or_else(|| {
            ConfigError(format!(
                "strategy (CLEMENTINE_STRATEGY) must be binpack or spread, not {strategy_text:?}"
            ))
        })?;
        let default_cpus = raw.default_cpus.unwrap_or(0.1);
        if !(default_cpus.is_finite() && default_cpus > 0.0) {
            return Err(ConfigError(
                "default_cpus (CLEMENTINE_DEFAULT_CPUS) must be more than 0".into(),
            ));
        }
        let default_memory_mb = raw.default_memory_mb.unwrap_or(64);
        if default_memory_mb < 4 {
            return Err(ConfigError(
                "default_memory_mb (CLEMENTINE_DEFAULT_MEMORY_MB) must be at least 4".into(),
            ));
        }

        if raw.audit_max_len.is_some_and(|n| n < 1000) {
            return Err(ConfigError(
                "audit_max_len (CLEMENTINE_AUDIT_MAX_LEN) must be at least 1000 when set".into(),
            ));
        }

        Ok(Settings {
            audit_max_len: raw.audit_max_len,
            placement: PlacementSettings {
                strategy,
                default_cpus,
                default_memory_mb,
            },
            reconcile_interval: millis(
                raw.reconcile_interval_ms,
                30_000,
                "reconcile_interval_ms (CLEMENTINE_RECONCILE_INTERVAL_MS)",
                100,
            )?,
            listen,
            store,
            tls,
            jwt,
            monitor_interval: millis(
                raw.monitor_interval_ms,
                5000,
                "monitor_interval_ms (CLEMENTINE_MONITOR_INTERVAL_MS)",
                100,
            )?,
            engine_timeout: millis(
                raw.engine_timeout_ms,
                5000,
                "engine_timeout_ms (CLEMENTINE_ENGINE_TIMEOUT_MS)",
                100,
            )?,
            max_body_bytes: raw.max_body_bytes.unwrap_or(1 << 20).max(1024),
            bootstrap_admin,
            log_format,
        })
    }
}

#[cfg(test)]
mod tests;
