//! Turns Docker's container summaries into clementine's container shape.

use bollard::models::{ContainerSummary, PortSummaryTypeEnum};

use super::labels;
use crate::domain::{BindPort, Container, ContainerState, Engine, ImageConfig, PlacementType};
use crate::time::rfc3339_secs;

/// Builds the seed's container shape from a list entry; the image config holds what the engine
/// reports and what clementine's labels record.
pub fn to_container(summary: ContainerSummary, engine: &Engine) -> Container {
    let labels = summary.labels.unwrap_or_default();
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
    let image = ImageConfig {
        name: labels
            .get(labels::IMAGE)
            .cloned()
            .or(summary.image)
            .unwrap_or_default(),
        r#type: labels
            .get(labels::TYPE)
            .and_then(|t| PlacementType::parse(t))
            .unwrap_or_default(),
        cpus: labels.get(labels::CPUS).and_then(|v| v.parse().ok()),
        memory: labels.get(labels::MEMORY).and_then(|v| v.parse().ok()),
        bind_ports: ports.clone(),
        ..Default::default()
    };
    Container {
        id: summary.id.unwrap_or_default(),
        name: summary
            .names
            .and_then(|n| n.into_iter().next())
            .unwrap_or_default(),
        image,
        engine: engine.clone(),
        state: ContainerState::parse(&summary.state.map(|s| s.to_string()).unwrap_or_default()),
        ports,
        owner: labels.get(labels::OWNER).cloned(),
        created: rfc3339_secs(summary.created.unwrap_or(0)),
    }
}
