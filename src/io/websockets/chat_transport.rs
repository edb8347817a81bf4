//! The AI SDK's `WebSocketChatTransport` (package `ai`): one websocket
//! carrying a client's chat requests one after another. The client sends
//! `send` (a chat request, as `DefaultChatTransport` posts it), `resume`
//! (the chat's reply again, from sequence 0, on any connection) and
//! `abort`; the server answers `start`, `chunk` (the UI message chunks, a
//! `sequence` from 0 with no gaps), `end`, `error` or `no-active`, and no
//! other frame type (the client breaks on one it does not know).

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::WebSocket;
use tungstenite::protocol::frame::coding::CloseCode;

use crate::io::Filter;
use crate::io::encoder::message_text;
use crate::io::websockets::link::{Answer, Link, lock};
use crate::io::websockets::live_reply::{LiveReplies, LiveReply};
use crate::io::websockets::parking::{Handoff, Parker};
use crate::io::websockets::run_link::{RunLink, RunSink};
use crate::io::websockets::serve::{OnConnect, run_chat, serve_frames, ui_encoder};
use crate::io::websockets::shared::{ChatSlot, Shared};
use crate::io::websockets::ui_request::parse_ui_request;
use crate::io::websockets::{Request, ServerConfig, Transport};
use crate::{Error, Result};

/// How often a follower of a resumed reply looks at its own client.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// Serves one `WebSocketChatTransport` connection until it closes.
pub(super) fn serve_chat_transport(
    ws: WebSocket<Box<dyn Transport>>,
    tcp: Arc<TcpStream>,
    request: Request,
    filter: Filter,
    shared: &Shared,
    on_connect: &OnConnect,
) {
    serve_frames(ws, tcp, shared, |link, text| {
        let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let (Some(kind), Some(request_id)) = (frame["type"].as_str(), frame["requestId"].as_str())
        else {
            let why = "not a WebSocketChatTransport request";
            lock(link).close(CloseCode::Policy, why, None, false);
            return false;
        };
        let chat_id = frame["id"].as_str().unwrap_or_default();
        match kind {
            "send" => {
                let asked = Asked {
                    text: &text,
                    chat_id,
                    request_id,
                    request: &request,
                    filter: &filter,
                };
                send(link, asked, shared, on_connect).is_ok()
            }
            "resume" => follow(link, chat_id, request_id, shared).is_ok(),
            // Nothing runs for it on this connection any more.
            "abort" => true,
            _ => {
                let why = json!({"type": "error", "requestId": request_id,
                    "errorText": format!("unknown request type {kind:?}")});
                lock(link).write(why.to_string()).is_ok()
            }
        }
    });
}

/// A `send` frame and what it came with.
struct Asked<'a> {
    text: &'a str,
    chat_id: &'a str,
    request_id: &'a str,
    /// The upgrade request of the connection, and its filter.
    request: &'a Request,
    filter: &'a Filter,
}

/// Runs one `send`: its chat, as the reply's chunks.
fn send(
    link: &Arc<Mutex<Link>>,
    asked: Asked<'_>,
    shared: &Shared,
    on_connect: &OnConnect,
) -> Result<()> {
    let Asked {
        text,
        chat_id,
        request_id,
        request,
        filter,
    } = asked;
    let config = &shared.config;
    if shared.draining.load(Ordering::SeqCst) {
        let frame = json!({"type": "error", "requestId": request_id,
            "errorText": "the server is draining: connect again (to another instance)"});
        lock(link).write(frame.to_string())?;
        return Err(Error::ServerStopping);
    }
    let run = match parse_ui_request(text.as_bytes()) {
        Ok(run) => run,
        Err(why) => {
            let frame = json!({"type": "error", "requestId": request_id, "errorText": why});
            return lock(link).write(frame.to_string());
        }
    };
    let sink = ReplySink::start(link, request_id, chat_id, &shared.replies, config)?;
    let encoder = Box::new(ui_encoder(&run));
    // A reply that ends asking for an approval waits for the answer on
    // this connection, and goes on in place with it.
    let park = Box::new(WaitHere {
        link: link.clone(),
        chat_id: chat_id.to_owned(),
        replies: shared.replies.clone(),
        config: config.clone(),
        stopping: shared.stopping.clone(),
    });
    let slot = ChatSlot::take(shared);
    let run = RunLink::start(
        Box::new(sink),
        encoder,
        run,
        config.sse_keep_alive,
        Some(park),
    )?;
    run_chat(
        slot,
        run,
        request.clone(),
        filter.clone(),
        shared,
        on_connect,
    );
    if lock(link).is_open() {
        Ok(())
    } else {
        Err(Error::ConnectionClosed)
    }
}

/// Answers a `resume`: the chat's reply from sequence 0, then the rest as
/// it streams (whichever connection runs it), or `no-active`.
fn follow(link: &Arc<Mutex<Link>>, chat_id: &str, request_id: &str, shared: &Shared) -> Result<()> {
    let Some(reply) = shared.replies.get(chat_id) else {
        let frame = json!({"type": "no-active", "requestId": request_id});
        return lock(link).write(frame.to_string());
    };
    reply.follow(true);
    let followed = follow_reply(link, &reply, request_id, shared);
    reply.follow(false);
    followed
}

fn follow_reply(
    link: &Arc<Mutex<Link>>,
    reply: &LiveReply,
    request_id: &str,
    shared: &Shared,
) -> Result<()> {
    lock(link).write(json!({"type": "start", "requestId": request_id}).to_string())?;
    let prefix = chunk_prefix(request_id);
    let mut next = 0;
    loop {
        if shared.stopping.load(Ordering::SeqCst) {
            return Err(Error::ServerStopping);
        }
        let Some(progress) = reply.wait_from(next, FOLLOW_POLL) else {
            let frame = json!({"type": "error", "requestId": request_id,
                "errorText": "the reply outgrew what the server keeps to replay it"});
            return lock(link).write(frame.to_string());
        };
        let mut inner = lock(link);
        // What came since the last look, in as few writes as it takes.
        for chunk in progress.chunks {
            inner.queue(chunk_frame(&prefix, next, &chunk))?;
            next += 1;
        }
        inner.flush()?;
        if progress.ended {
            return inner.write(json!({"type": "end", "requestId": request_id}).to_string());
        }
        if screen(&mut inner, request_id) {
            reply.abort();
            return Ok(());
        }
        if !inner.is_open() {
            return Err(Error::ConnectionClosed);
        }
    }
}

/// A `send`'s reply, as it streams: to its client while it is connected,
/// and kept for a client that resumes it. A client that goes does not stop
/// the chat at once: it runs on for the detach grace, and for as long as a
/// resumed client follows it.
struct ReplySink {
    link: Arc<Mutex<Link>>,
    request_id: String,
    /// Its chunk frames' start ([`chunk_prefix`]).
    chunk_prefix: String,
    /// Where the chunks are kept for resumes (`None`: the server keeps its
    /// most; this reply cannot be resumed).
    live: Option<Arc<LiveReply>>,
    replay_bytes: usize,
    /// Chunks sent: the next sequence.
    sent: usize,
    attached: bool,
    detached_at: Option<Instant>,
    grace: Duration,
    /// When the client's frames were last looked at.
    polled_at: Instant,
}

/// How long a streaming reply goes without looking for the client's
/// `abort`: a bound on how late a stop is seen, without a system call
/// per token.
const ABORT_POLL: Duration = Duration::from_millis(10);

impl ReplySink {
    /// Answers request `request_id` with `start`; its chunks are kept for
    /// resumes of chat `chat_id`.
    fn start(
        link: &Arc<Mutex<Link>>,
        request_id: &str,
        chat_id: &str,
        replies: &LiveReplies,
        config: &ServerConfig,
    ) -> Result<ReplySink> {
        lock(link).write(json!({"type": "start", "requestId": request_id}).to_string())?;
        Ok(ReplySink {
            link: link.clone(),
            request_id: request_id.to_owned(),
            chunk_prefix: chunk_prefix(request_id),
            live: replies.open(chat_id),
            replay_bytes: config.session_replay_bytes,
            sent: 0,
            attached: true,
            detached_at: None,
            grace: config.detach_grace,
            polled_at: Instant::now(),
        })
    }

    /// Takes in the client's frames: its `abort` stops the run; a request
    /// for something else is answered busy; a client gone detaches.
    fn poll_client(&mut self) -> Result<()> {
        self.polled_at = Instant::now();
        if !self.attached {
            return Ok(());
        }
        let mut inner = lock(&self.link);
        let aborted = screen(&mut inner, &self.request_id);
        let open = inner.is_open();
        drop(inner);
        if aborted {
            return Err(Error::Cancelled);
        }
        if !open {
            self.detach();
        }
        Ok(())
    }

    fn detach(&mut self) {
        self.attached = false;
        self.detached_at.get_or_insert_with(Instant::now);
    }

    /// Whether anyone still wants the reply.
    fn wanted(&self) -> Result<()> {
        let Some(live) = &self.live else {
            return if self.attached {
                Ok(())
            } else {
                Err(Error::ConnectionClosed)
            };
        };
        if live.aborted() {
            return Err(Error::Cancelled);
        }
        let waited = self.detached_at.map(|at| at.elapsed());
        match waited {
            Some(waited) if waited >= self.grace && live.followers() == 0 => {
                Err(Error::ConnectionClosed)
            }
            _ => Ok(()),
        }
    }
}

impl RunSink for ReplySink {
    fn send(&mut self, messages: &mut Vec<String>, queued: bool) -> Result<()> {
        for chunk in messages.drain(..) {
            let sequence = self.sent;
            self.sent += 1;
            if let Some(live) = &self.live {
                live.push(&chunk, self.replay_bytes);
            }
            if self.attached {
                let frame = chunk_frame(&self.chunk_prefix, sequence, &chunk);
                let sent = lock(&self.link).write_as(frame, queued);
                if sent.is_err() {
                    self.detach();
                }
            }
        }
        if self.polled_at.elapsed() >= ABORT_POLL {
            self.poll_client()?;
        }
        self.wanted()
    }

    fn flush(&mut self) -> Result<()> {
        if self.attached && lock(&self.link).flush().is_err() {
            self.detach();
        }
        self.wanted()
    }

    fn keep_alive(&mut self) -> Result<()> {
        if self.attached && lock(&self.link).ping().is_err() {
            self.detach();
        }
        self.wanted()
    }

    fn check(&mut self) -> Result<()> {
        self.poll_client()?;
        self.wanted()
    }

    fn end(&mut self) {
        if let Some(live) = &self.live {
            live.end();
        }
        if self.attached {
            let end = json!({"type": "end", "requestId": self.request_id});
            let _ = lock(&self.link).write(end.to_string());
        }
    }
}

/// A reply waiting for its approvals on its own connection: the next frame.
struct WaitHere {
    link: Arc<Mutex<Link>>,
    chat_id: String,
    replies: Arc<LiveReplies>,
    config: ServerConfig,
    stopping: Arc<AtomicBool>,
}

impl Parker for WaitHere {
    fn wait(&mut self) -> Option<Handoff> {
        if self.stopping.load(Ordering::SeqCst) {
            return None;
        }
        let timeout = self
            .config
            .input_timeout
            .unwrap_or(self.config.detach_grace);
        let deadline = Instant::now() + timeout;
        let text = lock(&self.link).next_text(self.config.idle_timeout, Some(deadline))?;
        let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let answering = frame["type"] == "send" && frame["id"] == self.chat_id.as_str();
        let run = parse_ui_request(text.as_bytes())
            .ok()
            .filter(|run| answering && run.question.is_none());
        let (Some(run), Some(request_id)) = (run, frame["requestId"].as_str()) else {
            // Not the answer: the reply ends, and the frame is served next.
            lock(&self.link).pending.push_front(Answer {
                text,
                request_id: None,
            });
            return None;
        };
        let sink = ReplySink::start(
            &self.link,
            request_id,
            &self.chat_id,
            &self.replies,
            &self.config,
        )
        .ok()?;
        // Nobody waits for this response to be done: it is this thread's.
        let (done, _) = crossbeam_channel::bounded(1);
        Some(Handoff {
            sink: Box::new(sink),
            encoder: Box::new(ui_encoder(&run)),
            answers: run.answers,
            done,
        })
    }
}

/// One chunk's frame (the chunk's JSON as it was kept).
fn chunk_frame(prefix: &str, sequence: usize, chunk: &str) -> String {
    use std::fmt::Write;
    // Built by hand: one per token.
    let mut frame = String::with_capacity(prefix.len() + chunk.len() + 32);
    frame.push_str(prefix);
    let _ = write!(frame, r#"{sequence},"chunk":{chunk}}}"#);
    frame
}

/// What every `chunk` frame of request `request_id` starts with, up to its
/// sequence number.
fn chunk_prefix(request_id: &str) -> String {
    format!(
        r#"{{"type":"chunk","requestId":{},"sequence":"#,
        message_text(&Value::from(request_id))
    )
}

/// The answer to a request that came while this connection was busy.
fn busy(request_id: &str) -> String {
    json!({"type": "error", "requestId": request_id,
        "errorText": "this connection is busy with another request; send it when that one ends"})
    .to_string()
}

/// A request frame's type and request id.
fn request_of(text: &str) -> Option<(&'static str, String)> {
    let frame: Value = serde_json::from_str(text).ok()?;
    let kind = match frame["type"].as_str()? {
        "send" => "send",
        "resume" => "resume",
        "abort" => "abort",
        _ => return None,
    };
    Some((kind, frame["requestId"].as_str()?.to_owned()))
}

/// Takes in the frames that have already arrived while request
/// `request_id` streams: true at its `abort`, the frames after it kept for
/// the connection to serve next; another request meanwhile is answered
/// busy; a frame that is no request ends the connection.
fn screen(link: &mut Link, request_id: &str) -> bool {
    link.poll(false);
    while let Some(answer) = link.pending.pop_front() {
        match request_of(&answer.text) {
            Some(("abort", id)) if id == request_id => return true,
            Some(("abort", _)) => {}
            Some((_, id)) => {
                let _ = link.write(busy(&id));
            }
            None => link.end(),
        }
    }
    false
}
