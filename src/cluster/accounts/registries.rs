//! Registry credentials per tenant. A user stores credentials for themselves; an admin may mark
//! theirs `shared` for every user. The password is sealed before it reaches Redis and opened
//! only to be sent to an engine that pulls for its owner (or for anyone, when shared): a user
//! can never pull with another user's credentials. Never answered, logged or audited.
//!
//! A host-local registry (`localhost`, `127.0.0.0/8`, `::1`, an unspecified address) is another
//! registry on every engine's host, whoever listens there: only an admin's shared credentials
//! are ever sent to one, and no one may store credentials of their own for it.

use bollard::auth::DockerCredentials;

use super::audited::{Settle, plain};
use super::{Cluster, ClusterError, ClusterResult, Conflict};
use crate::auth::{AuthError, Principal};
use crate::domain::{InvalidInput, NewRegistry, Registry};
use crate::events::{Draft, actions};
use crate::store::RegistryRecord;
use crate::time::{now_ms, rfc3339_ms};

fn view(r: &RegistryRecord) -> Registry {
    Registry {
        id: r.id.clone(),
        server: r.server.clone(),
        username: r.username.clone(),
        owner: r.owner.clone(),
        shared: r.shared,
        created: rfc3339_ms(r.created_ms),
    }
}

fn check(new: &NewRegistry) -> Result<(), InvalidInput> {
    let server_ok = !new.server.is_empty()
        && new.server.len() <= 253
        && (new.server.bytes())
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    if !server_ok {
        return Err(InvalidInput::new(
            "server",
            "must be a registry host[:port]",
        ));
    }
    if new.username.is_empty() || new.username.len() > 256 || new.username.contains(['\0', ':']) {
        return Err(InvalidInput::new(
            "username",
            "must be 1 to 256 characters without ':'",
        ));
    }
    if new.password.is_empty() || new.password.len() > 4096 {
        return Err(InvalidInput::new("password", "must be 1 to 4096 bytes"));
    }
    Ok(())
}

/// Whether a registry `host[:port]` names the engine's own host (see the module's words).
pub(in crate::cluster) fn is_host_local_server(server: &str) -> bool {
    let host = match server.parse::<std::net::IpAddr>() {
        Ok(_) => server,
        Err(_) => server.rsplit_once(':').map_or(server, |(host, _)| host),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse().is_ok_and(crate::domain::is_host_local)
}

/// What a rotation of the secrets key did.
#[derive(Debug, Default)]
pub struct Rotation {
    /// Re-sealed under the current key now.
    pub resealed: usize,
    /// Already sealed under the current key.
    pub current: usize,
    /// Opened by no configured key.
    pub unopenable: Vec<String>,
}

impl Cluster {
    /// Stores credentials for the caller (sealed; 409 when no secrets key is configured).
    pub async fn add_registry(
        &self,
        principal: &Principal,
        new: &NewRegistry,
    ) -> ClusterResult<Registry> {
        check(new)?;
        if new.shared && !principal.is_admin() {
            return Err(
                AuthError::Forbidden("shared: shared credentials are for admins".into()).into(),
            );
        }
        if !new.shared && is_host_local_server(&new.server) {
            let why = format!(
                "server: {} is host-local, another registry on every engine's host; only an \
                 admin's shared credentials are sent there",
                new.server
            );
            return Err(AuthError::OptionNotAllowed(why).into());
        }
        let owner = self.owner_for(principal, new.team.as_deref()).await?;
        let Some(secrets) = self.secrets() else {
            let why = "no secrets key is configured (CLEMENTINE_SECRETS_KEY), so credentials cannot be stored";
            return Err(ClusterError::conflict(Conflict::NoSecretsKey, why));
        };
        let record = RegistryRecord {
            id: uuid::Uuid::now_v7().simple().to_string(),
            owner: owner.username.clone(),
            server: new.server.clone(),
            username: new.username.clone(),
            sealed: secrets.seal(&new.password),
            shared: new.shared,
            created_ms: now_ms(),
        };
        let mut draft = Draft::by(principal, actions::REGISTRY_ADD).target(&new.server);
        draft.team = new.team.clone();
        let work = async {
            self.store.add_registry(&record).await?;
            Ok(view(&record))
        };
        self.audited(draft, work, |r, _| {
            Settle::detail(
                serde_json::json!({"id": r.id, "username": r.username, "shared": r.shared}),
            )
        })
        .await
    }

    /// The caller's credentials, their teams' and the shared ones (admins: all).
    pub async fn list_registries(&self, principal: &Principal) -> ClusterResult<Vec<Registry>> {
        let all = self.store.list_registries().await?;
        Ok((all.iter())
            .filter(|r| r.shared || principal.may_touch_container(Some(&r.owner)))
            .map(view)
            .collect())
    }

    /// Deletes credentials: their owner, or an admin. Anyone else's answers 404.
    pub async fn delete_registry(
        &self,
        principal: &Principal,
        id: &str,
    ) -> ClusterResult<Registry> {
        let all = self.store.list_registries().await?;
        let Some(record) =
            (all.into_iter()).find(|r| r.id == id && principal.may_touch_container(Some(&r.owner)))
        else {
            return Err(ClusterError::not_found("registry", id));
        };
        let mut draft = Draft::by(principal, actions::REGISTRY_DELETE).target(&record.server);
        draft.owner = Some(record.owner.clone());
        let work = async {
            self.store.delete_registry(&record.id).await?;
            Ok(view(&record))
        };
        self.audited(draft, work, plain).await
    }

    /// Re-seals every stored credential that the current secrets key does not open yet (it
    /// was sealed under the previous key) under the current key. Idempotent and resumable:
    /// what is already current is left alone, each credential is swapped on its own and only
    /// if unchanged since it was read. Fails, after doing the rest, naming the credentials no
    /// configured key opens.
    pub async fn rotate_secrets(&self, principal: &Principal) -> ClusterResult<Rotation> {
        let Some(secrets) = self.secrets() else {
            let why = "no secrets key is configured (CLEMENTINE_SECRETS_KEY): nothing to rotate to";
            return Err(ClusterError::conflict(Conflict::NoSecretsKey, why));
        };
        let work = async {
            let mut done = Rotation::default();
            for record in self.store.list_registries().await? {
                if secrets.is_current(&record.sealed) {
                    done.current += 1;
                    continue;
                }
                let Ok(password) = secrets.open(&record.sealed) else {
                    done.unopenable.push(record.id);
                    continue;
                };
                let resealed = secrets.seal(&password);
                if (self.store)
                    .reseal_registry(&record.id, &record.sealed, &resealed)
                    .await?
                {
                    done.resealed += 1;
                }
            }
            if !done.unopenable.is_empty() {
                let why = format!(
                    "no configured key opens the credentials {}: set the key that sealed them as CLEMENTINE_SECRETS_PREVIOUS_KEY",
                    done.unopenable.join(", ")
                );
                return Err(ClusterError::conflict(Conflict::NoSecretsKey, why));
            }
            Ok(done)
        };
        let draft = Draft::by(principal, actions::SECRETS_ROTATE);
        self.audited(draft, work, |r, _| {
            Settle::detail(serde_json::json!({"resealed": r.resealed, "current": r.current}))
        })
        .await
    }

    /// The credentials a pull for `owner` from `server` may use: the owner's own first, else
    /// shared ones; for a host-local server, shared ones only. Nobody else's, ever.
    pub(in crate::cluster) async fn credentials_for(
        &self,
        owner: &str,
        server: &str,
    ) -> Option<DockerCredentials> {
        let secrets = self.secrets()?;
        let all = self.store.list_registries().await.ok()?;
        let usable =
            |r: &&RegistryRecord| r.server == server && (r.shared || !is_host_local_server(server));
        let chosen = (all.iter().filter(usable).find(|r| r.owner == owner))
            .or_else(|| all.iter().filter(usable).find(|r| r.shared))?;
        let password = match secrets.open(&chosen.sealed) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(registry = %chosen.id, error = %e, "stored registry credentials cannot be opened");
                return None;
            }
        };
        Some(DockerCredentials {
            username: Some(chosen.username.clone()),
            password: Some(password),
            serveraddress: Some(server.to_string()),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_host_local_server;

    #[test]
    fn host_local_registries() {
        for local in [
            "localhost",
            "LOCALHOST:5000",
            "127.0.0.1:5001",
            "127.8.0.1",
            "::1",
            "0.0.0.0:5000",
        ] {
            assert!(is_host_local_server(local), "{local}");
        }
        for remote in [
            "10.215.0.2:5001",
            "registry.example:443",
            "docker.io",
            "localhostx:1",
        ] {
            assert!(!is_host_local_server(remote), "{remote}");
        }
    }
}
