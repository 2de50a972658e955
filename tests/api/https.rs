//! HTTPS on the API listener: curl with the CA reaches it, plain HTTP to the TLS port fails
//! cleanly, and with a client CA a client without a certificate of it is refused in the
//! handshake while one with a certificate gets in.

use std::process::Command;

use clementine::config::Settings;
use clementine::startup::Application;
use tokio::sync::oneshot;

use crate::common::{certs_dir, short_id, test_env};

/// A server with HTTPS on its API; the address, and what stops it when dropped.
async fn https_server(client_ca: bool) -> (String, oneshot::Sender<()>) {
    let certs = certs_dir();
    let mut env = test_env(&short_id());
    let path = |f: &str| certs.join(f).display().to_string();
    env.insert("CLEMENTINE_API_TLS_CERT".into(), path("server-cert.pem"));
    env.insert("CLEMENTINE_API_TLS_KEY".into(), path("server-key.pem"));
    if client_ca {
        env.insert("CLEMENTINE_API_CLIENT_CA".into(), path("ca.pem"));
    }
    let settings = Settings::load(None, &move |k: &str| env.get(k).cloned()).unwrap();
    let app = Application::build(settings).await.unwrap();
    let addr = app.addr().to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// `curl` (Debian's) with these arguments; its exit code and output.
async fn curl(args: Vec<String>) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10"])
            .args(&args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_api_serves_https_and_plain_http_fails_cleanly() {
    let (addr, _stop) = https_server(false).await;
    let ca = certs_dir().join("ca.pem").display().to_string();
    let (code, body) = curl(vec![
        "--cacert".into(),
        ca.clone(),
        format!("https://{addr}/healthz"),
    ])
    .await;
    assert_eq!(code, 0, "{body}");
    assert!(body.contains("ok"), "{body}");
    let (code, _) = curl(vec![format!("http://{addr}/healthz")]).await;
    assert_ne!(code, 0, "plain HTTP is not answered on the HTTPS port");
    let other_ca = certs_dir().join("other-ca.pem");
    if other_ca.exists() {
        let (code, _) = curl(vec![
            "--cacert".into(),
            other_ca.display().to_string(),
            format!("https://{addr}/healthz"),
        ])
        .await;
        assert_ne!(code, 0, "a client trusting another CA does not connect");
    }
    // The server is still there for the next client.
    let (code, _) = curl(vec![
        "--cacert".into(),
        ca,
        format!("https://{addr}/healthz"),
    ])
    .await;
    assert_eq!(code, 0);
}

#[tokio::test]
async fn with_a_client_ca_only_clients_with_its_certificates_get_in() {
    let (addr, _stop) = https_server(true).await;
    let certs = certs_dir();
    let file = |f: &str| certs.join(f).display().to_string();
    let url = format!("https://{addr}/healthz");
    let (code, _) = curl(vec!["--cacert".into(), file("ca.pem"), url.clone()]).await;
    assert_ne!(code, 0, "no client certificate, no connection");
    let with_cert = vec![
        "--cacert".into(),
        file("ca.pem"),
        "--cert".into(),
        file("client-cert.pem"),
        "--key".into(),
        file("client-key.pem"),
        url,
    ];
    let (code, body) = curl(with_cert).await;
    assert_eq!(code, 0, "{body}");
}
