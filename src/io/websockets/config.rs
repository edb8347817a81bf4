//! The server's limits and options, with safe defaults.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::io::websockets::{Acceptor, Request, TcpSocket, Transport};

/// A handshake hook's refusal: the HTTP status and a short reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status sent (e.g. 403).
    pub status: u16,
    /// The reason, sent as the response body.
    pub reason: String,
}

impl Refusal {
    /// A refusal with `status` and `reason`.
    pub fn new(status: u16, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
        }
    }
}

/// Decides whether a websocket handshake may proceed.
pub type HandshakeHook = Arc<dyn Fn(&Request) -> Result<(), Refusal> + Send + Sync>;

/// How [`IOWebsockets::run_server_in_thread`](crate::io::IOWebsockets::run_server_in_thread)
/// serves: where, how many, how big, how long.
///
/// ```
/// use agentio::io::websockets::ServerConfig;
/// use std::time::Duration;
///
/// let config = ServerConfig::new("127.0.0.1", 0)
///     .max_connections(100)
///     .input_timeout(Some(Duration::from_secs(60)));
/// assert_eq!(config.get_max_connections(), 100);
/// ```
#[derive(Clone)]
pub struct ServerConfig {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) max_message_size: usize,
    pub(crate) max_connections: usize,
    pub(crate) handshake_timeout: Duration,
    pub(crate) input_timeout: Option<Duration>,
    pub(crate) idle_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) shutdown_grace: Duration,
    pub(crate) page: Option<Arc<str>>,
    pub(crate) health_path: Option<Arc<str>>,
    pub(crate) trusted_proxies: Vec<IpAddr>,
    pub(crate) hook: Option<HandshakeHook>,
    pub(crate) acceptor: Option<Acceptor>,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("max_message_size", &self.max_message_size)
            .field("max_connections", &self.max_connections)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("input_timeout", &self.input_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("page", &self.page.as_ref().map(|p| p.len()))
            .field("health_path", &self.health_path)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("hook", &self.hook.is_some())
            .field("acceptor", &self.acceptor.is_some())
            .finish()
    }
}

impl Default for ServerConfig {
    /// AutoGen's address (`127.0.0.1:8765`) and safe limits.
    fn default() -> Self {
        ServerConfig::new("127.0.0.1", 8765)
    }
}

impl ServerConfig {
    /// A config for `host:port` (port 0: any free port) with the defaults:
    /// 4 MiB messages, 1,024 connections, 10 s handshake, 5 min input wait,
    /// 60 s idle, 10 s write timeout, 2 s shutdown grace, health checks at
    /// `/healthz`.
    pub fn new(host: impl Into<String>, port: u16) -> ServerConfig {
        ServerConfig {
            host: host.into(),
            port,
            max_message_size: 4 << 20,
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(10),
            input_timeout: Some(Duration::from_secs(300)),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(2),
            page: None,
            health_path: Some("/healthz".into()),
            trusted_proxies: Vec::new(),
            hook: None,
            acceptor: None,
        }
    }

    /// The largest message a client may send; a bigger one closes its
    /// connection with 1009.
    pub fn max_message_size(mut self, bytes: usize) -> ServerConfig {
        self.max_message_size = bytes;
        self
    }

    /// The most live connections; more are refused with HTTP 503.
    pub fn max_connections(mut self, connections: usize) -> ServerConfig {
        self.max_connections = connections;
        self
    }

    /// How long a client has to send its handshake.
    pub fn handshake_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.handshake_timeout = timeout;
        self
    }

    /// How long `input` waits for the client's answer (`None`: forever).
    pub fn input_timeout(mut self, timeout: Option<Duration>) -> ServerConfig {
        self.input_timeout = timeout;
        self
    }

    /// How long a client may stay silent (not even answering the server's
    /// pings, sent every half of it) while the server waits for its input,
    /// before it counts as gone.
    pub fn idle_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.idle_timeout = timeout;
        self
    }

    /// How long a write may block on a client that does not read (default
    /// 10 s). Past it the connection is closed and the chat's next output
    /// fails with [`Error::WriteTimeout`](crate::Error::WriteTimeout), which
    /// ends it and drops its model stream. Meanwhile the server holds at most
    /// one frame for that client (at most `max_message_size`) beyond the
    /// kernel's socket buffer, and the client's thread sleeps in the write.
    pub fn write_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.write_timeout = timeout;
        self
    }

    /// How long stopping waits for connections to end before closing them.
    pub fn shutdown_grace(mut self, grace: Duration) -> ServerConfig {
        self.shutdown_grace = grace;
        self
    }

    /// HTML answered to a plain HTTP GET of `/` on the same port, so one
    /// port serves a chat page and its websocket.
    pub fn page(mut self, html: impl Into<Arc<str>>) -> ServerConfig {
        self.page = Some(html.into());
        self
    }

    /// Where load balancers check the server (default `/healthz`; `None`
    /// turns it off): a plain GET gets 200 `ok` while the server accepts
    /// chats and 503 `draining` once [`drain`](super::WebsocketServer::drain)
    /// or [`start_draining`](super::WebsocketServer::start_draining) began.
    pub fn health_path(mut self, path: Option<&str>) -> ServerConfig {
        self.health_path = path.map(Into::into);
        self
    }

    /// Reverse proxies whose `X-Forwarded-For` is believed, so
    /// [`Request::client_addr`] is the real client's address behind them
    /// (none by default: the header is ignored, since anyone can send it).
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> ServerConfig {
        self.trusted_proxies = proxies.into_iter().map(|ip| ip.to_canonical()).collect();
        self
    }

    /// A hook that sees every websocket handshake (path, query, headers such
    /// as `Origin` and `Authorization`) and may refuse it.
    pub fn handshake_hook(
        mut self,
        hook: impl Fn(&Request) -> Result<(), Refusal> + Send + Sync + 'static,
    ) -> ServerConfig {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Serves over what `acceptor` makes of each accepted connection: TLS
    /// for `wss://` (and `https://` for the page and health checks), with
    /// the TLS crate of your choice; the reported URI then says `wss://`.
    /// The acceptor runs on the connection's thread under the handshake
    /// timeout; an error drops that connection only.
    ///
    /// ```no_run
    /// # fn tls_config() -> std::sync::Arc<rustls::ServerConfig> { unimplemented!() }
    /// use agentio::io::websockets::{ServerConfig, TcpSocket, Transport};
    ///
    /// let tls = tls_config(); // certificate and key loaded with rustls
    /// let config = ServerConfig::new("0.0.0.0", 8443).acceptor(move |socket: TcpSocket| {
    ///     let connection = rustls::ServerConnection::new(tls.clone()).map_err(std::io::Error::other)?;
    ///     let mut stream = rustls::StreamOwned::new(connection, socket);
    ///     while stream.conn.is_handshaking() {
    ///         stream.conn.complete_io(&mut stream.sock)?;
    ///     }
    ///     Ok(Box::new(stream) as Box<dyn Transport>)
    /// });
    /// ```
    pub fn acceptor(
        mut self,
        acceptor: impl Fn(TcpSocket) -> std::io::Result<Box<dyn Transport>> + Send + Sync + 'static,
    ) -> ServerConfig {
        self.acceptor = Some(Arc::new(acceptor));
        self
    }

    /// The most live connections.
    pub fn get_max_connections(&self) -> usize {
        self.max_connections
    }
}
