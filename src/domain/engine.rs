//! An engine: one Docker daemon reached over mutual TLS.

use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

/// A Docker engine in the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Object)]
pub struct Engine {
    /// Unique id of the engine (letters, digits, `_`, `-`, `.`; at most 64 characters).
    pub id: String,
    /// Docker API address, always `https://host:port` (mutual TLS).
    pub addr: String,
    /// CPUs the scheduler may hand out on this engine.
    pub cpus: f64,
    /// Memory in MB the scheduler may hand out on this engine.
    pub memory: u64,
    /// Free-form labels matched by `service` placement (for example `ssd`, `zone:a`).
    pub labels: Vec<String>,
    /// Set by admins: `active` engines take new containers, `draining` ones keep what they run
    /// but take nothing new, `disabled` ones are ignored.
    pub status: EngineStatus,
    /// The addresses users may publish ports on (`bind_ports[].host_ip`): by default the
    /// address the engine is reached on. Admins may publish anywhere.
    #[serde(default)]
    pub publish_ips: Vec<String>,
    /// Kept by the health monitor.
    #[serde(skip)]
    pub health: EngineHealth,
}

/// Whether an engine takes new containers; set by admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum EngineStatus {
    #[default]
    Active,
    Draining,
    Disabled,
}

/// What the health monitor last saw of an engine.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Object)]
pub struct EngineHealth {
    /// `healthy` when the last check answered, `unhealthy` when it failed, `unknown` before the
    /// first check.
    pub state: HealthState,
    /// When the engine last answered (RFC 3339).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// When the monitor last checked (RFC 3339).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// The error of the last failed check; absent when the last check succeeded.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// How long the last successful check took, in milliseconds.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_ms: Option<f64>,
    /// The Docker version the engine reported.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
    /// The Docker API version the engine reported.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// When the engine's TLS certificate expires (RFC 3339), as the checking process's last
    /// handshake with it showed.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_expires_at: Option<String>,
    /// True when that certificate expires within 30 days (or has): renew it with `clementine
    /// pki engine`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_expiring: Option<bool>,
}

/// Health of an engine as the monitor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum HealthState {
    #[default]
    Unknown,
    Healthy,
    Unhealthy,
    /// A call to it timed out since the monitor last heard from it (this process's view):
    /// placement skips it until the monitor's next check answers.
    Suspect,
}

/// At most this many publish addresses per engine.
pub const MAX_PUBLISH_IPS: usize = 16;

/// The host of an `https://host:port` engine address (brackets of an IPv6 host removed).
pub fn addr_host(addr: &str) -> &str {
    let rest = addr.strip_prefix("https://").unwrap_or(addr);
    let rest = rest.split('/').next().unwrap_or(rest);
    match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => rest.rsplit_once(':').map_or(rest, |(host, _)| host),
    }
}

/// Whether an address means "this host" wherever it is used: loopback or unspecified. A
/// registry or a published port there is a different one on every engine's host.
pub fn is_host_local(ip: std::net::IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified()
}

/// Checks an admin's list of publish addresses: IP addresses, at most [`MAX_PUBLISH_IPS`].
pub fn check_publish_ips(field: &str, ips: &[String]) -> Result<(), super::InvalidInput> {
    if ips.is_empty() || ips.len() > MAX_PUBLISH_IPS {
        let why = format!("must list 1 to {MAX_PUBLISH_IPS} addresses");
        return Err(super::InvalidInput::new(field, why));
    }
    for (i, ip) in ips.iter().enumerate() {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(super::InvalidInput::new(
                format!("{field}[{i}]"),
                "must be an IP address",
            ));
        }
    }
    Ok(())
}

impl Engine {
    /// Fills in the default publish address (the one it is reached on) for a record written
    /// before the field existed, or an engine added without the field.
    pub fn with_default_publish_ips(mut self) -> Self {
        if self.publish_ips.is_empty() {
            self.publish_ips = vec![addr_host(&self.addr).to_string()];
        }
        self
    }

    /// Whether users may publish on `ip` here.
    pub fn publishes_on(&self, ip: std::net::IpAddr) -> bool {
        (self.publish_ips.iter()).any(|p| p.parse::<std::net::IpAddr>() == Ok(ip))
    }

    /// True when the scheduler may place new containers here.
    pub fn is_schedulable(&self) -> bool {
        self.status == EngineStatus::Active && self.health.state == HealthState::Healthy
    }
}

/// An engine as the audit log records it in the `detail` of `engine.add` and `engine.update`
/// outcomes: enough for replay to add it again to an empty Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineRecord {
    pub addr: String,
    pub cpus: f64,
    pub memory: u64,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub status: EngineStatus,
    #[serde(default)]
    pub publish_ips: Vec<String>,
}

impl EngineRecord {
    pub fn of(e: &Engine) -> Self {
        Self {
            addr: e.addr.clone(),
            cpus: e.cpus,
            memory: e.memory,
            labels: e.labels.clone(),
            status: e.status,
            publish_ips: e.publish_ips.clone(),
        }
    }

    /// The engine again, with its health not yet known.
    pub fn into_engine(self, id: &str) -> Engine {
        Engine {
            id: id.to_string(),
            addr: self.addr,
            cpus: self.cpus,
            memory: self.memory,
            labels: self.labels,
            status: self.status,
            publish_ips: self.publish_ips,
            health: EngineHealth::default(),
        }
        .with_default_publish_ips()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_of_an_address() {
        assert_eq!(addr_host("https://127.0.0.11:2376"), "127.0.0.11");
        assert_eq!(addr_host("https://[::1]:2376"), "::1");
        assert_eq!(addr_host("https://engine.example"), "engine.example");
        assert!(is_host_local("127.0.0.1".parse().unwrap()));
        assert!(is_host_local("127.9.9.9".parse().unwrap()));
        assert!(is_host_local("::1".parse().unwrap()));
        assert!(is_host_local("0.0.0.0".parse().unwrap()));
        assert!(is_host_local("::".parse().unwrap()));
        assert!(!is_host_local("10.1.2.3".parse().unwrap()));
        assert!(check_publish_ips("p", &["10.0.0.1".into(), "::1".into()]).is_ok());
        assert!(check_publish_ips("p", &["nope".into()]).is_err());
        assert!(check_publish_ips("p", &[]).is_err());
    }
}
