//! Users, their password hashes, token versions and engine grants.

use std::collections::HashMap;

use redis::AsyncCommands;

use super::{Store, StoreResult, corrupt};
use crate::domain::Role;

/// A user as stored, including the secret parts the API never shows.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub username: String,
    /// The account's id: never shared with another account, even a later one of the same name
    /// (login tokens carry it).
    pub id: String,
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Bumped by revoke and password change; tokens carrying an older version are refused.
    pub token_version: u64,
    pub created_ms: u64,
}

/// What a request needs to trust a credential: the account's role, id and token version now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    pub role: Role,
    pub id: String,
    pub token_version: u64,
    /// The teams the account is a member of, sorted.
    pub teams: Vec<String>,
}

/// Creates the user hash and its set entry in one step, only when the user does not exist. The
/// id comes from a counter that only grows; the token version goes on from where an earlier
/// account of the same name left it (`users:retired`), so no old token can match either.
const CREATE_USER: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local id = redis.call('INCR', KEYS[3])
local version = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0') + 1
redis.call('HSET', KEYS[1], 'id', id, 'role', ARGV[2], 'password_hash', ARGV[3],
  'token_version', version, 'created_ms', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
";

/// Deletes a user, their grants and team memberships, remembering the token version it reached.
/// ARGV[2] is the key of a team minus the name.
const DELETE_USER: &str = r"
local version = redis.call('HGET', KEYS[1], 'token_version')
if not version then return 0 end
redis.call('HSET', KEYS[4], ARGV[1], version)
for _, team in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  redis.call('HDEL', ARGV[2] .. team .. ':members', ARGV[1])
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[5])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
";

/// Sets the role of an existing user.
const SET_ROLE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'role', ARGV[1])
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
        id: field("id")?,
        role: Role::parse(&role).ok_or_else(|| corrupt(key, format!("bad role {role}")))?,
        password_hash: field("password_hash")?,
        token_version: field("token_version")?
            .parse()
            .map_err(|_| corrupt(key, "bad token_version"))?,
        created_ms: field("created_ms")?.parse().unwrap_or(0),
    })
}

/// The fields [`AccountState`] is read from, in order, then the account's teams.
pub(super) const ACCOUNT_FIELDS: [&str; 3] = ["role", "id", "token_version"];
pub(super) type AccountFields = ((Option<String>, Option<String>, Option<u64>), Vec<String>);

pub(super) fn account_state(key: &str, fields: AccountFields) -> StoreResult<Option<AccountState>> {
    match fields {
        ((Some(role), Some(id), Some(token_version)), mut teams) => {
            teams.sort();
            Ok(Some(AccountState {
                role: Role::parse(&role).ok_or_else(|| corrupt(key, "bad role"))?,
                id,
                token_version,
                teams,
            }))
        }
        _ => Ok(None),
    }
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
            .key(self.keys.user_ids())
            .key(self.keys.retired_users())
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

    /// What a request needs to trust a token: the account's role, id and token version now.
    pub async fn account_state(&self, username: &str) -> StoreResult<Option<AccountState>> {
        let key = self.keys.user(username);
        let fields: AccountFields = redis::pipe()
            .cmd("HMGET")
            .arg(&key)
            .arg(&ACCOUNT_FIELDS[..])
            .smembers(self.keys.user_teams(username))
            .query_async(&mut self.conn())
            .await?;
        account_state(&key, fields)
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
        let deleted: i64 = redis::Script::new(DELETE_USER)
            .key(self.keys.user(username))
            .key(self.keys.user_engines(username))
            .key(self.keys.users())
            .key(self.keys.retired_users())
            .key(self.keys.user_teams(username))
            .arg(username)
            .arg(self.keys.team(""))
            .invoke_async(&mut self.conn())
            .await?;
        Ok(deleted == 1)
    }

    /// Changes a user's role (every request reads the role now, so it takes effect at once);
    /// `false` when the user does not exist.
    pub async fn set_role(&self, username: &str, role: Role) -> StoreResult<bool> {
        let done: i64 = redis::Script::new(SET_ROLE)
            .key(self.keys.user(username))
            .arg(role.as_str())
            .invoke_async(&mut self.conn())
            .await?;
        Ok(done == 1)
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
}
