//! Quotas: the most one owner (a user, or a team) may hold at once, across every engine.
//!
//! Limits are checked and taken inside the same atomic claim as an engine's capacity
//! (`store::claims`), so that no burst, over any number of replicas, takes more than the limit.
//! Use is kept for every owner, limited or not, so that a limit set later starts from the truth.

use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

use super::{InvalidInput, MAX_CPUS, MAX_MEMORY_MB};

/// Largest count a quota may name (containers, volumes, published ports).
pub const MAX_QUOTA_COUNT: u64 = 1_000_000;

/// What an owner may hold at once; an absent field has no limit.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, Object)]
#[oai(skip_serializing_if_is_none)]
#[serde(deny_unknown_fields)]
pub struct QuotaLimits {
    /// CPUs reserved by running containers.
    pub cpus: Option<f64>,
    /// Memory in MB reserved by running containers.
    pub memory: Option<u64>,
    /// Containers.
    pub containers: Option<u64>,
    /// Named volumes, counted when they are made.
    pub volumes: Option<u64>,
    /// Host ports published by running containers.
    pub published_ports: Option<u64>,
}

/// What an owner holds now.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, Object)]
pub struct QuotaUse {
    pub cpus: f64,
    pub memory: u64,
    pub containers: u64,
    pub volumes: u64,
    pub published_ports: u64,
}

/// Whose quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum OwnerKind {
    User,
    Team,
}

/// One owner's limits and use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Object)]
pub struct Quota {
    pub kind: OwnerKind,
    /// The user's or team's name.
    pub name: String,
    /// Empty when nothing is limited.
    pub limits: QuotaLimits,
    pub used: QuotaUse,
}

/// A resource a quota limits, as the claim script names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Cpus,
    Memory,
    Containers,
    Volumes,
    PublishedPorts,
}

impl Resource {
    pub const ALL: [Resource; 5] = [
        Resource::Cpus,
        Resource::Memory,
        Resource::Containers,
        Resource::Volumes,
        Resource::PublishedPorts,
    ];

    /// The field in Redis (CPUs are kept in thousandths, as reservations are).
    pub fn field(self) -> &'static str {
        match self {
            Resource::Cpus => "cpus_milli",
            Resource::Memory => "memory",
            Resource::Containers => "containers",
            Resource::Volumes => "volumes",
            Resource::PublishedPorts => "published_ports",
        }
    }

    /// The name clients see.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Cpus => "cpus",
            Resource::Memory => "memory",
            Resource::Containers => "containers",
            Resource::Volumes => "volumes",
            Resource::PublishedPorts => "published_ports",
        }
    }

    pub fn from_field(field: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.field() == field)
    }

    /// A stored amount as clients see it (`cpus_milli` 1500 is 1.5 CPUs).
    pub fn shown(self, stored: u64) -> String {
        match self {
            Resource::Cpus => format!("{}", stored as f64 / 1000.0),
            Resource::Memory => format!("{stored} MB"),
            _ => stored.to_string(),
        }
    }
}

impl QuotaLimits {
    /// Checks the bounds (the spec states them).
    pub fn check(&self) -> Result<(), InvalidInput> {
        if let Some(c) = self.cpus
            && !(c.is_finite() && (0.0..=MAX_CPUS * 1000.0).contains(&c))
        {
            let why = format!("must be 0 to {}", MAX_CPUS * 1000.0);
            return Err(InvalidInput::new("cpus", why));
        }
        if self.memory.is_some_and(|m| m > MAX_MEMORY_MB * 1000) {
            let why = format!("must be 0 to {} MB", MAX_MEMORY_MB * 1000);
            return Err(InvalidInput::new("memory", why));
        }
        for (field, n) in [
            ("containers", self.containers),
            ("volumes", self.volumes),
            ("published_ports", self.published_ports),
        ] {
            if n.is_some_and(|n| n > MAX_QUOTA_COUNT) {
                let why = format!("must be 0 to {MAX_QUOTA_COUNT}");
                return Err(InvalidInput::new(field, why));
            }
        }
        Ok(())
    }

    /// The limits as the store keeps them: `(field, amount)` for each limited resource.
    pub fn stored(&self) -> Vec<(&'static str, u64)> {
        let cpus = self.cpus.map(|c| (c * 1000.0).round() as u64);
        [
            (Resource::Cpus, cpus),
            (Resource::Memory, self.memory),
            (Resource::Containers, self.containers),
            (Resource::Volumes, self.volumes),
            (Resource::PublishedPorts, self.published_ports),
        ]
        .into_iter()
        .filter_map(|(r, n)| n.map(|n| (r.field(), n)))
        .collect()
    }

    /// Back from the store's fields.
    pub fn from_stored(fields: &[(String, u64)]) -> Self {
        let get = |r: Resource| fields.iter().find(|(f, _)| f == r.field()).map(|(_, n)| *n);
        QuotaLimits {
            cpus: get(Resource::Cpus).map(|m| m as f64 / 1000.0),
            memory: get(Resource::Memory),
            containers: get(Resource::Containers),
            volumes: get(Resource::Volumes),
            published_ports: get(Resource::PublishedPorts),
        }
    }
}

impl QuotaUse {
    pub fn from_stored(fields: &[(String, u64)]) -> Self {
        let get = |r: Resource| {
            (fields.iter())
                .find(|(f, _)| f == r.field())
                .map_or(0, |(_, n)| *n)
        };
        QuotaUse {
            cpus: get(Resource::Cpus) as f64 / 1000.0,
            memory: get(Resource::Memory),
            containers: get(Resource::Containers),
            volumes: get(Resource::Volumes),
            published_ports: get(Resource::PublishedPorts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_round_trip_through_the_store_fields() {
        let limits = QuotaLimits {
            cpus: Some(1.5),
            memory: None,
            containers: Some(10),
            volumes: Some(0),
            published_ports: None,
        };
        let stored: Vec<(String, u64)> = (limits.stored().into_iter())
            .map(|(f, n)| (f.to_string(), n))
            .collect();
        assert_eq!(
            stored,
            [
                ("cpus_milli".into(), 1500),
                ("containers".into(), 10),
                ("volumes".into(), 0)
            ]
        );
        assert_eq!(QuotaLimits::from_stored(&stored), limits);
        assert!(
            QuotaLimits {
                cpus: Some(-1.0),
                ..limits
            }
            .check()
            .is_err()
        );
        assert!(
            QuotaLimits {
                containers: Some(u64::MAX),
                ..limits
            }
            .check()
            .is_err()
        );
        assert_eq!(Resource::Cpus.shown(1500), "1.5");
    }
}
