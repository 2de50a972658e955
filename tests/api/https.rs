//! HTTPS on the API listener: curl with the CA reaches it, plain HTTP to the TLS port fails
//! cleanly, and with a client CA a client without a certificate of it is refused in the
//! handshake while one with a certificate gets in.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use clementine::config::Settings;
use clementine::startup::Application;
use tokio::sync::oneshot;

use crate::common::{ADMIN_PASSWORD, certs_dir, short_id, test_env};

/// A server with HTTPS on its API; the address, and what stops it when dropped.
async fn https_server(client_ca: bool) -> (String, oneshot::Sender<()>) {
    let certs = certs_dir();
    let ca = client_ca.then(|| certs.join("ca.pem"));
    serve(
        &short_id(),
        &certs.join("server-cert.pem"),
        &certs.join("server-key.pem"),
        ca,
    )
    .await
}

async fn https_server_with(id: &str, cert: &Path, key: &Path) -> (String, oneshot::Sender<()>) {
    serve(id, cert, key, None).await
}

async fn serve(
    id: &str,
    cert: &Path,
    key: &Path,
    client_ca: Option<PathBuf>,
) -> (String, oneshot::Sender<()>) {
    let mut env = test_env(id);
    env.insert("CLEMENTINE_API_TLS_CERT".into(), cert.display().to_string());
    env.insert("CLEMENTINE_API_TLS_KEY".into(), key.display().to_string());
    if let Some(ca) = client_ca {
        env.insert("CLEMENTINE_API_CLIENT_CA".into(), ca.display().to_string());
    }
    let settings = Settings::load(None, &move |k: &str| env.get(k).cloned()).unwrap();
    let app = Application::build(settings).await.unwrap();
    let addr = app.addr().to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    // The server has its SIGHUP handler once it runs.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
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

/// `openssl` (Debian's): issues a server certificate for 127.0.0.1 with this common name,
/// signed by the test bed's CA, into `dir` as `new-cert.pem` and `new-key.pem`.
fn issue_certificate(dir: &std::path::Path, name: &str) {
    let certs = certs_dir();
    let ext = dir.join("san.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let subject = format!("/CN={name}");
    run(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "new-key.pem",
        "-subj",
        &subject,
        "-out",
        "new.csr",
    ]);
    let (ca, ca_key) = (certs.join("ca.pem"), certs.join("ca-key.pem"));
    run(&[
        "x509",
        "-req",
        "-in",
        "new.csr",
        "-CA",
        ca.to_str().unwrap(),
        "-CAkey",
        ca_key.to_str().unwrap(),
        "-set_serial",
        "4242",
        "-days",
        "1",
        "-extfile",
        ext.to_str().unwrap(),
        "-out",
        "new-cert.pem",
    ]);
}

/// The common name of the certificate the server presents now.
async fn presented(addr: &str) -> String {
    let ca = certs_dir().join("ca.pem").display().to_string();
    let (_, out) = curl(vec![
        "-v".into(),
        "--cacert".into(),
        ca,
        format!("https://{addr}/healthz"),
    ])
    .await;
    out.lines()
        .find(|l| l.contains("subject:"))
        .unwrap_or_default()
        .to_string()
}

/// `curl -N` reading a live stream in the background; what it has printed so far.
struct CurlStream {
    child: std::process::Child,
    text: Arc<Mutex<String>>,
}

impl CurlStream {
    fn open(args: Vec<String>) -> Self {
        let mut child = Command::new("curl")
            .args(["-sS", "-N"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let text = Arc::new(Mutex::new(String::new()));
        let sink = text.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = std::io::Read::read(&mut out, &mut buf) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self { child, text }
    }

    async fn shows(&self, needle: &str) -> bool {
        for _ in 0..100 {
            if self.text.lock().unwrap().contains(needle) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }
}

impl Drop for CurlStream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// curl to the HTTPS API with the test CA: a JSON request's answer.
async fn curl_json(addr: &str, method: &str, path: &str, token: &str, body: &str) -> String {
    let ca = certs_dir().join("ca.pem").display().to_string();
    let mut args = vec!["--cacert".into(), ca, "-X".into(), method.into()];
    args.extend(["-H".into(), "Content-Type: application/json".into()]);
    if !token.is_empty() {
        args.extend(["-H".into(), format!("Authorization: Bearer {token}")]);
    }
    args.extend(["-d".into(), body.into(), format!("https://{addr}{path}")]);
    curl(args).await.1
}

/// SIGHUP re-reads the certificate: the next handshake presents the new one while a live
/// stream opened before goes on, and a broken file keeps the old one. (nextest runs each test
/// in a process of its own, so the signal reaches only this test's server.)
#[tokio::test]
async fn sighup_swaps_the_certificate_for_the_next_handshake() {
    let dir = std::env::temp_dir().join(format!("clm-https-{}", short_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::copy(certs_dir().join("server-cert.pem"), &cert).unwrap();
    std::fs::copy(certs_dir().join("server-key.pem"), &key).unwrap();
    let id = short_id();
    let (addr, _stop) = https_server_with(&id, &cert, &key).await;
    assert!(presented(&addr).await.contains("testbed-services"));
    let login = format!(r#"{{"username":"admin-{id}","password":"{ADMIN_PASSWORD}"}}"#);
    let answer = curl_json(&addr, "POST", "/apiv1/login", "", &login).await;
    let answer: serde_json::Value = serde_json::from_str(&answer).expect(&answer);
    let token = answer["data"]["token"].as_str().unwrap().to_string();
    let ca = certs_dir().join("ca.pem").display().to_string();
    let live = CurlStream::open(vec![
        "--cacert".into(),
        ca,
        "-H".into(),
        format!("Authorization: Bearer {token}"),
        format!("https://{addr}/apiv1/events/stream"),
    ]);
    let before = format!("before-{id}");
    let user = |name: &str| format!(r#"{{"username":"{name}","password":"user-password-1"}}"#);
    curl_json(&addr, "POST", "/apiv1/user", &token, &user(&before)).await;
    assert!(live.shows(&before).await, "the stream is live");

    issue_certificate(&dir, "reloaded.clementine.test");
    std::fs::copy(dir.join("new-cert.pem"), &cert).unwrap();
    std::fs::copy(dir.join("new-key.pem"), &key).unwrap();
    hang_up();
    let mut now = String::new();
    for _ in 0..50 {
        now = presented(&addr).await;
        if now.contains("reloaded.clementine.test") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(now.contains("reloaded.clementine.test"), "{now}");
    let after = format!("after-{id}");
    curl_json(&addr, "POST", "/apiv1/user", &token, &user(&after)).await;
    assert!(
        live.shows(&after).await,
        "the stream opened before the SIGHUP goes on"
    );

    std::fs::write(&cert, "not a certificate").unwrap();
    hang_up();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        presented(&addr).await.contains("reloaded.clementine.test"),
        "the old pair stays"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn hang_up() {
    let pid = std::process::id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
}
