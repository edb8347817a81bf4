//! The server's lifecycle: binding, the [`WebsocketServer`] handle that
//! reports on it, and the ways it ends (stop, drain, drop), each of which
//! joins every thread the server started.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::io::websockets::accept::accept_loop;
use crate::io::websockets::serve::OnConnect;
use crate::io::websockets::shared::Shared;
use crate::io::websockets::{IOWebsockets, ServerConfig};
use crate::{Error, Result};

/// A running websocket server. Dropping it (or [`stop`](WebsocketServer::stop))
/// stops it: no more connections are accepted, live ones are asked to close
/// (1001), stragglers are closed after the grace period, and every thread it
/// started is joined.
pub struct WebsocketServer {
    uri: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl fmt::Debug for WebsocketServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebsocketServer")
            .field("uri", &self.uri)
            .field("connections", &self.connections())
            .finish()
    }
}

impl IOWebsockets {
    /// Starts a websocket server on its own thread and returns once it
    /// listens (bind errors are returned, never a hang). Each client gets its
    /// own thread, which runs `on_connect` with the client's [`IOWebsockets`]
    /// as the thread's default stream, so everything a chat prints there goes
    /// to that client.
    ///
    /// If `on_connect` returns an error or panics, the client gets the error
    /// (a text frame, or an `error` event) and a 1011 close; the server goes
    /// on serving everyone else.
    ///
    /// ```no_run
    /// use agentio::io::{IOStream, IOWebsockets, websockets::ServerConfig};
    ///
    /// let server = IOWebsockets::run_server_in_thread(ServerConfig::new("127.0.0.1", 0), |ws| {
    ///     let name = ws.input("Your name? ", false)?;
    ///     agentio::ioprintln!("Hello, {name}!")
    /// })?;
    /// println!("listening on {}", server.uri());
    /// # Ok::<(), agentio::Error>(())
    /// ```
    pub fn run_server_in_thread<F, E>(
        config: ServerConfig,
        on_connect: F,
    ) -> Result<WebsocketServer>
    where
        F: Fn(&IOWebsockets) -> std::result::Result<(), E> + Send + Sync + 'static,
        E: fmt::Display,
    {
        let bind_to = format!("{}:{}", config.host, config.port);
        let listener = TcpListener::bind(&bind_to).map_err(|source| Error::Bind {
            addr: bind_to.clone(),
            source,
        })?;
        IOWebsockets::run_server_on(listener, config, on_connect)
    }

    /// Like [`run_server_in_thread`](IOWebsockets::run_server_in_thread), on a
    /// listener you bound yourself; `config`'s host and port are not used.
    ///
    /// Use it for what std's `bind` cannot do: a listen backlog above its
    /// 128 (a burst of more clients than that otherwise waits on SYN
    /// retransmits, a second or more), `SO_REUSEPORT`, or a socket handed
    /// over by systemd. The listener is put in blocking mode.
    ///
    /// ```no_run
    /// use std::net::TcpListener;
    /// use agentio::io::{IOWebsockets, websockets::ServerConfig};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?; // or socket2, with a larger backlog
    /// let server = IOWebsockets::run_server_on(listener, ServerConfig::default(), |_ws| {
    ///     agentio::ioprintln!("hello")
    /// })?;
    /// println!("listening on {}", server.uri());
    /// # Ok::<(), agentio::Error>(())
    /// ```
    pub fn run_server_on<F, E>(
        listener: TcpListener,
        config: ServerConfig,
        on_connect: F,
    ) -> Result<WebsocketServer>
    where
        F: Fn(&IOWebsockets) -> std::result::Result<(), E> + Send + Sync + 'static,
        E: fmt::Display,
    {
        listener.set_nonblocking(false).map_err(Error::Listen)?;
        let addr = listener.local_addr().map_err(Error::Listen)?;
        let scheme = if config.acceptor.is_some() {
            "wss"
        } else {
            "ws"
        };
        let uri = format!("{scheme}://{}", reachable(addr));
        let shared = Arc::new(Shared::new(config));
        let on_connect: Arc<OnConnect> =
            Arc::new(move |ws: &IOWebsockets| on_connect(ws).map_err(|e| e.to_string()));
        let accept = {
            let shared = shared.clone();
            thread::Builder::new()
                .name("agentio-ws-accept".into())
                .spawn(move || accept_loop(listener, shared, on_connect))
                .map_err(Error::Listen)?
        };
        Ok(WebsocketServer {
            uri,
            addr,
            shared,
            accept: Some(accept),
        })
    }
}

/// The address a client on this machine can reach: the wildcard addresses
/// become loopback, so the reported URI always works here.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

impl WebsocketServer {
    /// The URI clients connect to, with the real port (`ws://127.0.0.1:PORT`).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many clients are connected now.
    pub fn connections(&self) -> usize {
        self.shared.live().len()
    }

    /// How many sessions are live (`?session=`), attached or waiting for
    /// their client.
    pub fn sessions(&self) -> usize {
        self.shared.sessions.len()
    }

    /// How many chats are running (connections inside `on_connect`).
    pub fn chats(&self) -> usize {
        self.shared.chats.load(Ordering::SeqCst)
    }

    /// Starts draining without waiting: health checks answer 503 (a load
    /// balancer stops sending new clients), new websocket clients get 503,
    /// chats in progress go on.
    pub fn start_draining(&self) {
        self.shared.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the server is draining.
    pub fn is_draining(&self) -> bool {
        self.shared.draining.load(Ordering::SeqCst)
    }

    /// A graceful stop for rolling restarts: [`start_draining`](Self::start_draining),
    /// let the chats in progress finish for at most `grace`, then stop as
    /// [`stop`](Self::stop) does (1001 to the chats still running).
    ///
    /// ```no_run
    /// use agentio::io::{IOWebsockets, websockets::ServerConfig};
    /// use std::time::Duration;
    ///
    /// let server = IOWebsockets::run_server_in_thread(ServerConfig::new("0.0.0.0", 8000), |_ws| {
    ///     agentio::ioprintln!("hello")
    /// })?;
    /// // … on SIGTERM:
    /// let drained = server.drain(Duration::from_secs(30));
    /// println!("{} chats finished, {} cut", drained.finished, drained.cut);
    /// # Ok::<(), agentio::Error>(())
    /// ```
    pub fn drain(mut self, grace: Duration) -> Drained {
        self.start_draining();
        let ended_before = self.shared.chats_ended.load(Ordering::SeqCst);
        self.shared.wait_until(grace, || self.chats() == 0);
        let cut = self.chats();
        let finished = self.shared.chats_ended.load(Ordering::SeqCst) - ended_before;
        let abandoned = self.shutdown();
        Drained {
            finished,
            cut,
            abandoned,
        }
    }

    /// Stops the server (see [`WebsocketServer`]) and returns how many client
    /// threads were still running user code after the grace periods and could
    /// not be joined (0 unless an `on_connect` ignores its stream's errors).
    pub fn stop(mut self) -> usize {
        self.shutdown()
    }

    /// The stop itself, once (drop after stop does nothing): ask the live
    /// connections to close, tell the ones left, join the threads; returns
    /// how many could not be joined.
    fn shutdown(&mut self) -> usize {
        let Some(accept) = self.accept.take() else {
            return 0;
        };
        let shared = &self.shared;
        shared.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept; the loop sees `stopping` and ends.
        let _ = TcpStream::connect_timeout(&reachable(self.addr), Duration::from_secs(1));
        let _ = accept.join();

        // Ask: a handler blocked in input() wakes up; its next output fails.
        for socket in shared.live().values() {
            let _ = socket.shutdown(Shutdown::Read);
        }
        let grace = shared.config.shutdown_grace;
        if !self.wait_for_connections(grace) {
            // Tell: close what is left; their threads fail at the next I/O.
            for socket in shared.live().values() {
                let _ = socket.shutdown(Shutdown::Both);
            }
            self.wait_for_connections(grace);
        }
        let mut abandoned = 0;
        for handle in std::mem::take(&mut *shared.threads()) {
            if handle.is_finished() {
                let _ = handle.join();
            } else {
                abandoned += 1;
            }
        }
        abandoned
    }

    /// Waits until no connection is live, at most `grace`; true if none is.
    fn wait_for_connections(&self, grace: Duration) -> bool {
        self.shared.wait_until(grace, || {
            self.shared.threads().iter().all(|t| t.is_finished())
        })
    }
}

/// What [`WebsocketServer::drain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Drained {
    /// Chats that finished on their own within the grace period.
    pub finished: usize,
    /// Chats still running when it ended, closed with 1001.
    pub cut: usize,
    /// Threads still in user code after that (see [`WebsocketServer::stop`]).
    pub abandoned: usize,
}

impl Drop for WebsocketServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
