//! The config file as written (the environment variables are laid over it by `env`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, RedisAccess, Secret, StoreSettings, defaults};

/// The file as written; every field optional so that the environment can fill it in.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) listen: Option<String>,
    pub(super) redis_url: Option<String>,
    pub(super) redis_sentinels: Option<String>,
    pub(super) redis_master: Option<String>,
    pub(super) redis_username: Option<String>,
    pub(super) redis_password: Option<String>,
    pub(super) redis_password_file: Option<String>,
    pub(super) redis_ca: Option<String>,
    pub(super) redis_client_cert: Option<String>,
    pub(super) redis_client_key: Option<String>,
    pub(super) redis_sentinel_password: Option<String>,
    pub(super) redis_sentinel_tls: Option<bool>,
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
    pub(super) audit_checkpoint_secs: Option<u64>,
    pub(super) audit_signing_key_file: Option<String>,
    pub(super) shutdown_grace_ms: Option<u64>,
    pub(super) pull_timeout_ms: Option<u64>,
    pub(super) pull_registries: Option<String>,
    pub(super) trusted_proxies: Option<String>,
    pub(super) secrets_key: Option<String>,
    pub(super) secrets_key_file: Option<String>,
    pub(super) secrets_previous_key: Option<String>,
    pub(super) secrets_previous_key_file: Option<String>,
    #[serde(default)]
    pub(super) docker: RawDocker,
    #[serde(default)]
    pub(super) api_tls: RawServeTls,
}

/// HTTPS for the API listener.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServeTls {
    pub(super) cert: Option<String>,
    pub(super) key: Option<String>,
    pub(super) client_ca: Option<String>,
}

/// The Docker API listener.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDocker {
    pub(super) listen: Option<String>,
    pub(super) tls_cert: Option<String>,
    pub(super) tls_key: Option<String>,
    pub(super) client_ca: Option<String>,
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
    pub(super) previous_secret: Option<String>,
    pub(super) previous_secret_file: Option<String>,
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

    pub(super) fn store(&self) -> Result<StoreSettings, ConfigError> {
        let redis_url = self
            .redis_url
            .clone()
            .unwrap_or_else(|| defaults::REDIS_URL.into());
        if !(redis_url.starts_with("redis://") || redis_url.starts_with("rediss://")) {
            return Err(ConfigError(
                "redis_url (CLEMENTINE_REDIS_URL) must start with redis:// or rediss://".into(),
            ));
        }
        let key_prefix = self
            .key_prefix
            .clone()
            .unwrap_or_else(|| defaults::KEY_PREFIX.into());
        if key_prefix.len() > 128 || key_prefix.chars().any(|c| c.is_whitespace()) {
            return Err(ConfigError(
                "key_prefix (CLEMENTINE_KEY_PREFIX) must be at most 128 characters without spaces"
                    .into(),
            ));
        }
        let redis_sentinels = self.sentinels()?;
        let tls = if redis_sentinels.is_empty() {
            redis_url.starts_with("rediss://")
        } else {
            self.redis_sentinel_tls.unwrap_or(false)
        };
        Ok(StoreSettings {
            redis_url: Secret::new(redis_url),
            redis_sentinels,
            redis_master: (self.redis_master.clone())
                .unwrap_or_else(|| defaults::REDIS_MASTER.into()),
            key_prefix,
            redis_access: self.redis_access(tls)?,
        })
    }

    /// The ACL user and TLS files for Redis; TLS files only where TLS is used.
    fn redis_access(&self, tls: bool) -> Result<RedisAccess, ConfigError> {
        let password = match (&self.redis_password, &self.redis_password_file) {
            (_, Some(file)) => Some(read_secret(
                file,
                "redis_password_file (CLEMENTINE_REDIS_PASSWORD_FILE)",
            )?),
            (password, None) => password.clone().filter(|p| !p.is_empty()).map(Secret::new),
        };
        let path = |value: &Option<String>, field, var| {
            (value.is_some())
                .then(|| required_path(value, field, var))
                .transpose()
        };
        let ca = path(&self.redis_ca, "redis_ca", "CLEMENTINE_REDIS_CA")?;
        let client_cert = match (&self.redis_client_cert, &self.redis_client_key) {
            (None, None) => None,
            (Some(_), Some(_)) => Some((
                required_path(
                    &self.redis_client_cert,
                    "redis_client_cert",
                    "CLEMENTINE_REDIS_CLIENT_CERT",
                )?,
                required_path(
                    &self.redis_client_key,
                    "redis_client_key",
                    "CLEMENTINE_REDIS_CLIENT_KEY",
                )?,
            )),
            _ => {
                return Err(ConfigError(
                    "CLEMENTINE_REDIS_CLIENT_CERT and CLEMENTINE_REDIS_CLIENT_KEY go together: set both or neither".into(),
                ));
            }
        };
        if !tls && (ca.is_some() || client_cert.is_some()) {
            return Err(ConfigError(
                "CLEMENTINE_REDIS_CA and the client certificate need TLS to Redis: use a rediss:// URL (through Sentinel, CLEMENTINE_REDIS_SENTINEL_TLS=true)".into(),
            ));
        }
        Ok(RedisAccess {
            username: self.redis_username.clone().filter(|u| !u.is_empty()),
            password,
            ca,
            client_cert,
            sentinel_password: (self.redis_sentinel_password.clone())
                .filter(|p| !p.is_empty())
                .map(Secret::new),
            sentinel_tls: self.redis_sentinel_tls.unwrap_or(false),
        })
    }

    /// The sentinels, checked: `host:port` each.
    fn sentinels(&self) -> Result<Vec<String>, ConfigError> {
        let list = self.redis_sentinels.as_deref().unwrap_or_default();
        let mut sentinels = Vec::new();
        for addr in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let valid = addr.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
            if !valid {
                return Err(ConfigError(format!(
                    "redis_sentinels (CLEMENTINE_REDIS_SENTINELS) must be host:port entries separated by commas, not {addr:?}"
                )));
            }
            sentinels.push(addr.to_string());
        }
        Ok(sentinels)
    }
}

/// A secret kept in a file (one line; surrounding whitespace is not part of it).
pub(super) fn read_secret(file: &str, field: &str) -> Result<Secret, ConfigError> {
    std::fs::read_to_string(PathBuf::from(file))
        .map(|s| Secret::new(s.trim()))
        .map_err(|e| ConfigError(format!("{field} {file} cannot be read: {e}")))
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
