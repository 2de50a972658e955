//! The migrations runner: applies the numbered Lua files of `migrations/` in order, each once.
//!
//! See `migrations/README.md` for the contract a migration file keeps.

use redis::AsyncCommands;

use super::{Store, StoreError, StoreResult};
use crate::time::now_ms;

/// One schema step.
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub body: &'static str,
}

macro_rules! migration {
    ($version:expr, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            body: include_str!(concat!("../../migrations/", $name, ".lua")),
        }
    };
}

/// Every migration, in order. Add new files here.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_initial"),
    migration!(2, "0002_engine_status"),
    migration!(3, "0003_account_ids"),
    migration!(4, "0004_quota_use"),
];

/// The schema version this binary writes.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// Wraps a file so that check, body and bookkeeping run as one atomic script.
fn wrapped(body: &str) -> String {
    format!(
        r"if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return 0 end
local function migrate(prefix, now_ms)
{body}
end
migrate(ARGV[1], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[2]) > current then redis.call('SET', KEYS[1], ARGV[2]) end
return 1"
    )
}

/// What a run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Names applied by this run.
    pub applied: Vec<&'static str>,
    /// Schema version after the run.
    pub version: u32,
}

impl Store {
    /// The schema version recorded in Redis (0 for an empty database).
    pub async fn schema_version(&self) -> StoreResult<u32> {
        let v: Option<u32> = self.conn().get(self.keys.schema_version()).await?;
        Ok(v.unwrap_or(0))
    }

    /// Applies every migration not yet recorded. Refuses to touch a schema newer than this
    /// binary knows.
    pub async fn migrate(&self) -> StoreResult<MigrationReport> {
        let found = self.schema_version().await?;
        if found > latest_version() {
            return Err(StoreError::SchemaTooNew {
                found,
                known: latest_version(),
            });
        }
        let mut report = MigrationReport::default();
        for m in MIGRATIONS {
            let applied: i64 = redis::Script::new(&wrapped(m.body))
                .key(self.keys.schema_version())
                .key(self.keys.schema_applied())
                .arg(self.keys.prefix())
                .arg(m.version)
                .arg(m.name)
                .arg(now_ms())
                .invoke_async(&mut self.conn())
                .await?;
            if applied == 1 {
                tracing::info!(migration = m.name, "applied migration");
                report.applied.push(m.name);
            }
        }
        report.version = self.schema_version().await?;
        Ok(report)
    }

    /// Names of the migrations recorded as applied, sorted.
    pub async fn applied_migrations(&self) -> StoreResult<Vec<String>> {
        let mut names: Vec<String> = self.conn().hkeys(self.keys.schema_applied()).await?;
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_embedded_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".lua"))
            .map(|n| n.trim_end_matches(".lua").to_string())
            .collect();
        files.sort();
        let embedded: Vec<String> = MIGRATIONS.iter().map(|m| m.name.to_string()).collect();
        assert_eq!(files, embedded);
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
        }
    }
}
