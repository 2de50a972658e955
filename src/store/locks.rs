//! Short-lived locks and counters: one `scale` per saved config at a time, and failed-login
//! throttling.

use std::time::Duration;

use redis::AsyncCommands;

use super::{Store, StoreResult};

/// Failed logins counted per username and window.
const COUNT_FAILURE: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
";

impl Store {
    /// Takes the lock `name` for at most `ttl`; the holder token, or `None` when it is held.
    pub async fn try_lock(&self, name: &str, ttl: Duration) -> StoreResult<Option<String>> {
        let token = uuid::Uuid::new_v4().to_string();
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.keys.lock(name))
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async(&mut self.conn())
            .await?;
        Ok(taken.map(|_| token))
    }

    /// Releases a lock if this token still holds it.
    pub async fn unlock(&self, name: &str, token: &str) -> StoreResult<()> {
        let _: i64 = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        )
        .key(self.keys.lock(name))
        .arg(token)
        .invoke_async(&mut self.conn())
        .await?;
        Ok(())
    }

    /// Counts a failed login; the count in the current window of length `window`.
    pub async fn count_login_failure(&self, username: &str, window: Duration) -> StoreResult<u64> {
        Ok(redis::Script::new(COUNT_FAILURE)
            .key(self.keys.login_failures(username))
            .arg(window.as_millis() as u64)
            .invoke_async(&mut self.conn())
            .await?)
    }

    /// Failed logins in the current window, and milliseconds until it ends.
    pub async fn login_failures(&self, username: &str) -> StoreResult<(u64, u64)> {
        let key = self.keys.login_failures(username);
        let (count, ttl): (Option<u64>, i64) = redis::pipe()
            .get(&key)
            .pttl(&key)
            .query_async(&mut self.conn())
            .await?;
        Ok((count.unwrap_or(0), ttl.max(0) as u64))
    }

    /// Forgets the failures after a successful login.
    pub async fn clear_login_failures(&self, username: &str) -> StoreResult<()> {
        let _: i64 = self.conn().del(self.keys.login_failures(username)).await?;
        Ok(())
    }
}
