//! Backup and restore of one deployment's keys (everything under its prefix: users, tokens,
//! engines, grants, teams, quotas, configs, sealed registry credentials, claims, the audit
//! stream and its tree), as Redis's own `DUMP` payloads.
//!
//! The snapshot is consistent: every key is dumped inside one `MULTI`/`EXEC`, so no write of
//! another client lands between two of them. Keys are found with `SCAN` first; a key created
//! between the scan and the transaction is not in the backup (run it when nothing is being
//! created, or accept that). Restore writes every key with `RESTORE` in one transaction, into
//! a prefix that holds nothing unless forced.

use redis::AsyncCommands;

use super::{Store, StoreResult};

/// One key: its name under the prefix, milliseconds to live (`-1`: none) and `DUMP` payload.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DumpedKey {
    pub key: String,
    pub ttl_ms: i64,
    #[serde(with = "base64_bytes")]
    pub dump: Vec<u8>,
}

mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

impl Store {
    /// Every key under the prefix, in no order, but the start-up access probe (which every
    /// connection writes for a second).
    async fn own_keys(&self) -> StoreResult<Vec<String>> {
        let probe = self.keys.access_probe();
        let pattern = format!("{}*", self.keys.prefix());
        let mut conn = self.conn();
        let mut found = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            found.extend(keys.into_iter().filter(|k| *k != probe));
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }

    /// Whether anything is stored under the prefix.
    pub async fn holds_anything(&self) -> StoreResult<bool> {
        Ok(!self.own_keys().await?.is_empty())
    }

    /// Dumps every key under the prefix in one transaction.
    pub async fn dump_all(&self) -> StoreResult<Vec<DumpedKey>> {
        let keys = self.own_keys().await?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for key in &keys {
            pipe.cmd("DUMP").arg(key).cmd("PTTL").arg(key);
        }
        let answers: Vec<redis::Value> = pipe.query_async(&mut self.conn()).await?;
        let prefix = self.keys.prefix();
        let mut dumped = Vec::with_capacity(keys.len());
        for (key, pair) in keys.iter().zip(answers.chunks_exact(2)) {
            // A key that expired between the scan and the transaction dumps as nil.
            let Ok(dump) = redis::from_redis_value::<Vec<u8>>(pair[0].clone()) else {
                continue;
            };
            let ttl_ms: i64 = redis::from_redis_value(pair[1].clone()).unwrap_or(-1);
            dumped.push(DumpedKey {
                key: key.strip_prefix(prefix).unwrap_or(key).to_string(),
                ttl_ms,
                dump,
            });
        }
        Ok(dumped)
    }

    /// Restores keys under the prefix in one transaction, replacing any of the same name.
    pub async fn restore_all(&self, keys: &[DumpedKey]) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for k in keys {
            let ttl = if k.ttl_ms > 0 { k.ttl_ms } else { 0 };
            pipe.cmd("RESTORE")
                .arg(format!("{}{}", self.keys.prefix(), k.key))
                .arg(ttl)
                .arg(&k.dump)
                .arg("REPLACE")
                .ignore();
        }
        let _: () = pipe.query_async(&mut self.conn()).await?;
        Ok(())
    }

    /// Deletes every key under the prefix (a forced restore starts from nothing).
    pub async fn delete_all(&self) -> StoreResult<()> {
        let keys = self.own_keys().await?;
        for chunk in keys.chunks(500) {
            let _: () = self.conn().del(chunk).await?;
        }
        Ok(())
    }
}
