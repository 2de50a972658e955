//! Scaling a saved config: converge the number of the caller's running containers of it, up
//! through the scheduler, down by destroying the newest first. [`scale_step`] is the pure
//! decision; the rest counts, acts and audits. The count is read from the engine views once
//! they show what the last scales did (`scale_trail`), else asked of the engines.

use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;

use super::audited::Settle;
use super::images::image_draft;
use super::run::{MAX_COUNT, RunOptions};
use super::scale_trail::Trail;
use super::{Cluster, ClusterError, ClusterResult, Conflict, ContainerFilter};
use crate::auth::Principal;
use crate::domain::{Container, ContainerState, InvalidInput, ScaleResult};
use crate::events::{Draft, actions};
use crate::store::StoredImage;

/// A scale that takes longer than this (a hung engine) loses its lock to the next one.
const SCALE_LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(300);
/// Instances started at the same time when scaling up.
const SCALE_CONCURRENCY: usize = 8;

/// What a scale must do.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::cluster) enum ScaleStep {
    /// Start this many.
    Up(u32),
    /// Destroy these (indices into the running list), newest first.
    Down(Vec<usize>),
    Hold,
}

/// Decides the step from the creation times (RFC 3339) of the running instances.
pub(in crate::cluster) fn scale_step(created: &[&str], wanted: u32) -> ScaleStep {
    let current = created.len() as u32;
    if wanted > current {
        return ScaleStep::Up(wanted - current);
    }
    if wanted == current {
        return ScaleStep::Hold;
    }
    let mut newest_first: Vec<usize> = (0..created.len()).collect();
    // RFC 3339 strings of one format sort by time; ties keep list order.
    newest_first.sort_by(|a, b| created[*b].cmp(created[*a]));
    newest_first.truncate((current - wanted) as usize);
    ScaleStep::Down(newest_first)
}

/// One scale: who asks, whose config (the caller, or a team), its name, the lock it holds.
struct Scaling<'a> {
    principal: &'a Principal,
    owner: &'a Principal,
    name: &'a str,
    team: Option<&'a str>,
    lock: &'a str,
    /// Cleared when the trail for the next holder could not be left.
    trail_left: AtomicBool,
}

impl Cluster {
    /// Converges the caller's running containers of a saved config to `instances`: up through
    /// the scheduler, down by destroying the newest first. Refuses to count while an engine the
    /// caller may use does not answer (the count would be wrong).
    pub async fn scale(
        &self,
        principal: &Principal,
        name: &str,
        team: Option<&str>,
        instances: u32,
    ) -> ClusterResult<ScaleResult> {
        if instances > MAX_COUNT {
            return Err(InvalidInput::new("instances", format!("must be 0 to {MAX_COUNT}")).into());
        }
        let owner = self.owner_for(principal, team).await?;
        let stored = self.saved(&owner, name).await?;
        // One scale per config at a time: two would count the same containers and overshoot.
        let lock = format!("scale:{}:{name}", owner.username);
        let Some(token) = self.store.try_lock(&lock, SCALE_LOCK_TTL).await? else {
            return Err(ClusterError::conflict(
                Conflict::ScaleInProgress,
                format!("image config {name} is being scaled already; try again when it is done"),
            ));
        };
        let scaling = Scaling {
            principal,
            owner: &owner,
            name,
            team,
            lock: &lock,
            trail_left: AtomicBool::new(true),
        };
        let result = self.scale_locked(&scaling, &stored, instances).await;
        // Without its trail the next holder could count before its views show this scale:
        // the lock then expires by itself instead.
        let trail_left = scaling.trail_left.load(Ordering::Relaxed);
        if trail_left && let Err(e) = self.store.unlock(&lock, &token).await {
            tracing::warn!(error = %e, "scale lock not released; it expires by itself");
        }
        result
    }

    /// Scale with the lock held: intent, converge, outcome.
    async fn scale_locked(
        &self,
        s: &Scaling<'_>,
        stored: &StoredImage,
        instances: u32,
    ) -> ClusterResult<ScaleResult> {
        let mut draft = image_draft(s.principal, actions::CONTAINER_SCALE, s.name, &stored.image)
            .owner(&s.owner.username)
            .detail(serde_json::json!({ "instances": instances }));
        draft.team = s.team.map(str::to_string);
        let work = self.converge(s, stored, instances);
        self.audited(draft, work, |r, _| Settle {
            detail: Some(serde_json::json!({
                "wanted": instances, "instances": r.instances,
                "created": r.created.len(), "destroyed": r.destroyed.len(),
            })),
            error: r.error.clone(),
            ..Default::default()
        })
        .await
    }

    /// Scale's work, between its intent and outcome.
    async fn converge(
        &self,
        s: &Scaling<'_>,
        stored: &StoredImage,
        instances: u32,
    ) -> ClusterResult<ScaleResult> {
        let (running, trail) = self.running_instances(s).await?;
        let created: Vec<&str> = running.iter().map(|c| c.created.as_str()).collect();
        let mut result = ScaleResult {
            instances: running.len() as u32,
            complete: true,
            created: Vec::new(),
            destroyed: Vec::new(),
            error: None,
        };
        match scale_step(&created, instances) {
            ScaleStep::Up(n) => self.scale_up(s, stored, n, &mut result).await?,
            ScaleStep::Down(victims) => {
                for c in victims.into_iter().map(|i| &running[i]) {
                    match self.destroy_placed(s.principal, &c.engine.id, &c.id).await {
                        Ok(_) => result.destroyed.push(c.clone()),
                        Err(e) => result.error = Some(e.to_string()),
                    }
                }
            }
            ScaleStep::Hold => {}
        }
        result.instances += result.created.len() as u32;
        result.instances -= result.destroyed.len() as u32;
        result.complete = result.instances == instances;
        if let Err(e) = self.leave_trail(s.lock, trail, &result).await {
            tracing::warn!(error = %e, "scale trail not left; the lock is left to expire");
            s.trail_left.store(false, Ordering::Relaxed);
        }
        Ok(result)
    }

    /// The owner's running containers of a saved config, and the trail to leave; refused
    /// while an engine the caller may use does not answer, since the count would be wrong.
    /// Read from the views when they show the trail and none is stale, else from the engines.
    async fn running_instances(&self, s: &Scaling<'_>) -> ClusterResult<(Vec<Container>, Trail)> {
        let mut trail = self.trail(s.lock).await?;
        let mut filter = ContainerFilter {
            owner: Some(s.owner.username.clone()),
            state: Some(ContainerState::Running),
            config: Some(s.name.to_string()),
            fresh: !self.views_show(&mut trail).await,
            ..Default::default()
        };
        let mut listed = self.list_all(s.principal, &filter).await?;
        if listed.engines.iter().any(|e| e.stale) {
            filter.fresh = true;
            trail = Trail::empty();
            listed = self.list_all(s.principal, &filter).await?;
        }
        if let Some(failed) = listed.failed.first() {
            return Err(ClusterError::EngineUnavailable(format!(
                "cannot count the instances: engine {} did not answer: {}",
                failed.engine, failed.error
            )));
        }
        Ok((listed.containers, trail))
    }

    /// Starts `n` more instances, each its own audited schedule.
    async fn scale_up(
        &self,
        s: &Scaling<'_>,
        stored: &StoredImage,
        n: u32,
        result: &mut ScaleResult,
    ) -> ClusterResult<()> {
        let ports = self.vet_config(s.principal, &stored.image).await?;
        let options = RunOptions {
            saved_as: Some(s.name.to_string()),
            ..Default::default()
        };
        let outcomes: Vec<ClusterResult<Container>> = futures::stream::iter(0..n)
            .map(|_| {
                let mut draft = Draft::by(s.principal, actions::CONTAINER_SCHEDULE);
                draft.team = s.team.map(str::to_string);
                self.run_one(s.owner, &stored.image, &ports, &options, draft)
            })
            .buffer_unordered(SCALE_CONCURRENCY)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome {
                Ok(c) => result.created.push(c),
                Err(e) => result.error = Some(e.to_string()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_down_and_hold() {
        let created = [
            "2026-01-01T00:00:01Z",
            "2026-01-01T00:00:03Z",
            "2026-01-01T00:00:02Z",
        ];
        assert_eq!(scale_step(&created, 5), ScaleStep::Up(2));
        assert_eq!(scale_step(&created, 3), ScaleStep::Hold);
        // The newest go first.
        assert_eq!(scale_step(&created, 1), ScaleStep::Down(vec![1, 2]));
        assert_eq!(scale_step(&created, 0), ScaleStep::Down(vec![1, 2, 0]));
        assert_eq!(scale_step(&[], 0), ScaleStep::Hold);
        assert_eq!(scale_step(&[], 2), ScaleStep::Up(2));
    }
}
