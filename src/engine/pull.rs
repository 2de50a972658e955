//! Pulling an image onto one engine, with its own (long) timeout, and what a failed pull means.

use std::time::Duration;

use bollard::auth::DockerCredentials;
use bollard::query_parameters::CreateImageOptions;
use futures::StreamExt;

use super::{EngineClient, EngineError};

/// Why a pull failed, in terms of who can fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullFailure {
    /// The registry has no such image or tag.
    NotFound,
    /// The registry wants credentials, or refused the ones sent.
    Unauthorized,
    /// The registry did not answer.
    RegistryUnavailable,
    /// The engine failed (disk, daemon): another engine may do.
    Engine,
}

impl EngineClient {
    /// Pulls `image` (`name:tag` or `name@digest`); the digest the registry gave, when it said.
    /// dockerd answers registry trouble as a 500 with the reason only in the message, or as an
    /// error inside the progress stream: both become [`EngineError`]s classified by
    /// [`EngineError::pull_failure`].
    pub async fn pull(
        &self,
        image: &str,
        timeout: Duration,
        credentials: Option<DockerCredentials>,
    ) -> Result<Option<String>, EngineError> {
        let options = CreateImageOptions {
            from_image: Some(image.to_string()),
            ..Default::default()
        };
        let pull = async {
            let mut stream = self.docker().create_image(Some(options), None, credentials);
            let mut digest = None;
            while let Some(item) = stream.next().await {
                let info = item?;
                if let Some(detail) = info.error_detail {
                    let message = detail.message.unwrap_or_else(|| "pull failed".into());
                    return Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 500,
                        message,
                    });
                }
                if let Some(found) =
                    (info.status.as_deref()).and_then(|s| s.strip_prefix("Digest: "))
                {
                    digest = Some(found.to_string());
                }
            }
            Ok(digest)
        };
        self.call_with("pull", timeout, pull).await
    }
}

impl EngineClient {
    /// Every image the engine holds.
    pub async fn list_images(&self) -> Result<Vec<bollard::models::ImageSummary>, EngineError> {
        let options = bollard::query_parameters::ListImagesOptions::default();
        self.call("images", self.docker().list_images(Some(options)))
            .await
    }
}

impl EngineError {
    /// What a failed pull means, from dockerd's message.
    pub fn pull_failure(&self) -> PullFailure {
        let message = self.to_string().to_lowercase();
        let any = |words: &[&str]| words.iter().any(|w| message.contains(w));
        if matches!(self, EngineError::NotFound(_))
            || any(&[
                "manifest unknown",
                "not found",
                "does not exist",
                "repository name not known",
            ])
        {
            PullFailure::NotFound
        } else if any(&[
            "unauthorized",
            "no basic auth credentials",
            "authentication required",
            "denied",
        ]) {
            PullFailure::Unauthorized
        } else if any(&[
            "connection refused",
            "no such host",
            "i/o timeout",
            "dial tcp",
            "timeout",
        ]) {
            PullFailure::RegistryUnavailable
        } else {
            PullFailure::Engine
        }
    }
}

/// The registry an image reference names (`docker.io` when none is).
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_and_failures() {
        assert_eq!(registry_of("busybox:latest"), "docker.io");
        assert_eq!(registry_of("library/busybox"), "docker.io");
        assert_eq!(registry_of("127.0.0.1:5000/x/y:1"), "127.0.0.1:5000");
        assert_eq!(registry_of("localhost/x"), "localhost");
        let docker = |m: &str| EngineError::Docker {
            status: 500,
            message: m.into(),
        };
        assert_eq!(
            docker("manifest for x:1 not found: manifest unknown").pull_failure(),
            PullFailure::NotFound
        );
        assert_eq!(
            docker("Get http://r/v2/: no basic auth credentials").pull_failure(),
            PullFailure::Unauthorized
        );
        assert_eq!(
            docker("unauthorized: authentication required").pull_failure(),
            PullFailure::Unauthorized
        );
        assert_eq!(
            docker("dial tcp 127.0.0.1:5999: connect: connection refused").pull_failure(),
            PullFailure::RegistryUnavailable
        );
        assert_eq!(
            docker("no space left on device").pull_failure(),
            PullFailure::Engine
        );
    }
}
