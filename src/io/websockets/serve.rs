//! One client, on its own thread, from its first byte to its close: the
//! transport (TLS or not), the request and its route, the upgrade, the
//! chat (`on_connect` with the connection as the thread's default stream),
//! and the close code that says how the chat ended.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tungstenite::WebSocket;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{Role, WebSocketConfig};

use crate::io::websockets::agui_input::RunAgentInput;
use crate::io::websockets::agui_ws::serve_agui_ws;
use crate::io::websockets::body::{BodyError, read_body};
use crate::io::websockets::chat_transport::serve_chat_transport;
use crate::io::websockets::handshake::{accept, read_request, respond};
use crate::io::websockets::link::{self, Link};
use crate::io::websockets::parking::{Handoff, Park, Parker};
use crate::io::websockets::routes::{self, Protocol, Route};
use crate::io::websockets::run_link::{RunLink, RunSink};
use crate::io::websockets::run_request::RunRequest;
use crate::io::websockets::session::{
    Inline, Opened, Session, SessionConfig, SessionRequest, read_client,
};
use crate::io::websockets::shared::{ChatSlot, Shared};
use crate::io::websockets::sse::{Framing, SseSink};
use crate::io::websockets::ui_request::parse_ui_request;
use crate::io::websockets::{IOWebsockets, TcpSocket, Transport};
use crate::io::websockets::{Refusal, Request, ServerConfig};
use crate::io::{self, Encoder, Filter, UiMessageEncoder};

/// What `on_connect` may be: a function of the connection's stream that
/// returns `Ok(())` or an error to report to the client.
pub(super) type OnConnect = dyn Fn(&IOWebsockets) -> std::result::Result<(), String> + Send + Sync;

/// tungstenite's read buffer per connection: small, since thousands of
/// mostly idle chats each hold one, and client messages are short.
const READ_BUFFER: usize = 4 * 1024;

/// How many bytes of queued frames (streamed tokens that came together)
/// wait for a flush at most before they are written anyway: one write for
/// a read's worth of model chunks, and little held for a client that does
/// not read.
const WRITE_BUFFER: usize = 16 * 1024;

/// A websocket's limits: `config`'s message size, small read and write
/// buffers.
fn ws_config(config: &ServerConfig) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size))
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
}

/// Serves one client until its connection closes.
pub(super) fn serve(stream: Arc<TcpStream>, shared: &Shared, on_connect: &OnConnect) {
    let config = &shared.config;
    let deadline = Instant::now() + config.handshake_timeout;
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
    let head = read_request(&mut Deadline::new(&mut *t, &stream, deadline), peer);
    // Back to the full timeout per read for the answer and the 101, as
    // before the deadline; the connection sets its own once it runs.
    let _ = stream.set_read_timeout(Some(config.handshake_timeout));
    let Ok((mut request, rest)) = head else {
        routes::bad_request(t);
        return;
    };
    request.resolve_client(&config.trusted_proxies);
    let draining = shared.draining.load(Ordering::SeqCst);
    let route = Route::of(&request, config, draining);
    if let Route::Run(protocol) = route {
        return serve_run(
            protocol, transport, stream, request, rest, deadline, shared, on_connect,
        );
    }
    if route == Route::Preflight {
        routes::preflight(t, &request, config);
        return;
    }
    let Route::Upgrade { key } = route else {
        route.respond(t);
        return;
    };
    let filter = match routes::check_upgrade(&request, config) {
        Ok(filter) => filter,
        Err(refusal) => {
            routes::refuse(t, &refusal);
            return;
        }
    };
    // The frontend protocols' websockets: runs in their own frames.
    let runs: Option<fn(_, _, _, _, &Shared, &OnConnect)> =
        if config.ai_sdk_path.as_deref() == Some(request.path()) {
            Some(serve_chat_transport)
        } else if request.query_param("format").as_deref() == Some("agui") {
            Some(serve_agui_ws)
        } else {
            None
        };
    if let Some(serve_runs) = runs {
        if accept(&mut transport, key, &request).is_err() {
            return;
        }
        let ws_config = ws_config(config);
        let ws = WebSocket::from_partially_read(transport, rest, Role::Server, Some(ws_config));
        return serve_runs(ws, stream, request, filter, shared, on_connect);
    }
    let asked = match SessionRequest::of(&request) {
        Ok(asked) => asked,
        Err(refusal) => {
            routes::refuse(t, &refusal);
            return;
        }
    };
    let mut ws_config = ws_config(config);
    if asked.is_some() {
        // What a session client that is behind may have waiting: its
        // backlog and then some; past it, it is detached (see Link::offer).
        ws_config = ws_config.max_write_buffer_size(session_write_buffer(config));
    }
    let key = key.to_owned();
    let upgrade = move |mut transport: Box<dyn Transport>, request: &Request| {
        accept(&mut transport, &key, request).ok()?;
        Some(WebSocket::from_partially_read(
            transport,
            rest,
            Role::Server,
            Some(ws_config),
        ))
    };
    if let Some(asked) = asked {
        return serve_session(
            transport, upgrade, stream, request, filter, asked, shared, on_connect,
        );
    }
    // Counted from before the 101, so a drain that starts once the client
    // is connected waits for its chat.
    let slot = ChatSlot::take(shared);
    let Some(ws) = upgrade(transport, &request) else {
        return;
    };
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
    close(&ws, outcome, stopping);
}

/// A frontend protocol's run (`POST` to its path): its body (bounded in
/// size and by the handshake's deadline), then the chat as server-sent
/// events in that protocol.
#[allow(clippy::too_many_arguments)]
fn serve_run(
    protocol: Protocol,
    mut transport: Box<dyn Transport>,
    stream: Arc<TcpStream>,
    request: Request,
    rest: Vec<u8>,
    deadline: Instant,
    shared: &Shared,
    on_connect: &OnConnect,
) {
    let config = &shared.config;
    let body = read_body(
        &request,
        rest,
        &mut Deadline::new(&mut *transport, &stream, deadline),
        config.max_request_body,
    );
    let parsed = body
        .map_err(|BodyError(status, why)| (status, why))
        .and_then(|body| open_run(protocol, &body).map_err(|why| (400, why)));
    let parsed = parsed.and_then(|opened| {
        // `?events=` and `?agents=`, as for a websocket client.
        let filter = Filter::from_query(request.query()).map_err(|e| (400, e.to_string()))?;
        Ok((opened, filter))
    });
    let ((mut encoder, mut run, framing), filter) = match parsed {
        Ok(parsed) => parsed,
        Err((status, why)) => {
            respond(&mut transport, status, "text/plain", &format!("{why}\n"));
            return;
        }
    };
    let cors = config.cors_allows(request.header("origin"));
    let Ok(sink) = SseSink::start(transport, stream, framing, cors.as_deref()) else {
        return;
    };
    let mut sink: Box<dyn RunSink> = Box::new(sink);
    let park = run.thread_id.as_deref().map(|thread| Park {
        parking: shared.parking.clone(),
        key: format!("{protocol:?}:{thread}"),
        timeout: config.interrupt_wait(),
        stopping: shared.stopping.clone(),
    });
    if let Some(park) = park.as_ref().filter(|_| run.question.is_none()) {
        // The chat this run answers may wait here: it goes on in place,
        // serving this response; this thread waits until it is done.
        let (done, finished) = crossbeam_channel::bounded::<()>(0);
        let answers = std::mem::take(&mut run.answers);
        let handoff = Box::new(Handoff {
            sink,
            encoder,
            answers,
            done,
        });
        match park.parking.hand_over(&park.key, handoff) {
            Ok(()) => {
                let _ = finished.recv();
                return;
            }
            Err(back) => (sink, encoder, run.answers) = (back.sink, back.encoder, back.answers),
        }
    }
    let slot = ChatSlot::take(shared);
    let park = park.map(|p| Box::new(p) as Box<dyn Parker>);
    let Ok(link) = RunLink::start(sink, encoder, run, config.sse_keep_alive, park) else {
        return;
    };
    run_chat(slot, link, request, filter, shared, on_connect);
}

/// Runs `on_connect` for a frontend protocol's run: its stream the
/// thread's default, counted as a running chat (`slot`) until it is over,
/// and the run closed as the chat ended.
pub(super) fn run_chat(
    slot: ChatSlot<'_>,
    link: RunLink,
    request: Request,
    filter: Filter,
    shared: &Shared,
    on_connect: &OnConnect,
) {
    let stopping = shared.stopping.clone();
    let ws = Arc::new(IOWebsockets::run(
        link,
        request,
        filter,
        &shared.config,
        stopping,
    ));
    let outcome = io::with_default(ws.clone(), || {
        catch_unwind(AssertUnwindSafe(|| on_connect(&ws)))
    });
    let stopping = shared.stopping.load(Ordering::SeqCst);
    drop(slot);
    close(&ws, outcome, stopping);
}

/// Serves a connection whose client sends its requests as text frames
/// (the protocols' websockets): `each` takes every frame in turn until it
/// says to stop or the client goes (idle past the idle timeout included);
/// then the connection closes.
pub(super) fn serve_frames(
    ws: WebSocket<Box<dyn Transport>>,
    tcp: Arc<TcpStream>,
    shared: &Shared,
    mut each: impl FnMut(&Arc<Mutex<Link>>, String) -> bool,
) {
    let config = &shared.config;
    let link = Arc::new(Mutex::new(Link::new(ws, tcp, config.write_timeout)));
    loop {
        // Not in the loop's condition: its lock would last the whole body.
        let next = link::lock(&link).next_text(config.idle_timeout, None);
        let Some(text) = next else {
            break;
        };
        if !each(&link, text) {
            break;
        }
    }
    let stopping = shared.stopping.load(Ordering::SeqCst);
    let code = if stopping {
        CloseCode::Away
    } else {
        CloseCode::Normal
    };
    link::lock(&link).close(code, "", None, stopping);
}

/// A run's request read in `protocol`: its encoder, what it asks, and how
/// its event stream is framed.
fn open_run(
    protocol: Protocol,
    body: &[u8],
) -> std::result::Result<(Box<dyn Encoder>, RunRequest, Framing), String> {
    match protocol {
        Protocol::Agui => {
            let (encoder, run) = RunAgentInput::open(body)?;
            let framing = Framing {
                headers: "",
                trailer: "",
            };
            Ok((Box::new(encoder), run, framing))
        }
        Protocol::AiSdk => {
            let run = parse_ui_request(body)?;
            Ok((Box::new(ui_encoder(&run)), run, AI_SDK_FRAMING))
        }
    }
}

/// The AI SDK's event stream: its header, and `[DONE]` after the last chunk.
const AI_SDK_FRAMING: Framing = Framing {
    headers: "x-vercel-ai-ui-message-stream: v1\r\n",
    trailer: "data: [DONE]\n\n",
};

/// The encoder of an AI SDK run: a resumed run continues the message it
/// names; the question is the frontend's own.
pub(super) fn ui_encoder(run: &RunRequest) -> UiMessageEncoder {
    let mut encoder = UiMessageEncoder::new();
    if let Some(id) = &run.message_id {
        encoder = encoder.message_id(id.clone());
    }
    if let Some(question) = &run.question {
        encoder = encoder.question(question.clone());
    }
    encoder
}

/// What `on_connect` did, as `catch_unwind` reports it.
pub(super) type Outcome = std::thread::Result<std::result::Result<(), String>>;

/// Closes `ws` with the code that says how its chat ended; for a session,
/// true when a client may still come back for the end (see
/// [`IOWebsockets::close`]).
pub(super) fn close(ws: &IOWebsockets, outcome: Outcome, stopping: bool) -> bool {
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
            )
        }
    }
}

/// A client that names a session: a new session runs its chat here, this
/// thread reading the client too; a resume or a second client attaches to
/// the live session, and this thread reads its frames until it goes.
#[allow(clippy::too_many_arguments)]
fn serve_session(
    mut transport: Box<dyn Transport>,
    upgrade: impl FnOnce(Box<dyn Transport>, &Request) -> Option<WebSocket<Box<dyn Transport>>>,
    stream: Arc<TcpStream>,
    request: Request,
    filter: Filter,
    asked: SessionRequest,
    shared: &Shared,
    on_connect: &OnConnect,
) {
    let config = &shared.config;
    let t = &mut transport;
    let events = request.wants_events();
    let opened = match asked.after {
        // A resume: the session must be live.
        Some(_) => match shared.sessions.get(&asked.id) {
            Some(session) => Ok(Opened::Existing(session)),
            None => Err(Refusal::new(
                410,
                "no such session (any more): start a new one\n",
            )),
        },
        None => shared.sessions.open(&asked.id, || {
            Session::new(
                asked.id.clone(),
                SessionConfig {
                    events,
                    filter: filter.clone(),
                    on_disconnect: asked.on_disconnect,
                    grace: config.detach_grace,
                    replay_bytes: config.session_replay_bytes,
                    input_timeout: config.input_timeout,
                    stopping: shared.stopping.clone(),
                    detached: shared.sessions.detached.clone(),
                    max_detached: config.max_detached_sessions,
                },
            )
        }),
    };
    let session = match opened {
        Err(refusal) => return routes::refuse(t, &refusal),
        Ok(Opened::Existing(session)) => session,
        Ok(Opened::New(session)) => {
            return run_session(
                transport, upgrade, stream, request, session, shared, on_connect,
            );
        }
    };
    // Joining or resuming: same mode and filter, and the frames it needs.
    if session.events != events || session.filter != filter {
        let why = "this session has another mode or filter: resume it as it was opened\n";
        return routes::refuse(t, &Refusal::new(409, why));
    }
    let after = asked.after.unwrap_or(0);
    match session.missing(after) {
        None => {
            let why = "after: more frames than this session has sent\n";
            return routes::refuse(t, &Refusal::new(400, why));
        }
        Some(missed) if missed > 0 && !events => {
            let why = "frames after `after` are no longer kept: start a new session\n";
            return routes::refuse(t, &Refusal::new(410, why));
        }
        Some(_) => {}
    }
    let Some(ws) = upgrade(transport, &request) else {
        return;
    };
    let link = session_link(ws, &stream, config);
    match session.attach(link.clone(), after) {
        Ok(true) => read_client(&session, &link, &stream, config.idle_timeout),
        Ok(false) => {} // the chat was over: the client got its end
        Err(_) => {
            let stopping = shared.stopping.load(Ordering::SeqCst);
            link::lock(&link).close(CloseCode::Away, "", None, stopping);
        }
    }
}

/// A new session: its chat runs on this thread, as a connection's does,
/// and this thread reads its first client too; the session is forgotten
/// when the chat ends.
fn run_session(
    transport: Box<dyn Transport>,
    upgrade: impl FnOnce(Box<dyn Transport>, &Request) -> Option<WebSocket<Box<dyn Transport>>>,
    stream: Arc<TcpStream>,
    request: Request,
    session: Arc<Session>,
    shared: &Shared,
    on_connect: &OnConnect,
) {
    let config = &shared.config;
    let slot = ChatSlot::take(shared);
    let Some(ws) = upgrade(transport, &request) else {
        shared.sessions.remove(&session);
        return;
    };
    let link = session_link(ws, &stream, config);
    let ws = Arc::new(IOWebsockets::session(
        session.clone(),
        request,
        config,
        shared.stopping.clone(),
    ));
    let outcome: Outcome = match session.attach(link.clone(), 0) {
        Ok(_) => {
            session.read_inline(Inline::new(link, stream.clone(), config.idle_timeout));
            io::with_default(ws.clone(), || {
                catch_unwind(AssertUnwindSafe(|| on_connect(&ws)))
            })
        }
        Err(e) => Ok(Err(e.to_string())),
    };
    let stopping = shared.stopping.load(Ordering::SeqCst);
    drop(slot);
    // A client that was away when the chat ended may still resume
    // for the end, within the grace; otherwise the session goes now.
    if !close(&ws, outcome, stopping) {
        shared.sessions.remove(&session);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// The most a session client that reads slowly may have waiting in its
/// link: a whole replay buffer, and a few frames as large as a client may
/// send (tungstenite's minimum is above its 128 KiB write buffer).
fn session_write_buffer(config: &ServerConfig) -> usize {
    (2 * config.session_replay_bytes + 2 * config.max_message_size).max(256 << 10)
}

/// A session client's link: its writes never wait on it (a millisecond
/// at most; see `Link::offer`).
fn session_link(
    ws: WebSocket<Box<dyn Transport>>,
    stream: &Arc<TcpStream>,
    config: &ServerConfig,
) -> Arc<Mutex<Link>> {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(1)));
    Arc::new(Mutex::new(Link::new(
        ws,
        stream.clone(),
        config.write_timeout,
    )))
}

/// A reader whose reads all end by one deadline: a socket's read timeout
/// bounds each read alone, so without this a client trickling its request
/// a byte at a time could hold a thread for hours under a "10 s" limit.
pub(super) struct Deadline<'a, R> {
    inner: R,
    socket: &'a TcpStream,
    deadline: Instant,
}

impl<'a, R: Read> Deadline<'a, R> {
    /// Reads `inner` (the socket itself, or TLS over it) until `deadline`.
    pub(super) fn new(inner: R, socket: &'a TcpStream, deadline: Instant) -> Self {
        Deadline {
            inner,
            socket,
            deadline,
        }
    }
}

impl<R: Read> Read for Deadline<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        // At least 1 ms: a zero timeout is an error to set_read_timeout.
        self.socket
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;
    use std::thread;

    #[test]
    fn a_trickled_request_ends_at_the_deadline_not_at_each_read() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let trickler = thread::spawn(move || {
            let Ok(mut client) = TcpStream::connect(addr) else {
                return;
            };
            // A byte every 50 ms: each read is quick, the request never ends.
            for _ in 0..40 {
                if client.write_all(b"G").is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(50));
            }
        });
        let (socket, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
        let started = Instant::now();
        let deadline = started + Duration::from_millis(300);
        let head = read_request(&mut Deadline::new(&socket, &socket, deadline), None);
        let took = started.elapsed();
        assert!(head.is_err());
        assert!(took < Duration::from_millis(1000), "{took:?}");
        drop(socket);
        let _ = trickler.join();
    }
}
