//! Saved image configs (per owner: a user, or a team whose members share them): save, replace,
//! read, delete, and run one by name. `team` names a team's config (members only; anyone else
//! gets 404). Scaling a saved config is in `scale`.

use super::audited::plain;
use super::run::RunOptions;
use super::{Cluster, ClusterError, ClusterResult, Conflict};
use crate::auth::Principal;
use crate::domain::{Container, ImageConfig, InvalidInput, NewSavedImage, SavedImage};
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

pub(in crate::cluster) fn image_draft(
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
        let owner = self.owner_for(principal, new.team.as_deref()).await?;
        let now = now_ms();
        let stored = StoredImage {
            image: new.image.clone(),
            created_ms: now,
            updated_ms: now,
        };
        let work = async {
            if !self
                .store
                .create_image(&owner.username, &new.name, &stored)
                .await?
            {
                return Err(ClusterError::conflict(
                    Conflict::ImageExists,
                    format!("image config {} already exists", new.name),
                ));
            }
            Ok(view(&owner.username, new.name.clone(), stored.clone()))
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
        team: Option<&str>,
        image: &ImageConfig,
    ) -> ClusterResult<SavedImage> {
        let owner = self.owner_for(principal, team).await?;
        let current = self.saved(&owner, name).await?;
        self.vet_config(principal, image).await?;
        let stored = StoredImage {
            image: image.clone(),
            created_ms: current.created_ms,
            updated_ms: now_ms(),
        };
        let work = async {
            if !self
                .store
                .replace_image(&owner.username, name, &stored)
                .await?
            {
                return Err(ClusterError::not_found("image", name));
            }
            Ok(view(&owner.username, name.to_string(), stored.clone()))
        };
        self.audited(
            image_draft(principal, actions::IMAGE_REPLACE, name, image),
            work,
            plain,
        )
        .await
    }

    pub async fn get_image(
        &self,
        principal: &Principal,
        name: &str,
        team: Option<&str>,
    ) -> ClusterResult<SavedImage> {
        let owner = self.owner_for(principal, team).await?;
        let stored = self.saved(&owner, name).await?;
        Ok(view(&owner.username, name.to_string(), stored))
    }

    /// The caller's saved configs, and their teams' (`owner` says whose).
    pub async fn list_images(&self, principal: &Principal) -> ClusterResult<Vec<SavedImage>> {
        let owners =
            (principal.visible_owners()).unwrap_or_else(|| vec![principal.username.clone()]);
        let mut list = Vec::new();
        for owner in owners {
            let all = self.store.list_images(&owner).await?;
            list.extend(all.into_iter().map(|(name, s)| view(&owner, name, s)));
        }
        Ok(list)
    }

    pub async fn delete_image(
        &self,
        principal: &Principal,
        name: &str,
        team: Option<&str>,
    ) -> ClusterResult<()> {
        check_name(name)?;
        let owner = self.owner_for(principal, team).await?;
        let mut draft = Draft::by(principal, actions::IMAGE_DELETE).target(name);
        draft.team = team.map(str::to_string);
        let work = async {
            if !self.store.delete_image(&owner.username, name).await? {
                return Err(ClusterError::not_found("image", name));
            }
            Ok(())
        };
        self.audited(draft, work, plain).await
    }

    /// `owner`'s config of that name (`owner` from [`Cluster::owner_for`]).
    pub(in crate::cluster) async fn saved(
        &self,
        owner: &Principal,
        name: &str,
    ) -> ClusterResult<StoredImage> {
        check_name(name)?;
        self.store
            .get_image(&owner.username, name)
            .await?
            .ok_or_else(|| ClusterError::not_found("image", name))
    }

    /// Runs a saved config `count` times (all or nothing); a team's config runs as the team's.
    pub async fn run_image(
        &self,
        principal: &Principal,
        name: &str,
        count: u32,
        options: RunOptions,
    ) -> ClusterResult<Vec<Container>> {
        let owner = self.owner_for(principal, options.team.as_deref()).await?;
        let stored = self.saved(&owner, name).await?;
        let options = RunOptions {
            saved_as: Some(name.to_string()),
            ..options
        };
        self.run(principal, &stored.image, count, &options).await
    }
}
