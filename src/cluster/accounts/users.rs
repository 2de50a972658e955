//! User management (admin only): create, list, get, delete, grants, revoke.

use futures::future::try_join_all;

use super::audited::{Settle, plain};
use super::{Cluster, ClusterError, ClusterResult, Conflict, admin_only};
use crate::auth::Principal;
use crate::domain::{NewUser, Role, User, check_password, check_username};
use crate::events::{Draft, actions};
use crate::time::now_ms;

impl Cluster {
    pub async fn create_user(&self, principal: &Principal, new: &NewUser) -> ClusterResult<User> {
        admin_only(principal)?;
        check_username("username", &new.username)?;
        check_password("password", &new.password)?;
        let draft = Draft::by(principal, actions::USER_CREATE)
            .target(&new.username)
            .detail(serde_json::json!({"role": new.role.as_str()}));
        let work = async {
            let hash = self.passwords.hash(&new.password).await?;
            if !self
                .store
                .create_user(&new.username, new.role, &hash, now_ms())
                .await?
            {
                return Err(ClusterError::conflict(
                    Conflict::UserExists,
                    format!("user {} already exists", new.username),
                ));
            }
            self.get_user(principal, &new.username).await
        };
        self.audited(draft, work, plain).await
    }

    pub async fn list_users(&self, principal: &Principal) -> ClusterResult<Vec<User>> {
        admin_only(principal)?;
        let records = self.store.list_users().await?;
        try_join_all(records.into_iter().map(|r| self.user_view(r))).await
    }

    pub async fn get_user(&self, principal: &Principal, username: &str) -> ClusterResult<User> {
        admin_only(principal)?;
        check_username("name", username)?;
        let record = self
            .store
            .get_user(username)
            .await?
            .ok_or_else(|| ClusterError::not_found("user", username))?;
        self.user_view(record).await
    }

    /// Replaces the engines granted to a user. Every id must name an existing engine.
    pub async fn set_grants(
        &self,
        principal: &Principal,
        username: &str,
        engines: &[String],
    ) -> ClusterResult<User> {
        admin_only(principal)?;
        check_username("name", username)?;
        let ids = self.known_engine_ids(engines).await?;
        let draft = Draft::by(principal, actions::USER_GRANT)
            .target(username)
            .detail(serde_json::json!({ "engines": ids }));
        let work = async {
            if !self.store.set_grants(username, &ids).await? {
                return Err(ClusterError::not_found("user", username));
            }
            self.get_user(principal, username).await
        };
        self.audited(draft, work, plain).await
    }

    /// Changes a user's role; it applies to their next request (and ends their live streams).
    /// Admins cannot change their own, so a cluster never loses its last admin by accident.
    pub async fn set_role(
        &self,
        principal: &Principal,
        username: &str,
        role: Role,
    ) -> ClusterResult<User> {
        admin_only(principal)?;
        check_username("name", username)?;
        if username == principal.username {
            return Err(ClusterError::conflict(
                Conflict::CannotDeleteSelf,
                "you cannot change your own role",
            ));
        }
        let draft = Draft::by(principal, actions::USER_ROLE)
            .target(username)
            .detail(serde_json::json!({"role": role.as_str()}));
        let work = async {
            if !self.store.set_role(username, role).await? {
                return Err(ClusterError::not_found("user", username));
            }
            self.get_user(principal, username).await
        };
        self.audited(draft, work, plain).await
    }

    /// Kills every token issued to a user so far: login sessions and API tokens.
    pub async fn revoke(&self, principal: &Principal, username: &str) -> ClusterResult<u64> {
        admin_only(principal)?;
        check_username("name", username)?;
        let draft = Draft::by(principal, actions::USER_REVOKE).target(username);
        let work = async {
            let version = (self.store.bump_token_version(username).await?)
                .ok_or_else(|| ClusterError::not_found("user", username))?;
            self.drop_user_tokens(username).await?;
            Ok(version)
        };
        self.audited(draft, work, |v, _| {
            Settle::detail(serde_json::json!({ "token_version": v }))
        })
        .await
    }
}
