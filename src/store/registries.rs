//! Registry credentials: `registry:{id}` (a hash with the password sealed), every id in
//! `registries`.

use std::collections::HashMap;

use redis::AsyncCommands;

use super::{Store, StoreResult};

/// Stored credentials; `sealed` is the password sealed by `auth::SecretBox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRecord {
    pub id: String,
    pub owner: String,
    pub server: String,
    pub username: String,
    pub sealed: String,
    pub shared: bool,
    pub created_ms: u64,
}

impl RegistryRecord {
    fn from_hash(id: &str, h: HashMap<String, String>) -> Option<Self> {
        Some(Self {
            id: id.to_string(),
            owner: h.get("owner")?.clone(),
            server: h.get("server")?.clone(),
            username: h.get("username")?.clone(),
            sealed: h.get("sealed")?.clone(),
            shared: h.get("shared").is_some_and(|s| s == "1"),
            created_ms: h.get("created_ms")?.parse().ok()?,
        })
    }
}

impl Store {
    pub async fn add_registry(&self, r: &RegistryRecord) -> StoreResult<()> {
        let fields = [
            ("owner", r.owner.clone()),
            ("server", r.server.clone()),
            ("username", r.username.clone()),
            ("sealed", r.sealed.clone()),
            ("shared", if r.shared { "1" } else { "0" }.to_string()),
            ("created_ms", r.created_ms.to_string()),
        ];
        let _: () = redis::pipe()
            .atomic()
            .hset_multiple(self.keys.registry(&r.id), &fields)
            .ignore()
            .sadd(self.keys.registries(), &r.id)
            .ignore()
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Every stored credential, oldest first.
    pub async fn list_registries(&self) -> StoreResult<Vec<RegistryRecord>> {
        let ids: Vec<String> = self.conn().smembers(self.keys.registries()).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(self.keys.registry(id));
        }
        let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut self.conn()).await?;
        let mut all: Vec<RegistryRecord> = (ids.iter().zip(hashes))
            .filter_map(|(id, h)| RegistryRecord::from_hash(id, h))
            .collect();
        all.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        Ok(all)
    }

    /// Replaces a credential's sealed password, only if it is still `before` (so a rotation
    /// racing a delete or another rotation changes nothing it did not read). Whether it did.
    pub async fn reseal_registry(&self, id: &str, before: &str, after: &str) -> StoreResult<bool> {
        let swapped: i64 = redis::Script::new(
            "if redis.call('HGET', KEYS[1], 'sealed') == ARGV[1] then \
               redis.call('HSET', KEYS[1], 'sealed', ARGV[2]) return 1 end return 0",
        )
        .key(self.keys.registry(id))
        .arg(before)
        .arg(after)
        .invoke_async(&mut self.conn())
        .await?;
        Ok(swapped == 1)
    }

    pub async fn delete_registry(&self, id: &str) -> StoreResult<bool> {
        let (deleted, _): (i64, i64) = redis::pipe()
            .atomic()
            .del(self.keys.registry(id))
            .srem(self.keys.registries(), id)
            .query_async(&mut self.conn())
            .await?;
        Ok(deleted == 1)
    }

    /// Whether any credentials are stored (start-up refuses to run without a key then).
    pub async fn has_registries(&self) -> StoreResult<bool> {
        let n: u64 = self.conn().scard(self.keys.registries()).await?;
        Ok(n > 0)
    }
}
