//! What the server speaks websocket over: the accepted TCP socket, or what
//! your acceptor makes of it (TLS).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

/// A byte stream the server can speak websocket over: any `Read + Write +
/// Send`, e.g. a rustls `StreamOwned<ServerConnection, TcpSocket>`.
pub trait Transport: Read + Write + Send {}

impl<T: Read + Write + Send> Transport for T {}

/// Turns an accepted connection into the transport the server uses (see
/// [`ServerConfig::acceptor`](super::ServerConfig::acceptor)). It runs on the
/// connection's own thread, under the handshake timeout; an error drops the
/// connection.
pub type Acceptor = Arc<dyn Fn(TcpSocket) -> io::Result<Box<dyn Transport>> + Send + Sync>;

/// An accepted TCP connection, as an [`Acceptor`] gets it. Reads and writes
/// go to the socket; the server keeps a handle on it, so its timeouts, the
/// non-blocking polls that notice a client leaving, and the close on shutdown
/// keep working under TLS.
#[derive(Debug)]
pub struct TcpSocket(pub(crate) Arc<TcpStream>);

impl TcpSocket {
    /// The client's (or the proxy's) address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }
}

impl Read for TcpSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl Write for TcpSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        (&*self.0).flush()
    }
}
