//! Certificates for a deployment: one CA, each engine's server certificate with the dockerd
//! `daemon.json` that uses it, clementine's client certificate, and what a certificate says.
//!
//! The layout under the directory `clementine pki` is given:
//!
//! ```text
//! DIR/ca.pem, DIR/ca-key.pem                 the CA (init; never overwritten)
//! DIR/engines/HOST/{ca,cert,key}.pem         an engine's server certificate (engine)
//! DIR/engines/HOST/daemon.json               dockerd's settings for mutual TLS on ADDR:2376
//! DIR/client/{ca,cert,key}.pem               clementine's client certificate (client)
//! ```
//!
//! Each folder holds what one machine needs, so it can be copied there as it is. Running
//! `engine` or `client` again renews: a new key and certificate replace the old ones (the CA
//! stays, so nothing else changes). Keys are P-256 ECDSA in PKCS#8, readable by their owner
//! only.

mod show;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

pub use show::{Summary, not_after_of_der, not_after_of_pem, show};

/// Material that expires within this many days is reported as expiring (`pki show`,
/// `/metrics`, engine health).
pub const EXPIRING_DAYS: i64 = 30;

/// Whether a certificate that ends at `not_after` (Unix seconds) is due for renewal now (or
/// has expired).
pub fn expiring(not_after: i64) -> bool {
    not_after - (crate::time::now_secs() as i64) < EXPIRING_DAYS * 86_400
}

/// The port dockerd listens on for mutual TLS.
pub const DOCKER_TLS_PORT: u16 = 2376;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{0} already exists; a CA is never overwritten (remove it first to start over)")]
    Exists(PathBuf),
    #[error("cannot read {0}: {1} (run `clementine pki init` first?)")]
    Read(PathBuf, std::io::Error),
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("certificate: {0}")]
    Cert(#[from] rcgen::Error),
}

/// How long certificates live and where an engine's files go on its host.
#[derive(Debug, Clone)]
pub struct Validity {
    pub days: u32,
}

/// Makes the CA: `DIR/ca.pem` and `DIR/ca-key.pem` (and DIR when missing). Refuses when
/// either file exists.
pub fn init(dir: &Path, validity: &Validity) -> Result<Vec<PathBuf>, PkiError> {
    let (cert_path, key_path) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
    std::fs::create_dir_all(dir).map_err(|e| PkiError::Write(dir.to_path_buf(), e))?;
    for path in [&cert_path, &key_path] {
        if path.exists() {
            return Err(PkiError::Exists(path.clone()));
        }
    }
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "clementine CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, validity);
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    write(&cert_path, &cert.pem(), false)?;
    write(&key_path, &key.serialize_pem(), true)?;
    Ok(vec![cert_path, key_path])
}

/// What an engine's certificate names, and where dockerd finds its files on that host.
#[derive(Debug, Clone)]
pub struct EngineSpec {
    /// The host's name: the certificate's common name and a DNS name in it, and the folder.
    pub name: String,
    /// The addresses clementine reaches the engine on (each goes into the certificate, the
    /// first into `daemon.json`'s `hosts`).
    pub ips: Vec<IpAddr>,
    /// Where the three PEM files will be on the engine's host (daemon.json names them there).
    pub tls_dir: String,
    /// The local socket to keep beside TCP (empty: none).
    pub unix_socket: String,
}

/// Makes an engine's server certificate and key, signed by the CA in `dir`, with its
/// `daemon.json`, in `DIR/engines/NAME/`.
pub fn engine(
    dir: &Path,
    spec: &EngineSpec,
    validity: &Validity,
) -> Result<Vec<PathBuf>, PkiError> {
    check_host_name(&spec.name)?;
    if spec.ips.is_empty() {
        return Err(PkiError::Invalid("give at least one --ip".into()));
    }
    let mut params = CertificateParams::new(vec![spec.name.clone()])?;
    params
        .subject_alt_names
        .extend(spec.ips.iter().map(|ip| SanType::IpAddress(*ip)));
    params
        .distinguished_name
        .push(DnType::CommonName, spec.name.as_str());
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let out = dir.join("engines").join(&spec.name);
    let mut written = issue(dir, &out, params, validity)?;
    let daemon = out.join("daemon.json");
    write(&daemon, &daemon_json(spec), false)?;
    written.push(daemon);
    Ok(written)
}

/// Makes clementine's client certificate and key in `DIR/client/`.
pub fn client(dir: &Path, validity: &Validity) -> Result<Vec<PathBuf>, PkiError> {
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "clementine client");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    issue(dir, &dir.join("client"), params, validity)
}

/// The dockerd settings for mutual TLS: only clients with a certificate from the CA get in.
pub fn daemon_json(spec: &EngineSpec) -> String {
    let tls = spec.tls_dir.trim_end_matches('/');
    let mut hosts = Vec::new();
    if !spec.unix_socket.is_empty() {
        hosts.push(format!("unix://{}", spec.unix_socket));
    }
    hosts.push(format!(
        "tcp://{}",
        std::net::SocketAddr::new(spec.ips[0], DOCKER_TLS_PORT)
    ));
    let json = serde_json::json!({
        "tlsverify": true,
        "tlscacert": format!("{tls}/ca.pem"),
        "tlscert": format!("{tls}/cert.pem"),
        "tlskey": format!("{tls}/key.pem"),
        "hosts": hosts,
    });
    let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
    text.push('\n');
    text
}

/// Signs `params` with the CA in `ca_dir` under a new key, and writes the certificate, its key
/// and a copy of the CA certificate into `out`.
fn issue(
    ca_dir: &Path,
    out: &Path,
    mut params: CertificateParams,
    validity: &Validity,
) -> Result<Vec<PathBuf>, PkiError> {
    let ca_pem = read(&ca_dir.join("ca.pem"))?;
    let ca_key = KeyPair::from_pem(&read(&ca_dir.join("ca-key.pem"))?)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key)?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, validity);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    std::fs::create_dir_all(out).map_err(|e| PkiError::Write(out.to_path_buf(), e))?;
    let paths = [
        out.join("ca.pem"),
        out.join("cert.pem"),
        out.join("key.pem"),
    ];
    write(&paths[0], &ca_pem, false)?;
    write(&paths[1], &cert.pem(), false)?;
    write(&paths[2], &key.serialize_pem(), true)?;
    Ok(paths.to_vec())
}

fn set_validity(params: &mut CertificateParams, validity: &Validity) {
    let now = time::OffsetDateTime::now_utc();
    // An hour back, so that a host whose clock is a little behind accepts it at once.
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(i64::from(validity.days));
}

/// A host name as a certificate names it and as a folder: letters, digits, `-` and `.`.
fn check_host_name(name: &str) -> Result<(), PkiError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && !name.starts_with(['.', '-'])
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(PkiError::Invalid(format!(
            "--name {name:?} is not a host name (letters, digits, '-' and '.')"
        )))
    }
}

fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|e| PkiError::Read(path.to_path_buf(), e))
}

/// Writes a file whole; a key is made readable by its owner only before anything is in it.
fn write(path: &Path, text: &str, secret: bool) -> Result<(), PkiError> {
    use std::io::Write;
    let fail = |e| PkiError::Write(path.to_path_buf(), e);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    if secret {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(fail)?;
    }
    file.write_all(text.as_bytes()).map_err(fail)
}

#[cfg(test)]
mod tests;
