//! Docker's container create body, translated into clementine's image config once, at the edge.
//! What maps is mapped; what clementine does not do is refused by name (a setting silently
//! dropped would run something else than was asked), unless it is set to its default, which the
//! docker CLI and compose send for every field. Options only admins may use (privileged, host
//! namespaces, bind mounts, devices) map onto the config's fields, so the one tenant guard
//! refuses them for users.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{DockerError, DockerResult};
use crate::domain::{BindPort, ImageConfig, RestartPolicy};

/// The label that makes a team own what is created (it is read, not stored).
pub const TEAM_LABEL: &str = "clementine.team";

/// A create, translated: the config, and the team that owns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Create {
    pub config: ImageConfig,
    pub team: Option<String>,
}

/// Fields of the body (Docker's container config) that map, or mean nothing to the engine.
const CONFIG_FIELDS: &[&str] = &[
    "Image",
    "Cmd",
    "Entrypoint",
    "Env",
    "Hostname",
    "Domainname",
    "User",
    "WorkingDir",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "Labels",
    "Volumes",
    "HostConfig",
    "NetworkingConfig",
    // Which streams the client attaches to, and what the image exposes: the client's business.
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "ExposedPorts",
    "ArgsEscaped",
];

/// Host config fields that map (or, like the console size, only say how the client looks).
const HOST_FIELDS: &[&str] = &[
    "Binds",
    "Mounts",
    "NetworkMode",
    "PortBindings",
    "PublishAllPorts",
    "RestartPolicy",
    "AutoRemove",
    "Privileged",
    "CapAdd",
    "Devices",
    "PidMode",
    "IpcMode",
    "Memory",
    "NanoCpus",
    "ConsoleSize",
];

/// Whether a JSON value says nothing: null, false, 0, "", or a list or map of such.
fn is_unset(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.iter().all(is_unset),
        Value::Object(o) => o.values().all(is_unset),
    }
}

/// Fields whose default is not "unset": Docker's `-1` means "the kernel's default".
fn is_default(key: &str, v: &Value) -> bool {
    is_unset(v) || (key == "MemorySwappiness" && v.as_i64() == Some(-1))
}

/// Refuses the first field of `object` outside `known` that is set.
pub(super) fn refuse_unknown(
    object: &Map<String, Value>,
    known: &[&str],
    place: &str,
) -> DockerResult<()> {
    match object
        .iter()
        .find(|(k, v)| !known.contains(&k.as_str()) && !is_default(k, v))
    {
        Some((k, _)) => Err(DockerError::bad_request(format!(
            "{place}{k} is not supported by clementine"
        ))),
        None => Ok(()),
    }
}

fn text(object: &Map<String, Value>, key: &str) -> DockerResult<Option<String>> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(DockerError::bad_request(format!("{key} must be a string"))),
    }
}

fn flag(object: &Map<String, Value>, key: &str) -> DockerResult<bool> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(DockerError::bad_request(format!(
            "{key} must be true or false"
        ))),
    }
}

/// A list of strings; Docker's `Cmd` and `Entrypoint` also take one string.
fn strings(object: &Map<String, Value>, key: &str) -> DockerResult<Vec<String>> {
    let bad = || DockerError::bad_request(format!("{key} must be a list of strings"));
    match object.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => (items.iter())
            .map(|i| i.as_str().map(str::to_string).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

pub(super) fn string_map(
    object: &Map<String, Value>,
    key: &str,
) -> DockerResult<BTreeMap<String, String>> {
    let bad = || DockerError::bad_request(format!("{key} must map strings to strings"));
    match object.get(key) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => (m.iter())
            .map(|(k, v)| Ok((k.clone(), v.as_str().ok_or_else(bad)?.to_string())))
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// Translates a create body; `name` is the `?name=` of the request.
pub fn translate(body: &Value, name: Option<&str>) -> DockerResult<Create> {
    let body = body
        .as_object()
        .ok_or_else(|| DockerError::bad_request("the body must be a JSON object"))?;
    refuse_unknown(body, CONFIG_FIELDS, "")?;
    let image =
        text(body, "Image")?.ok_or_else(|| DockerError::bad_request("Image is required"))?;
    let mut labels = string_map(body, "Labels")?;
    let team = labels.remove(TEAM_LABEL);
    let mut config = ImageConfig {
        name: image,
        args: strings(body, "Cmd")?,
        entrypoint: strings(body, "Entrypoint")?,
        environment: (strings(body, "Env")?.iter())
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        hostname: text(body, "Hostname")?,
        domain: text(body, "Domainname")?,
        user: text(body, "User")?,
        working_dir: text(body, "WorkingDir")?,
        tty: flag(body, "Tty")?,
        open_stdin: flag(body, "OpenStdin")?,
        stdin_once: flag(body, "StdinOnce")?,
        container_labels: labels,
        container_name: name.map(|n| n.trim_start_matches('/').to_string()),
        ..Default::default()
    };
    if let Some(Value::Object(anonymous)) = body.get("Volumes") {
        config.volumes.extend(anonymous.keys().cloned());
    }
    if let Some(host) = body.get("HostConfig").filter(|h| !h.is_null()) {
        let host = (host.as_object())
            .ok_or_else(|| DockerError::bad_request("HostConfig must be an object"))?;
        host_config(host, &mut config)?;
    }
    if let Some(net) = body.get("NetworkingConfig").filter(|n| !n.is_null()) {
        networking(net, &mut config)?;
    }
    Ok(Create { config, team })
}

fn host_config(host: &Map<String, Value>, config: &mut ImageConfig) -> DockerResult<()> {
    refuse_unknown(host, HOST_FIELDS, "HostConfig.")?;
    config.volumes.extend(strings(host, "Binds")?);
    for mount in host
        .get("Mounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        config.volumes.push(mount_entry(mount)?);
    }
    config.network_mode = text(host, "NetworkMode")?.filter(|m| m != "default");
    config.bind_ports = port_bindings(host.get("PortBindings"))?;
    config.publish = flag(host, "PublishAllPorts")?;
    config.auto_remove = flag(host, "AutoRemove")?;
    config.privileged = flag(host, "Privileged")?;
    config.cap_add = strings(host, "CapAdd")?;
    config.pid_mode = text(host, "PidMode")?;
    config.ipc_mode = text(host, "IpcMode")?;
    if let Some(restart) = host.get("RestartPolicy").and_then(Value::as_object) {
        let name = text(restart, "Name")?.filter(|n| n != "no");
        let retries = restart.get("MaximumRetryCount").and_then(Value::as_i64);
        config.restart_policy = name.map(|name| RestartPolicy {
            name,
            maximum_retry: retries.unwrap_or(0),
        });
    }
    for device in host
        .get("Devices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let part = |k| device.get(k).and_then(Value::as_str).unwrap_or_default();
        let (on_host, inside, perms) = (
            part("PathOnHost"),
            part("PathInContainer"),
            part("CgroupPermissions"),
        );
        config.devices.push(format!(
            "{on_host}:{}:{}",
            if inside.is_empty() { on_host } else { inside },
            if perms.is_empty() { "rwm" } else { perms }
        ));
    }
    let bytes = host.get("Memory").and_then(Value::as_u64).unwrap_or(0);
    config.memory = (bytes > 0).then(|| bytes.div_ceil(1024 * 1024));
    let nano = host.get("NanoCpus").and_then(Value::as_u64).unwrap_or(0);
    config.cpus = (nano > 0).then(|| nano as f64 / 1e9);
    Ok(())
}

/// A mount as a volumes entry: `source:target[:ro]` (a named volume or a bind mount, which the
/// guard keeps for admins).
fn mount_entry(mount: &Value) -> DockerResult<String> {
    let mount = mount
        .as_object()
        .ok_or_else(|| DockerError::bad_request("HostConfig.Mounts items must be objects"))?;
    let kind = text(mount, "Type")?.unwrap_or_else(|| "volume".into());
    if kind != "volume" && kind != "bind" {
        return Err(DockerError::bad_request(format!(
            "HostConfig.Mounts: type {kind} is not supported by clementine"
        )));
    }
    let target = text(mount, "Target")?
        .ok_or_else(|| DockerError::bad_request("HostConfig.Mounts items need a Target"))?;
    let ro = if flag(mount, "ReadOnly")? { ":ro" } else { "" };
    Ok(match text(mount, "Source")? {
        Some(source) => format!("{source}:{target}{ro}"),
        None => target,
    })
}

/// `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}` as published ports.
fn port_bindings(value: Option<&Value>) -> DockerResult<Vec<BindPort>> {
    let mut ports = Vec::new();
    let Some(Value::Object(map)) = value else {
        return Ok(ports);
    };
    for (key, bindings) in map {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let container_port = port.parse().map_err(|_| {
            DockerError::bad_request(format!("HostConfig.PortBindings: {key} is not a port"))
        })?;
        for binding in bindings.as_array().into_iter().flatten() {
            let field = |k| binding.get(k).and_then(Value::as_str).unwrap_or_default();
            let host_port = field("HostPort").parse().map_err(|_| {
                DockerError::bad_request(format!(
                    "HostConfig.PortBindings: {key} needs a host port (clementine places by port)"
                ))
            })?;
            let host_ip = Some(field("HostIp").to_string()).filter(|ip| !ip.is_empty());
            ports.push(BindPort {
                proto: proto.to_string(),
                host_ip: host_ip.filter(|ip| ip != "0.0.0.0"),
                port: host_port,
                container_port,
            });
        }
    }
    Ok(ports)
}

/// One network to join, with its aliases (compose names services this way).
fn networking(net: &Value, config: &mut ImageConfig) -> DockerResult<()> {
    let endpoints = match net.get("EndpointsConfig") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(e)) => e,
        Some(_) => {
            return Err(DockerError::bad_request(
                "NetworkingConfig.EndpointsConfig must be an object",
            ));
        }
    };
    if endpoints.len() > 1 {
        return Err(DockerError::bad_request(
            "NetworkingConfig: clementine joins one network at create; connect more is not supported",
        ));
    }
    let Some((network, endpoint)) = endpoints.iter().next() else {
        return Ok(());
    };
    let endpoint = endpoint.as_object().cloned().unwrap_or_default();
    refuse_unknown(&endpoint, &["Aliases"], "NetworkingConfig.EndpointsConfig.")?;
    match config.network_mode.as_deref() {
        None => config.network_mode = Some(network.clone()),
        Some(mode) if mode == network => {}
        Some(mode) => {
            return Err(DockerError::bad_request(format!(
                "NetworkingConfig names {network} but HostConfig.NetworkMode is {mode}"
            )));
        }
    }
    config.network_aliases = strings(&endpoint, "Aliases")?;
    Ok(())
}

#[cfg(test)]
#[path = "create_tests.rs"]
mod tests;
