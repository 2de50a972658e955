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

/// Every field of the image config, reviewed: what a user may set, and what only an admin may.
/// A field added to `ImageConfig` fails this test until it is placed in one of the two lists
/// (and, if admin-only, refused by the guard).
#[cfg(test)]
mod reviewed_fields {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::{BindPort, RestartPolicy};

    /// Safe for users: shapes checked in `domain::check_config`, names scoped to their owner.
    const USER_FIELDS: &[&str] = &[
        "name",
        "type",
        "labels",
        "args",
        "entrypoint",
        "environment",
        "hostname",
        "domain",
        "cpus",
        "memory",
        "bind_ports",
        "publish",
        // Pulls use only the caller's own or shared registry credentials.
        "pull",
        "restart_policy",
        "container_name",
        // Scoped to the owner, or refused when they would reach the host or others (below).
        "volumes",
        "network_mode",
        // The process inside the container: its terminal, stdin, directory and (container)
        // user; none reaches past the container.
        "tty",
        "open_stdin",
        "stdin_once",
        "working_dir",
        "user",
        // Keys under `clementine.` are refused by the shape check, so no owner can be forged.
        "container_labels",
        // Names on the owner's own network only.
        "network_aliases",
        // The engine removes it; its claim is released when the engine says so.
        "auto_remove",
    ];
    /// Each with a value that reaches the engine's host or other tenants.
    fn admin_only() -> Vec<(&'static str, ImageConfig)> {
        let base = ImageConfig {
            name: "busybox:latest".into(),
            ..Default::default()
        };
        vec![
            (
                "privileged",
                ImageConfig {
                    privileged: true,
                    ..base.clone()
                },
            ),
            (
                "cap_add",
                ImageConfig {
                    cap_add: vec!["SYS_ADMIN".into()],
                    ..base.clone()
                },
            ),
            (
                "devices",
                ImageConfig {
                    devices: vec!["/dev/mem".into()],
                    ..base.clone()
                },
            ),
            (
                "pid_mode",
                ImageConfig {
                    pid_mode: Some("host".into()),
                    ..base.clone()
                },
            ),
            (
                "ipc_mode",
                ImageConfig {
                    ipc_mode: Some("host".into()),
                    ..base.clone()
                },
            ),
        ]
    }

    /// Every field, set to a value that is not its default (so serde writes every key), as
    /// the JSON keys serde writes. The literal names every field with no `..Default`: a field
    /// added to `ImageConfig` does not compile here until it is set, and then fails
    /// [`every_field_is_reviewed`] until it is placed in one of the two lists.
    fn all_fields() -> BTreeSet<String> {
        let full = ImageConfig {
            name: "busybox".into(),
            r#type: crate::domain::PlacementType::Multi,
            labels: vec!["x".into()],
            args: vec!["x".into()],
            entrypoint: vec!["x".into()],
            environment: [("A".to_string(), "1".to_string())].into(),
            hostname: Some("h".into()),
            domain: Some("d".into()),
            cpus: Some(1.0),
            memory: Some(64),
            bind_ports: vec![BindPort {
                proto: "tcp".into(),
                host_ip: None,
                port: 1,
                container_port: 1,
            }],
            publish: true,
            network_mode: Some("n".into()),
            volumes: vec!["v:/v".into()],
            restart_policy: Some(RestartPolicy {
                name: "always".into(),
                maximum_retry: 0,
            }),
            container_name: Some("c".into()),
            pull: crate::domain::PullPolicy::Always,
            privileged: true,
            cap_add: vec!["x".into()],
            devices: vec!["x".into()],
            pid_mode: Some("host".into()),
            ipc_mode: Some("host".into()),
            tty: true,
            open_stdin: true,
            stdin_once: true,
            working_dir: Some("/w".into()),
            user: Some("1".into()),
            container_labels: [("a".to_string(), "b".to_string())].into(),
            network_aliases: vec!["a".into()],
            auto_remove: true,
        };
        let json = serde_json::to_value(full).unwrap();
        json.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn every_field_is_reviewed() {
        let admin = admin_only();
        let reviewed: BTreeSet<String> = (USER_FIELDS.iter().copied())
            .chain(admin.iter().map(|(f, _)| *f))
            .map(str::to_string)
            .collect();
        assert_eq!(
            all_fields(),
            reviewed,
            "a field of ImageConfig is not reviewed here"
        );
    }

    #[test]
    fn every_admin_only_field_is_refused_by_name() {
        for (field, config) in admin_only() {
            assert_eq!(forbidden_for_users(&config), Some(field), "{field}");
        }
    }
}
