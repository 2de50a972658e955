//! Ending an account cleanly. A deleted user is gone: their login sessions, API tokens, saved
//! configs and registry credentials go with the account, and nothing of theirs is left for a
//! later account of the same name (which is another account, with another id; see
//! `store::UserRecord::id`).
//!
//! What lives on the engines (containers, volumes) is not dropped silently: without `purge` the
//! delete answers 409 naming what is left; with it, each is destroyed through its own audited
//! action (`container.destroy`, `volume.delete`) before the account goes. An engine that cannot
//! be asked keeps the account in place (409 naming the engine), since what it holds is unknown.

use super::audited::{Settle, plain};
use super::listing::ContainerFilter;
use super::{Cluster, ClusterError, ClusterResult, Conflict, admin_only};
use crate::auth::Principal;
use crate::domain::{Container, Volume, check_username};
use crate::events::{Draft, actions};

/// What a user still owns on the engines, and the engines that could not say.
#[derive(Debug, Default)]
struct Leftovers {
    containers: Vec<Container>,
    volumes: Vec<Volume>,
    unknown: Vec<String>,
}

impl Leftovers {
    fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.volumes.is_empty() && self.unknown.is_empty()
    }

    /// One sentence naming every object and engine.
    fn describe(&self, whose: &str) -> String {
        let mut parts = Vec::new();
        if !self.containers.is_empty() {
            let names: Vec<String> = (self.containers.iter())
                .map(|c| format!("{} on {}", c.name.trim_start_matches('/'), c.engine.id))
                .collect();
            parts.push(format!("containers {}", names.join(", ")));
        }
        if !self.volumes.is_empty() {
            let names: Vec<String> = (self.volumes.iter())
                .map(|v| format!("{} on {}", v.name, v.engine))
                .collect();
            parts.push(format!("volumes {}", names.join(", ")));
        }
        if !self.unknown.is_empty() {
            parts.push(format!(
                "whatever is on engines {} (they do not answer)",
                self.unknown.join(", ")
            ));
        }
        format!(
            "{whose} still owns {}; delete them first or pass purge=true",
            parts.join("; ")
        )
    }
}

impl Cluster {
    /// Deletes a user (admins; never oneself). Without `purge`, 409 while they own containers
    /// or volumes; with it, those are destroyed first, each audited.
    pub async fn delete_user(
        &self,
        principal: &Principal,
        username: &str,
        purge: bool,
    ) -> ClusterResult<()> {
        admin_only(principal)?;
        check_username("name", username)?;
        if username == principal.username {
            return Err(ClusterError::conflict(
                Conflict::CannotDeleteSelf,
                "you cannot delete your own account",
            ));
        }
        if self.store.get_user(username).await?.is_none() {
            return Err(ClusterError::not_found("user", username));
        }
        let action = if purge {
            actions::USER_PURGE
        } else {
            actions::USER_DELETE
        };
        let draft = Draft::by(principal, action).target(username);
        let work = async {
            let whose = format!("user {username}");
            self.clear_owner(principal, username, &whose, purge).await?;
            if !self.store.delete_user(username).await? {
                return Err(ClusterError::not_found("user", username));
            }
            self.drop_owned_records(principal, username).await
        };
        self.audited(draft, work, |removed, _| Settle::detail(removed.clone()))
            .await
            .map(|_| ())
    }

    /// Makes sure `owner` (a user or `team:<name>`, called `whose` in messages) holds nothing on
    /// the engines: with `purge` what it holds is destroyed (each audited); what is left answers
    /// 409 naming it.
    pub(in crate::cluster) async fn clear_owner(
        &self,
        admin: &Principal,
        owner: &str,
        whose: &str,
        purge: bool,
    ) -> ClusterResult<()> {
        let mut left = self.leftovers(admin, owner).await?;
        if purge {
            left = self.purge(admin, left).await;
        }
        if left.is_empty() {
            return Ok(());
        }
        let kind = match crate::domain::owner_kind(owner).0 {
            crate::domain::OwnerKind::User => Conflict::UserOwnsObjects,
            crate::domain::OwnerKind::Team => Conflict::TeamOwnsObjects,
        };
        Err(ClusterError::conflict(kind, left.describe(whose)))
    }

    /// What `owner` has on the engines, asked live (not from the views, which may lag).
    async fn leftovers(&self, admin: &Principal, owner: &str) -> ClusterResult<Leftovers> {
        let filter = ContainerFilter {
            owner: Some(owner.to_string()),
            fresh: true,
            ..Default::default()
        };
        let listed = self.list_all(admin, &filter).await?;
        let volumes = self.volumes_of(owner).await?;
        let mut unknown: Vec<String> = (listed.failed.into_iter())
            .chain(volumes.failed)
            .map(|f| f.engine)
            .collect();
        unknown.sort();
        unknown.dedup();
        Ok(Leftovers {
            containers: listed.containers,
            volumes: volumes.volumes,
            unknown,
        })
    }

    /// Destroys containers, then volumes (a volume is in use until its containers are gone);
    /// answers what could not be removed.
    async fn purge(&self, admin: &Principal, left: Leftovers) -> Leftovers {
        let mut kept = Leftovers {
            unknown: left.unknown,
            ..Default::default()
        };
        for c in left.containers {
            if let Err(e) = self.destroy(admin, &c.engine.id, &c.id).await {
                tracing::warn!(container = %c.id, error = %e, "purge: destroy failed");
                kept.containers.push(c);
            }
        }
        for v in left.volumes {
            let removed = match self.store.get_engine(&v.engine).await {
                Ok(Some(engine)) => self.remove_volume(admin, &engine, v.clone()).await,
                Ok(None) => Err(ClusterError::not_found("engine", &v.engine)),
                Err(e) => Err(e.into()),
            };
            if let Err(e) = removed {
                tracing::warn!(volume = %v.engine_name, error = %e, "purge: remove failed");
                kept.volumes.push(v);
            }
        }
        kept
    }

    /// Drops what an owner kept in Redis: API tokens, saved configs and registry credentials,
    /// each removal its own audit entry. Answers what was removed.
    pub(in crate::cluster) async fn drop_owned_records(
        &self,
        admin: &Principal,
        owner: &str,
    ) -> ClusterResult<serde_json::Value> {
        let mut tokens = Vec::new();
        for token in self.store.list_tokens(Some(owner)).await? {
            let draft = removal(admin, actions::TOKEN_REVOKE, owner, &token.name);
            let work = async { Ok(self.store.delete_token(&token).await?) };
            self.audited(draft, work, plain).await?;
            tokens.push(token.id);
        }
        let mut configs = Vec::new();
        for (name, _) in self.store.list_images(owner).await? {
            let draft = removal(admin, actions::IMAGE_DELETE, owner, &name);
            let work = async { Ok(self.store.delete_image(owner, &name).await?) };
            self.audited(draft, work, plain).await?;
            configs.push(name);
        }
        let mut registries = Vec::new();
        for r in self.store.list_registries().await? {
            if r.owner != owner {
                continue;
            }
            let draft = removal(admin, actions::REGISTRY_DELETE, owner, &r.server);
            let work = async { Ok(self.store.delete_registry(&r.id).await?) };
            self.audited(draft, work, plain).await?;
            registries.push(r.id);
        }
        Ok(serde_json::json!({"tokens": tokens, "configs": configs, "registries": registries}))
    }
}

fn removal(admin: &Principal, action: &'static str, owner: &str, target: &str) -> Draft {
    let mut draft = Draft::by(admin, action).owner(owner).target(target);
    draft.detail = Some(serde_json::json!({"reason": "owner deleted"}).to_string());
    draft
}
