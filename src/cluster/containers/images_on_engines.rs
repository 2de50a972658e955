//! Images on the engines: what one engine holds, and pre-pulls onto several (each audited as
//! `image.pull`, with the caller's own or shared registry credentials only).

use futures::future::join_all;

use super::{Cluster, ClusterError, ClusterResult};
use crate::auth::Principal;
use crate::domain::{
    EngineImage, ImageConfig, InvalidInput, PullRequest, PullResult, check_config, check_engine_id,
    image_with_tag,
};
use crate::engine::registry_of;
use crate::time::rfc3339_secs;

/// Most engines one pre-pull names.
const MAX_PULL_ENGINES: usize = 64;

impl Cluster {
    /// What an engine the caller may use holds.
    pub async fn engine_images(
        &self,
        principal: &Principal,
        id: &str,
    ) -> ClusterResult<Vec<EngineImage>> {
        let engine = self.get_engine(principal, id).await?;
        let listed = (self.engines.client(&engine).list_images().await)
            .map_err(|e| ClusterError::engine(id, e))?;
        Ok(listed
            .into_iter()
            .map(|i| EngineImage {
                id: i.id,
                tags: i.repo_tags,
                size: i.size,
                created: rfc3339_secs(i.created),
            })
            .collect())
    }

    /// Docker's inspect of an image on an engine the caller may use.
    pub async fn inspect_image_on(
        &self,
        principal: &Principal,
        id: &str,
        image: &str,
    ) -> ClusterResult<serde_json::Value> {
        check_config(&ImageConfig {
            name: image.to_string(),
            ..Default::default()
        })
        .map_err(|e| InvalidInput::new("name", e.reason))?;
        let engine = self.get_engine(principal, id).await?;
        let client = self.engines.client(&engine);
        let inspect = client.call("image_inspect", client.docker().inspect_image(image));
        let found = inspect.await.map_err(|e| ClusterError::engine(id, e))?;
        Ok(serde_json::to_value(found).unwrap_or_default())
    }

    /// Pulls an image onto each named engine at once; one answer per engine.
    pub async fn pre_pull(
        &self,
        principal: &Principal,
        request: &PullRequest,
    ) -> ClusterResult<Vec<PullResult>> {
        check_config(&ImageConfig {
            name: request.image.clone(),
            ..Default::default()
        })
        .map_err(|e| InvalidInput::new("image", e.reason))?;
        if request.engines.is_empty() || request.engines.len() > MAX_PULL_ENGINES {
            return Err(InvalidInput::new(
                "engines",
                format!("name 1 to {MAX_PULL_ENGINES} engines"),
            )
            .into());
        }
        let mut engines = Vec::new();
        for (i, id) in request.engines.iter().enumerate() {
            check_engine_id(&format!("engines[{i}]"), id)?;
            engines.push(self.get_engine(principal, id).await?);
        }
        let image = image_with_tag(&request.image);
        let registry = registry_of(&image);
        let allowed = self.engines.may_pull_from(registry);
        let pulls = join_all(engines.iter().map(|engine| {
            let image = image.clone();
            async move {
                let outcome = match allowed {
                    true => self.pull_for_run(principal, engine, &image).await,
                    false => Err((
                        crate::engine::PullFailure::Engine,
                        format!("pulls from {registry} are not allowed here"),
                    )),
                };
                PullResult {
                    engine: engine.id.clone(),
                    ok: outcome.is_ok(),
                    error: outcome.err().map(|(_, message)| message),
                }
            }
        }))
        .await;
        Ok(pulls)
    }
}
