//! The shape checks of an image config, before anything is scheduled: every field's form and
//! size, each refusal naming the field. Who may use which option is access policy
//! (`auth::guard`), not shape.

use std::collections::HashSet;

use super::{
    ImageConfig, InvalidInput, MAX_CPUS, MAX_MEMORY_MB, MIN_CPUS, MIN_MEMORY_MB, check_labels,
};

/// Limits on one image config.
pub const MAX_LIST: usize = 256;
pub const MAX_ITEM: usize = 4096;
pub const MAX_IMAGE_REF: usize = 256;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> InvalidInput {
    InvalidInput::new(field, reason)
}

/// `name[:tag][@digest]` with the characters Docker allows.
fn check_image_ref(name: &str) -> Result<(), InvalidInput> {
    if name.is_empty() || name.len() > MAX_IMAGE_REF {
        return Err(invalid(
            "name",
            format!("must be 1 to {MAX_IMAGE_REF} characters"),
        ));
    }
    let ok = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b':' | b'@'));
    if !ok || name.starts_with(['-', '.', '/', ':']) {
        return Err(invalid(
            "name",
            "is not a valid image reference (like busybox:latest)",
        ));
    }
    Ok(())
}

fn check_list(field: &str, items: &[String]) -> Result<(), InvalidInput> {
    if items.len() > MAX_LIST {
        return Err(invalid(field, format!("at most {MAX_LIST} items")));
    }
    if let Some(i) = items
        .iter()
        .position(|a| a.len() > MAX_ITEM || a.contains('\0'))
    {
        return Err(invalid(
            format!("{field}[{i}]"),
            format!("must be at most {MAX_ITEM} bytes without NUL"),
        ));
    }
    Ok(())
}

fn check_dns_name(field: &str, value: &Option<String>, max: usize) -> Result<(), InvalidInput> {
    if let Some(v) = value {
        let ok = !v.is_empty()
            && v.len() <= max
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
            && !v.starts_with(['-', '.']);
        if !ok {
            return Err(invalid(
                field,
                format!("must be a DNS name of at most {max} characters"),
            ));
        }
    }
    Ok(())
}

/// Normalises an image reference: `busybox` means `busybox:latest`.
pub fn image_with_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// Checks every field's shape and size.
pub fn check_config(config: &ImageConfig) -> Result<(), InvalidInput> {
    check_image_ref(&config.name)?;
    check_labels("labels", &config.labels)?;
    check_list("args", &config.args)?;
    check_list("entrypoint", &config.entrypoint)?;
    check_list("volumes", &config.volumes)?;
    check_list("cap_add", &config.cap_add)?;
    check_list("devices", &config.devices)?;
    check_environment(config)?;
    check_dns_name("hostname", &config.hostname, 63)?;
    check_dns_name("domain", &config.domain, 253)?;
    check_resources(config)?;
    check_container_name(config)?;
    check_restart_policy(config)?;
    if let Some(mode) = &config.network_mode
        && (mode.is_empty() || mode.len() > 128)
    {
        return Err(invalid("network_mode", "must be 1 to 128 characters"));
    }
    check_volumes(config)?;
    check_process(config)?;
    check_container_labels(config)?;
    check_ports(config)
}

/// Longest container label key, and most container labels.
pub const MAX_LABEL_KEY: usize = 256;

/// `working_dir`, `user` and `network_aliases`.
fn check_process(config: &ImageConfig) -> Result<(), InvalidInput> {
    if let Some(dir) = &config.working_dir
        && (!dir.starts_with('/') || dir.len() > MAX_ITEM || dir.contains('\0'))
    {
        return Err(invalid(
            "working_dir",
            format!("must be an absolute path of at most {MAX_ITEM} bytes"),
        ));
    }
    if let Some(user) = &config.user {
        let part = |p: &str| {
            !p.is_empty()
                && (p.bytes()).all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        };
        let ok = user.len() <= 256 && user.split(':').count() <= 2 && user.split(':').all(part);
        if !ok {
            return Err(invalid(
                "user",
                "must be user, uid, user:group or uid:gid (at most 256 characters)",
            ));
        }
    }
    if config.network_aliases.len() > 16 {
        return Err(invalid("network_aliases", "at most 16 aliases"));
    }
    for (i, alias) in config.network_aliases.iter().enumerate() {
        super::check_object_name(&format!("network_aliases[{i}]"), alias)?;
    }
    Ok(())
}

/// Container labels: bounded, and none under clementine's own `clementine.` keys (which say
/// who owns a container).
fn check_container_labels(config: &ImageConfig) -> Result<(), InvalidInput> {
    if config.container_labels.len() > MAX_LIST {
        return Err(invalid(
            "container_labels",
            format!("at most {MAX_LIST} labels"),
        ));
    }
    for (k, v) in &config.container_labels {
        let field = || {
            format!(
                "container_labels.{}",
                k.chars().take(64).collect::<String>()
            )
        };
        if k.is_empty() || k.len() > MAX_LABEL_KEY || k.contains('\0') {
            return Err(invalid(
                field(),
                format!("keys must be 1 to {MAX_LABEL_KEY} bytes without NUL"),
            ));
        }
        if k.starts_with(crate::domain::RESERVED_LABEL_PREFIX) {
            return Err(invalid(
                field(),
                "keys under clementine. are clementine's own",
            ));
        }
        if v.len() > MAX_ITEM || v.contains('\0') {
            return Err(invalid(
                field(),
                format!("must be at most {MAX_ITEM} bytes without NUL"),
            ));
        }
    }
    Ok(())
}

fn check_environment(config: &ImageConfig) -> Result<(), InvalidInput> {
    if config.environment.len() > MAX_LIST {
        return Err(invalid(
            "environment",
            format!("at most {MAX_LIST} variables"),
        ));
    }
    for (k, v) in &config.environment {
        let ok = !k.is_empty()
            && k.len() <= 256
            && !k.contains(['=', '\0'])
            && v.len() <= MAX_ITEM
            && !v.contains('\0');
        if !ok {
            return Err(invalid(
                format!("environment.{k}"),
                "names are 1 to 256 characters without '='; values at most 4096 bytes",
            ));
        }
    }
    Ok(())
}

fn check_resources(config: &ImageConfig) -> Result<(), InvalidInput> {
    if let Some(cpus) = config.cpus
        && (!cpus.is_finite() || !(MIN_CPUS..=MAX_CPUS).contains(&cpus))
    {
        return Err(invalid("cpus", format!("must be {MIN_CPUS} to {MAX_CPUS}")));
    }
    if config
        .memory
        .is_some_and(|m| !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&m))
    {
        return Err(invalid(
            "memory",
            format!("must be {MIN_MEMORY_MB} to {MAX_MEMORY_MB} MB"),
        ));
    }
    Ok(())
}

fn check_container_name(config: &ImageConfig) -> Result<(), InvalidInput> {
    let Some(name) = &config.container_name else {
        return Ok(());
    };
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !ok {
        return Err(invalid(
            "container_name",
            "must be 1 to 128 letters, digits, '_', '.', '-', starting with a letter or digit",
        ));
    }
    Ok(())
}

fn check_restart_policy(config: &ImageConfig) -> Result<(), InvalidInput> {
    let Some(policy) = &config.restart_policy else {
        return Ok(());
    };
    if !matches!(
        policy.name.as_str(),
        "" | "no" | "always" | "unless-stopped" | "on-failure"
    ) {
        return Err(invalid(
            "restart_policy.name",
            "must be no, always, unless-stopped or on-failure",
        ));
    }
    if !(0..=1000).contains(&policy.maximum_retry) {
        return Err(invalid("restart_policy.maximum_retry", "must be 0 to 1000"));
    }
    Ok(())
}

fn check_volumes(config: &ImageConfig) -> Result<(), InvalidInput> {
    for (i, v) in config.volumes.iter().enumerate() {
        let parts: Vec<&str> = v.split(':').collect();
        let ok = match parts.as_slice() {
            [inside] => inside.starts_with('/'),
            [source, inside] => !source.is_empty() && inside.starts_with('/'),
            [source, inside, mode] => {
                !source.is_empty() && inside.starts_with('/') && matches!(*mode, "ro" | "rw")
            }
            _ => false,
        };
        if !ok {
            return Err(invalid(
                format!("volumes[{i}]"),
                "must be /path, name:/path or name:/path:ro",
            ));
        }
    }
    Ok(())
}

fn check_ports(config: &ImageConfig) -> Result<(), InvalidInput> {
    if config.bind_ports.len() > 64 {
        return Err(invalid("bind_ports", "at most 64 ports"));
    }
    let mut seen = HashSet::new();
    for (i, p) in config.bind_ports.iter().enumerate() {
        let field = format!("bind_ports[{i}]");
        if !matches!(p.proto.as_str(), "tcp" | "udp" | "sctp") {
            return Err(invalid(
                format!("{field}.proto"),
                "must be tcp, udp or sctp",
            ));
        }
        if p.port == 0 {
            return Err(invalid(format!("{field}.port"), "must be 1 to 65535"));
        }
        if p.container_port == 0 {
            return Err(invalid(
                format!("{field}.container_port"),
                "must be 1 to 65535",
            ));
        }
        if let Some(ip) = &p.host_ip
            && ip.parse::<std::net::IpAddr>().is_err()
        {
            return Err(invalid(format!("{field}.host_ip"), "must be an IP address"));
        }
        if !seen.insert((p.port, p.proto.as_str())) {
            return Err(invalid(format!("{field}.port"), "is published twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "image_check_tests.rs"]
mod tests;
