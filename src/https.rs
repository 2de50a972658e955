//! Serving HTTPS, for the API and the Docker API listeners: a poem acceptor that wraps TCP in
//! TLS (rustls with ring, the provider the engine clients use), optionally requiring client
//! certificates. Certificates are re-read on SIGHUP ([`CertSlot`]) without dropping connections. The handshake runs lazily, on the connection's first read or write in
//! its own task, so a slow or silent client cannot hold up the accept loop.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use poem::http::uri::Scheme;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::{Accept, TlsAcceptor};

use crate::config::ServeTls;

/// PEM certificates from a file, at least one; the error names the file.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let named = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| named(&e))?
        .collect::<Result<_, _>>()
        .map_err(|e| named(&e))?;
    if certs.is_empty() {
        return Err(named(&"no certificate found"));
    }
    Ok(certs)
}

/// The listener's certificate and key, swapped in place by [`CertSlot::reload`] (on SIGHUP):
/// handshakes after a reload present the new pair; connections already open keep theirs.
#[derive(Debug)]
pub struct CertSlot {
    tls: ServeTls,
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertSlot {
    fn load(tls: &ServeTls) -> Result<Arc<CertifiedKey>, String> {
        let named = |path: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let chain = certificates(&tls.cert)?;
        let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| named(&tls.key, &e))?;
        let provider = rustls::crypto::ring::default_provider();
        let pair =
            CertifiedKey::from_der(chain, key, &provider).map_err(|e| named(&tls.key, &e))?;
        Ok(Arc::new(pair))
    }

    /// Reads the files again; on failure the old pair stays and the error names the file.
    pub fn reload(&self) -> Result<(), String> {
        let fresh = Self::load(&self.tls)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }
}

impl ResolvesServerCert for CertSlot {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

/// A server configuration (TLS 1.2 and 1.3) from a listener's files: its certificate chain and
/// key (in a [`CertSlot`], for reloads), and, when a client CA is given, client certificates
/// signed by it required. The error names the file at fault.
pub fn server_config(tls: &ServeTls) -> Result<(Arc<ServerConfig>, Arc<CertSlot>), String> {
    let named = |path: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let slot = Arc::new(CertSlot {
        current: RwLock::new(CertSlot::load(tls)?),
        tls: tls.clone(),
    });
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| named(&tls.cert, &e))?;
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates(ca)? {
                roots.add(cert).map_err(|e| named(ca, &e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| named(ca, &e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(slot.clone());
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), slot))
}

/// TCP connections served over TLS.
pub struct TlsAcceptorOf {
    tcp: TcpAcceptor,
    tls: TlsAcceptor,
}

impl TlsAcceptorOf {
    pub fn new(tcp: TcpAcceptor, config: Arc<ServerConfig>) -> Self {
        Self {
            tcp,
            tls: TlsAcceptor::from(config),
        }
    }
}

impl Acceptor for TlsAcceptorOf {
    type Io = LazyTls;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.tcp.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (tcp, local, remote, _) = self.tcp.accept().await?;
        let io = LazyTls::Handshaking(Box::new(self.tls.accept(tcp)));
        Ok((io, local, remote, Scheme::HTTPS))
    }
}

/// A TLS connection whose handshake finishes on first use.
pub enum LazyTls {
    Handshaking(Box<Accept<TcpStream>>),
    Ready(Box<TlsStream<TcpStream>>),
}

impl LazyTls {
    fn ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&mut TlsStream<TcpStream>>> {
        if let LazyTls::Handshaking(accept) = self {
            let stream = std::task::ready!(Pin::new(accept.as_mut()).poll(cx))?;
            *self = LazyTls::Ready(Box::new(stream));
        }
        match self {
            LazyTls::Ready(stream) => Poll::Ready(Ok(stream)),
            LazyTls::Handshaking(_) => unreachable!("the handshake finished above"),
        }
    }
}

impl AsyncRead for LazyTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let stream = std::task::ready!(self.get_mut().ready(cx))?;
        Pin::new(stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LazyTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let stream = std::task::ready!(self.get_mut().ready(cx))?;
        Pin::new(stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let stream = std::task::ready!(self.get_mut().ready(cx))?;
        Pin::new(stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let stream = std::task::ready!(self.get_mut().ready(cx))?;
        Pin::new(stream).poll_shutdown(cx)
    }
}
