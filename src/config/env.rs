//! The environment variables: each one, the config-file field it overrides, and how it is
//! read. A test holds the README's configuration table to this one.

use super::raw::RawConfig;
use super::{ConfigError, EnvLookup};

/// Lays every variable of [`ENV`] that is set over the file's values.
pub(super) fn apply_env(raw: &mut RawConfig, env: EnvLookup) -> Result<(), ConfigError> {
    for (var, _, apply) in ENV {
        if let Some(value) = env(var) {
            apply(raw, value).map_err(|why| ConfigError(format!("{var} {why}")))?;
        }
    }
    // An env-provided secret wins over a file named in the config file.
    if env("CLEMENTINE_JWT_SECRET").is_some() && env("CLEMENTINE_JWT_SECRET_FILE").is_none() {
        raw.jwt.secret_file = None;
    }
    Ok(())
}

/// How one environment variable sets its field: `Err` says what is wrong with the value.
type Apply = fn(&mut RawConfig, String) -> Result<(), String>;

/// A text field: taken as it is.
macro_rules! text {
    ($($field:ident).+) => {
        |raw: &mut RawConfig, value: String| {
            raw.$($field).+ = Some(value);
            Ok(())
        }
    };
}

/// A number field.
macro_rules! number {
    ($($field:ident).+) => {
        |raw: &mut RawConfig, value: String| {
            raw.$($field).+ = Some(
                value
                    .trim()
                    .parse()
                    .map_err(|_| format!("must be a number, not {value:?}"))?,
            );
            Ok(())
        }
    };
}

/// A yes/no field: `true` or `false`.
macro_rules! flag {
    ($($field:ident).+) => {
        |raw: &mut RawConfig, value: String| {
            raw.$($field).+ = Some(match value.trim() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(format!("must be true or false, not {value:?}")),
            });
            Ok(())
        }
    };
}

/// Every environment variable, the config-file field it overrides, and how it is read. The
/// README's configuration table lists the same rows; a test holds the two together.
pub(super) const ENV: &[(&str, &str, Apply)] = &[
    ("CLEMENTINE_LISTEN", "listen", text!(listen)),
    ("CLEMENTINE_REDIS_URL", "redis_url", text!(redis_url)),
    (
        "CLEMENTINE_REDIS_SENTINELS",
        "redis_sentinels",
        text!(redis_sentinels),
    ),
    (
        "CLEMENTINE_REDIS_MASTER",
        "redis_master",
        text!(redis_master),
    ),
    (
        "CLEMENTINE_REDIS_USERNAME",
        "redis_username",
        text!(redis_username),
    ),
    (
        "CLEMENTINE_REDIS_PASSWORD",
        "redis_password",
        text!(redis_password),
    ),
    (
        "CLEMENTINE_REDIS_PASSWORD_FILE",
        "redis_password_file",
        text!(redis_password_file),
    ),
    ("CLEMENTINE_REDIS_CA", "redis_ca", text!(redis_ca)),
    (
        "CLEMENTINE_REDIS_CLIENT_CERT",
        "redis_client_cert",
        text!(redis_client_cert),
    ),
    (
        "CLEMENTINE_REDIS_CLIENT_KEY",
        "redis_client_key",
        text!(redis_client_key),
    ),
    (
        "CLEMENTINE_REDIS_SENTINEL_PASSWORD",
        "redis_sentinel_password",
        text!(redis_sentinel_password),
    ),
    (
        "CLEMENTINE_REDIS_SENTINEL_TLS",
        "redis_sentinel_tls",
        flag!(redis_sentinel_tls),
    ),
    ("CLEMENTINE_KEY_PREFIX", "key_prefix", text!(key_prefix)),
    ("CLEMENTINE_TLS_CA", "tls.ca", text!(tls.ca)),
    ("CLEMENTINE_TLS_CERT", "tls.cert", text!(tls.cert)),
    ("CLEMENTINE_TLS_KEY", "tls.key", text!(tls.key)),
    ("CLEMENTINE_JWT_SECRET", "jwt.secret", text!(jwt.secret)),
    (
        "CLEMENTINE_JWT_SECRET_FILE",
        "jwt.secret_file",
        text!(jwt.secret_file),
    ),
    (
        "CLEMENTINE_JWT_PREVIOUS_SECRET",
        "jwt.previous_secret",
        text!(jwt.previous_secret),
    ),
    (
        "CLEMENTINE_JWT_PREVIOUS_SECRET_FILE",
        "jwt.previous_secret_file",
        text!(jwt.previous_secret_file),
    ),
    (
        "CLEMENTINE_JWT_TTL_SECS",
        "jwt.ttl_secs",
        number!(jwt.ttl_secs),
    ),
    ("CLEMENTINE_JWT_ISSUER", "jwt.issuer", text!(jwt.issuer)),
    (
        "CLEMENTINE_JWT_AUDIENCE",
        "jwt.audience",
        text!(jwt.audience),
    ),
    (
        "CLEMENTINE_MONITOR_INTERVAL_MS",
        "monitor_interval_ms",
        number!(monitor_interval_ms),
    ),
    (
        "CLEMENTINE_ENGINE_TIMEOUT_MS",
        "engine_timeout_ms",
        number!(engine_timeout_ms),
    ),
    (
        "CLEMENTINE_MAX_BODY_BYTES",
        "max_body_bytes",
        number!(max_body_bytes),
    ),
    ("CLEMENTINE_ADMIN_USER", "admin_user", text!(admin_user)),
    (
        "CLEMENTINE_ADMIN_PASSWORD",
        "admin_password",
        text!(admin_password),
    ),
    ("CLEMENTINE_LOG_FORMAT", "log_format", text!(log_format)),
    ("CLEMENTINE_STRATEGY", "strategy", text!(strategy)),
    (
        "CLEMENTINE_DEFAULT_CPUS",
        "default_cpus",
        number!(default_cpus),
    ),
    (
        "CLEMENTINE_DEFAULT_MEMORY_MB",
        "default_memory_mb",
        number!(default_memory_mb),
    ),
    (
        "CLEMENTINE_RECONCILE_INTERVAL_MS",
        "reconcile_interval_ms",
        number!(reconcile_interval_ms),
    ),
    (
        "CLEMENTINE_AUDIT_MAX_LEN",
        "audit_max_len",
        number!(audit_max_len),
    ),
    (
        "CLEMENTINE_AUDIT_CHECKPOINT_SECS",
        "audit_checkpoint_secs",
        number!(audit_checkpoint_secs),
    ),
    (
        "CLEMENTINE_AUDIT_SIGNING_KEY_FILE",
        "audit_signing_key_file",
        text!(audit_signing_key_file),
    ),
    (
        "CLEMENTINE_SHUTDOWN_GRACE_MS",
        "shutdown_grace_ms",
        number!(shutdown_grace_ms),
    ),
    (
        "CLEMENTINE_PULL_TIMEOUT_MS",
        "pull_timeout_ms",
        number!(pull_timeout_ms),
    ),
    (
        "CLEMENTINE_PULL_REGISTRIES",
        "pull_registries",
        text!(pull_registries),
    ),
    (
        "CLEMENTINE_TRUSTED_PROXIES",
        "trusted_proxies",
        text!(trusted_proxies),
    ),
    ("CLEMENTINE_SECRETS_KEY", "secrets_key", text!(secrets_key)),
    (
        "CLEMENTINE_SECRETS_KEY_FILE",
        "secrets_key_file",
        text!(secrets_key_file),
    ),
    (
        "CLEMENTINE_SECRETS_PREVIOUS_KEY",
        "secrets_previous_key",
        text!(secrets_previous_key),
    ),
    (
        "CLEMENTINE_SECRETS_PREVIOUS_KEY_FILE",
        "secrets_previous_key_file",
        text!(secrets_previous_key_file),
    ),
    (
        "CLEMENTINE_DOCKER_LISTEN",
        "docker.listen",
        text!(docker.listen),
    ),
    (
        "CLEMENTINE_DOCKER_TLS_CERT",
        "docker.tls_cert",
        text!(docker.tls_cert),
    ),
    (
        "CLEMENTINE_DOCKER_TLS_KEY",
        "docker.tls_key",
        text!(docker.tls_key),
    ),
    (
        "CLEMENTINE_DOCKER_CLIENT_CA",
        "docker.client_ca",
        text!(docker.client_ca),
    ),
    (
        "CLEMENTINE_API_TLS_CERT",
        "api_tls.cert",
        text!(api_tls.cert),
    ),
    ("CLEMENTINE_API_TLS_KEY", "api_tls.key", text!(api_tls.key)),
    (
        "CLEMENTINE_API_CLIENT_CA",
        "api_tls.client_ca",
        text!(api_tls.client_ca),
    ),
];
