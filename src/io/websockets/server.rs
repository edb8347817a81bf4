//! The server: bind, a blocking accept loop, one thread per client, and a
//! shutdown that ends every thread it started.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tungstenite::WebSocket;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{Role, WebSocketConfig};

use crate::io::Filter;
use crate::io::websockets::handshake::{accept, read_request, respond};
use crate::io::websockets::{IOWebsockets, ServerConfig, TcpSocket, Transport};
use crate::{Error, Result, io};

/// What `on_connect` may be: a function of the connection's stream that
/// returns `Ok(())` or an error to report to the client.
type OnConnect = dyn Fn(&IOWebsockets) -> std::result::Result<(), String> + Send + Sync;

/// How long the accept loop pauses after a failed accept (e.g. EMFILE).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Refused connections wait here for the one thread that answers them 503.
const REFUSAL_QUEUE: usize = 64;

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

/// What the accept loop and the connections share with the handle.
struct Shared {
    config: ServerConfig,
    stopping: Arc<AtomicBool>,
    /// Health checks answer 503 and new chats are refused.
    draining: AtomicBool,
    /// Chats in `on_connect` now, and chats ended so far.
    chats: AtomicUsize,
    chats_ended: AtomicUsize,
    /// Live connections: a handle on each socket, to close it on shutdown.
    live: Mutex<HashMap<u64, Arc<TcpStream>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    next_id: AtomicU64,
    /// Woken each time a chat or connection ends, so shutdown and drain
    /// wait without polling. One slot: a pending wakeup is enough, and
    /// nothing piles up while nobody waits.
    ended: SyncSender<()>,
    ended_rx: Mutex<Receiver<()>>,
}

impl Shared {
    fn live(&self) -> MutexGuard<'_, HashMap<u64, Arc<TcpStream>>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn threads(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.threads.lock().unwrap_or_else(|p| p.into_inner())
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
        listener.set_nonblocking(false)?;
        let addr = listener.local_addr()?;
        let scheme = if config.acceptor.is_some() {
            "wss"
        } else {
            "ws"
        };
        let uri = format!("{scheme}://{}", reachable(addr));
        let (ended, ended_rx) = mpsc::sync_channel(1);
        let shared = Arc::new(Shared {
            config,
            stopping: Arc::new(AtomicBool::new(false)),
            draining: AtomicBool::new(false),
            chats: AtomicUsize::new(0),
            chats_ended: AtomicUsize::new(0),
            live: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            ended,
            ended_rx: Mutex::new(ended_rx),
        });
        let on_connect: Arc<OnConnect> =
            Arc::new(move |ws: &IOWebsockets| on_connect(ws).map_err(|e| e.to_string()));
        let accept = {
            let shared = shared.clone();
            thread::Builder::new()
                .name("agentio-ws-accept".into())
                .spawn(move || accept_loop(listener, shared, on_connect))?
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
        self.wait_until(grace, || self.chats() == 0);
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
        self.wait_until(grace, || {
            self.shared.threads().iter().all(|t| t.is_finished())
        })
    }

    /// Waits until `done()`, at most `grace`, woken each time a chat or a
    /// connection ends; returns `done()`.
    fn wait_until(&self, grace: Duration, done: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + grace;
        let ended = self
            .shared
            .ended_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        while !done() {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return done();
            };
            let _ = ended.recv_timeout(left);
        }
        true
    }
}

/// One running chat in the server's count, from the 101 to the end of
/// `on_connect` (or an early return); a drain waits for these.
struct ChatSlot<'a>(&'a Shared);

impl ChatSlot<'_> {
    fn take(shared: &Shared) -> ChatSlot<'_> {
        shared.chats.fetch_add(1, Ordering::SeqCst);
        ChatSlot(shared)
    }
}

impl Drop for ChatSlot<'_> {
    fn drop(&mut self) {
        self.0.chats_ended.fetch_add(1, Ordering::SeqCst);
        self.0.chats.fetch_sub(1, Ordering::SeqCst);
        let _ = self.0.ended.try_send(());
    }
}

/// What [`WebsocketServer::drain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, on_connect: Arc<OnConnect>) {
    let (refuse, refused) = mpsc::sync_channel::<TcpStream>(REFUSAL_QUEUE);
    let refuser = {
        let timeout = shared.config.handshake_timeout.min(Duration::from_secs(2));
        let tls = shared.config.acceptor.is_some();
        thread::Builder::new()
            .name("agentio-ws-refuse".into())
            .spawn(move || {
                for stream in refused {
                    refuse_busy(&stream, timeout, tls);
                }
            })
            .ok()
    };
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else {
            // Out of descriptors (or memory): accepting again at once would
            // spin; pause so connections can end and free some.
            thread::sleep(ACCEPT_BACKOFF);
            continue;
        };
        admit(stream, &shared, &on_connect, &refuse);
    }
    drop(refuse);
    if let Some(refuser) = refuser {
        let _ = refuser.join();
    }
}

/// Starts a connection's thread, or queues it for a 503 when the server is full.
fn admit(
    stream: TcpStream,
    shared: &Arc<Shared>,
    on_connect: &Arc<OnConnect>,
    refuse: &SyncSender<TcpStream>,
) {
    let mut threads = shared.threads();
    threads.retain(|t| !t.is_finished());
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let stream = {
        let mut live = shared.live();
        if live.len() >= shared.config.max_connections {
            drop(live);
            let _ = refuse.try_send(stream); // queue full: just close it
            return;
        }
        let stream = Arc::new(stream);
        live.insert(id, stream.clone());
        stream
    };
    let (shared2, on_connect) = (shared.clone(), on_connect.clone());
    let spawned = thread::Builder::new()
        .name("agentio-ws-client".into())
        .spawn(move || {
            serve(stream, &shared2, on_connect.as_ref());
            shared2.live().remove(&id);
            let _ = shared2.ended.try_send(());
        });
    match spawned {
        Ok(handle) => threads.push(handle),
        Err(_) => {
            shared.live().remove(&id); // no thread for it: the socket closes
        }
    }
}

/// Answers 503 to a connection over the limit. Under TLS it is only closed:
/// a TLS handshake per refusal would be work for clients we cannot serve.
fn refuse_busy(mut stream: &TcpStream, timeout: Duration, tls: bool) {
    if !tls {
        let _ = stream.set_read_timeout(Some(timeout));
        let _ = stream.set_write_timeout(Some(timeout));
        // Read the request first, so closing does not reset the connection
        // before the client has read the answer.
        let _ = read_request(&mut stream, None);
        respond(
            &mut stream,
            503,
            "text/plain",
            "server busy: too many connections\n",
        );
    }
    let _ = stream.shutdown(Shutdown::Write);
}

/// One client, from its first byte to its close.
fn serve(stream: Arc<TcpStream>, shared: &Shared, on_connect: &OnConnect) {
    let config = &shared.config;
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(config.handshake_timeout));
    let _ = stream.set_write_timeout(Some(config.write_timeout));
    let peer = stream.peer_addr().ok();
    let mut transport: Box<dyn Transport> = match &config.acceptor {
        None => Box::new(TcpSocket(stream.clone())),
        Some(acceptor) => match acceptor(TcpSocket(stream.clone())) {
            Ok(transport) => transport,
            Err(_) => return, // e.g. a failed TLS handshake: nothing to answer
        },
    };
    let t = &mut transport;
    let Ok((mut request, rest)) = read_request(t, peer) else {
        respond(t, 400, "text/plain", "bad request\n");
        return;
    };
    request.resolve_client(&config.trusted_proxies);
    let draining = shared.draining.load(Ordering::SeqCst);
    if config.health_path.as_deref() == Some(request.path())
        && matches!(request.method(), "GET" | "HEAD")
    {
        match draining {
            false => respond(t, 200, "text/plain", "ok\n"),
            true => respond(t, 503, "text/plain", "draining\n"),
        }
        return;
    }
    let key = match request.upgrade_key() {
        Ok(key) => key.to_owned(),
        Err(why) => {
            match (&config.page, request.method(), request.path()) {
                (Some(page), "GET" | "HEAD", "/") => {
                    respond(t, 200, "text/html; charset=utf-8", page)
                }
                (_, _, "/") | (_, _, "/ws") => respond(t, 426, "text/plain", why),
                _ => respond(t, 404, "text/plain", "not found\n"),
            }
            return;
        }
    };
    if draining {
        respond(t, 503, "text/plain", "server is draining; connect again\n");
        return;
    }
    if let Some(hook) = &config.hook {
        if let Err(refusal) = hook(&request) {
            respond(t, refusal.status, "text/plain", &refusal.reason);
            return;
        }
    }
    let filter = match Filter::from_query(request.query()) {
        Ok(filter) => filter,
        Err(e) => {
            respond(t, 400, "text/plain", &format!("{e}\n"));
            return;
        }
    };
    // Counted from before the 101, so a drain that starts once the client
    // is connected waits for its chat.
    let slot = ChatSlot::take(shared);
    if accept(t, &key, &request).is_err() {
        return;
    }
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size))
        .read_buffer_size(4 * 1024);
    let ws = WebSocket::from_partially_read(transport, rest, Role::Server, Some(ws_config));
    let ws = Arc::new(IOWebsockets::new(
        ws,
        stream,
        request,
        filter,
        config,
        shared.stopping.clone(),
    ));
    let outcome = io::with_default(ws.clone(), || {
        catch_unwind(AssertUnwindSafe(|| on_connect(&ws)))
    });
    // Read before the slot goes: a drain stops the server as soon as the
    // last chat is over, and this chat ended on its own.
    let stopping = shared.stopping.load(Ordering::SeqCst);
    drop(slot); // the chat is over; what is left is the close handshake
    match outcome {
        Ok(Ok(())) if stopping => ws.close(CloseCode::Away, "server shutting down", None),
        Ok(Ok(())) => ws.close(CloseCode::Normal, "", None),
        Ok(Err(e)) if stopping => ws.close(CloseCode::Away, "server shutting down", Some(e)),
        Ok(Err(e)) => ws.close(CloseCode::Error, "on_connect failed", Some(e)),
        Err(panic) => {
            let detail = crate::error::panic_message(panic.as_ref());
            ws.close(
                CloseCode::Error,
                "on_connect panicked",
                Some(format!("on_connect panicked: {detail}")),
            );
        }
    }
}
