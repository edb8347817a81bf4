//! `IOWebsockets`: an [`IOStream`] over one websocket client.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

use crate::io::websockets::{Request, ServerConfig, Transport};
use crate::io::{Event, EventKind, Filter, IOStream, joined};
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
/// `input_response` event or a bare text frame; `{"type": "cancel"}` makes the
/// next output fail with [`Error::Cancelled`]; anything else gets an `error`
/// event and the connection goes on.
///
/// **Filters**, in either mode: `?events=text,stream,input_request` keeps only
/// those kinds, `?events=-using_auto_reply,-execute_function` drops kinds,
/// `?agents=chatbot` keeps only that agent's events (see
/// [`Filter::from_query`]). An unknown kind is refused at the handshake with
/// 400 and the list of kinds. Input requests always go through.
///
/// Frames the client sends while the server is writing are kept for the next
/// `input`; a client that has gone makes the next output fail with
/// [`Error::ConnectionClosed`], so the work for it stops.
pub struct IOWebsockets {
    inner: Mutex<Inner>,
    request: Request,
    events: bool,
    filter: Filter,
    input_timeout: Option<Duration>,
    idle_timeout: Duration,
    stopping: Arc<AtomicBool>,
}

struct Inner {
    ws: WebSocket<Box<dyn Transport>>,
    /// The TCP socket under the transport: timeouts, polls, shutdown.
    tcp: Arc<TcpStream>,
    /// Answers the client sent before `input` asked, oldest first.
    pending: VecDeque<String>,
    state: State,
    /// Error events owed to the client for frames it got wrong.
    complaints: Vec<String>,
    /// How long one write may wait on a client that does not read.
    write_timeout: Duration,
}

/// Where the connection is in its life. It only moves forward: `Open` to
/// one of the two ends, which stay (see [`Inner::end`]).
///
/// A cancel is no state of the connection but a one-shot request from the
/// client; it lives inside `Open` because it only means something there. So
/// a cancel cannot be pending on a connection that has ended, nor a close
/// frame be heard on one that is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Frames go both ways. `cancel`: the client sent `{"type": "cancel"}`,
    /// and the next output or input fails once with [`Error::Cancelled`].
    Open { cancel: bool },
    /// The client sent a close frame. Tungstenite has queued the echo, which
    /// [`IOWebsockets::close`] still owes it to complete the closing
    /// handshake.
    ClosedByPeer,
    /// Over, nothing owed: the client vanished or broke the protocol, a
    /// write failed or timed out, the client was idle too long, or the
    /// server closed the connection.
    Gone,
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
            inner: Mutex::new(Inner {
                ws,
                tcp,
                pending: VecDeque::new(),
                state: State::Open { cancel: false },
                complaints: Vec::new(),
                write_timeout: config.write_timeout,
            }),
            request,
            input_timeout: config.input_timeout,
            idle_timeout: config.idle_timeout,
            stopping,
        }
    }

    /// The HTTP request that opened this connection (path, query, headers).
    pub fn request(&self) -> &Request {
        &self.request
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

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves at worst a half-written frame,
        // after which the connection fails on its own; keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends one text frame, after taking in what the client sent meanwhile.
    fn output(&self, text: String) -> Result<()> {
        let mut inner = self.lock();
        self.ready(&mut inner)?;
        inner.write(text)
    }

    /// Checks that output may go on: server running, client there, no cancel.
    fn ready(&self, inner: &mut Inner) -> Result<()> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(Error::ServerStopping);
        }
        inner.poll(self.events);
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
    /// client's, so the close is clean on both sides.
    pub(crate) fn close(&self, code: CloseCode, reason: &str, error: Option<String>) {
        let mut inner = self.lock();
        if !inner.ws.can_write() {
            if inner.state == State::ClosedByPeer {
                // The client closed first; tungstenite queued the echo, which
                // goes out on the next read or flush: send it, completing the
                // closing handshake instead of dropping the socket.
                let _ = inner.tcp.set_nonblocking(false);
                let _ = inner.ws.flush();
            } else if self.stopping.load(Ordering::SeqCst) {
                // Shutdown woke a blocked read by closing the socket's read
                // side, which ends tungstenite's session; the write side is
                // still open, so the client still learns why.
                inner.raw_close(code, reason);
            }
            return;
        }
        let _ = inner.tcp.set_nonblocking(false);
        if let Some(error) = error.filter(|_| inner.is_open()) {
            let frame = if self.events {
                Event::error(error.clone()).to_json()
            } else {
                format!("Error: {error}\n")
            };
            let _ = inner.write(frame);
        }
        let _ = inner.ws.close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = inner.tcp.set_read_timeout(Some(Duration::from_secs(1)));
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            match inner.ws.read() {
                Ok(_) => continue,
                Err(_) => break,
            }
        }
        inner.end();
    }
}

impl Inner {
    fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    /// The connection is over (`Open` becomes `Gone`). A `ClosedByPeer`
    /// connection stays so, whatever fails after: its echo is still owed.
    fn end(&mut self) {
        if self.is_open() {
            self.state = State::Gone;
        }
    }

    /// Whether the client asked to cancel since the last call.
    fn take_cancel(&mut self) -> bool {
        match &mut self.state {
            State::Open { cancel } => std::mem::take(cancel),
            State::ClosedByPeer | State::Gone => false,
        }
    }

    /// A close frame written straight to the socket (servers do not mask).
    fn raw_close(&mut self, code: CloseCode, reason: &str) {
        use std::io::Write;
        let reason = &reason.as_bytes()[..reason.len().min(123)];
        let code = u16::from(code).to_be_bytes();
        let mut frame = vec![0x88, 2 + reason.len() as u8, code[0], code[1]];
        frame.extend_from_slice(reason);
        let socket = self.ws.get_mut();
        let _ = socket.write_all(&frame);
        let _ = socket.flush();
    }

    fn ping(&mut self) -> Result<()> {
        self.ws
            .send(Message::Ping(Default::default()))
            .map_err(|e| {
                self.end();
                ws_error(e)
            })
    }

    /// Writes one frame. The socket's write timeout bounds the wait on a
    /// client that stopped reading; past it the connection is given up, so
    /// what is held for it stays one frame, and the chat ends.
    fn write(&mut self, text: String) -> Result<()> {
        match self.ws.send(Message::text(text)) {
            Ok(()) => Ok(()),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                self.end();
                let _ = self.tcp.shutdown(std::net::Shutdown::Both);
                Err(Error::WriteTimeout(self.write_timeout))
            }
            Err(e) => {
                self.end();
                Err(ws_error(e))
            }
        }
    }

    /// Takes in every frame that has already arrived, without waiting.
    fn poll(&mut self, events: bool) {
        if !self.is_open() || self.tcp.set_nonblocking(true).is_err() {
            return;
        }
        while self.is_open() {
            match self.ws.read() {
                Ok(message) => self.take(message, events),
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => self.fail(e),
            }
        }
        if self.tcp.set_nonblocking(false).is_err() {
            self.end();
        }
    }

    /// Handles one frame from the client.
    fn take(&mut self, message: Message, events: bool) {
        let text = match message {
            Message::Text(text) => text.as_str().to_owned(),
            Message::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Message::Close(_) => {
                self.state = State::ClosedByPeer;
                return;
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return,
        };
        if !events {
            self.pending.push_back(text);
            return;
        }
        match ClientMessage::decode(text) {
            ClientMessage::Answer(answer) => self.pending.push_back(answer),
            ClientMessage::Cancel => {
                if let State::Open { cancel } = &mut self.state {
                    *cancel = true;
                }
            }
            ClientMessage::Complaint(complaint) => self.complaints.push(complaint),
        }
    }

    /// A read error: the connection is over; oversize and invalid text get
    /// the close codes RFC 6455 gives them.
    fn fail(&mut self, error: tungstenite::Error) {
        let code = match error {
            tungstenite::Error::Capacity(_) => Some((CloseCode::Size, "message too big")),
            tungstenite::Error::Utf8(_) => Some((CloseCode::Invalid, "invalid UTF-8")),
            // The client vanished (or the server shut the socket's read side).
            tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            ) => None,
            tungstenite::Error::Protocol(_) => Some((CloseCode::Protocol, "protocol error")),
            _ => None,
        };
        if let Some((code, reason)) = code {
            let _ = self.tcp.set_nonblocking(false);
            let _ = self.ws.close(Some(CloseFrame {
                code,
                reason: reason.into(),
            }));
            let _ = self.ws.flush();
        }
        self.end();
    }

    fn send_complaints(&mut self) -> Result<()> {
        for complaint in std::mem::take(&mut self.complaints) {
            self.write(Event::error(complaint).to_json())?;
        }
        Ok(())
    }
}

/// What one events-mode frame from the client says.
#[derive(Debug, PartialEq, Eq)]
enum ClientMessage {
    /// An answer for `input`: an `input_response` event's value, or a frame
    /// that is not JSON at all (a bare text answer).
    Answer(String),
    /// `{"type": "cancel"}`: stop the work in progress.
    Cancel,
    /// JSON that is no event the server takes: the client gets this as an
    /// `error` event, and the connection goes on.
    Complaint(String),
}

impl ClientMessage {
    fn decode(text: String) -> ClientMessage {
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            return ClientMessage::Answer(text);
        };
        match value.get("type").and_then(Value::as_str) {
            Some("cancel") => ClientMessage::Cancel,
            Some("input_response") => {
                match value.pointer("/content/value").and_then(Value::as_str) {
                    Some(answer) => ClientMessage::Answer(answer.to_owned()),
                    None => ClientMessage::Complaint(
                        "an input_response needs {\"content\": {\"value\": \"…\"}}".to_owned(),
                    ),
                }
            }
            Some(other) => ClientMessage::Complaint(format!(
                "unexpected event type {other:?}: send input_response or cancel"
            )),
            None => ClientMessage::Complaint(
                "expected an event like {\"type\": \"input_response\", \"content\": {\"value\": \"…\"}}"
                    .to_owned(),
            ),
        }
    }
}

fn ws_error(error: tungstenite::Error) -> Error {
    match error {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            Error::ConnectionClosed
        }
        tungstenite::Error::Io(e)
            if matches!(
                e.kind(),
                ErrorKind::BrokenPipe
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::UnexpectedEof
            ) =>
        {
            Error::ConnectionClosed
        }
        other => Error::WebSocket(Box::new(other)),
    }
}

impl IOStream for IOWebsockets {
    fn print(&self, objects: &[&str], sep: &str, end: &str, _flush: bool) -> Result<()> {
        if !self.filter.allows_kind(EventKind::Print) {
            return Ok(());
        }
        if self.events {
            let event = Event::print(objects.iter().copied(), sep, end);
            return self.output(event.to_json());
        }
        self.output(joined(objects, sep, end))
    }

    fn input(&self, prompt: &str, password: bool) -> Result<String> {
        let mut inner = self.lock();
        self.ready(&mut inner)?;
        if self.events {
            inner.write(Event::input_request(prompt, password).to_json())?;
        } else if !prompt.is_empty() {
            inner.write(prompt.to_owned())?;
        }
        let deadline = self.input_timeout.map(|t| Instant::now() + t);
        // While it waits, the server pings; a client silent for the idle
        // timeout (no pong either) is gone, even if TCP does not say so.
        let ping_every = self.idle_timeout / 2;
        let mut heard = Instant::now();
        let mut next_ping = heard + ping_every;
        loop {
            if let Some(answer) = inner.pending.pop_front() {
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

    fn send(&self, event: &Event) -> Result<()> {
        if !self.filter.allows(event) {
            return Ok(());
        }
        if self.events {
            return self.output(event.to_json());
        }
        // The event's console text, a frame per part; not through `print`,
        // which would filter it a second time, as a print.
        for part in event.text_parts() {
            self.output(part.text)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ClientMessage::{self, Answer, Cancel, Complaint};

    fn decode(text: &str) -> ClientMessage {
        ClientMessage::decode(text.to_owned())
    }

    #[test]
    fn answers_are_input_responses_or_bare_text() {
        let response = r#"{"type": "input_response", "content": {"value": "yes"}}"#;
        assert_eq!(decode(response), Answer("yes".into()));
        assert_eq!(
            decode(r#"{"type": "input_response", "content": {"value": ""}}"#),
            Answer(String::new())
        );
        // Not JSON: the frame is the answer, as it came.
        assert_eq!(decode("Paris, please"), Answer("Paris, please".into()));
        assert_eq!(decode(""), Answer(String::new()));
        assert_eq!(decode(r#"{"type": "#), Answer(r#"{"type": "#.into()));
    }

    #[test]
    fn cancel_is_a_cancel_whatever_else_it_holds() {
        assert_eq!(decode(r#"{"type": "cancel"}"#), Cancel);
        assert_eq!(decode(r#"{"type": "cancel", "content": 1}"#), Cancel);
    }

    #[test]
    fn json_that_is_no_event_taken_is_a_complaint() {
        let complains = |text: &str, about: &str| match decode(text) {
            Complaint(c) => assert!(c.contains(about), "{text}: {c}"),
            other => panic!("{text}: {other:?}"),
        };
        complains(r#"{"type": "input_response"}"#, "needs");
        complains(
            r#"{"type": "input_response", "content": {"value": 7}}"#,
            "needs",
        );
        complains(r#"{"type": "input_response", "content": "yes"}"#, "needs");
        complains(
            r#"{"type": "tool_approval_response"}"#,
            "\"tool_approval_response\"",
        );
        complains(r#"{"type": 3}"#, "expected an event");
        complains(r#"{"content": {"value": "yes"}}"#, "expected an event");
        // JSON, but not an object: no bare answer either.
        complains("42", "expected an event");
        complains(r#""yes""#, "expected an event");
        complains("[]", "expected an event");
    }
}
