//! Quota limits and use per owner (a username, or `team:<name>`). Containers, CPUs, memory and
//! published ports are taken and given back by the claim and release scripts
//! (`store::claims`); volumes by [`Store::take_volume`] and [`Store::give_volume`] here, when
//! a volume is made and removed.

use std::collections::HashMap;

use super::{Store, StoreResult, corrupt};
use crate::domain::QuotaResource;

/// Replaces an owner's limits; keeps the set of limited owners.
const SET_QUOTA: &str = r"
redis.call('DEL', KEYS[1])
if #ARGV > 1 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
  redis.call('SADD', KEYS[2], ARGV[1])
else
  redis.call('SREM', KEYS[2], ARGV[1])
end
return 1
";

/// Takes one volume of the owner's quota, unless the limit is reached: 'ok', or 'quota
/// volumes <used> <limit>'.
const TAKE_VOLUME: &str = r"
local used = tonumber(redis.call('HGET', KEYS[2], 'volumes') or '0')
local limit = redis.call('HGET', KEYS[1], 'volumes')
if limit and used + 1 > tonumber(limit) then
  return 'quota volumes ' .. used .. ' ' .. limit
end
redis.call('HINCRBY', KEYS[2], 'volumes', 1)
return 'ok'
";

/// One owner's limits and use, as stored.
pub type StoredQuota = (Vec<(String, u64)>, Vec<(String, u64)>);

fn numbers(key: &str, h: HashMap<String, String>) -> StoreResult<Vec<(String, u64)>> {
    let mut fields: Vec<(String, u64)> = Vec::with_capacity(h.len());
    for (field, value) in h {
        // Use may pass below zero for a moment only if a release raced a migration; show 0.
        let n: i64 = value.parse().map_err(|_| corrupt(key, "not a number"))?;
        fields.push((field, n.max(0) as u64));
    }
    Ok(fields)
}

impl Store {
    /// Sets an owner's limits (`(field, amount)`; none: no limit at all).
    pub async fn set_quota(&self, owner: &str, limits: &[(&str, u64)]) -> StoreResult<()> {
        let set = redis::Script::new(SET_QUOTA);
        let mut script = set.prepare_invoke();
        script
            .key(self.keys.quota(owner))
            .key(self.keys.quotas())
            .arg(owner);
        for (field, n) in limits {
            script.arg(*field).arg(*n);
        }
        let _: i64 = script.invoke_async(&mut self.conn()).await?;
        Ok(())
    }

    /// Limits and use of each owner, in the order given (one round trip).
    pub async fn quotas_of(&self, owners: &[String]) -> StoreResult<Vec<StoredQuota>> {
        let mut pipe = redis::pipe();
        for owner in owners {
            pipe.hgetall(self.keys.quota(owner))
                .hgetall(self.keys.quota_used(owner));
        }
        let rows: Vec<HashMap<String, String>> = pipe.query_async(&mut self.conn()).await?;
        let mut out = Vec::with_capacity(owners.len());
        for (owner, pair) in owners.iter().zip(rows.chunks(2)) {
            let limits = numbers(&self.keys.quota(owner), pair[0].clone())?;
            let used = numbers(&self.keys.quota_used(owner), pair[1].clone())?;
            out.push((limits, used));
        }
        Ok(out)
    }

    /// Owners with a limit set, sorted.
    pub async fn limited_owners(&self) -> StoreResult<Vec<String>> {
        let mut owners: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.quotas())
            .query_async(&mut self.conn())
            .await?;
        owners.sort();
        Ok(owners)
    }

    /// Takes one volume of `owner`'s quota: `Err((used, limit))` when it is full.
    pub async fn take_volume(&self, owner: &str) -> StoreResult<Result<(), (u64, u64)>> {
        let answer: String = redis::Script::new(TAKE_VOLUME)
            .key(self.keys.quota(owner))
            .key(self.keys.quota_used(owner))
            .invoke_async(&mut self.conn())
            .await?;
        let Some(rest) = answer.strip_prefix("quota volumes ") else {
            return Ok(Ok(()));
        };
        let mut n = rest.split(' ').map(|n| n.parse().unwrap_or(0));
        Ok(Err((n.next().unwrap_or(0), n.next().unwrap_or(0))))
    }

    /// Gives one volume back (removed, or made by someone else after all).
    pub async fn give_volume(&self, owner: &str) -> StoreResult<()> {
        let _: i64 = redis::cmd("HINCRBY")
            .arg(self.keys.quota_used(owner))
            .arg(QuotaResource::Volumes.field())
            .arg(-1)
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Sets how many volumes each owner holds (the reconcile pass counts them on the engines).
    pub async fn set_volume_use(&self, counts: &[(String, u64)]) -> StoreResult<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (owner, n) in counts {
            pipe.hset(
                self.keys.quota_used(owner),
                QuotaResource::Volumes.field(),
                *n,
            )
            .ignore();
        }
        let _: () = pipe.query_async(&mut self.conn()).await?;
        Ok(())
    }
}
