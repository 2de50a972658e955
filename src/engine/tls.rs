//! The one TLS client configuration used for every engine: trust only the cluster CA, present the
//! client certificate, and note when each engine's certificate expires.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientConfig, WebPkiServerVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::config::TlsFiles;
use crate::domain::InvalidInput;

/// The TLS files cannot be used; says which one and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct TlsError {
    pub file: String,
    pub reason: String,
}

fn tls_error(path: &Path, reason: impl ToString) -> TlsError {
    TlsError {
        file: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Builds the client configuration from the CA, client certificate and key files. Every
/// engine certificate it accepts is noted in `seen`.
///
/// The crypto provider (ring) is passed explicitly, so no process-wide default is needed and a
/// second rustls backend elsewhere in the build cannot make this panic.
pub fn client_config(
    files: &TlsFiles,
    seen: &Arc<ServerCertificates>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let cas: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.ca)
        .map_err(|e| tls_error(&files.ca, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls_error(&files.ca, e))?;
    if cas.is_empty() {
        return Err(tls_error(&files.ca, "no certificate found"));
    }
    for ca in cas {
        roots.add(ca).map_err(|e| tls_error(&files.ca, e))?;
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| tls_error(&files.cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls_error(&files.cert, e))?;
    if chain.is_empty() {
        return Err(tls_error(&files.cert, "no certificate found"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| tls_error(&files.key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| tls_error(&files.ca, e))?;
    let noting = Arc::new(NotingVerifier {
        inner: verifier,
        seen: seen.clone(),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(&files.ca, e))?
        .dangerous()
        .with_custom_certificate_verifier(noting)
        .with_client_auth_cert(chain, key)
        .map_err(|e| tls_error(&files.key, e))?;
    Ok(Arc::new(config))
}

/// When each engine's certificate expires (Unix seconds), by the host name or address it was
/// reached on, as the last handshake with it showed.
#[derive(Debug, Default)]
pub struct ServerCertificates {
    not_after: Mutex<HashMap<String, i64>>,
}

impl ServerCertificates {
    /// When the certificate of the engine reached on `host` expires, once a handshake saw it.
    pub fn not_after(&self, host: &str) -> Option<i64> {
        let seen = self.not_after.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(host).copied()
    }

    fn note(&self, host: String, not_after: i64) {
        let mut seen = self.not_after.lock().unwrap_or_else(|p| p.into_inner());
        seen.insert(host, not_after);
    }
}

/// The CA's verifier, which also notes the expiry of each certificate it accepts. (Resumed
/// sessions skip verification; the note from the full handshake stays.)
#[derive(Debug)]
struct NotingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    seen: Arc<ServerCertificates>,
}

impl ServerCertVerifier for NotingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified =
            (self.inner).verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        if let Some(not_after) = crate::pki::not_after_of_der(end_entity) {
            let host = match server_name {
                ServerName::DnsName(name) => name.as_ref().to_string(),
                ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
                _ => return Ok(verified),
            };
            self.seen.note(host, not_after);
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Checks an engine address: `https://host:port` (port defaults to 2376), nothing after it.
/// Returns the normalised form.
pub fn parse_engine_addr(field: &str, addr: &str) -> Result<String, InvalidInput> {
    let bad = |reason: &str| InvalidInput::new(field, reason);
    if addr.len() > 256 {
        return Err(bad("must be at most 256 characters"));
    }
    let Some(rest) = addr.strip_prefix("https://") else {
        return Err(bad(
            "must be an https:// URL: engines are reached over mutual TLS only",
        ));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad(
            "must be https://host:port with no path, query or credentials",
        ));
    }
    let uri: http::Uri = format!("https://{rest}")
        .parse()
        .map_err(|_| bad("is not a valid URL"))?;
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("has no host"))?;
    let port = match uri.port_u16() {
        Some(0) => return Err(bad("port must be between 1 and 65535")),
        Some(p) => p,
        None if rest.contains(':') && !rest.ends_with(']') => {
            return Err(bad("port must be between 1 and 65535"));
        }
        None => 2376,
    };
    Ok(format!("https://{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_addresses() {
        let ok = |a: &str| parse_engine_addr("addr", a).unwrap();
        assert_eq!(ok("https://127.0.0.11:2376"), "https://127.0.0.11:2376");
        assert_eq!(ok("https://127.0.0.11:2376/"), "https://127.0.0.11:2376");
        assert_eq!(ok("https://docker.example"), "https://docker.example:2376");
        assert_eq!(ok("https://[::1]:2376"), "https://[::1]:2376");
        for bad in [
            "http://127.0.0.1:2375",
            "tcp://127.0.0.1:2376",
            "127.0.0.1:2376",
            "https://",
            "https://host:99999",
            "https://host:0",
            "https://host:2376/path",
            "https://user@host:2376",
            "https://host:abc",
        ] {
            let err = parse_engine_addr("addr", bad).unwrap_err();
            assert_eq!(err.field, "addr", "{bad}");
        }
    }
}
