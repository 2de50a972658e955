use std::os::unix::fs::PermissionsExt;

use super::*;

/// A directory of its own for one test, removed with everything in it when the test ends.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> Scratch {
    let dir = std::env::temp_dir().join(format!("clm-pki-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

fn year() -> Validity {
    Validity { days: 365 }
}

fn spec(name: &str) -> EngineSpec {
    EngineSpec {
        name: name.into(),
        ips: vec!["10.0.0.7".parse().unwrap(), "fd00::7".parse().unwrap()],
        tls_dir: "/etc/docker/clementine/".into(),
        unix_socket: "/var/run/docker.sock".into(),
    }
}

fn summary(path: &Path) -> Summary {
    show(&std::fs::read(path).unwrap()).unwrap().remove(0)
}

#[test]
fn init_makes_a_ca_once() {
    let dir = temp_dir();
    init(&dir, &Validity { days: 3650 }).unwrap();
    let ca = summary(&dir.join("ca.pem"));
    assert!(ca.is_ca);
    assert_eq!(ca.subject, "CN=clementine CA");
    assert_eq!(ca.subject, ca.issuer);
    assert!((3649..=3650).contains(&ca.days_left(crate::time::now_secs() as i64)));
    let mode = std::fs::metadata(dir.join("ca-key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = init(&dir, &year()).unwrap_err().to_string();
    assert!(again.contains("ca.pem already exists"), "{again}");
}

#[test]
fn an_engine_certificate_names_the_host_and_its_addresses() {
    let dir = temp_dir();
    init(&dir, &year()).unwrap();
    let files = engine(&dir, &spec("h1.example"), &year()).unwrap();
    let folder = dir.join("engines/h1.example");
    assert_eq!(
        files,
        ["ca.pem", "cert.pem", "key.pem", "daemon.json"].map(|f| folder.join(f))
    );
    let cert = summary(&folder.join("cert.pem"));
    assert!(!cert.is_ca);
    assert_eq!(cert.subject, "CN=h1.example");
    assert_eq!(cert.issuer, "CN=clementine CA");
    assert_eq!(cert.names, ["h1.example", "10.0.0.7", "fd00::7"]);
    let mode = std::fs::metadata(folder.join("key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        std::fs::read(folder.join("ca.pem")).unwrap(),
        std::fs::read(dir.join("ca.pem")).unwrap()
    );
    let daemon: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("daemon.json")).unwrap()).unwrap();
    assert_eq!(
        daemon,
        serde_json::json!({
            "tlsverify": true,
            "tlscacert": "/etc/docker/clementine/ca.pem",
            "tlscert": "/etc/docker/clementine/cert.pem",
            "tlskey": "/etc/docker/clementine/key.pem",
            "hosts": ["unix:///var/run/docker.sock", "tcp://10.0.0.7:2376"],
        })
    );
}

#[test]
fn a_client_certificate_is_for_clients_and_its_key_loads() {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    let dir = temp_dir();
    init(&dir, &year()).unwrap();
    client(&dir, &year()).unwrap();
    let cert = summary(&dir.join("client/cert.pem"));
    assert_eq!(cert.subject, "CN=clementine client");
    assert_eq!(cert.issuer, "CN=clementine CA");
    PrivateKeyDer::from_pem_file(dir.join("client/key.pem")).unwrap();
}

#[test]
fn running_engine_again_renews_under_the_same_ca() {
    let dir = temp_dir();
    init(&dir, &year()).unwrap();
    engine(&dir, &spec("h2"), &Validity { days: 10 }).unwrap();
    let first = std::fs::read(dir.join("engines/h2/key.pem")).unwrap();
    let short = summary(&dir.join("engines/h2/cert.pem"));
    assert!(short.to_string().contains("EXPIRING in"), "{short}");
    engine(&dir, &spec("h2"), &year()).unwrap();
    assert_ne!(
        std::fs::read(dir.join("engines/h2/key.pem")).unwrap(),
        first
    );
    let renewed = summary(&dir.join("engines/h2/cert.pem"));
    assert!(renewed.not_after > short.not_after);
    assert!(renewed.to_string().contains("valid for"), "{renewed}");
}

#[test]
fn without_a_ca_or_with_a_bad_name_nothing_is_made() {
    let dir = temp_dir();
    let no_ca = engine(&dir, &spec("h3"), &year()).unwrap_err().to_string();
    assert!(no_ca.contains("pki init"), "{no_ca}");
    init(&dir, &year()).unwrap();
    for bad in ["", "../etc", "a/b", "-x", "a b", ".hidden"] {
        let err = engine(&dir, &spec(bad), &year()).unwrap_err().to_string();
        assert!(err.contains("--name"), "{bad}: {err}");
    }
    let mut none = spec("h4");
    none.ips.clear();
    assert!(
        engine(&dir, &none, &year())
            .unwrap_err()
            .to_string()
            .contains("--ip")
    );
    assert!(!dir.join("engines/h4").exists());
}

#[test]
fn show_refuses_what_is_not_a_certificate() {
    assert!(show(b"hello").is_err());
    let key = KeyPair::generate().unwrap().serialize_pem();
    assert!(
        show(key.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("no certificate")
    );
}
