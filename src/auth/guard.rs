//! The tenant guard, part of the access policy: options of an image config that only admins may
//! use (and names only admins may write) (privileged mode,
//! host or container namespaces, added capabilities, devices, host-path bind mounts), since
//! each of them lets a container reach the engine's host or other tenants' containers.

use crate::domain::ImageConfig;

/// The tenant guard: options only admins may use, named in the refusal.
pub fn forbidden_for_users(config: &ImageConfig) -> Option<&'static str> {
    let host_ns = |mode: &Option<String>| {
        mode.as_deref()
            .is_some_and(|m| m == "host" || m.starts_with("container:"))
    };
    if config.privileged {
        return Some("privileged");
    }
    // Docker's default bridge is shared by every container on the engine, whoever owns it.
    if host_ns(&config.network_mode) || config.network_mode.as_deref() == Some("bridge") {
        return Some("network_mode");
    }
    if host_ns(&config.pid_mode) {
        return Some("pid_mode");
    }
    if host_ns(&config.ipc_mode) {
        return Some("ipc_mode");
    }
    if !config.cap_add.is_empty() {
        return Some("cap_add");
    }
    if !config.devices.is_empty() {
        return Some("devices");
    }
    // A source that is a path (absolute or relative) is a bind mount of the engine's disk.
    if config.volumes.iter().any(|v| {
        v.contains(':') && (v.starts_with('/') || v.starts_with('.') || v.starts_with('~'))
    }) {
        return Some("volumes (host path bind mounts)");
    }
    // Engine-side names (`clm.…`) are how other tenants' objects are named on the engine: a
    // user names only their own volumes and networks, by the names they gave them.
    if config
        .volumes
        .iter()
        .any(|v| v.contains(':') && v.starts_with(ENGINE_SIDE))
    {
        return Some("volumes (engine-side names of clementine objects)");
    }
    if (config.network_mode.as_deref()).is_some_and(|n| n.starts_with(ENGINE_SIDE)) {
        return Some("network_mode (engine-side names of clementine objects)");
    }
    None
}

/// How every engine-side name of a clementine object begins (see `domain::Scope`).
const ENGINE_SIDE: &str = "clm.";

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ImageConfig {
        ImageConfig {
            name: "busybox:latest".into(),
            ..Default::default()
        }
    }

    #[test]
    fn guard_names_the_option() {
        let guard = |c: ImageConfig| forbidden_for_users(&c);
        assert_eq!(guard(config()), None);
        assert_eq!(
            guard(ImageConfig {
                privileged: true,
                ..config()
            }),
            Some("privileged")
        );
        assert_eq!(
            guard(ImageConfig {
                network_mode: Some("host".into()),
                ..config()
            }),
            Some("network_mode")
        );
        assert_eq!(
            guard(ImageConfig {
                pid_mode: Some("host".into()),
                ..config()
            }),
            Some("pid_mode")
        );
        assert_eq!(
            guard(ImageConfig {
                ipc_mode: Some("container:x".into()),
                ..config()
            }),
            Some("ipc_mode")
        );
        assert_eq!(
            guard(ImageConfig {
                cap_add: vec!["NET_ADMIN".into()],
                ..config()
            }),
            Some("cap_add")
        );
        assert_eq!(
            guard(ImageConfig {
                devices: vec!["/dev/kvm".into()],
                ..config()
            }),
            Some("devices")
        );
        assert!(
            guard(ImageConfig {
                volumes: vec!["/etc:/x".into()],
                ..config()
            })
            .is_some()
        );
        assert_eq!(
            guard(ImageConfig {
                volumes: vec!["data:/x".into(), "/anon".into()],
                ..config()
            }),
            None
        );
        assert_eq!(
            guard(ImageConfig {
                network_mode: Some("bridge".into()),
                ..config()
            }),
            Some("network_mode")
        );
        assert_eq!(
            guard(ImageConfig {
                network_mode: Some("backend".into()),
                ..config()
            }),
            None
        );
    }
}
