//! TLS for the example, with rustls (a dependency of the examples only): a
//! certificate chain and key from PEM files become a `ServerConfig::acceptor`.

use std::path::Path;
use std::sync::Arc;

use agentio::io::websockets::{ServerConfig, TcpSocket, Transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// `config` serving over TLS with the certificate chain in `cert` and the
/// private key in `key` (PEM files).
pub fn with_tls(config: ServerConfig, cert: &Path, key: &Path) -> Result<ServerConfig, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate in it", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(config.acceptor(acceptor(Arc::new(tls))))
}

/// An acceptor that completes a TLS handshake on each connection (under the
/// server's handshake timeout) and hands the server the TLS stream.
pub fn acceptor(
    tls: Arc<rustls::ServerConfig>,
) -> impl Fn(TcpSocket) -> std::io::Result<Box<dyn Transport>> + Send + Sync + 'static {
    move |socket: TcpSocket| {
        let connection =
            rustls::ServerConnection::new(tls.clone()).map_err(std::io::Error::other)?;
        let mut stream = rustls::StreamOwned::new(connection, socket);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(Box::new(stream) as Box<dyn Transport>)
    }
}
