//! The shape checks, field by field.

use super::*;
use crate::domain::BindPort;

fn config() -> ImageConfig {
    ImageConfig {
        name: "busybox:latest".into(),
        ..Default::default()
    }
}

#[test]
fn process_fields_and_own_labels() {
    let field = |c: ImageConfig| check_config(&c).err().map(|e| e.field);
    for user in ["", "a:", ":b", "a:b:c", "a b", "a\0"] {
        let c = ImageConfig {
            user: Some(user.into()),
            ..config()
        };
        assert_eq!(field(c), Some("user".to_string()), "{user:?}");
    }
    for user in ["root", "1000", "app:staff", "1000:1000"] {
        assert_eq!(
            field(ImageConfig {
                user: Some(user.into()),
                ..config()
            }),
            None
        );
    }
    let relative = ImageConfig {
        working_dir: Some("srv".into()),
        ..config()
    };
    assert_eq!(field(relative), Some("working_dir".into()));
    let alias = ImageConfig {
        network_aliases: vec!["../x".into()],
        ..config()
    };
    assert_eq!(field(alias), Some("network_aliases[0]".into()));
    let forged = [("clementine.owner".to_string(), "bob".to_string())].into();
    let forged = ImageConfig {
        container_labels: forged,
        ..config()
    };
    assert_eq!(
        field(forged),
        Some("container_labels.clementine.owner".into())
    );
    let own = [("com.docker.compose.project".to_string(), "shop".to_string())].into();
    assert_eq!(
        field(ImageConfig {
            container_labels: own,
            ..config()
        }),
        None
    );
}

#[test]
fn names_the_bad_field() {
    let field = |c: ImageConfig| check_config(&c).unwrap_err().field;
    assert_eq!(
        field(ImageConfig {
            name: "".into(),
            ..config()
        }),
        "name"
    );
    assert_eq!(
        field(ImageConfig {
            name: "a b".into(),
            ..config()
        }),
        "name"
    );
    assert_eq!(
        field(ImageConfig {
            cpus: Some(-1.0),
            ..config()
        }),
        "cpus"
    );
    assert_eq!(
        field(ImageConfig {
            memory: Some(0),
            ..config()
        }),
        "memory"
    );
    assert_eq!(
        field(ImageConfig {
            container_name: Some("/x".into()),
            ..config()
        }),
        "container_name"
    );
    assert_eq!(
        field(ImageConfig {
            volumes: vec!["a:b".into()],
            ..config()
        }),
        "volumes[0]"
    );
    let port = |port, proto: &str| BindPort {
        proto: proto.into(),
        host_ip: None,
        port,
        container_port: 80,
    };
    assert_eq!(
        field(ImageConfig {
            bind_ports: vec![port(0, "tcp")],
            ..config()
        }),
        "bind_ports[0].port"
    );
    assert_eq!(
        field(ImageConfig {
            bind_ports: vec![port(80, "icmp")],
            ..config()
        }),
        "bind_ports[0].proto"
    );
    assert_eq!(
        field(ImageConfig {
            bind_ports: vec![port(80, "tcp"), port(80, "tcp")],
            ..config()
        }),
        "bind_ports[1].port"
    );
    assert!(
        check_config(&ImageConfig {
            bind_ports: vec![port(80, "tcp"), port(80, "udp")],
            ..config()
        })
        .is_ok()
    );
}

#[test]
fn tags_default_to_latest() {
    assert_eq!(image_with_tag("busybox"), "busybox:latest");
    assert_eq!(image_with_tag("busybox:1"), "busybox:1");
    assert_eq!(
        image_with_tag("localhost:5000/x"),
        "localhost:5000/x:latest"
    );
    assert_eq!(image_with_tag("x@sha256:abc"), "x@sha256:abc");
}
