//! Users, their password hashes, token versions and engine grants.

use std::collections::HashMap;

use redis::AsyncCommands;

use super::{Store, StoreResult, corrupt};
use crate::domain::Role;

/// A user as stored, including the secret parts the API never shows.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub username: String,
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Bumped by revoke and password change; tokens carrying an older version are refused.
    pub token_version: u64,
    pub created_ms: u64,
}

/// Creates the user hash and its set entry in one step, only when the user does not exist.
const CREATE_USER: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'role', ARGV[2], 'password_hash', ARGV[3], 'token_version', 1, 'created_ms', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
";

/// Sets a field only on an existing user; bumps the token version in the same step.
const SET_PASSWORD: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'password_hash', ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'token_version', 1)
";

const BUMP_TOKEN_VERSION: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('HINCRBY', KEYS[1], 'token_version', 1)
";

/// Replaces a user's grants, only when the user exists.
const SET_GRANTS: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
if #ARGV > 0 then redis.call('SADD', KEYS[2], unpack(ARGV)) end
return 1
";

fn parse_user(key: &str, username: &str, h: HashMap<String, String>) -> StoreResult<UserRecord> {
    let field = |name: &str| {
        h.get(name)
            .cloned()
            .ok_or_else(|| corrupt(key, format!("missing field {name}")))
    };
    let role = field("role")?;
    Ok(UserRecord {
        username: username.to_string(),
        role: Role::parse(&role).ok_or_else(|| corrupt(key, format!("bad role {role}")))?,
        password_hash: field("password_hash")?,
        token_version: field("token_version")?
            .parse()
            .map_err(|_| corrupt(key, "bad token_version"))?,
        created_ms: field("created_ms")?.parse().unwrap_or(0),
    })
}

impl Store {
    /// Creates a user; `false` when the name is taken.
    pub async fn create_user(
        &self,
        username: &str,
        role: Role,
        password_hash: &str,
        created_ms: u64,
    ) -> StoreResult<bool> {
        let created: i64 = redis::Script::new(CREATE_USER)
            .key(self.keys.user(username))
            .key(self.keys.users())
            .arg(username)
            .arg(role.as_str())
            .arg(password_hash)
            .arg(created_ms)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(created == 1)
    }

    pub async fn get_user(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let key = self.keys.user(username);
        let h: HashMap<String, String> = self.conn().hgetall(&key).await?;
        if h.is_empty() {
            return Ok(None);
        }
        parse_user(&key, username, h).map(Some)
    }

    /// What a request needs to trust a token: the user's role and current token version.
    pub async fn user_token_state(&self, username: &str) -> StoreResult<Option<(Role, u64)>> {
        let key = self.keys.user(username);
        let (role, version): (Option<String>, Option<u64>) = redis::cmd("HMGET")
            .arg(&key)
            .arg("role")
            .arg("token_version")
            .query_async(&mut self.conn())
            .await?;
        match (role, version) {
            (Some(role), Some(version)) => {
                let role = Role::parse(&role).ok_or_else(|| corrupt(&key, "bad role"))?;
                Ok(Some((role, version)))
            }
            _ => Ok(None),
        }
    }

    /// Every user, sorted by name.
    pub async fn list_users(&self) -> StoreResult<Vec<UserRecord>> {
        let mut names: Vec<String> = self.conn().smembers(self.keys.users()).await?;
        names.sort();
        let mut pipe = redis::pipe();
        for name in &names {
            pipe.hgetall(self.keys.user(name));
        }
        let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut self.conn()).await?;
        let mut users = Vec::with_capacity(names.len());
        for (name, h) in names.iter().zip(hashes) {
            // A name in the set whose hash is gone was deleted concurrently: skip it.
            if !h.is_empty() {
                users.push(parse_user(&self.keys.user(name), name, h)?);
            }
        }
        Ok(users)
    }

    pub async fn count_users(&self) -> StoreResult<u64> {
        Ok(self.conn().scard(self.keys.users()).await?)
    }

    /// Deletes a user and their grants; `false` when there was no such user.
    pub async fn delete_user(&self, username: &str) -> StoreResult<bool> {
        let (deleted, _, _): (i64, i64, i64) = redis::pipe()
            .atomic()
            .del(self.keys.user(username))
            .del(self.keys.user_engines(username))
            .srem(self.keys.users(), username)
            .query_async(&mut self.conn())
            .await?;
        Ok(deleted == 1)
    }

    /// Stores a new password hash and bumps the token version; the new version, or `None` when
    /// the user does not exist.
    pub async fn set_password(&self, username: &str, hash: &str) -> StoreResult<Option<u64>> {
        Ok(redis::Script::new(SET_PASSWORD)
            .key(self.keys.user(username))
            .arg(hash)
            .invoke_async(&mut self.conn())
            .await?)
    }

    /// Bumps the token version, killing every token issued before; the new version, or `None`
    /// when the user does not exist.
    pub async fn bump_token_version(&self, username: &str) -> StoreResult<Option<u64>> {
        Ok(redis::Script::new(BUMP_TOKEN_VERSION)
            .key(self.keys.user(username))
            .invoke_async(&mut self.conn())
            .await?)
    }

    /// Engine ids granted to a user, sorted.
    pub async fn grants(&self, username: &str) -> StoreResult<Vec<String>> {
        let mut ids: Vec<String> = self
            .conn()
            .smembers(self.keys.user_engines(username))
            .await?;
        ids.sort();
        Ok(ids)
    }

    /// Replaces a user's grants; `false` when the user does not exist.
    pub async fn set_grants(&self, username: &str, engines: &[String]) -> StoreResult<bool> {
        let done: i64 = redis::Script::new(SET_GRANTS)
            .key(self.keys.user(username))
            .key(self.keys.user_engines(username))
            .arg(engines)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(done == 1)
    }

    /// Is this engine granted to this user?
    pub async fn is_granted(&self, username: &str, engine_id: &str) -> StoreResult<bool> {
        Ok(self
            .conn()
            .sismember(self.keys.user_engines(username), engine_id)
            .await?)
    }
}
