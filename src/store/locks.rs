//! Short-lived locks and counters: one `scale` per saved config at a time (and the note each
//! leaves for the next), failed-login
//! throttling, and where the Docker API's exec instances live.

use std::time::Duration;

use redis::AsyncCommands;

use super::{Store, StoreResult};

/// Failed logins counted per key (a username, or a username and client) and window.
const COUNT_FAILURE: &str = r"
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 0
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

    /// The note the last holders of the lock `name` left, while it is kept.
    pub async fn lock_note(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(self.conn().get(self.keys.lock_note(name)).await?)
    }

    /// Leaves a note for the next holders of the lock `name`, kept for `ttl`.
    pub async fn set_lock_note(&self, name: &str, note: &str, ttl: Duration) -> StoreResult<()> {
        let key = self.keys.lock_note(name);
        let ms = ttl.as_millis() as u64;
        Ok(self.conn().pset_ex(key, note, ms).await?)
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

    /// Counts a failed login of `username` from `client`, both for the pair and for the
    /// username alone, each in its own window of length `window`.
    pub async fn count_login_failure(
        &self,
        username: &str,
        client: &str,
        window: Duration,
    ) -> StoreResult<()> {
        // One script, not a pipeline of them: a pipelined EVALSHA is not retried as EVAL when
        // Redis does not hold the script yet (a fresh or restarted Redis).
        let _: i64 = redis::Script::new(COUNT_FAILURE)
            .key(self.keys.login_failures_from(username, client))
            .key(self.keys.login_failures(username))
            .arg(window.as_millis() as u64)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Failed logins in the current windows, and milliseconds until each ends: of the pair
    /// (`username`, `client`), and of the username from anywhere.
    pub async fn login_failures(
        &self,
        username: &str,
        client: &str,
    ) -> StoreResult<[(u64, u64); 2]> {
        let (pair, user) = (
            self.keys.login_failures_from(username, client),
            self.keys.login_failures(username),
        );
        let (pc, pt, uc, ut): (Option<u64>, i64, Option<u64>, i64) = redis::pipe()
            .get(&pair)
            .pttl(&pair)
            .get(&user)
            .pttl(&user)
            .query_async(&mut self.conn())
            .await?;
        Ok([
            (pc.unwrap_or(0), pt.max(0) as u64),
            (uc.unwrap_or(0), ut.max(0) as u64),
        ])
    }

    /// Forgets a client's failures after its successful login.
    pub async fn clear_login_failures(&self, username: &str, client: &str) -> StoreResult<()> {
        let _: i64 = (self.conn())
            .del(self.keys.login_failures_from(username, client))
            .await?;
        Ok(())
    }

    /// Remembers where an exec instance lives, for `ttl` (the Docker API names execs alone).
    pub async fn put_exec(
        &self,
        id: &str,
        engine: &str,
        container: &str,
        ttl: Duration,
    ) -> StoreResult<()> {
        let key = self.keys.exec(id);
        let _: () = redis::pipe()
            .hset_multiple(&key, &[("engine", engine), ("container", container)])
            .pexpire(&key, ttl.as_millis() as i64)
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    /// `(engine, container)` of an exec instance made through the Docker API.
    pub async fn get_exec(&self, id: &str) -> StoreResult<Option<(String, String)>> {
        let (engine, container): (Option<String>, Option<String>) = redis::cmd("HMGET")
            .arg(self.keys.exec(id))
            .arg("engine")
            .arg("container")
            .query_async(&mut self.conn())
            .await?;
        Ok(engine.zip(container))
    }
}
