//! TLS for tests: a self-signed certificate for 127.0.0.1 made on the spot,
//! a rustls server config with it, and a client that trusts only it.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

pub struct Tls {
    pub server: Arc<rustls::ServerConfig>,
    pub client: Arc<rustls::ClientConfig>,
    /// The certificate and key as PEM, for programs that read files.
    pub cert_pem: String,
    pub key_pem: String,
}

pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

pub fn tls() -> Tls {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .unwrap_or_else(|e| panic!("{e}"));
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_no_client_auth()
                .with_single_cert(vec![cert.clone()], key)
        })
        .unwrap_or_else(|e: rustls::Error| panic!("{e}"));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap_or_else(|e| panic!("{e}"));
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|e| panic!("{e}"));
    Tls {
        server: Arc::new(server),
        client: Arc::new(client),
        cert_pem: certified.cert.pem(),
        key_pem: certified.signing_key.serialize_pem(),
    }
}

/// A TLS connection to `addr`, reads timing out after 5 s.
pub fn connect(tls: &Tls, addr: SocketAddr) -> TlsStream {
    let tcp = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let name = ServerName::try_from("127.0.0.1").unwrap_or_else(|e| panic!("{e}"));
    let connection =
        rustls::ClientConnection::new(tls.client.clone(), name).unwrap_or_else(|e| panic!("{e}"));
    rustls::StreamOwned::new(connection, tcp)
}

/// A plain GET over TLS; the status code.
pub fn get_status(tls: &Tls, addr: SocketAddr, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = connect(tls, addr);
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
