//! Serving HTTPS: a poem acceptor that wraps TCP in TLS (rustls with ring, the provider the
//! engine clients use). The handshake runs lazily, on the connection's first read or write in
//! its own task, so a slow or silent client cannot hold up the accept loop.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use poem::http::uri::Scheme;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::{Accept, TlsAcceptor};

/// A server configuration from a PEM certificate chain and key; the error names the file.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let named = |path: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| named(cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| named(cert, &e))?;
    if chain.is_empty() {
        return Err(named(cert, &"no certificate found"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| named(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| named(cert, &e))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| named(key, &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
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
