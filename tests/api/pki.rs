//! `clementine pki` as a person runs it, and the expiry it reports. (The test bed's own
//! certificates are made by it too, so every engine and TLS Redis of the suite runs on them.)

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::cli::clementine;
use crate::common::{TestApp, certs_dir, short_id};

fn pki(args: &[&str]) -> Output {
    clementine().arg("pki").args(args).output().unwrap()
}

fn ok(out: Output) -> String {
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    String::from_utf8(out.stdout).unwrap()
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clm-pki-{}", short_id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The days-left figure `pki show` prints for a certificate.
fn shown_days(file: &Path) -> String {
    ok(pki(&["show", path(file)]))
}

#[tokio::test]
async fn a_ca_an_engine_and_a_client_in_the_order_a_person_makes_them() {
    let dir = temp_dir();
    let init = ok(pki(&["init", path(&dir)]));
    assert!(init.contains("ca-key.pem"), "{init}");
    let again = pki(&["init", path(&dir)]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));

    let engine = ok(pki(&[
        "engine",
        "--name",
        "docker-1.example",
        "--ip",
        "192.0.2.10",
        "--ip",
        "2001:db8::10",
        path(&dir),
    ]));
    assert!(
        engine.contains("engines/docker-1.example/daemon.json"),
        "{engine}"
    );
    let folder = dir.join("engines/docker-1.example");
    let shown = shown_days(&folder.join("cert.pem"));
    assert!(shown.contains("subject:    CN=docker-1.example"), "{shown}");
    assert!(shown.contains("issuer:     CN=clementine CA"), "{shown}");
    assert!(
        shown.contains("names:      docker-1.example, 192.0.2.10, 2001:db8::10"),
        "{shown}"
    );
    assert!(
        shown.contains("(valid for 36"),
        "a year by default: {shown}"
    );
    let daemon = std::fs::read_to_string(folder.join("daemon.json")).unwrap();
    assert!(daemon.contains(r#""tcp://192.0.2.10:2376""#), "{daemon}");
    assert!(
        daemon.contains(r#""tlscert": "/etc/docker/clementine/cert.pem""#),
        "{daemon}"
    );

    ok(pki(&["client", "--days", "10", path(&dir)]));
    let shown = shown_days(&dir.join("client/cert.pem"));
    assert!(shown.contains("CN=clementine client"), "{shown}");
    assert!(shown.contains("(EXPIRING in "), "{shown}");

    let bad = pki(&["engine", "--name", "../x", "--ip", "192.0.2.1", path(&dir)]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--name"));
    let no_ip = pki(&["engine", "--name", "h", path(&dir)]);
    assert!(!no_ip.status.success());
    let not_cert = pki(&["show", path(&dir.join("ca-key.pem"))]);
    assert!(String::from_utf8_lossy(&not_cert.stderr).contains("no certificate"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The value of a sample (labels included) in an exposition.
fn sample(text: &str, name: &str) -> Option<i64> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))?;
    line.split(' ').next()?.parse().ok()
}

/// A client certificate from the test bed's CA that expires in 10 days: the engines take it,
/// /metrics counts it as expiring, and each engine's health and metric give its own
/// certificate's expiry, as `pki show` reads it from the file.
#[tokio::test]
async fn expiring_certificates_are_reported() {
    let dir = temp_dir();
    for file in ["ca.pem", "ca-key.pem"] {
        std::fs::copy(certs_dir().join(file), dir.join(file)).unwrap();
    }
    ok(pki(&["client", "--days", "10", path(&dir)]));
    let client = dir.join("client");
    let app = TestApp::spawn_with(|env| {
        env.insert(
            "CLEMENTINE_TLS_CERT".into(),
            path(&client.join("cert.pem")).into(),
        );
        env.insert(
            "CLEMENTINE_TLS_KEY".into(),
            path(&client.join("key.pem")).into(),
        );
    })
    .await;
    let id = app.unique("e1");
    let engine = app.add_engine(&id, 1, &[]).await;
    let expires = engine["health"]["certificate_expires_at"].as_str().unwrap();
    assert_eq!(engine["health"]["certificate_expiring"], false);
    let shown = shown_days(&certs_dir().join("engines/engine-1/cert.pem"));
    let day = &expires[..10];
    assert!(
        shown.contains(&format!("not after:  {day}")),
        "{expires} vs {shown}"
    );

    let text = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let metric = |label: &str| {
        let name =
            format!("clementine_certificate_expiry_timestamp_seconds{{certificate=\"{label}\"}}");
        sample(&text, &name).unwrap_or_else(|| panic!("{name} not in\n{text}"))
    };
    let now = clementine::time::now_secs() as i64;
    let client_left = metric("engines-client") - now;
    assert!(
        (9 * 86_400..=10 * 86_400).contains(&client_left),
        "{client_left}"
    );
    assert!(metric("engines-ca") - now > 3000 * 86_400);
    let engine_at = humantime::parse_rfc3339(expires).unwrap();
    let engine_at = engine_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(metric(&format!("engine/{id}")), engine_at as i64);
    assert_eq!(
        sample(&text, "clementine_certificates_expiring"),
        Some(1),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
