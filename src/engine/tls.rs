//! The one TLS client configuration used for every engine: trust only the cluster CA, present the
//! client certificate.

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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

/// Builds the client configuration from the CA, client certificate and key files.
///
/// The crypto provider (ring) is passed explicitly, so no process-wide default is needed and a
/// second rustls backend elsewhere in the build cannot make this panic.
pub fn client_config(files: &TlsFiles) -> Result<Arc<ClientConfig>, TlsError> {
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
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(&files.ca, e))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| tls_error(&files.key, e))?;
    Ok(Arc::new(config))
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
