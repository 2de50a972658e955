//! The config file as written, and the environment variables laid over it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, EnvLookup, Secret, StoreSettings};

/// The file as written; every field optional so that the environment can fill it in.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) listen: Option<String>,
    pub(super) redis_url: Option<String>,
    pub(super) key_prefix: Option<String>,
    #[serde(default)]
    pub(super) tls: RawTls,
    #[serde(default)]
    pub(super) jwt: RawJwt,
    pub(super) monitor_interval_ms: Option<u64>,
    pub(super) engine_timeout_ms: Option<u64>,
    pub(super) max_body_bytes: Option<usize>,
    pub(super) admin_user: Option<String>,
    pub(super) admin_password: Option<String>,
    pub(super) log_format: Option<String>,
    pub(super) strategy: Option<String>,
    pub(super) default_cpus: Option<f64>,
    pub(super) default_memory_mb: Option<u64>,
    pub(super) reconcile_interval_ms: Option<u64>,
    pub(super) audit_max_len: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub(super) ca: Option<String>,
    pub(super) cert: Option<String>,
    pub(super) key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJwt {
    pub(super) secret: Option<String>,
    pub(super) secret_file: Option<String>,
    pub(super) ttl_secs: Option<u64>,
    pub(super) issuer: Option<String>,
    pub(super) audience: Option<String>,
}

impl RawConfig {
    pub(super) fn read(path: Option<&Path>) -> Result<Self, ConfigError> {
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

    pub(super) fn apply_env(&mut self, env: EnvLookup) -> Result<(), ConfigError> {
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

    pub(super) fn store(&self) -> Result<StoreSettings, ConfigError> {
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

pub(super) fn required_path(
    value: &Option<String>,
    field: &str,
    var: &str,
) -> Result<PathBuf, ConfigError> {
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

pub(super) fn millis(
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
