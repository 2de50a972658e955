//! Turns an image config into Docker's create request. The config was validated before (see
//! `cluster::validate`); this module only translates.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointSettings, HostConfig, NetworkingConfig,
    PortBinding, RestartPolicy as DockerRestart, RestartPolicyNameEnum,
};

use crate::domain::ImageConfig;

/// Docker's create body for a config, with clementine's labels. `alias` is the name the
/// container answers to on its (user-defined) network.
pub fn create_body(
    config: &ImageConfig,
    labels: HashMap<String, String>,
    alias: Option<&str>,
) -> ContainerCreateBody {
    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &config.bind_ports {
        port_bindings
            .entry(format!("{}/{}", p.container_port, p.proto))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: p.host_ip.clone(),
                host_port: Some(p.port.to_string()),
            });
    }
    let exposed: Vec<String> = port_bindings.keys().cloned().collect();
    let (binds, anonymous): (Vec<String>, Vec<String>) = config
        .volumes
        .iter()
        .cloned()
        .partition(|v| v.contains(':'));
    let some_vec = |v: Vec<String>| (!v.is_empty()).then_some(v);
    let host_config = HostConfig {
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        publish_all_ports: config.publish.then_some(true),
        nano_cpus: config.cpus.map(|c| (c * 1e9) as i64),
        memory: config.memory.map(|m| (m * 1024 * 1024) as i64),
        restart_policy: config.restart_policy.as_ref().map(|r| DockerRestart {
            name: Some(match r.name.as_str() {
                "always" => RestartPolicyNameEnum::ALWAYS,
                "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
                "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
                "no" => RestartPolicyNameEnum::NO,
                _ => RestartPolicyNameEnum::EMPTY,
            }),
            maximum_retry_count: (r.name == "on-failure").then_some(r.maximum_retry),
        }),
        network_mode: config.network_mode.clone(),
        binds: some_vec(binds),
        privileged: config.privileged.then_some(true),
        cap_add: some_vec(config.cap_add.clone()),
        devices: (!config.devices.is_empty())
            .then(|| config.devices.iter().map(|d| device(d)).collect()),
        pid_mode: config.pid_mode.clone(),
        ipc_mode: config.ipc_mode.clone(),
        auto_remove: config.auto_remove.then_some(true),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(config.name.clone()),
        cmd: some_vec(config.args.clone()),
        entrypoint: some_vec(config.entrypoint.clone()),
        env: (!config.environment.is_empty()).then(|| {
            config
                .environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect()
        }),
        hostname: config.hostname.clone(),
        domainname: config.domain.clone(),
        labels: Some(with_own(labels, &config.container_labels)),
        tty: config.tty.then_some(true),
        open_stdin: config.open_stdin.then_some(true),
        stdin_once: config.stdin_once.then_some(true),
        attach_stdin: config.open_stdin.then_some(true),
        working_dir: config.working_dir.clone(),
        user: config.user.clone(),
        exposed_ports: some_vec(exposed),
        volumes: some_vec(anonymous),
        host_config: Some(host_config),
        networking_config: networking(config, alias),
        ..Default::default()
    }
}

/// The owner's own labels beside clementine's (which win: the config check refuses owners'
/// labels under `clementine.` anyway).
fn with_own(
    mut labels: HashMap<String, String>,
    own: &std::collections::BTreeMap<String, String>,
) -> HashMap<String, String> {
    for (k, v) in own {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    labels
}

/// The aliases on the container's own network, so that containers there reach it by the name
/// its owner gave it and by the config's `network_aliases` (Docker's built-in modes take no
/// aliases).
fn networking(config: &ImageConfig, alias: Option<&str>) -> Option<NetworkingConfig> {
    let network = config.network_mode.as_deref()?;
    let aliases: Vec<String> = (alias.into_iter())
        .chain(config.network_aliases.iter().map(String::as_str))
        .map(str::to_string)
        .collect();
    if aliases.is_empty()
        || matches!(network, "bridge" | "host" | "none" | "default")
        || network.contains(':')
    {
        return None;
    }
    let endpoint = EndpointSettings {
        aliases: Some(aliases),
        ..Default::default()
    };
    Some(NetworkingConfig {
        endpoints_config: Some(HashMap::from([(network.to_string(), endpoint)])),
    })
}

/// `/dev/x[:/dev/y[:rwm]]`.
fn device(spec: &str) -> DeviceMapping {
    let mut parts = spec.splitn(3, ':');
    let host = parts.next().unwrap_or_default().to_string();
    let inside = parts
        .next()
        .map(str::to_string)
        .unwrap_or_else(|| host.clone());
    DeviceMapping {
        path_on_host: Some(host),
        path_in_container: Some(inside),
        cgroup_permissions: Some(parts.next().unwrap_or("rwm").to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BindPort, RestartPolicy};

    #[test]
    fn translates_every_field() {
        // Every field, with no `..Default`: a field added to `ImageConfig` does not compile here
        // until this test says what becomes of it.
        let config = ImageConfig {
            name: "busybox:latest".into(),
            // Placement's, not Docker's: type, labels, pull; the name is given on create.
            r#type: crate::domain::PlacementType::Multi,
            labels: vec!["ssd".into()],
            pull: crate::domain::PullPolicy::Always,
            container_name: Some("web".into()),
            args: vec!["sleep".into(), "60".into()],
            entrypoint: vec!["/bin/sh".into(), "-c".into()],
            environment: [("A".to_string(), "1".to_string())].into(),
            hostname: Some("h".into()),
            domain: Some("example.test".into()),
            cpus: Some(0.5),
            memory: Some(64),
            bind_ports: vec![BindPort {
                proto: "tcp".into(),
                host_ip: Some("127.0.0.11".into()),
                port: 8080,
                container_port: 80,
            }],
            publish: true,
            network_mode: Some("backend".into()),
            volumes: vec!["data:/data".into(), "/cache".into()],
            restart_policy: Some(RestartPolicy {
                name: "on-failure".into(),
                maximum_retry: 3,
            }),
            privileged: true,
            cap_add: vec!["NET_ADMIN".into()],
            devices: vec!["/dev/fuse".into()],
            pid_mode: Some("host".into()),
            ipc_mode: Some("host".into()),
            tty: true,
            open_stdin: true,
            stdin_once: true,
            working_dir: Some("/srv".into()),
            user: Some("1000:1000".into()),
            container_labels: [("com.example.app".to_string(), "shop".to_string())].into(),
            network_aliases: vec!["db".into()],
            auto_remove: true,
        };
        let labels = HashMap::from([("clementine.owner".to_string(), "ann".to_string())]);
        let body = create_body(&config, labels.clone(), Some("web"));
        assert_eq!(body.image.as_deref(), Some("busybox:latest"));
        assert_eq!(body.cmd, Some(vec!["sleep".to_string(), "60".to_string()]));
        assert_eq!(
            body.entrypoint,
            Some(vec!["/bin/sh".to_string(), "-c".to_string()])
        );
        assert_eq!(body.env, Some(vec!["A=1".to_string()]));
        assert_eq!(body.hostname.as_deref(), Some("h"));
        assert_eq!(body.domainname.as_deref(), Some("example.test"));
        let mut all_labels = labels.clone();
        all_labels.insert("com.example.app".into(), "shop".into());
        assert_eq!(body.labels, Some(all_labels));
        assert_eq!(body.tty, Some(true));
        assert_eq!(body.open_stdin, Some(true));
        assert_eq!(body.stdin_once, Some(true));
        assert_eq!(body.working_dir.as_deref(), Some("/srv"));
        assert_eq!(body.user.as_deref(), Some("1000:1000"));
        assert_eq!(body.volumes, Some(vec!["/cache".to_string()]));
        assert_eq!(body.exposed_ports, Some(vec!["80/tcp".to_string()]));
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        let aliases = Some(vec!["web".to_string(), "db".to_string()]);
        assert_eq!(endpoints["backend"].aliases, aliases);
        let hc = body.host_config.unwrap();
        assert_eq!(hc.nano_cpus, Some(500_000_000));
        assert_eq!(hc.memory, Some(64 * 1024 * 1024));
        assert_eq!(hc.binds, Some(vec!["data:/data".to_string()]));
        let bindings = hc.port_bindings.unwrap();
        let bound = &bindings["80/tcp"].as_ref().unwrap()[0];
        assert_eq!(bound.host_port.as_deref(), Some("8080"));
        assert_eq!(bound.host_ip.as_deref(), Some("127.0.0.11"));
        assert_eq!(hc.publish_all_ports, Some(true));
        assert_eq!(hc.network_mode.as_deref(), Some("backend"));
        let restart = hc.restart_policy.unwrap();
        assert_eq!(restart.name, Some(RestartPolicyNameEnum::ON_FAILURE));
        assert_eq!(restart.maximum_retry_count, Some(3));
        assert_eq!(hc.privileged, Some(true));
        assert_eq!(hc.cap_add, Some(vec!["NET_ADMIN".to_string()]));
        let device = &hc.devices.unwrap()[0];
        assert_eq!(device.path_on_host.as_deref(), Some("/dev/fuse"));
        assert_eq!(device.path_in_container.as_deref(), Some("/dev/fuse"));
        assert_eq!(device.cgroup_permissions.as_deref(), Some("rwm"));
        assert_eq!(hc.pid_mode.as_deref(), Some("host"));
        assert_eq!(hc.ipc_mode.as_deref(), Some("host"));
        assert_eq!(hc.auto_remove, Some(true));
    }
}
