//! API token records: `token:{id}` (a hash), with the ids of each owner's tokens in
//! `user:{name}:tokens` and every id in `tokens`. Only the SHA-256 of a token's secret is kept.

use std::collections::HashMap;

use redis::AsyncCommands;

use super::users::{ACCOUNT_FIELDS, AccountState, account_state};
use super::{Store, StoreResult, corrupt};
use crate::domain::TokenScope;

/// A stored API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub owner: String,
    /// The owner's account id when the token was made: a later account of the same name is
    /// not its owner.
    pub owner_id: String,
    pub name: String,
    pub scopes: Vec<TokenScope>,
    /// SHA-256 of the secret, hex.
    pub hash: String,
    pub created_ms: u64,
    pub expires_ms: Option<u64>,
    pub last_used_ms: Option<u64>,
}

impl TokenRecord {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let scopes: Vec<&str> = self.scopes.iter().map(|s| s.as_str()).collect();
        let mut f = vec![
            ("owner", self.owner.clone()),
            ("owner_id", self.owner_id.clone()),
            ("name", self.name.clone()),
            ("scopes", scopes.join(",")),
            ("hash", self.hash.clone()),
            ("created_ms", self.created_ms.to_string()),
        ];
        if let Some(expires) = self.expires_ms {
            f.push(("expires_ms", expires.to_string()));
        }
        f
    }

    fn from_hash(id: &str, h: HashMap<String, String>) -> Option<Self> {
        let number = |k: &str| h.get(k).and_then(|v| v.parse().ok());
        Some(Self {
            id: id.to_string(),
            owner: h.get("owner")?.clone(),
            owner_id: h.get("owner_id").cloned().unwrap_or_default(),
            name: h.get("name")?.clone(),
            scopes: (h.get("scopes")?.split(','))
                .filter_map(TokenScope::parse)
                .collect(),
            hash: h.get("hash")?.clone(),
            created_ms: number("created_ms")?,
            expires_ms: number("expires_ms"),
            last_used_ms: number("last_used_ms"),
        })
    }
}

/// A token and its owner's account now, in one round trip (authentication runs on every
/// request made with a token): the token's hash as a flat list, then the owner's `role`, `id`
/// and `token_version` (nil when the owner is gone), then the owner's teams. ARGV[1] is the key
/// of a user minus the name.
const TOKEN_AND_OWNER: &str = r"
local token = redis.call('HGETALL', KEYS[1])
if #token == 0 then return {} end
local owner
for i = 1, #token, 2 do
  if token[i] == 'owner' then owner = token[i + 1] end
end
if not owner then return {token} end
return {token, redis.call('HMGET', ARGV[1] .. owner, 'role', 'id', 'token_version'),
  redis.call('SMEMBERS', ARGV[1] .. owner .. ':teams')}
";

static TOKEN_AND_OWNER_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(TOKEN_AND_OWNER));

/// What [`Store::token_and_owner`] answers.
type TokenAndOwner = (
    Vec<String>,
    (Option<String>, Option<String>, Option<u64>),
    Vec<String>,
);

impl Store {
    /// A token and, when its owner still exists, the owner's account now.
    pub async fn token_and_owner(
        &self,
        id: &str,
    ) -> StoreResult<Option<(TokenRecord, Option<AccountState>)>> {
        let key = self.keys.token(id);
        let answer: Vec<redis::Value> = TOKEN_AND_OWNER_SCRIPT
            .key(&key)
            .arg(self.keys.user(""))
            .invoke_async(&mut self.conn())
            .await?;
        if answer.is_empty() {
            return Ok(None);
        }
        let parsed: Result<TokenAndOwner, _> = match answer.len() {
            1 => redis::from_redis_value(answer[0].clone())
                .map(|flat| (flat, (None, None, None), Vec::new())),
            _ => redis::from_redis_value(redis::Value::Array(answer)),
        };
        let (flat, fields3, teams) = parsed.map_err(|e| corrupt(&key, e))?;
        let account = (fields3, teams);
        let fields: HashMap<String, String> = (flat.chunks(2))
            .filter_map(|kv| Some((kv.first()?.clone(), kv.get(1)?.clone())))
            .collect();
        let record =
            TokenRecord::from_hash(id, fields).ok_or_else(|| corrupt(&key, "bad token"))?;
        let owner = account_state(&self.keys.user(&record.owner), account)?;
        Ok(Some((record, owner)))
    }

    /// The same as [`token_and_owner`](Self::token_and_owner) when the owner is known already
    /// (a token's owner never changes): two plain reads in one pipeline, cheaper than a script.
    pub async fn token_of_owner(
        &self,
        id: &str,
        owner: &str,
    ) -> StoreResult<Option<(TokenRecord, Option<AccountState>)>> {
        let user = self.keys.user(owner);
        let (h, fields, teams): (HashMap<String, String>, _, Vec<String>) = redis::pipe()
            .hgetall(self.keys.token(id))
            .cmd("HMGET")
            .arg(&user)
            .arg(&ACCOUNT_FIELDS[..])
            .smembers(self.keys.user_teams(owner))
            .query_async(&mut self.conn())
            .await?;
        let account = account_state(&user, (fields, teams))?;
        Ok(TokenRecord::from_hash(id, h).map(|t| (t, account)))
    }

    pub async fn create_token(&self, t: &TokenRecord) -> StoreResult<()> {
        let _: () = redis::pipe()
            .atomic()
            .hset_multiple(self.keys.token(&t.id), &t.fields())
            .ignore()
            .sadd(self.keys.user_tokens(&t.owner), &t.id)
            .ignore()
            .sadd(self.keys.tokens(), &t.id)
            .ignore()
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    pub async fn get_token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        let h: HashMap<String, String> = self.conn().hgetall(self.keys.token(id)).await?;
        Ok(TokenRecord::from_hash(id, h))
    }

    /// One owner's tokens, or (`None`) everyone's; by creation time.
    pub async fn list_tokens(&self, owner: Option<&str>) -> StoreResult<Vec<TokenRecord>> {
        let set = owner.map_or_else(|| self.keys.tokens(), |o| self.keys.user_tokens(o));
        let ids: Vec<String> = self.conn().smembers(set).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(self.keys.token(id));
        }
        let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut self.conn()).await?;
        let mut tokens: Vec<TokenRecord> = (ids.iter().zip(hashes))
            .filter_map(|(id, h)| TokenRecord::from_hash(id, h))
            .collect();
        tokens.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        Ok(tokens)
    }

    /// Deletes a token; whether it existed.
    pub async fn delete_token(&self, t: &TokenRecord) -> StoreResult<bool> {
        let (deleted, _, _): (i64, i64, i64) = redis::pipe()
            .atomic()
            .del(self.keys.token(&t.id))
            .srem(self.keys.user_tokens(&t.owner), &t.id)
            .srem(self.keys.tokens(), &t.id)
            .query_async(&mut self.conn())
            .await?;
        Ok(deleted == 1)
    }

    /// Records a use (callers write at most once a minute per token).
    pub async fn touch_token(&self, id: &str, now_ms: u64) -> StoreResult<()> {
        let _: () = self
            .conn()
            .hset(self.keys.token(id), "last_used_ms", now_ms)
            .await?;
        Ok(())
    }
}
