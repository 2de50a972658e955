//! API tokens: create (shown once), list (never the secret), revoke, and authenticate a request
//! that carries one. A token acts as its owner, limited to its scopes: with the owner's role at
//! the moment of use when it has the `admin` scope, as a plain user otherwise (see
//! `auth::acting_role`); a deleted owner's tokens are dead.
//!
//! Revoking a user (`POST /user/{name}/revoke`) and deleting them end their API tokens too; a
//! password change does not (CI jobs keep working; revoke the token itself if it leaked).

use super::audited::Settle;
use super::{Cluster, ClusterError, ClusterResult};
use crate::auth::api_token::{self, TOKEN_PREFIX};
use crate::auth::{AuthError, Principal, TokenGrant, acting_role};
use crate::domain::{
    ApiToken, InvalidInput, IssuedApiToken, MAX_TOKEN_SECS, NewToken, TokenScope, check_object_name,
};
use crate::events::{Draft, actions};
use crate::store::{AccountState, TokenRecord};
use crate::time::{now_ms, rfc3339_ms};

/// `last_used` is written at most this often per token.
const TOUCH_EVERY_MS: u64 = 60_000;

fn view(t: &TokenRecord) -> ApiToken {
    ApiToken {
        id: t.id.clone(),
        name: t.name.clone(),
        owner: t.owner.clone(),
        scopes: t.scopes.clone(),
        created: rfc3339_ms(t.created_ms),
        expires: t.expires_ms.map(rfc3339_ms),
        last_used: t.last_used_ms.map(rfc3339_ms),
    }
}

/// The scopes asked for, checked: at least one, each once, `admin` only for admins.
fn check_scopes(principal: &Principal, new: &NewToken) -> ClusterResult<Vec<TokenScope>> {
    let mut scopes = new.scopes.clone();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(
            InvalidInput::new("scopes", "name at least one of read, run, events, admin").into(),
        );
    }
    if scopes.contains(&TokenScope::Admin) && !principal.is_admin() {
        return Err(AuthError::Forbidden("scopes: admin is for admins only".into()).into());
    }
    if let Some(secs) = new.expires_in_secs
        && !(60..=MAX_TOKEN_SECS).contains(&secs)
    {
        let why = format!("must be 60 to {MAX_TOKEN_SECS} seconds");
        return Err(InvalidInput::new("expires_in_secs", why).into());
    }
    Ok(scopes)
}

impl Cluster {
    /// Makes a token for the caller; the answer is the only place its text ever appears.
    pub async fn create_token(
        &self,
        principal: &Principal,
        new: &NewToken,
    ) -> ClusterResult<IssuedApiToken> {
        check_object_name("name", &new.name)?;
        let scopes = check_scopes(principal, new)?;
        let minted = api_token::mint();
        let now = now_ms();
        let record = TokenRecord {
            id: minted.id.clone(),
            owner: principal.username.clone(),
            owner_id: principal.account.clone(),
            name: new.name.clone(),
            scopes,
            hash: minted.hash,
            created_ms: now,
            expires_ms: new.expires_in_secs.map(|s| now + s * 1000),
            last_used_ms: None,
        };
        let draft = Draft::by(principal, actions::TOKEN_CREATE).target(&new.name);
        let work = async {
            self.store.create_token(&record).await?;
            Ok(view(&record))
        };
        let info = self
            .audited(draft, work, |t, _| {
                Settle::detail(serde_json::json!({"id": t.id, "scopes": t.scopes}))
            })
            .await?;
        Ok(IssuedApiToken {
            token: minted.text,
            info,
        })
    }

    /// The caller's tokens; an admin's `all` lists everyone's.
    pub async fn list_tokens(
        &self,
        principal: &Principal,
        all: bool,
    ) -> ClusterResult<Vec<ApiToken>> {
        let owner = (!(all && principal.is_admin())).then_some(principal.username.as_str());
        Ok(self
            .store
            .list_tokens(owner)
            .await?
            .iter()
            .map(view)
            .collect())
    }

    /// Revokes a token: its owner, or an admin. Anyone else's answers 404.
    pub async fn revoke_token(&self, principal: &Principal, id: &str) -> ClusterResult<ApiToken> {
        let hex = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit());
        let record = match hex {
            true => self.store.get_token(id).await?,
            false => None,
        };
        let Some(record) = record.filter(|t| principal.may_touch_container(Some(&t.owner))) else {
            return Err(ClusterError::not_found("token", id));
        };
        let mut draft = Draft::by(principal, actions::TOKEN_REVOKE).target(&record.name);
        draft.owner = Some(record.owner.clone());
        draft.detail = Some(serde_json::json!({"id": record.id}).to_string());
        let work = async {
            self.store.delete_token(&record).await?;
            Ok(view(&record))
        };
        self.audited(draft, work, super::audited::plain).await
    }

    /// A token and its owner's role now: one pipelined read once the owner is known to this
    /// process (owners never change), one script the first time.
    async fn token_and_owner(
        &self,
        id: &str,
    ) -> ClusterResult<Option<(TokenRecord, Option<AccountState>)>> {
        if let Some(owner) = self.token_owners.get(id) {
            let found = self.store.token_of_owner(id, &owner).await?;
            if let Some(found) = found.filter(|(t, _)| t.owner == owner) {
                return Ok(Some(found));
            }
        }
        let found = self.store.token_and_owner(id).await?;
        if let Some((record, _)) = &found {
            self.token_owners.remember(id, &record.owner);
        }
        Ok(found)
    }

    /// Ends every API token of a user (on revoke and delete).
    pub(in crate::cluster) async fn drop_user_tokens(&self, username: &str) -> ClusterResult<()> {
        for token in self.store.list_tokens(Some(username)).await? {
            self.store.delete_token(&token).await?;
        }
        Ok(())
    }

    /// The caller behind an API token: its owner as they are now, limited to its scopes.
    pub(in crate::cluster) async fn authenticate_api_token(
        &self,
        text: &str,
        request_id: Option<String>,
    ) -> ClusterResult<Principal> {
        let invalid = |why| ClusterError::from(AuthError::InvalidToken(why));
        let (id, secret) = api_token::parse(text).ok_or_else(|| invalid("malformed API token"))?;
        let (record, owner) = (self.token_and_owner(id).await?)
            .filter(|(t, _)| api_token::matches(secret, &t.hash))
            .ok_or_else(|| invalid("unknown or revoked API token"))?;
        let now = now_ms();
        if record.expires_ms.is_some_and(|e| e <= now) {
            return Err(invalid("API token expired"));
        }
        let owner =
            (owner.filter(|o| o.id == record.owner_id)).ok_or_else(|| invalid("unknown user"))?;
        if record
            .last_used_ms
            .is_none_or(|t| now.saturating_sub(t) >= TOUCH_EVERY_MS)
        {
            self.store.touch_token(id, now).await?;
        }
        Ok(Principal {
            username: record.owner,
            account: owner.id,
            role: acting_role(owner.role, Some(&record.scopes)),
            request_id,
            token: Some(TokenGrant {
                id: record.id,
                scopes: record.scopes,
                expires_ms: record.expires_ms,
            }),
            session: None,
            teams: owner.teams,
            via: Default::default(),
        })
    }
}

/// Token id -> owner, for the tokens this process has seen (a bounded cache of facts that
/// never change: a token keeps its owner until it is deleted).
#[derive(Default)]
pub(crate) struct TokenOwners(std::sync::Mutex<std::collections::HashMap<String, String>>);

/// Entries kept before the cache starts over.
const OWNERS_KEPT: usize = 10_000;

impl TokenOwners {
    fn get(&self, id: &str) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    fn remember(&self, id: &str, owner: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= OWNERS_KEPT {
            map.clear();
        }
        map.insert(id.to_string(), owner.to_string());
    }
}

/// Whether a bearer credential is an API token rather than a login JWT.
pub fn is_api_token(bearer: &str) -> bool {
    bearer.starts_with(TOKEN_PREFIX)
}
