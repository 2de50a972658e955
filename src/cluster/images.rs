//! Saved image configs (per owner) and scaling: run a config by name, or converge the number of
//! its running containers.

use futures::StreamExt;

use super::audited::{Settle, plain};
use super::run::{MAX_COUNT, RunOptions};
use super::{Cluster, ClusterError, ClusterResult, Conflict, ContainerFilter};
use crate::auth::Principal;
use crate::domain::{
    Container, ContainerState, ImageConfig, InvalidInput, NewSavedImage, SavedImage, ScaleResult,
};
use crate::events::{Draft, actions};
use crate::store::StoredImage;
use crate::time::{now_ms, rfc3339_ms};

fn view(owner: &str, name: String, stored: StoredImage) -> SavedImage {
    SavedImage {
        name,
        image: stored.image,
        owner: owner.to_string(),
        created: rfc3339_ms(stored.created_ms),
        updated: rfc3339_ms(stored.updated_ms),
    }
}

/// A scale that takes longer than this (a hung engine) loses its lock to the next one.
const SCALE_LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(300);

fn image_draft(
    principal: &Principal,
    action: &'static str,
    name: &str,
    image: &ImageConfig,
) -> Draft {
    let mut draft = Draft::by(principal, action).target(name);
    draft.image = Some(serde_json::to_string(image).unwrap_or_default());
    draft
}

fn check_name(name: &str) -> Result<(), InvalidInput> {
    crate::domain::check_engine_id("name", name)
}

impl Cluster {
    /// Saves a new config (409 when the name is taken). Validated like a run request.
    pub async fn save_image(
        &self,
        principal: &Principal,
        new: &NewSavedImage,
    ) -> ClusterResult<SavedImage> {
        check_name(&new.name)?;
        self.vet_config(principal, &new.image).await?;
        let now = now_ms();
        let stored = StoredImage {
            image: new.image.clone(),
            created_ms: now,
            updated_ms: now,
        };
        let work = async {
            if !self
                .store
                .create_image(&principal.username, &new.name, &stored)
                .await?
            {
                return Err(ClusterError::conflict(
                    Conflict::ImageExists,
                    format!("image config {} already exists", new.name),
                ));
            }
            Ok(view(&principal.username, new.name.clone(), stored.clone()))
        };
        self.audited(
            image_draft(principal, actions::IMAGE_SAVE, &new.name, &new.image),
            work,
            plain,
        )
        .await
    }

    /// Replaces a saved config (404 when there is none).
    pub async fn replace_image(
        &self,
        principal: &Principal,
        name: &str,
        image: &ImageConfig,
    ) -> ClusterResult<SavedImage> {
        let current = self.saved(principal, name).await?;
        self.vet_config(principal, image).await?;
        let stored = StoredImage {
            image: image.clone(),
            created_ms: current.created_ms,
            updated_ms: now_ms(),
        };
        let work = async {
            if !self
                .store
                .replace_image(&principal.username, name, &stored)
                .await?
            {
                return Err(ClusterError::not_found("image", name));
            }
            Ok(view(&principal.username, name.to_string(), stored.clone()))
        };
        self.audited(
            image_draft(principal, actions::IMAGE_REPLACE, name, image),
            work,
            plain,
        )
        .await
    }

    pub async fn get_image(&self, principal: &Principal, name: &str) -> ClusterResult<SavedImage> {
        let stored = self.saved(principal, name).await?;
        Ok(view(&principal.username, name.to_string(), stored))
    }

    /// The caller's saved configs.
    pub async fn list_images(&self, principal: &Principal) -> ClusterResult<Vec<SavedImage>> {
        let all = self.store.list_images(&principal.username).await?;
        Ok(all
            .into_iter()
            .map(|(name, s)| view(&principal.username, name, s))
            .collect())
    }

    pub async fn delete_image(&self, principal: &Principal, name: &str) -> ClusterResult<()> {
        check_name(name)?;
        let draft = Draft::by(principal, actions::IMAGE_DELETE).target(name);
        let work = async {
            if !self.store.delete_image(&principal.username, name).await? {
                return Err(ClusterError::not_found("image", name));
            }
            Ok(())
        };
        self.audited(draft, work, plain).await
    }

    async fn saved(&self, principal: &Principal, name: &str) -> ClusterResult<StoredImage> {
        check_name(name)?;
        self.store
            .get_image(&principal.username, name)
            .await?
            .ok_or_else(|| ClusterError::not_found("image", name))
    }

    /// Runs a saved config `count` times (all or nothing).
    pub async fn run_image(
        &self,
        principal: &Principal,
        name: &str,
        count: u32,
        options: RunOptions,
    ) -> ClusterResult<Vec<Container>> {
        let stored = self.saved(principal, name).await?;
        let options = RunOptions {
            saved_as: Some(name.to_string()),
            ..options
        };
        self.run(principal, &stored.image, count, &options).await
    }

    /// Converges the caller's running containers of a saved config to `instances`: up through
    /// the scheduler, down by destroying the newest first. Refuses to count while an engine the
    /// caller may use does not answer (the count would be wrong).
    pub async fn scale(
        &self,
        principal: &Principal,
        name: &str,
        instances: u32,
    ) -> ClusterResult<ScaleResult> {
        if instances > MAX_COUNT {
            return Err(InvalidInput::new("instances", format!("must be 0 to {MAX_COUNT}")).into());
        }
        let stored = self.saved(principal, name).await?;
        // One scale per config at a time: two would count the same containers and overshoot.
        let lock = format!("scale:{}:{name}", principal.username);
        let Some(token) = self.store.try_lock(&lock, SCALE_LOCK_TTL).await? else {
            return Err(ClusterError::conflict(
                Conflict::ScaleInProgress,
                format!("image config {name} is being scaled already; try again when it is done"),
            ));
        };
        let result = self.scale_locked(principal, name, &stored, instances).await;
        if let Err(e) = self.store.unlock(&lock, &token).await {
            tracing::warn!(error = %e, "scale lock not released; it expires by itself");
        }
        result
    }

    /// Scale with the lock held: intent, converge, outcome.
    async fn scale_locked(
        &self,
        principal: &Principal,
        name: &str,
        stored: &StoredImage,
        instances: u32,
    ) -> ClusterResult<ScaleResult> {
        let draft = image_draft(principal, actions::CONTAINER_SCALE, name, &stored.image)
            .owner(&principal.username)
            .detail(serde_json::json!({ "instances": instances }));
        let work = self.converge(principal, name, stored, instances);
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
        principal: &Principal,
        name: &str,
        stored: &StoredImage,
        instances: u32,
    ) -> ClusterResult<ScaleResult> {
        let filter = ContainerFilter {
            owner: Some(principal.username.clone()),
            state: Some(ContainerState::Running),
            config: Some(name.to_string()),
            ..Default::default()
        };
        let listed = self.list_all(principal, &filter).await?;
        if let Some(failed) = listed.failed.first() {
            return Err(ClusterError::EngineUnavailable(format!(
                "cannot count the instances: engine {} did not answer: {}",
                failed.engine, failed.error
            )));
        }
        let mut running = listed.containers;
        let current = running.len() as u32;
        let mut result = ScaleResult {
            instances: current,
            complete: true,
            created: Vec::new(),
            destroyed: Vec::new(),
            error: None,
        };
        if instances > current {
            let ports = self.vet_config(principal, &stored.image).await?;
            let options = RunOptions {
                saved_as: Some(name.to_string()),
                ..Default::default()
            };
            let outcomes: Vec<ClusterResult<Container>> = futures::stream::iter(current..instances)
                .map(|_| {
                    self.run_one(
                        principal,
                        &stored.image,
                        &ports,
                        &options,
                        Draft::by(principal, actions::CONTAINER_SCHEDULE),
                    )
                })
                .buffer_unordered(8)
                .collect()
                .await;
            for outcome in outcomes {
                match outcome {
                    Ok(c) => result.created.push(c),
                    Err(e) => result.error = Some(e.to_string()),
                }
            }
        } else {
            // Newest first: RFC 3339 strings of one format sort by time.
            running.sort_by(|a, b| b.created.cmp(&a.created));
            for c in running.into_iter().take((current - instances) as usize) {
                match self.destroy_placed(principal, &c.engine.id, &c.id).await {
                    Ok(_) => result.destroyed.push(c),
                    Err(e) => result.error = Some(e.to_string()),
                }
            }
        }
        result.instances = current + result.created.len() as u32 - result.destroyed.len() as u32;
        result.complete = result.instances == instances;
        Ok(result)
    }
}
