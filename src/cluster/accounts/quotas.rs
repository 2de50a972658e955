//! Quotas per user and per team: set by admins, read by their owners, checked inside the claim
//! (see `domain::quota` and `store::claims`). A refusal names the owner, the resource, its use
//! and its limit.

use std::collections::HashMap;

use super::audited::plain;
use super::{Cluster, ClusterError, ClusterResult, Conflict, admin_only};
use crate::auth::Principal;
use crate::domain::{
    OwnerKind, Quota, QuotaLimits, QuotaResource, QuotaUse, check_username, owner_kind, team_owner,
};
use crate::engine::labels::ContainerLabels;
use crate::events::{Draft, actions};

/// The 409 for a full quota.
pub(in crate::cluster) fn quota_exceeded(
    owner: &str,
    resource: QuotaResource,
    used: u64,
    limit: u64,
) -> ClusterError {
    let (kind, name) = owner_kind(owner);
    let whose = match kind {
        OwnerKind::User => format!("user {name}"),
        OwnerKind::Team => format!("team {name}"),
    };
    let message = format!(
        "quota of {whose} exceeded: {} {} in use of {}",
        resource.name(),
        resource.shown(used),
        resource.shown(limit)
    );
    ClusterError::conflict(Conflict::QuotaExceeded, message)
}

impl Cluster {
    /// Replaces a user's limits (admins); absent fields are unlimited.
    pub async fn set_user_quota(
        &self,
        principal: &Principal,
        username: &str,
        limits: &QuotaLimits,
    ) -> ClusterResult<Quota> {
        admin_only(principal)?;
        check_username("name", username)?;
        limits.check()?;
        if self.store.get_user(username).await?.is_none() {
            return Err(ClusterError::not_found("user", username));
        }
        self.set_quota(principal, username, limits).await
    }

    pub(in crate::cluster) async fn set_quota(
        &self,
        principal: &Principal,
        owner: &str,
        limits: &QuotaLimits,
    ) -> ClusterResult<Quota> {
        let draft = Draft::by(principal, actions::QUOTA_SET)
            .target(owner)
            .detail(serde_json::to_value(limits).unwrap_or_default());
        let work = async {
            self.store.set_quota(owner, &limits.stored()).await?;
            let mut quotas = self.quotas_of(vec![owner.to_string()]).await?;
            Ok(quotas.remove(0))
        };
        self.audited(draft, work, plain).await
    }

    /// The caller's own quota and their teams', with what each holds now.
    pub async fn my_quotas(&self, principal: &Principal) -> ClusterResult<Vec<Quota>> {
        let mut owners = vec![principal.username.clone()];
        owners.extend(principal.teams.iter().map(|t| crate::domain::team_owner(t)));
        self.quotas_of(owners).await
    }

    async fn quotas_of(&self, owners: Vec<String>) -> ClusterResult<Vec<Quota>> {
        let stored = self.store.quotas_of(&owners).await?;
        Ok((owners.iter().zip(stored))
            .map(|(owner, (limits, used))| {
                let (kind, name) = owner_kind(owner);
                Quota {
                    kind,
                    name: name.to_string(),
                    limits: QuotaLimits::from_stored(&limits),
                    used: QuotaUse::from_stored(&used),
                }
            })
            .collect())
    }

    /// Every owner with a limit, for `/metrics`.
    pub async fn limited_quotas(&self) -> ClusterResult<Vec<Quota>> {
        let owners = self.store.limited_owners().await?;
        self.quotas_of(owners).await
    }

    /// Counts every owner's volumes on the engines and sets their use (part of the reconcile
    /// pass): what was made or removed behind clementine's back is counted right again.
    /// Skipped while an engine does not answer, since the count would be short. Answers how
    /// many owners were counted.
    pub async fn reconcile_volume_use(&self) -> ClusterResult<usize> {
        let engines = self.store.list_engines().await?;
        let ours = vec![ContainerLabels::cluster_filter(self.deployment())];
        let listed = self.volumes_on(&engines, ours).await;
        if !listed.failed.is_empty() {
            return Ok(0);
        }
        let mut counts: HashMap<String, u64> = HashMap::new();
        for user in self.store.list_users().await? {
            counts.insert(user.username, 0);
        }
        for team in self.store.team_names().await? {
            counts.insert(team_owner(&team), 0);
        }
        for owner in listed.volumes.into_iter().filter_map(|v| v.owner) {
            *counts.entry(owner).or_default() += 1;
        }
        let counts: Vec<(String, u64)> = counts.into_iter().collect();
        self.store.set_volume_use(&counts).await?;
        Ok(counts.len())
    }

    /// Takes one volume of `owner`'s quota, or answers the 409.
    pub(in crate::cluster) async fn take_volume(&self, owner: &str) -> ClusterResult<()> {
        match self.store.take_volume(owner).await? {
            Ok(()) => Ok(()),
            Err((used, limit)) => Err(quota_exceeded(owner, QuotaResource::Volumes, used, limit)),
        }
    }
}
