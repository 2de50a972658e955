//! Turns Docker's container summaries into clementine's container shape.

use bollard::models::{ContainerInspectResponse, ContainerSummary, PortSummaryTypeEnum};

use super::labels::ContainerLabels;
use crate::domain::{BindPort, Container, ContainerState, Engine, ImageConfig};
use crate::time::rfc3339_secs;

/// The owner a container's labels name, when this deployment placed it: a container another
/// deployment placed on a shared engine is nobody's here (only admins see it, as unowned).
pub fn owner_here(labels: Option<&ContainerLabels>, deployment: &str) -> Option<String> {
    labels
        .filter(|l| l.cluster == deployment)
        .map(|l| l.owner.clone())
        .filter(|o| !o.is_empty())
}

/// Builds the seed's container shape from a list entry; the image config holds what the engine
/// reports and what clementine's labels record. `deployment` is this deployment's key prefix.
pub fn to_container(summary: ContainerSummary, engine: &Engine, deployment: &str) -> Container {
    let labels = summary.labels.as_ref().and_then(ContainerLabels::from_map);
    let ports: Vec<BindPort> = summary
        .ports
        .unwrap_or_default()
        .into_iter()
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
    let image = image_from_labels(labels.as_ref(), summary.image, &ports);
    Container {
        id: summary.id.unwrap_or_default(),
        name: shown_name(
            labels.as_ref(),
            summary.names.and_then(|n| n.into_iter().next()),
        ),
        image,
        engine: engine.clone(),
        state: ContainerState::parse(&summary.state.map(|s| s.to_string()).unwrap_or_default()),
        ports,
        owner: owner_here(labels.as_ref(), deployment),
        config: labels.and_then(|l| l.config),
        created: rfc3339_secs(summary.created.unwrap_or(0)),
    }
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
