//! Saved image configs, per owner: `P images:{owner}` maps a config name to its JSON.

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::{Store, StoreResult, corrupt};
use crate::domain::ImageConfig;

/// A saved config as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredImage {
    pub image: ImageConfig,
    pub created_ms: u64,
    pub updated_ms: u64,
}

impl Store {
    /// Saves a config under a name; `false` when the name is taken (nothing written).
    pub async fn create_image(
        &self,
        owner: &str,
        name: &str,
        image: &StoredImage,
    ) -> StoreResult<bool> {
        let json = serde_json::to_string(image).unwrap_or_default();
        Ok(self
            .conn()
            .hset_nx(self.keys.saved_images(owner), name, json)
            .await?)
    }

    /// Replaces an existing config; `false` when there is none.
    pub async fn replace_image(
        &self,
        owner: &str,
        name: &str,
        image: &StoredImage,
    ) -> StoreResult<bool> {
        let json = serde_json::to_string(image).unwrap_or_default();
        let replaced: i64 = redis::Script::new(
            "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1",
        )
        .key(self.keys.saved_images(owner))
        .arg(name)
        .arg(json)
        .invoke_async(&mut self.conn())
        .await?;
        Ok(replaced == 1)
    }

    pub async fn get_image(&self, owner: &str, name: &str) -> StoreResult<Option<StoredImage>> {
        let key = self.keys.saved_images(owner);
        let json: Option<String> = self.conn().hget(&key, name).await?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| corrupt(&key, e)))
            .transpose()
    }

    /// Every config of an owner, sorted by name.
    pub async fn list_images(&self, owner: &str) -> StoreResult<Vec<(String, StoredImage)>> {
        let key = self.keys.saved_images(owner);
        let all: Vec<(String, String)> = self.conn().hgetall(&key).await?;
        let mut images = all
            .into_iter()
            .map(|(name, j)| {
                Ok((
                    name,
                    serde_json::from_str(&j).map_err(|e| corrupt(&key, e))?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        images.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(images)
    }

    /// Deletes a config; `false` when there was none.
    pub async fn delete_image(&self, owner: &str, name: &str) -> StoreResult<bool> {
        let n: i64 = self
            .conn()
            .hdel(self.keys.saved_images(owner), name)
            .await?;
        Ok(n == 1)
    }
}
