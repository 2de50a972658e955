//! The translation of create bodies: what the CLI and compose send, what is refused by
//! name, and random JSON.

use serde_json::json;

use super::*;

#[test]
fn the_cli_s_run_maps() {
    let body = json!({
        "Hostname": "", "User": "", "AttachStdin": false, "AttachStdout": true,
        "Tty": true, "OpenStdin": true, "StdinOnce": true, "Env": ["A=1", "B"],
        "Cmd": ["echo", "hi"], "Image": "busybox", "Volumes": {"/cache": {}},
        "WorkingDir": "", "Entrypoint": null, "OnBuild": null,
        "Labels": {"app": "web", "clementine.team": "ops"},
        "HostConfig": {
            "Binds": ["data:/data:ro"], "NetworkMode": "default",
            "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
            "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": true,
            "ConsoleSize": [24, 80], "LogConfig": {"Type": "", "Config": {}},
            "Memory": 67108864, "NanoCpus": 500000000, "CapAdd": null, "Dns": [],
        },
        "NetworkingConfig": {"EndpointsConfig": {}},
    });
    let create = translate(&body, Some("web")).unwrap();
    assert_eq!(create.team.as_deref(), Some("ops"));
    let c = create.config;
    assert_eq!(
        (c.name.as_str(), c.args.clone()),
        ("busybox", vec!["echo".to_string(), "hi".to_string()])
    );
    assert_eq!(c.environment.len(), 1);
    assert!(c.tty && c.open_stdin && c.stdin_once && c.auto_remove);
    assert_eq!(
        c.volumes,
        vec!["/cache".to_string(), "data:/data:ro".to_string()]
    );
    assert_eq!(c.network_mode, None);
    assert_eq!(c.bind_ports[0].port, 8080);
    assert_eq!(c.bind_ports[0].container_port, 80);
    assert_eq!(c.restart_policy, None);
    assert_eq!((c.memory, c.cpus), (Some(64), Some(0.5)));
    assert_eq!(
        c.container_labels.get("app").map(String::as_str),
        Some("web")
    );
    assert!(!c.container_labels.contains_key(TEAM_LABEL));
    assert_eq!(c.container_name.as_deref(), Some("web"));
}

#[test]
fn what_is_not_done_is_refused_by_name() {
    for (body, field) in [
        (
            json!({"Image": "b", "Healthcheck": {"Test": ["CMD", "true"]}}),
            "Healthcheck",
        ),
        (
            json!({"Image": "b", "HostConfig": {"SecurityOpt": ["seccomp=unconfined"]}}),
            "HostConfig.SecurityOpt",
        ),
        (
            json!({"Image": "b", "HostConfig": {"UsernsMode": "host"}}),
            "HostConfig.UsernsMode",
        ),
        (
            json!({"Image": "b", "HostConfig": {"VolumesFrom": ["x"]}}),
            "HostConfig.VolumesFrom",
        ),
    ] {
        let e = translate(&body, None).unwrap_err();
        assert!(e.message.starts_with(field), "{}", e.message);
    }
    let e = translate(&json!({"Cmd": ["x"]}), None).unwrap_err();
    assert!(e.message.contains("Image"));
}

#[test]
fn admin_options_reach_the_guard() {
    let body = json!({"Image": "b", "HostConfig": {
        "Privileged": true, "PidMode": "host", "NetworkMode": "host", "Binds": ["/:/host"]}});
    let c = translate(&body, None).unwrap().config;
    assert!(c.privileged);
    assert_eq!(c.pid_mode.as_deref(), Some("host"));
    assert_eq!(c.network_mode.as_deref(), Some("host"));
    assert_eq!(c.volumes, vec!["/:/host".to_string()]);
}

#[test]
fn compose_s_network_and_aliases() {
    let body = json!({"Image": "b", "HostConfig": {"NetworkMode": "shop_default"},
        "NetworkingConfig": {"EndpointsConfig": {"shop_default": {"Aliases": ["db"], "Links": null}}}});
    let c = translate(&body, None).unwrap().config;
    assert_eq!(c.network_mode.as_deref(), Some("shop_default"));
    assert_eq!(c.network_aliases, vec!["db".to_string()]);
}

/// Any JSON, shaped like a create body or not: a translation or a 400, never a panic; and
/// what translates passes the config check or is refused by field, never reaching Docker
/// unchecked (the run path checks it again).
mod fuzz {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::super::translate;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-z/:=.0-9 -]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "Image",
                "Cmd",
                "Env",
                "Labels",
                "HostConfig",
                "Binds",
                "PortBindings",
                "NetworkMode",
                "Mounts",
                "Memory",
                "NanoCpus",
                "NetworkingConfig",
                "EndpointsConfig",
                "Aliases",
                "RestartPolicy",
                "Devices",
                "Volumes",
                "Tty",
            ])
            .prop_map(str::to_string),
            "[A-Za-z]{1,8}",
        ]
    }

    proptest! {
        #[test]
        fn never_panics(body in json(), name in proptest::option::of("[a-z/]{0,8}")) {
            if let Ok(create) = translate(&body, name.as_deref()) {
                let _ = crate::domain::check_config(&create.config);
            }
        }
    }
}
