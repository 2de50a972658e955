//! Turns Docker's container summaries into clementine's container shape.

use bollard::models::{ContainerInspectResponse, ContainerSummary, PortSummaryTypeEnum};

use super::labels::ContainerLabels;
use crate::domain::{BindPort, Container, ContainerFacts, ContainerState, Engine, ImageConfig};
use crate::time::rfc3339_secs;

/// The owner a container's labels name, when this deployment placed it: a container another
/// deployment placed on a shared engine is nobody's here (only admins see it, as unowned).
pub fn owner_here(labels: Option<&ContainerLabels>, deployment: &str) -> Option<String> {
    labels
        .filter(|l| l.cluster == deployment)
        .map(|l| l.owner.clone())
        .filter(|o| !o.is_empty())
}

/// A container as the engine views keep it: what one listing of its engine says, with
/// clementine's labels, and neither the engine record nor a full image config (the API's shape
/// is built when read: [`Listed::container`]). Kept built, 10,000 containers cost ~10 KiB each;
/// kept so (and boxed in the views), ~1 KiB.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub id: String,
    /// As shown: the name its owner gave, else Docker's, with the leading `/`.
    pub name: String,
    /// The image as the engine reports it.
    pub image: String,
    pub state: ContainerState,
    pub ports: Vec<BindPort>,
    /// RFC 3339.
    pub created: String,
    /// What clementine recorded on it, when clementine (this deployment or another) placed it.
    pub labels: Option<ContainerLabels>,
    /// Its owner here (see [`owner_here`]).
    pub owner: Option<String>,
}

impl Listed {
    /// From a list entry; `deployment` is this deployment's key prefix.
    pub fn from_summary(summary: ContainerSummary, deployment: &str) -> Self {
        let labels = summary.labels.as_ref().and_then(ContainerLabels::from_map);
        let ports = (summary.ports.unwrap_or_default().into_iter())
            .filter_map(|p| {
                Some(BindPort {
                    proto: match p.typ {
                        Some(PortSummaryTypeEnum::UDP) => "udp",
                        Some(PortSummaryTypeEnum::SCTP) => "sctp",
                        _ => "tcp",
                    }
                    .to_string(),
                    host_ip: p.ip,
                    port: p.public_port?,
                    container_port: p.private_port,
                })
            })
            .collect();
        Self {
            id: summary.id.unwrap_or_default(),
            name: shown_name(
                labels.as_ref(),
                summary.names.and_then(|n| n.into_iter().next()),
            ),
            image: summary.image.unwrap_or_default(),
            state: ContainerState::parse(&summary.state.map(|s| s.to_string()).unwrap_or_default()),
            ports,
            created: rfc3339_secs(summary.created.unwrap_or(0)),
            owner: owner_here(labels.as_ref(), deployment),
            labels,
        }
    }

    /// From a container this process just made or changed, with the labels it carries.
    pub fn of(container: &Container, labels: Option<ContainerLabels>) -> Self {
        Self {
            id: container.id.clone(),
            name: container.name.clone(),
            image: container.image.name.clone(),
            state: container.state,
            ports: container.ports.clone(),
            created: container.created.clone(),
            labels,
            owner: container.owner.clone(),
        }
    }

    /// The seed's container shape: the image config holds what the engine reports and what
    /// clementine's labels record.
    pub fn container(&self, engine: &Engine) -> Container {
        Container {
            id: self.id.clone(),
            name: self.name.clone(),
            image: self.image_config(),
            engine: engine.clone(),
            state: self.state,
            ports: self.ports.clone(),
            owner: self.owner.clone(),
            config: self.labels.as_ref().and_then(|l| l.config.clone()),
            created: self.created.clone(),
        }
    }

    /// The image config it runs, as far as the engine and clementine's labels tell.
    pub fn image_config(&self) -> ImageConfig {
        image_from_labels(self.labels.as_ref(), Some(self.image.clone()), &self.ports)
    }

    /// Creation time, unix ms (0 when the engine's time does not parse).
    pub fn created_ms(&self) -> u64 {
        humantime::parse_rfc3339_weak(&self.created)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as u64)
    }
}

impl ContainerFacts for Listed {
    fn id(&self) -> &str {
        &self.id
    }
    fn shown_name(&self) -> &str {
        &self.name
    }
    fn image_name(&self) -> &str {
        self.labels.as_ref().map_or(&self.image, |l| &l.image)
    }
    fn state(&self) -> ContainerState {
        self.state
    }
    fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }
    fn config(&self) -> Option<&str> {
        self.labels.as_ref().and_then(|l| l.config.as_deref())
    }
}

/// Builds the seed's container shape from a list entry. `deployment` is this deployment's key
/// prefix.
pub fn to_container(summary: ContainerSummary, engine: &Engine, deployment: &str) -> Container {
    Listed::from_summary(summary, deployment).container(engine)
}

/// The name its owner gave it (Docker's own name is scoped to the owner), else Docker's; with
/// the leading `/` Docker reports.
fn shown_name(labels: Option<&ContainerLabels>, docker_name: Option<String>) -> String {
    match labels.and_then(|l| l.name.as_ref()) {
        Some(given) => format!("/{given}"),
        None => docker_name.unwrap_or_default(),
    }
}

/// The image config as far as the labels (and the engine) tell.
fn image_from_labels(
    labels: Option<&ContainerLabels>,
    image: Option<String>,
    ports: &[BindPort],
) -> ImageConfig {
    let mut config = ImageConfig {
        name: image.unwrap_or_default(),
        bind_ports: ports.to_vec(),
        ..Default::default()
    };
    if let Some(l) = labels {
        config.name = l.image.clone();
        config.r#type = l.placement;
        config.cpus = Some(l.cpus);
        config.memory = Some(l.memory);
    }
    config
}

/// The host ports an inspected container publishes (the live bindings, or the configured ones
/// of a stopped container).
fn published_ports(inspect: &ContainerInspectResponse) -> Vec<BindPort> {
    let bindings = (inspect.network_settings.as_ref())
        .and_then(|n| n.ports.clone())
        .or_else(|| (inspect.host_config.as_ref()).and_then(|h| h.port_bindings.clone()))
        .unwrap_or_default();
    let mut ports: Vec<BindPort> = Vec::new();
    for (key, bound) in bindings {
        let (cport, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(container_port) = cport.parse::<u16>() else {
            continue;
        };
        for b in bound.unwrap_or_default() {
            if let Some(port) = b.host_port.as_deref().and_then(|p| p.parse().ok()) {
                ports.push(BindPort {
                    proto: proto.to_string(),
                    host_ip: b.host_ip.filter(|ip| !ip.is_empty()),
                    port,
                    container_port,
                });
            }
        }
    }
    ports.sort_by_key(|p| (p.port, p.container_port));
    ports
}

/// Builds the container shape from an inspect answer (richer than a list entry).
pub fn from_inspect(
    inspect: ContainerInspectResponse,
    engine: &Engine,
    deployment: &str,
) -> Container {
    let ports = published_ports(&inspect);
    let config = inspect.config.unwrap_or_default();
    let labels = config.labels.as_ref().and_then(ContainerLabels::from_map);
    let mut image = image_from_labels(labels.as_ref(), config.image.clone(), &ports);
    image.args = config.cmd.unwrap_or_default();
    image.entrypoint = config.entrypoint.unwrap_or_default();
    image.environment = config
        .env
        .unwrap_or_default()
        .into_iter()
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    image.hostname = config.hostname;
    image.domain = config.domainname.filter(|d| !d.is_empty());
    image.tty = config.tty.unwrap_or(false);
    image.open_stdin = config.open_stdin.unwrap_or(false);
    image.stdin_once = config.stdin_once.unwrap_or(false);
    image.working_dir = config.working_dir.filter(|d| !d.is_empty());
    image.user = config.user.filter(|u| !u.is_empty());
    image.container_labels = (config.labels.iter().flatten())
        .filter(|(k, _)| !k.starts_with(crate::domain::RESERVED_LABEL_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let host = inspect.host_config.unwrap_or_default();
    image.auto_remove = host.auto_remove.unwrap_or(false);
    image.network_mode = host.network_mode;
    Container {
        id: inspect.id.unwrap_or_default(),
        name: shown_name(labels.as_ref(), inspect.name),
        image,
        engine: engine.clone(),
        state: ContainerState::parse(
            &inspect
                .state
                .and_then(|s| s.status)
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ),
        ports,
        owner: owner_here(labels.as_ref(), deployment),
        config: labels.and_then(|l| l.config),
        created: inspect.created.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(c: &impl ContainerFacts) -> (String, String, String, ContainerState, Option<String>) {
        let own = |s: Option<&str>| s.map(str::to_string);
        let named = (c.id().to_string(), c.shown_name().to_string());
        (
            named.0,
            named.1,
            c.image_name().to_string(),
            c.state(),
            own(c.owner()),
        )
    }

    #[test]
    fn a_kept_record_reads_like_the_container_built_from_it() {
        let labels = ContainerLabels {
            cluster: "dep:".into(),
            owner: "ann".into(),
            image: "busybox:latest".into(),
            op: "op-1".into(),
            config: Some("web".into()),
            name: Some("given".into()),
            ..Default::default()
        };
        for (deployment, owner) in [("dep:", Some("ann")), ("other:", None)] {
            let summary = ContainerSummary {
                id: Some("c1".into()),
                names: Some(vec!["/docker-name".into()]),
                image: Some("sha256:abc".into()),
                state: Some(bollard::models::ContainerSummaryStateEnum::RUNNING),
                created: Some(1_700_000_000),
                labels: Some(labels.to_map()),
                ..Default::default()
            };
            let listed = Listed::from_summary(summary, deployment);
            let record = crate::domain::EngineRecord {
                addr: "https://127.0.0.1:2376".into(),
                cpus: 1.0,
                memory: 64,
                labels: Vec::new(),
                status: Default::default(),
                publish_ips: Vec::new(),
            };
            let built = listed.container(&record.into_engine("e1"));
            assert_eq!(facts(&listed), facts(&built));
            assert_eq!(listed.owner(), owner);
            assert_eq!(
                (listed.config(), built.config()),
                (Some("web"), Some("web"))
            );
            assert_eq!(listed.shown_name(), "/given");
            assert_eq!(listed.image_name(), "busybox:latest");
            assert_eq!(listed.created_ms(), 1_700_000_000_000);
            let again = Listed::of(&built, listed.labels.clone());
            assert_eq!(facts(&again), facts(&listed));
        }
    }
}
