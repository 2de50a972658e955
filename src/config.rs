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

use serde::Deserialize;

use crate::scheduler::Strategy;

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

/// The file as written; every field optional so that the environment can fill it in.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    redis_url: Option<String>,
    key_prefix: Option<String>,
    #[serde(default)]
    tls: RawTls,
    #[serde(default)]
    jwt: RawJwt,
    monitor_interval_ms: Option<u64>,
    engine_timeout_ms: Option<u64>,
    max_body_bytes: Option<usize>,
    admin_user: Option<String>,
    admin_password: Option<String>,
    log_format: Option<String>,
    strategy: Option<String>,
    default_cpus: Option<f64>,
    default_memory_mb: Option<u64>,
    reconcile_interval_ms: Option<u64>,
    audit_max_len: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJwt {
    secret: Option<String>,
    secret_file: Option<String>,
    ttl_secs: Option<u64>,
    issuer: Option<String>,
    audience: Option<String>,
}

/// Reads variables; a function so tests need not touch the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl RawConfig {
    fn read(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
        crate::json::from_slice_naming_field(text.as_bytes()).map_err(|e| {
            let e = e.trim_start_matches("body: ");
            ConfigError(format!("config file {} is not valid: {e}", path.display()))
        })
    }

    fn apply_env(&mut self, env: EnvLookup) -> Result<(), ConfigError> {
        fn set(slot: &mut Option<String>, env: EnvLookup, name: &str) {
            if let Some(v) = env(name) {
                *slot = Some(v);
            }
        }
        fn set_num<T: std::str::FromStr>(
            slot: &mut Option<T>,
            env: EnvLookup,
            name: &str,
        ) -> Result<(), ConfigError> {
            if let Some(v) = env(name) {
                *slot = Some(
                    v.trim()
                        .parse()
                        .map_err(|_| ConfigError(format!("{name} must be a number, not {v:?}")))?,
                );
            }
            Ok(())
        }
        set(&mut self.listen, env, "CLEMENTINE_LISTEN");
        set(&mut self.redis_url, env, "CLEMENTINE_REDIS_URL");
        set(&mut self.key_prefix, env, "CLEMENTINE_KEY_PREFIX");
        set(&mut self.tls.ca, env, "CLEMENTINE_TLS_CA");
        set(&mut self.tls.cert, env, "CLEMENTINE_TLS_CERT");
        set(&mut self.tls.key, env, "CLEMENTINE_TLS_KEY");
        set(&mut self.jwt.secret, env, "CLEMENTINE_JWT_SECRET");
        set(&mut self.jwt.secret_file, env, "CLEMENTINE_JWT_SECRET_FILE");
        set(&mut self.jwt.issuer, env, "CLEMENTINE_JWT_ISSUER");
        set(&mut self.jwt.audience, env, "CLEMENTINE_JWT_AUDIENCE");
        set(&mut self.admin_user, env, "CLEMENTINE_ADMIN_USER");
        set(&mut self.admin_password, env, "CLEMENTINE_ADMIN_PASSWORD");
        set(&mut self.log_format, env, "CLEMENTINE_LOG_FORMAT");
        set(&mut self.strategy, env, "CLEMENTINE_STRATEGY");
        set_num(&mut self.default_cpus, env, "CLEMENTINE_DEFAULT_CPUS")?;
        set_num(
            &mut self.default_memory_mb,
            env,
            "CLEMENTINE_DEFAULT_MEMORY_MB",
        )?;
        set_num(
            &mut self.reconcile_interval_ms,
            env,
            "CLEMENTINE_RECONCILE_INTERVAL_MS",
        )?;
        set_num(&mut self.jwt.ttl_secs, env, "CLEMENTINE_JWT_TTL_SECS")?;
        set_num(
            &mut self.monitor_interval_ms,
            env,
            "CLEMENTINE_MONITOR_INTERVAL_MS",
        )?;
        set_num(
            &mut self.engine_timeout_ms,
            env,
            "CLEMENTINE_ENGINE_TIMEOUT_MS",
        )?;
        set_num(&mut self.max_body_bytes, env, "CLEMENTINE_MAX_BODY_BYTES")?;
        // An env-provided secret wins over a file named in the config file.
        if env("CLEMENTINE_JWT_SECRET").is_some() && env("CLEMENTINE_JWT_SECRET_FILE").is_none() {
            self.jwt.secret_file = None;
        }
        Ok(())
    }

    fn store(&self) -> Result<StoreSettings, ConfigError> {
        let redis_url = self
            .redis_url
            .clone()
            .unwrap_or_else(|| "redis://127.0.0.1:6379/".into());
        if !(redis_url.starts_with("redis://") || redis_url.starts_with("rediss://")) {
            return Err(ConfigError(
                "redis_url (CLEMENTINE_REDIS_URL) must start with redis:// or rediss://".into(),
            ));
        }
        let key_prefix = self
            .key_prefix
            .clone()
            .unwrap_or_else(|| "clementine:".into());
        if key_prefix.len() > 128 || key_prefix.chars().any(|c| c.is_whitespace()) {
            return Err(ConfigError(
                "key_prefix (CLEMENTINE_KEY_PREFIX) must be at most 128 characters without spaces"
                    .into(),
            ));
        }
        Ok(StoreSettings {
            redis_url: Secret::new(redis_url),
            key_prefix,
        })
    }
}

fn required_path(value: &Option<String>, field: &str, var: &str) -> Result<PathBuf, ConfigError> {
    let path = value.as_deref().ok_or_else(|| {
        ConfigError(format!(
            "{field} is missing: set it in the config file or {var}"
        ))
    })?;
    let path = PathBuf::from(path);
    if !path.is_file() {
        return Err(ConfigError(format!(
            "{field} ({var}) names {}, which is not a readable file",
            path.display()
        )));
    }
    Ok(path)
}

fn millis(
    value: Option<u64>,
    default: u64,
    field: &str,
    min: u64,
) -> Result<Duration, ConfigError> {
    let ms = value.unwrap_or(default);
    if ms < min {
        return Err(ConfigError(format!("{field} must be at least {min}")));
    }
    Ok(Duration::from_millis(ms))
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
