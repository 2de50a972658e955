//! Finding a container without its engine: the Docker API names containers by id, id prefix or
//! name alone. The event-fed views of the caller's engines answer; an engine whose view is not
//! listed yet is asked. Whatever the caller may not touch is not found, like what does not exist.

use super::lifecycle::{Found, check_ref};
use super::{Cluster, ClusterError, ClusterResult};
use crate::auth::Principal;
use crate::domain::{Container, ContainerFacts, team_owner};
use crate::engine::Listed;
use crate::engine::views::Read;

/// How well a container matches a reference; lower is better (Docker's order: a full id, then a
/// name, then an id prefix).
fn rank(principal: &Principal, container: &impl ContainerFacts, cid: &str) -> Option<u8> {
    if !principal.may_touch_container(container.owner()) {
        return None;
    }
    let named = container.shown_name().strip_prefix('/') == Some(cid);
    let owner = container.owner().unwrap_or_default();
    if container.id() == cid {
        Some(0)
    } else if named && owner == principal.username {
        Some(1)
    } else if named && principal.teams.iter().any(|t| team_owner(t) == owner) {
        Some(2)
    } else if named && container.owner().is_none() {
        Some(3) // an admin naming a container nobody owns here
    } else if cid.len() >= 4 && container.id().starts_with(cid) {
        Some(4)
    } else {
        None
    }
}

impl Cluster {
    /// A container the caller may touch, on any engine they may use.
    pub(in crate::cluster) async fn locate(
        &self,
        principal: &Principal,
        cid: &str,
    ) -> ClusterResult<Found> {
        check_ref(cid)?;
        let engines = self.list_engines(principal).await?;
        let mut best: Option<(u8, Container)> = None;
        let mut unlisted = Vec::new();
        for engine in &engines {
            let mine = |c: &Listed| rank(principal, c, cid).is_some();
            let Read::Known { containers, .. } = self.views.read(engine, mine) else {
                unlisted.push(engine);
                continue;
            };
            for c in containers {
                if let Some(r) = rank(principal, &c, cid)
                    && best.as_ref().is_none_or(|(b, _)| r < *b)
                {
                    best = Some((r, c));
                }
            }
        }
        if let Some((_, c)) = best {
            return self.find_container(principal, &c.engine.id, &c.id).await;
        }
        for engine in unlisted {
            match self.find_container(principal, &engine.id, cid).await {
                Err(ClusterError::NotFound { .. }) => continue,
                found => return found,
            }
        }
        Err(ClusterError::not_found("container", cid))
    }

    /// The engine and id of a container the caller may touch (see [`Cluster::locate`]).
    pub async fn locate_container(
        &self,
        principal: &Principal,
        cid: &str,
    ) -> ClusterResult<Container> {
        Ok(self.locate(principal, cid).await?.container)
    }
}
