//! `IOWebsockets`: an [`IOStream`] over one websocket client.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tungstenite::WebSocket;
use tungstenite::protocol::frame::coding::CloseCode;

use crate::io::websockets::link::{Link, lock};
use crate::io::websockets::run_link::RunLink;
use crate::io::websockets::session::Session;
use crate::io::websockets::{Request, ServerConfig, Transport};
use crate::io::{
    Event, EventKind, Filter, IOStream, InputRequestEvent, Pending, ToolApprovalRequestEvent,
    ToolApprovalResponseEvent, ask_approval_as_text, joined,
};
use crate::{Error, Result};

/// A stream to one websocket client: the default stream of the thread that
/// runs `on_connect` for it.
///
/// **Text mode** (the default, what AutoGen clients expect): one text frame
/// per `print`, holding `sep.join(objects) + end`; events as AutoGen 0.2's
/// console text, one frame per line group; `input` sends its prompt as a
/// frame (when not empty) and returns the client's next text frame.
///
/// **Events mode** (subprotocol `agentio.events.v1` or `?format=events`): one
/// JSON event per frame; `input` sends an `input_request` event and accepts an
/// `input_response` event or a bare text frame; `{"type": "cancel"}` makes
/// the output fail with [`Error::Cancelled`] (the client's frames are taken
/// in at most every 5 ms while output streams); anything else gets an
/// `error` event and the connection goes on.
///
/// **Filters**, in either mode: `?events=text,stream,input_request` keeps only
/// those kinds, `?events=-using_auto_reply,-execute_function` drops kinds,
/// `?agents=chatbot` keeps only that agent's events (see
/// [`Filter::from_query`]). An unknown kind is refused at the handshake with
/// 400 and the list of kinds. Input requests always go through.
///
/// Frames the client sends while the server is writing are kept for the next
/// `input`; a client that has gone makes the output fail with
/// [`Error::ConnectionClosed`] (within those 5 ms, or at the first write
/// that finds it gone), so the work for it stops.
pub struct IOWebsockets {
    target: Target,
    request: Request,
    events: bool,
    filter: Filter,
    input_timeout: Option<Duration>,
    idle_timeout: Duration,
    stopping: Arc<AtomicBool>,
}

/// Where the stream's frames go.
// One per connection, inside an `Arc`: boxing the link would only add an
// indirection to every frame.
#[allow(clippy::large_enum_variant)]
enum Target {
    /// The one client of a connection without a session.
    Link(Mutex<Link>),
    /// A session: numbered, kept, written to whichever clients are attached.
    Session(Arc<Session>),
    /// A frontend protocol's run (AG-UI, the AI SDK's stream), over
    /// server-sent events or websocket frames: its events, encoded.
    Run(Mutex<RunLink>),
}

impl std::fmt::Debug for IOWebsockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IOWebsockets")
            .field("path", &self.request.path())
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl IOWebsockets {
    /// A client's stream: its websocket over `tcp`, the request that opened
    /// it, its filter, and the timeouts of `config`.
    pub(crate) fn new(
        ws: WebSocket<Box<dyn Transport>>,
        tcp: Arc<TcpStream>,
        request: Request,
        filter: Filter,
        config: &ServerConfig,
        stopping: Arc<AtomicBool>,
    ) -> IOWebsockets {
        IOWebsockets {
            events: request.wants_events(),
            filter,
            target: Target::Link(Mutex::new(Link::new(ws, tcp, config.write_timeout))),
            request,
            input_timeout: config.input_timeout,
            idle_timeout: config.idle_timeout,
            stopping,
        }
    }

    /// A session's stream: the request that opened the session, and the
    /// timeouts of `config`; its clients attach to `session`.
    pub(crate) fn session(
        session: Arc<Session>,
        request: Request,
        config: &ServerConfig,
        stopping: Arc<AtomicBool>,
    ) -> IOWebsockets {
        IOWebsockets {
            events: session.events,
            filter: session.filter.clone(),
            target: Target::Session(session),
            request,
            input_timeout: config.input_timeout,
            idle_timeout: config.idle_timeout,
            stopping,
        }
    }

    /// A frontend protocol's run (`POST /agui`, say): its events go out
    /// encoded; the run's question is its first input.
    pub(crate) fn run(
        link: RunLink,
        request: Request,
        filter: Filter,
        config: &ServerConfig,
        stopping: Arc<AtomicBool>,
    ) -> IOWebsockets {
        IOWebsockets {
            events: true,
            filter,
            target: Target::Run(Mutex::new(link)),
            request,
            input_timeout: config.input_timeout,
            idle_timeout: config.idle_timeout,
            stopping,
        }
    }

    /// The conversation the client sent before its question, in OpenAI's
    /// shape: an AG-UI run's earlier messages (each run carries the whole
    /// conversation, so any server can serve any turn). Empty for a
    /// websocket client, whose conversation lives in its chat (or session).
    pub fn history(&self) -> Vec<crate::llm::Message> {
        match &self.target {
            Target::Run(link) => run_lock(link).history(),
            Target::Link(_) | Target::Session(_) => Vec::new(),
        }
    }

    /// The HTTP request that opened this connection (path, query, headers).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Whether the client's request continues its conversation rather than
    /// asking something new: an AG-UI run that resumes an interrupted one
    /// (or an AI SDK request answering an approval). [`history`](Self::history)
    /// is then the whole conversation, and the chat goes on from its last
    /// message (see [`ChatOptions::resume`](crate::agentchat::ChatOptions::resume)).
    pub fn resumes(&self) -> bool {
        match &self.target {
            Target::Run(link) => run_lock(link).resumes(),
            Target::Link(_) | Target::Session(_) => false,
        }
    }

    /// Whether this stream is a session's (`?session=ID`): its chat
    /// outlives the connection, so `on_connect` may keep the conversation
    /// going over several messages.
    pub fn is_session(&self) -> bool {
        matches!(self.target, Target::Session(_))
    }

    /// Whether the client chose events mode.
    pub fn is_events_mode(&self) -> bool {
        self.events
    }

    /// What the client asked to receive (`?events=…&agents=…`; everything
    /// when it asked nothing). Input requests always reach it.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Sends one text frame: to the client, after taking in what it sent
    /// meanwhile, or to the session. `queued`: it may wait in the buffer
    /// for the next frame or a [`flush`](IOStream::flush).
    fn output(&self, text: String, queued: bool) -> Result<()> {
        match &self.target {
            Target::Link(link) => {
                let mut inner = lock(link);
                self.ready_to_write(&mut inner)?;
                inner.write_as(text, queued)
            }
            Target::Session(session) if queued => session.queue(text),
            Target::Session(session) => session.publish(text),
            // AG-UI has no place for a printed line or text frame.
            Target::Run(_) => Ok(()),
        }
    }

    /// [`IOStream::send`] and [`IOStream::queue`]: `queued` as in
    /// [`output`](Self::output).
    fn deliver(&self, event: &Event, queued: bool) -> Result<()> {
        if let Target::Run(link) = &self.target {
            if self.stopping.load(Ordering::SeqCst) {
                return Err(Error::ServerStopping);
            }
            // The kinds sent on request are the encoder's own: only the
            // agent rule applies to them.
            let passes = if event.kind().is_on_request() {
                self.filter.allows_agent(event)
            } else {
                self.filter.allows(event)
            };
            if !passes {
                return Ok(());
            }
            let mut link = run_lock(link);
            return if queued {
                link.queue(event)
            } else {
                link.send(event)
            };
        }
        if !self.filter.allows(event) {
            return Ok(());
        }
        if self.events {
            return self.output(event.to_json(), queued);
        }
        // The event's console text, a frame per part; not through `print`,
        // which would filter it a second time, as a print.
        for part in event.text_parts() {
            self.output(part.text, queued)?;
        }
        Ok(())
    }

    /// Checks that output may go on: server running, client there, no cancel.
    /// Before a wait, what was queued goes out.
    fn ready(&self, inner: &mut Link) -> Result<()> {
        inner.poll(self.events);
        self.still_ready(inner)?;
        inner.flush()
    }

    /// [`ready`](Self::ready) before one more frame of output: the
    /// client's frames are taken in at most every few milliseconds.
    fn ready_to_write(&self, inner: &mut Link) -> Result<()> {
        inner.poll_before_output(self.events);
        self.still_ready(inner)
    }

    /// What [`ready`](Self::ready) checks once the client's frames are in.
    fn still_ready(&self, inner: &mut Link) -> Result<()> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(Error::ServerStopping);
        }
        inner.screen();
        inner.send_complaints()?;
        if !inner.is_open() {
            return Err(Error::ConnectionClosed);
        }
        if inner.take_cancel() {
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    /// Ends the connection with a close frame and waits briefly for the
    /// client's, so the close is clean on both sides. A session's chat ends
    /// for all its clients; true when one may still come back for the end
    /// (see [`Session::end`]).
    pub(crate) fn close(&self, code: CloseCode, reason: &str, error: Option<String>) -> bool {
        if let Target::Run(link) = &self.target {
            // RUN_ERROR says why; a clean end (or a shutdown) finishes the run.
            let error = error.filter(|_| code == CloseCode::Error);
            run_lock(link).close(error.as_deref());
            return false;
        }
        let error = error.map(|e| self.error_frame(&e));
        match &self.target {
            Target::Link(link) => {
                let stopping = self.stopping.load(Ordering::SeqCst);
                lock(link).close(code, reason, error, stopping);
                false
            }
            Target::Session(session) => session.end(code, reason, error),
            Target::Run(_) => false, // closed above
        }
    }

    /// Waits for what `answered` finds among the client's frames, at most
    /// the input timeout: reads frames as they come, refuses answers to
    /// requests not waiting, pings while the client is quiet, and gives up
    /// on a client silent (no pong either) for the idle timeout, even if
    /// TCP does not say it has gone.
    fn wait<T>(
        &self,
        inner: &mut Link,
        mut answered: impl FnMut(&mut Link) -> Result<Option<T>>,
    ) -> Result<T> {
        let deadline = self.input_timeout.map(|t| Instant::now() + t);
        let ping_every = self.idle_timeout / 2;
        let mut heard = Instant::now();
        let mut next_ping = heard + ping_every;
        loop {
            inner.screen();
            if let Some(answer) = answered(inner)? {
                return Ok(answer);
            }
            inner.send_complaints()?;
            if inner.take_cancel() {
                return Err(Error::Cancelled);
            }
            if !inner.is_open() {
                return Err(if self.stopping.load(Ordering::SeqCst) {
                    Error::ServerStopping
                } else {
                    Error::ConnectionClosed
                });
            }
            let now = Instant::now();
            if now.duration_since(heard) >= self.idle_timeout {
                inner.end();
                return Err(Error::ConnectionClosed);
            }
            if now >= next_ping {
                next_ping = now + ping_every;
                inner.ping()?;
            }
            let mut wait = next_ping.saturating_duration_since(now);
            if let Some(deadline) = deadline {
                match deadline.checked_duration_since(now) {
                    Some(left) if !left.is_zero() => wait = wait.min(left),
                    _ => return Err(Error::InputTimeout(self.input_timeout.unwrap_or_default())),
                }
            }
            if inner
                .tcp
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
                .is_err()
            {
                return Err(Error::ConnectionClosed);
            }
            match inner.ws.read() {
                Ok(message) => {
                    heard = Instant::now();
                    inner.take(message, self.events);
                }
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    continue; // the deadline check above decides
                }
                Err(e) => inner.fail(e),
            }
        }
    }

    /// How an error is shown to this client: an `error` event or a line.
    fn error_frame(&self, error: &str) -> String {
        if self.events {
            Event::error(error).to_json()
        } else {
            format!("Error: {error}\n")
        }
    }
}

impl IOStream for IOWebsockets {
    fn print(&self, objects: &[&str], sep: &str, end: &str, _flush: bool) -> Result<()> {
        if !self.filter.allows_kind(EventKind::Print) {
            return Ok(());
        }
        if self.events {
            let event = Event::print(objects.iter().copied(), sep, end);
            return self.output(event.to_json(), false);
        }
        self.output(joined(objects, sep, end), false)
    }

    fn input(&self, prompt: &str, password: bool) -> Result<String> {
        let request = self.events.then(|| {
            let mut request = InputRequestEvent::new(prompt, password);
            request.timeout_seconds = self.input_timeout.map(|t| t.as_secs_f64());
            request
        });
        let link = match &self.target {
            Target::Link(link) => link,
            Target::Run(link) => {
                // The run's question first; then the human's answers, or
                // the run ends waiting for one.
                let mut link = run_lock(link);
                if let Some(question) = link.take_question() {
                    return Ok(question);
                }
                let mut request = InputRequestEvent::new(prompt, password);
                request.timeout_seconds = None;
                return link.input(request);
            }
            Target::Session(session) => {
                session.flush()?;
                return match request {
                    Some(request) => {
                        let id = request.request_id.clone();
                        session.input(Some(Event::InputRequest(request).to_json()), Some(id))
                    }
                    None => session.input((!prompt.is_empty()).then(|| prompt.to_owned()), None),
                };
            }
        };
        let mut inner = lock(link);
        self.ready(&mut inner)?;
        if let Some(request) = request {
            inner.open = vec![request.request_id.clone()];
            inner.write(Event::InputRequest(request).to_json())?;
        } else if !prompt.is_empty() {
            inner.write(prompt.to_owned())?;
        }
        let answer = self.wait(&mut inner, |inner| Ok(inner.pending.pop_front()));
        inner.open.clear();
        answer.map(|a| a.text)
    }

    /// In events mode, sends each request as a `tool_approval_request`
    /// event and takes `tool_approval_response` events in any order; each
    /// answer taken is sent back as it was taken (every client of a session
    /// sees it), and one naming no waiting request gets an `error` event.
    /// In text mode, asks in text ([`ask_approval_as_text`]).
    fn ask_approval(
        &self,
        requests: &[ToolApprovalRequestEvent],
    ) -> Result<Vec<ToolApprovalResponseEvent>> {
        if !self.events {
            return ask_approval_as_text(self, requests);
        }
        let mut requests = requests.to_vec();
        for request in &mut requests {
            request.timeout_seconds = self.input_timeout.map(|t| t.as_secs_f64());
        }
        let link = match &self.target {
            Target::Link(link) => link,
            Target::Session(session) => {
                session.flush()?;
                return session.ask_approval(&requests);
            }
            // Answered by the run's request, or the run ends waiting.
            Target::Run(link) => return run_lock(link).ask_approval(&requests),
        };
        let mut inner = lock(link);
        self.ready(&mut inner)?;
        inner.open = requests.iter().map(|r| r.request_id.clone()).collect();
        for request in &requests {
            inner.write(Event::ToolApprovalRequest(request.clone()).to_json())?;
        }
        let mut pending = Pending::new(&requests);
        let waited = self.wait(&mut inner, |inner| {
            while let Some(answer) = inner.approvals.pop_front() {
                match pending.take(answer) {
                    Ok(settled) => {
                        for answer in settled {
                            inner.open.retain(|id| *id != answer.request_id);
                            inner.write(Event::ToolApprovalResponse(answer).to_json())?;
                        }
                    }
                    Err(why) => inner.write(Event::error(why).to_json())?,
                }
            }
            Ok(inner.open.is_empty().then_some(()))
        });
        inner.open.clear();
        waited?;
        pending.finish().ok_or(Error::InputClosed)
    }

    fn check(&self) -> Result<()> {
        match &self.target {
            Target::Link(link) => {
                let mut inner = lock(link);
                self.ready(&mut inner)?;
                // Checks come while the chat is busy without output (every
                // 50 ms while a tool runs).
                inner.keep_alive(self.idle_timeout / 2)
            }
            Target::Session(session) => session.check(),
            Target::Run(link) => run_lock(link).check(),
        }
    }

    fn request(&self) -> Option<&Request> {
        Some(&self.request)
    }

    /// What the client's filter lets through; the kinds sent only on
    /// request, in events mode only (text mode shows none of them).
    fn wants(&self, kind: EventKind) -> bool {
        if let Target::Run(_) = &self.target {
            return !kind.is_on_request() || crate::io::AGUI_KINDS.contains(&kind);
        }
        self.filter.allows_kind(kind) && (self.events || !kind.is_on_request())
    }

    fn send(&self, event: &Event) -> Result<()> {
        self.deliver(event, false)
    }

    /// Streamed fragments wait in the connection's buffer (a session's:
    /// in each client's) until the next frame or [`flush`](IOStream::flush):
    /// tokens that arrive together take one write.
    fn queue(&self, event: &Event) -> Result<()> {
        self.deliver(event, true)
    }

    fn flush(&self) -> Result<()> {
        match &self.target {
            Target::Link(link) => lock(link).flush(),
            Target::Session(session) => session.flush(),
            Target::Run(link) => run_lock(link).flush(),
        }
    }
}

/// Locks a run's link (a panic while it was held leaves at worst a
/// half-written event, after which the link fails on its own).
fn run_lock(link: &Mutex<RunLink>) -> std::sync::MutexGuard<'_, RunLink> {
    link.lock().unwrap_or_else(|p| p.into_inner())
}
