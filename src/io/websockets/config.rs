//! The server's limits and options, with safe defaults.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::io::websockets::{Acceptor, Request, TcpSocket, Transport};

/// A handshake hook's refusal: the HTTP status and a short reason.
///
/// Made with [`Refusal::new`]; `#[non_exhaustive]` so it can grow (say, a
/// `Retry-After`) without breaking hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
/// assert_eq!(config.settings().max_connections(), 100);
/// assert_eq!(config.settings().input_timeout(), Some(Duration::from_secs(60)));
/// ```
///
/// Each setting is set by a chained method and read back, under the same
/// name, through [`settings`](ServerConfig::settings).
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
    pub(crate) detach_grace: Duration,
    pub(crate) session_replay_bytes: usize,
    pub(crate) max_sessions: usize,
    pub(crate) max_detached_sessions: usize,
    pub(crate) page: Option<Arc<str>>,
    pub(crate) health_path: Option<Arc<str>>,
    pub(crate) agui_path: Option<Arc<str>>,
    pub(crate) ai_sdk_path: Option<Arc<str>>,
    pub(crate) max_request_body: usize,
    pub(crate) sse_keep_alive: Duration,
    pub(crate) cors_origins: Vec<Arc<str>>,
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
            .field("detach_grace", &self.detach_grace)
            .field("session_replay_bytes", &self.session_replay_bytes)
            .field("max_sessions", &self.max_sessions)
            .field("max_detached_sessions", &self.max_detached_sessions)
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
            detach_grace: Duration::from_secs(60),
            session_replay_bytes: 1 << 20,
            max_sessions: 1024,
            max_detached_sessions: 256,
            page: None,
            health_path: Some("/healthz".into()),
            agui_path: Some("/agui".into()),
            ai_sdk_path: Some("/api/chat".into()),
            max_request_body: 1 << 20,
            sse_keep_alive: Duration::from_secs(15),
            cors_origins: Vec::new(),
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

    /// How long a client has to send its handshake request, counted from
    /// when it connected; past it, 400 and close. An [`acceptor`](Self::acceptor)'s
    /// TLS handshake counts too, though each of its reads alone is bounded
    /// by this (the server does not see inside it).
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
    /// one frame for that client (at most `max_message_size`) and 16 KiB of
    /// queued streamed tokens beyond the kernel's socket buffer, and the
    /// client's thread sleeps in the write.
    pub fn write_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.write_timeout = timeout;
        self
    }

    /// How long stopping waits for connections to end before closing them.
    pub fn shutdown_grace(mut self, grace: Duration) -> ServerConfig {
        self.shutdown_grace = grace;
        self
    }

    /// How long a session's chat goes on with no client attached, waiting
    /// for one to resume (`?session=ID&after=N`), before it is stopped (its
    /// model stream dropped) and the session forgotten (default 60 s).
    /// Clients that ask `on_disconnect=cancel` get none.
    pub fn detach_grace(mut self, grace: Duration) -> ServerConfig {
        self.detach_grace = grace;
        self
    }

    /// How many bytes of its most recent frames a session keeps for a
    /// resume (default 1 MiB, about 20 turns of the notebook chat). Older
    /// frames are evicted: a resume that needs them gets a `missed_events`
    /// event first (events mode) or 410 (text mode).
    pub fn session_replay_bytes(mut self, bytes: usize) -> ServerConfig {
        self.session_replay_bytes = bytes;
        self
    }

    /// The most sessions live at once, attached or not (default 1,024);
    /// a new session beyond it is refused with 503.
    pub fn max_sessions(mut self, sessions: usize) -> ServerConfig {
        self.max_sessions = sessions;
        self
    }

    /// The most sessions waiting with no client at once (default 256): a
    /// session whose last client goes when this many wait already is
    /// stopped at once, as with `on_disconnect=cancel`, so chats for nobody
    /// are bounded however many clients vanish.
    pub fn max_detached_sessions(mut self, sessions: usize) -> ServerConfig {
        self.max_detached_sessions = sessions;
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

    /// Where AG-UI clients post their runs (default `/agui`; `None` turns
    /// it off): a `POST` with a `RunAgentInput` is answered with the chat
    /// as AG-UI events over server-sent events, `on_connect` running it as
    /// for a websocket client (its first input is the run's last user
    /// message).
    pub fn agui_path(mut self, path: Option<&str>) -> ServerConfig {
        self.agui_path = path.map(Into::into);
        self
    }

    /// How long a chat that ended a run in an interrupt waits for the run
    /// that answers it: the input timeout, or the detach grace when input
    /// waits without limit (a parked chat holds a thread).
    pub(crate) fn interrupt_wait(&self) -> Duration {
        self.input_timeout.unwrap_or(self.detach_grace)
    }

    /// Where the Vercel AI SDK's `useChat` posts (default `/api/chat`, the
    /// SDK's own default; `None` turns it off): a `POST` with the SDK's chat
    /// request is answered with the chat as its UI message stream over
    /// server-sent events (header `x-vercel-ai-ui-message-stream: v1`).
    pub fn ai_sdk_path(mut self, path: Option<&str>) -> ServerConfig {
        self.ai_sdk_path = path.map(Into::into);
        self
    }

    /// How long a server-sent event stream may stay silent while its chat
    /// waits (a tool running, say) before a comment line goes out (default
    /// 15 s), so proxies that drop idle responses keep it.
    pub fn sse_keep_alive(mut self, every: Duration) -> ServerConfig {
        self.sse_keep_alive = every;
        self
    }

    /// The largest request body read (default 1 MiB): a bigger one is
    /// answered 413.
    pub fn max_request_body(mut self, bytes: usize) -> ServerConfig {
        self.max_request_body = bytes;
        self
    }

    /// Pages served from these origins (`https://app.example.com`, or `*`
    /// for any) may post AG-UI runs from the browser: their preflight
    /// (`OPTIONS`) is answered and the response names them in
    /// `Access-Control-Allow-Origin`. None by default: a page on another
    /// origin cannot read the stream.
    pub fn cors_origins<I, S>(mut self, origins: I) -> ServerConfig
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.cors_origins = origins.into_iter().map(|o| o.as_ref().into()).collect();
        self
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`,
    /// when CORS allows it.
    pub(crate) fn cors_allows(&self, origin: Option<&str>) -> Option<String> {
        let origin = origin?;
        self.cors_origins
            .iter()
            .any(|o| &**o == "*" || o.eq_ignore_ascii_case(origin))
            .then(|| origin.to_owned())
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

    /// Read access to every setting, each getter named like its setter:
    /// `config.settings().max_connections()`.
    pub fn settings(&self) -> ServerSettings<'_> {
        ServerSettings(self)
    }
}

/// What a [`ServerConfig`] is set to, from [`ServerConfig::settings`].
//
// Why a view: the setters take `self` and own the plain names
// (`ServerConfig::new(..).max_connections(100)`, used everywhere), and one
// type cannot also have a getter of that name. Public fields (tungstenite's
// `WebSocketConfig`) would freeze the representation; a separate builder
// type (ureq's `Config::builder()`) would break every caller; `get_`
// prefixes (std's `Command`) go against the API guidelines' C-GETTER. The
// view keeps both sets of names plain and lets `ServerConfig` grow.
#[derive(Debug, Clone, Copy)]
pub struct ServerSettings<'a>(&'a ServerConfig);

impl<'a> ServerSettings<'a> {
    /// The host to bind (see [`ServerConfig::new`]).
    pub fn host(&self) -> &'a str {
        &self.0.host
    }

    /// The port to bind; 0 asks for any free one (see [`ServerConfig::new`]).
    pub fn port(&self) -> u16 {
        self.0.port
    }

    /// See [`ServerConfig::max_message_size`].
    pub fn max_message_size(&self) -> usize {
        self.0.max_message_size
    }

    /// See [`ServerConfig::max_connections`].
    pub fn max_connections(&self) -> usize {
        self.0.max_connections
    }

    /// See [`ServerConfig::handshake_timeout`].
    pub fn handshake_timeout(&self) -> Duration {
        self.0.handshake_timeout
    }

    /// See [`ServerConfig::input_timeout`].
    pub fn input_timeout(&self) -> Option<Duration> {
        self.0.input_timeout
    }

    /// See [`ServerConfig::idle_timeout`].
    pub fn idle_timeout(&self) -> Duration {
        self.0.idle_timeout
    }

    /// See [`ServerConfig::write_timeout`].
    pub fn write_timeout(&self) -> Duration {
        self.0.write_timeout
    }

    /// See [`ServerConfig::shutdown_grace`].
    pub fn shutdown_grace(&self) -> Duration {
        self.0.shutdown_grace
    }

    /// See [`ServerConfig::detach_grace`].
    pub fn detach_grace(&self) -> Duration {
        self.0.detach_grace
    }

    /// See [`ServerConfig::session_replay_bytes`].
    pub fn session_replay_bytes(&self) -> usize {
        self.0.session_replay_bytes
    }

    /// See [`ServerConfig::max_sessions`].
    pub fn max_sessions(&self) -> usize {
        self.0.max_sessions
    }

    /// See [`ServerConfig::max_detached_sessions`].
    pub fn max_detached_sessions(&self) -> usize {
        self.0.max_detached_sessions
    }

    /// The page's HTML, if one is served (see [`ServerConfig::page`]).
    pub fn page(&self) -> Option<&'a str> {
        self.0.page.as_deref()
    }

    /// See [`ServerConfig::health_path`].
    pub fn health_path(&self) -> Option<&'a str> {
        self.0.health_path.as_deref()
    }

    /// See [`ServerConfig::trusted_proxies`].
    pub fn trusted_proxies(&self) -> &'a [IpAddr] {
        &self.0.trusted_proxies
    }

    /// See [`ServerConfig::handshake_hook`].
    pub fn handshake_hook(&self) -> Option<&'a HandshakeHook> {
        self.0.hook.as_ref()
    }

    /// See [`ServerConfig::acceptor`].
    pub fn acceptor(&self) -> Option<&'a Acceptor> {
        self.0.acceptor.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_back_the_defaults_and_what_was_set() {
        let defaults = ServerConfig::default();
        let d = defaults.settings();
        assert_eq!((d.host(), d.port()), ("127.0.0.1", 8765));
        assert_eq!(d.max_message_size(), 4 << 20);
        assert_eq!(d.max_connections(), 1024);
        assert_eq!(d.handshake_timeout(), Duration::from_secs(10));
        assert_eq!(d.input_timeout(), Some(Duration::from_secs(300)));
        assert_eq!(d.idle_timeout(), Duration::from_secs(60));
        assert_eq!(d.write_timeout(), Duration::from_secs(10));
        assert_eq!(d.shutdown_grace(), Duration::from_secs(2));
        assert_eq!((d.page(), d.health_path()), (None, Some("/healthz")));
        assert!(d.trusted_proxies().is_empty());
        assert!(d.handshake_hook().is_none() && d.acceptor().is_none());

        let proxy: IpAddr = "::ffff:10.0.0.2".parse().unwrap_or_else(|e| panic!("{e}"));
        let set = ServerConfig::new("0.0.0.0", 0)
            .max_message_size(1)
            .max_connections(2)
            .handshake_timeout(Duration::from_secs(3))
            .input_timeout(None)
            .idle_timeout(Duration::from_secs(4))
            .write_timeout(Duration::from_secs(5))
            .shutdown_grace(Duration::from_secs(6))
            .page("<p>")
            .health_path(None)
            .trusted_proxies([proxy])
            .handshake_hook(|_: &Request| Ok(()))
            .acceptor(|socket: TcpSocket| Ok(Box::new(socket) as Box<dyn Transport>));
        let s = set.settings();
        assert_eq!((s.host(), s.port()), ("0.0.0.0", 0));
        assert_eq!((s.max_message_size(), s.max_connections()), (1, 2));
        assert_eq!(s.handshake_timeout(), Duration::from_secs(3));
        assert_eq!(s.input_timeout(), None);
        assert_eq!(s.idle_timeout(), Duration::from_secs(4));
        assert_eq!(s.write_timeout(), Duration::from_secs(5));
        assert_eq!(s.shutdown_grace(), Duration::from_secs(6));
        assert_eq!((s.page(), s.health_path()), (Some("<p>"), None));
        // Stored canonical, so IPv4-mapped peers match.
        assert_eq!(
            s.trusted_proxies(),
            ["10.0.0.2"
                .parse::<IpAddr>()
                .unwrap_or_else(|e| panic!("{e}"))]
        );
        assert!(s.handshake_hook().is_some() && s.acceptor().is_some());
    }
}
