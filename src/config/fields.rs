//! Each setting checked and typed from the raw config: one method per group of fields, each
//! error one sentence naming the file field and its environment variable.

use std::path::PathBuf;
use std::time::Duration;

use super::raw::{RawConfig, read_secret, required_path};
use super::{ConfigError, JwtSettings, LogFormat, PlacementSettings, Secret, TlsFiles, defaults};
use crate::scheduler::Strategy;

fn error<T>(message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(message.into()))
}

impl RawConfig {
    pub(super) fn listen(&self) -> Result<std::net::SocketAddr, ConfigError> {
        let text = self.listen.as_deref().unwrap_or(defaults::LISTEN);
        text.parse().map_err(|_| {
            ConfigError(format!(
                "listen (CLEMENTINE_LISTEN) must be host:port with an IP address, not {text:?}"
            ))
        })
    }

    /// The Docker API listener: off without an address; TLS needs both files.
    pub(super) fn docker(&self) -> Result<Option<super::DockerSettings>, ConfigError> {
        let Some(text) = self.docker.listen.as_deref().filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let listen = text.parse().map_err(|_| {
            ConfigError(format!(
                "docker.listen (CLEMENTINE_DOCKER_LISTEN) must be host:port with an IP address, not {text:?}"
            ))
        })?;
        let d = &self.docker;
        let names = ["docker.tls_cert", "docker.tls_key", "docker.client_ca"];
        let vars = [
            "CLEMENTINE_DOCKER_TLS_CERT",
            "CLEMENTINE_DOCKER_TLS_KEY",
            "CLEMENTINE_DOCKER_CLIENT_CA",
        ];
        let tls = serve_tls([&d.tls_cert, &d.tls_key, &d.client_ca], names, vars)?;
        Ok(Some(super::DockerSettings { listen, tls }))
    }

    /// HTTPS for the API listener, when its certificate and key are set.
    pub(super) fn api_tls(&self) -> Result<Option<super::ServeTls>, ConfigError> {
        let t = &self.api_tls;
        let names = ["api_tls.cert", "api_tls.key", "api_tls.client_ca"];
        let vars = [
            "CLEMENTINE_API_TLS_CERT",
            "CLEMENTINE_API_TLS_KEY",
            "CLEMENTINE_API_CLIENT_CA",
        ];
        serve_tls([&t.cert, &t.key, &t.client_ca], names, vars)
    }

    pub(super) fn tls_files(&self) -> Result<TlsFiles, ConfigError> {
        Ok(TlsFiles {
            ca: required_path(&self.tls.ca, "tls.ca", "CLEMENTINE_TLS_CA")?,
            cert: required_path(&self.tls.cert, "tls.cert", "CLEMENTINE_TLS_CERT")?,
            key: required_path(&self.tls.key, "tls.key", "CLEMENTINE_TLS_KEY")?,
        })
    }

    pub(super) fn jwt(&self) -> Result<JwtSettings, ConfigError> {
        let secret = self.jwt_secret()?;
        if secret.len() < 32 {
            return error("jwt.secret (CLEMENTINE_JWT_SECRET) must be at least 32 bytes");
        }
        let ttl_secs = self.jwt.ttl_secs.unwrap_or(defaults::JWT_TTL_SECS);
        if !(10..=30 * 86_400).contains(&ttl_secs) {
            return error("jwt.ttl_secs (CLEMENTINE_JWT_TTL_SECS) must be between 10 and 2592000");
        }
        let previous = self.jwt_previous_secret()?;
        if previous.as_ref().is_some_and(|p| p.len() < 32) {
            return error(
                "jwt.previous_secret (CLEMENTINE_JWT_PREVIOUS_SECRET) must be at least 32 bytes",
            );
        }
        Ok(JwtSettings {
            secret: Secret::new(secret),
            previous_secret: previous.map(Secret::new),
            ttl: Duration::from_secs(ttl_secs),
            issuer: self
                .jwt
                .issuer
                .clone()
                .unwrap_or(defaults::JWT_ISSUER.into()),
            audience: (self.jwt.audience.clone()).unwrap_or(defaults::JWT_AUDIENCE.into()),
        })
    }

    /// The secret itself, or the contents of the secret file (which wins when both are set).
    fn jwt_secret(&self) -> Result<String, ConfigError> {
        match (&self.jwt.secret, &self.jwt.secret_file) {
            (_, Some(file)) => read_secret(file, "jwt.secret_file (CLEMENTINE_JWT_SECRET_FILE)")
                .map(|s| s.expose().to_string()),
            (Some(secret), None) => Ok(secret.clone()),
            (None, None) => error(
                "jwt.secret is missing: set CLEMENTINE_JWT_SECRET, or jwt.secret or jwt.secret_file in the config file",
            ),
        }
    }

    /// The secret tokens signed before a rotation were signed with (the file wins).
    fn jwt_previous_secret(&self) -> Result<Option<String>, ConfigError> {
        match (&self.jwt.previous_secret, &self.jwt.previous_secret_file) {
            (_, Some(file)) => read_secret(
                file,
                "jwt.previous_secret_file (CLEMENTINE_JWT_PREVIOUS_SECRET_FILE)",
            )
            .map(|s| Some(s.expose().to_string()).filter(|s| !s.is_empty())),
            (previous, None) => Ok(previous.clone().filter(|p| !p.is_empty())),
        }
    }

    pub(super) fn bootstrap_admin(&self) -> Result<Option<(String, Secret)>, ConfigError> {
        match (&self.admin_user, &self.admin_password) {
            (Some(user), Some(password)) => Ok(Some((user.clone(), Secret::new(password.clone())))),
            (None, None) => Ok(None),
            (Some(_), None) => error(
                "admin_password (CLEMENTINE_ADMIN_PASSWORD) is missing while admin_user is set",
            ),
            (None, Some(_)) => {
                error("admin_user (CLEMENTINE_ADMIN_USER) is missing while admin_password is set")
            }
        }
    }

    pub(super) fn log_format(&self) -> Result<LogFormat, ConfigError> {
        match self.log_format.as_deref().unwrap_or(defaults::LOG_FORMAT) {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => error(format!(
                "log_format (CLEMENTINE_LOG_FORMAT) must be text or json, not {other:?}"
            )),
        }
    }

    pub(super) fn placement(&self) -> Result<PlacementSettings, ConfigError> {
        let text = self.strategy.as_deref().unwrap_or(defaults::STRATEGY);
        let Some(strategy) = Strategy::parse(text) else {
            return error(format!(
                "strategy (CLEMENTINE_STRATEGY) must be binpack or spread, not {text:?}"
            ));
        };
        let default_cpus = self.default_cpus.unwrap_or(defaults::DEFAULT_CPUS);
        let (min, max) = (crate::domain::MIN_CPUS, crate::domain::MAX_CPUS);
        if !(default_cpus.is_finite() && (min..=max).contains(&default_cpus)) {
            return error(format!(
                "default_cpus (CLEMENTINE_DEFAULT_CPUS) must be {min} to {max}"
            ));
        }
        let default_memory_mb = self
            .default_memory_mb
            .unwrap_or(defaults::DEFAULT_MEMORY_MB);
        let (min_mb, max_mb) = (crate::domain::MIN_MEMORY_MB, crate::domain::MAX_MEMORY_MB);
        if !(min_mb..=max_mb).contains(&default_memory_mb) {
            return error(format!(
                "default_memory_mb (CLEMENTINE_DEFAULT_MEMORY_MB) must be {min_mb} to {max_mb}"
            ));
        }
        Ok(PlacementSettings {
            strategy,
            default_cpus,
            default_memory_mb,
        })
    }

    /// The key for secrets at rest: the file wins over the text, as for the JWT secret.
    pub(super) fn secrets_key(&self) -> Result<Option<Secret>, ConfigError> {
        let key = match (&self.secrets_key, &self.secrets_key_file) {
            (_, Some(file)) => read_secret(file, "secrets_key_file (CLEMENTINE_SECRETS_KEY_FILE)")?
                .expose()
                .to_string(),
            (Some(key), None) => key.clone(),
            (None, None) => return Ok(None),
        };
        if key.len() < 32 {
            return error("secrets_key (CLEMENTINE_SECRETS_KEY) must be at least 32 bytes");
        }
        Ok(Some(Secret::new(key)))
    }

    /// The secrets key before a rotation (the file wins), when one is being retired.
    pub(super) fn secrets_previous_key(&self) -> Result<Option<Secret>, ConfigError> {
        let key = match (&self.secrets_previous_key, &self.secrets_previous_key_file) {
            (_, Some(file)) => read_secret(
                file,
                "secrets_previous_key_file (CLEMENTINE_SECRETS_PREVIOUS_KEY_FILE)",
            )?,
            (Some(key), None) => Secret::new(key.clone()),
            (None, None) => return Ok(None),
        };
        if key.expose().is_empty() {
            return Ok(None);
        }
        if self.secrets_key.is_none() && self.secrets_key_file.is_none() {
            return error(
                "secrets_previous_key (CLEMENTINE_SECRETS_PREVIOUS_KEY) needs the new key in CLEMENTINE_SECRETS_KEY",
            );
        }
        Ok(Some(key))
    }

    /// At most one checkpoint per this many seconds (at least one).
    pub(super) fn audit_checkpoint_every(&self) -> Duration {
        let secs = self.audit_checkpoint_secs;
        Duration::from_secs(secs.unwrap_or(defaults::AUDIT_CHECKPOINT_SECS).max(1))
    }

    pub(super) fn audit_signing_key_file(&self) -> Result<Option<PathBuf>, ConfigError> {
        let (file, field) = (&self.audit_signing_key_file, "audit_signing_key_file");
        (file.is_some())
            .then(|| required_path(file, field, "CLEMENTINE_AUDIT_SIGNING_KEY_FILE"))
            .transpose()
    }

    /// The registries engines may pull from; `None`: any.
    pub(super) fn pull_registries(&self) -> Option<Vec<String>> {
        self.pull_registries.as_deref().map(|list| {
            (list.split(',').map(str::trim))
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect()
        })
    }

    pub(super) fn audit_max_len(&self) -> Result<Option<u64>, ConfigError> {
        if self.audit_max_len.is_some_and(|n| n < 1000) {
            return error(
                "audit_max_len (CLEMENTINE_AUDIT_MAX_LEN) must be at least 1000 when set",
            );
        }
        Ok(self.audit_max_len)
    }

    pub(super) fn trusted_proxies(&self) -> Result<Vec<std::net::IpAddr>, ConfigError> {
        let list = self.trusted_proxies.as_deref().unwrap_or("");
        let items = list.split(',').map(str::trim).filter(|p| !p.is_empty());
        items
            .map(|p| {
                p.parse().map_err(|_| {
                    ConfigError(format!(
                        "trusted_proxies (CLEMENTINE_TRUSTED_PROXIES): {p:?} is not an IP address"
                    ))
                })
            })
            .collect()
    }
}

/// A listener's TLS files: a certificate and key together (or neither: plain HTTP), and a client
/// CA only with them.
fn serve_tls(
    [cert, key, client_ca]: [&Option<String>; 3],
    names: [&str; 3],
    vars: [&str; 3],
) -> Result<Option<super::ServeTls>, ConfigError> {
    let client_ca = client_ca
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(PathBuf::from);
    match (
        cert.as_deref().filter(|c| !c.is_empty()),
        key.as_deref().filter(|k| !k.is_empty()),
    ) {
        (Some(cert), Some(key)) => Ok(Some(super::ServeTls {
            cert: PathBuf::from(cert),
            key: PathBuf::from(key),
            client_ca,
        })),
        (None, None) if client_ca.is_none() => Ok(None),
        (None, None) => error(format!(
            "{} ({}) needs {} and {} ({}, {})",
            names[2], vars[2], names[0], names[1], vars[0], vars[1]
        )),
        _ => error(format!(
            "{} and {} ({}, {}) go together",
            names[0], names[1], vars[0], vars[1]
        )),
    }
}
