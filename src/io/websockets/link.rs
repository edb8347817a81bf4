//! One websocket link to a client: writes bounded by a timeout, the frames
//! the client sent (answers, cancels, complaints), and the closing handshake.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, Utf8Bytes, WebSocket};

use crate::io::websockets::Transport;
use crate::io::{Event, ToolApprovalResponseEvent};
use crate::{Error, Result};

/// How long a lingering close reads and drops what a client still sends.
const LINGER: Duration = Duration::from_secs(1);

/// One websocket link to a client: the socket, what the client sent that
/// nobody took yet, and where the link is in its life.
pub(crate) struct Link {
    pub(crate) ws: WebSocket<Box<dyn Transport>>,
    /// The TCP socket under the transport: timeouts, polls, shutdown.
    pub(crate) tcp: Arc<TcpStream>,
    /// Answers the client sent before `input` asked, oldest first.
    pub(crate) pending: VecDeque<Answer>,
    /// Tool approval answers not taken yet, oldest first.
    pub(crate) approvals: VecDeque<ToolApprovalResponseEvent>,
    /// The requests waiting for this client's answer (a connection without
    /// a session; a session keeps its own): an answer naming another is
    /// refused (see [`Link::screen`]).
    pub(crate) open: Vec<String>,
    state: State,
    /// Error events owed to the client for frames it got wrong.
    pub(crate) complaints: Vec<String>,
    /// The client closed with 1000: it is done, not just away (a page
    /// being reloaded says 1001; a network cut says nothing).
    pub(crate) done: bool,
    /// Since when a session client has frames waiting that its socket did
    /// not take (see [`Link::offer`]).
    behind_since: Option<Instant>,
    /// The last of its session's input requests this client was shown: its
    /// answers are for that one.
    pub(crate) request_seen: u64,
    /// How long one write may wait on a client that does not read.
    write_timeout: Duration,
    /// When the client's frames were last taken in before an output.
    polled_at: Option<Instant>,
    /// When [`Link::keep_alive`] last pinged the client.
    kept_alive_at: Instant,
}

/// How long a stream of output goes without taking in the client's frames:
/// a bound on how late a cancel (or a client gone quiet) is seen, without
/// two `ioctl`s and a `read` before every token.
const POLL_EVERY: Duration = Duration::from_millis(5);

/// Where the connection is in its life. It only moves forward: `Open` to
/// one of the two ends, which stay (see [`Link::end`]).
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
    /// [`Link::close`] still owes it to complete the closing
    /// handshake.
    ClosedByPeer,
    /// Over, nothing owed: the client vanished or broke the protocol, a
    /// write failed or timed out, the client was idle too long, or the
    /// server closed the connection.
    Gone,
}

impl Link {
    /// A link over `ws`, whose writes wait at most `write_timeout`.
    pub(crate) fn new(
        ws: WebSocket<Box<dyn Transport>>,
        tcp: Arc<TcpStream>,
        write_timeout: Duration,
    ) -> Link {
        Link {
            ws,
            tcp,
            pending: VecDeque::new(),
            approvals: VecDeque::new(),
            open: Vec::new(),
            state: State::Open { cancel: false },
            complaints: Vec::new(),
            done: false,
            behind_since: None,
            request_seen: 0,
            write_timeout,
            polled_at: None,
            kept_alive_at: Instant::now(),
        }
    }

    /// Pings the client when the last such ping is `every` old: a chat busy
    /// without output (a long tool call) keeps proxies that drop quiet
    /// connections from cutting its client, and a quiet client is asked
    /// for a pong no more often than that.
    pub(crate) fn keep_alive(&mut self, every: Duration) -> Result<()> {
        if self.kept_alive_at.elapsed() < every {
            return Ok(());
        }
        self.kept_alive_at = Instant::now();
        self.ping()
    }

    /// Takes in the client's frames before an output, unless that was done
    /// less than [`POLL_EVERY`] ago.
    pub(crate) fn poll_before_output(&mut self, events: bool) {
        let now = Instant::now();
        if self
            .polled_at
            .is_some_and(|at| now.duration_since(at) < POLL_EVERY)
        {
            return;
        }
        self.polled_at = Some(now);
        self.poll(events);
    }

    /// Ends the link with a close frame (after `error_frame`, if any) and
    /// waits briefly for the client's, so the close is clean on both sides.
    /// `stopping`: the server is shutting down. Returns whether the closing
    /// handshake completed: the client has every frame written before.
    pub(crate) fn close(
        &mut self,
        code: CloseCode,
        reason: &str,
        error_frame: Option<String>,
        stopping: bool,
    ) -> bool {
        if !self.ws.can_write() {
            if self.state == State::ClosedByPeer {
                // The client closed first; tungstenite queued the echo, which
                // goes out on the next read or flush: send it, completing the
                // closing handshake instead of dropping the socket.
                let _ = self.tcp.set_nonblocking(false);
                return self.ws.flush().is_ok();
            } else if stopping {
                // Shutdown woke a blocked read by closing the socket's read
                // side, which ends tungstenite's session; the write side is
                // still open, so the client still learns why.
                self.raw_close(code, reason);
            }
            return false;
        }
        let _ = self.tcp.set_nonblocking(false);
        if let Some(frame) = error_frame.filter(|_| self.is_open()) {
            let _ = self.write(frame);
        }
        let _ = self.ws.close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = self.tcp.set_read_timeout(Some(Duration::from_secs(1)));
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut echoed = false;
        while Instant::now() < deadline {
            match self.ws.read() {
                Ok(Message::Close(frame)) => {
                    self.done = frame.is_some_and(|f| f.code == CloseCode::Normal);
                }
                Ok(_) => continue,
                Err(e) => {
                    echoed = matches!(e, tungstenite::Error::ConnectionClosed);
                    break;
                }
            }
        }
        self.end();
        echoed
    }

    pub(crate) fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    /// The connection is over (`Open` becomes `Gone`). A `ClosedByPeer`
    /// connection stays so, whatever fails after: its echo is still owed.
    pub(crate) fn end(&mut self) {
        if self.is_open() {
            self.state = State::Gone;
        }
    }

    /// Whether the client asked to cancel since the last call.
    pub(crate) fn take_cancel(&mut self) -> bool {
        match &mut self.state {
            State::Open { cancel } => std::mem::take(cancel),
            State::ClosedByPeer | State::Gone => false,
        }
    }

    /// A close frame written straight to the socket (servers do not mask).
    pub(crate) fn raw_close(&mut self, code: CloseCode, reason: &str) {
        use std::io::Write;
        let reason = &reason.as_bytes()[..reason.len().min(123)];
        let code = u16::from(code).to_be_bytes();
        let mut frame = vec![0x88, 2 + reason.len() as u8, code[0], code[1]];
        frame.extend_from_slice(reason);
        let socket = self.ws.get_mut();
        let _ = socket.write_all(&frame);
        let _ = socket.flush();
    }

    pub(crate) fn ping(&mut self) -> Result<()> {
        match self.ws.send(Message::Ping(Default::default())) {
            // Queued behind frames a session client has not taken yet.
            Err(tungstenite::Error::Io(e)) if self.behind_since.is_some() && would_block(&e) => {
                Ok(())
            }
            Err(e) => {
                self.end();
                Err(ws_error(e))
            }
            Ok(()) => Ok(()),
        }
    }

    /// Offers a frame to a session client without waiting on it: what the
    /// socket does not take at once waits in tungstenite's buffer (bounded
    /// by its `max_write_buffer_size`) while the chat goes on. A client
    /// behind for longer than the write timeout, or past the buffer, is
    /// given up; its frames are in the session's log for a resume. The
    /// socket's own write timeout is a millisecond for such links.
    ///
    /// `queued`: the frame may wait in the buffer for the next offer or
    /// [`flush_offered`](Link::flush_offered).
    pub(crate) fn offer(&mut self, frame: Utf8Bytes, queued: bool) -> Result<()> {
        // What the socket does not take stays in the buffer; the flush
        // sends what it can.
        let sent = self.ws.write(Message::Text(frame));
        if queued && sent.is_ok() {
            return Ok(());
        }
        let sent = sent.and_then(|()| self.ws.flush());
        self.offered(sent)
    }

    /// Offers what [`offer`](Link::offer) queued.
    pub(crate) fn flush_offered(&mut self) -> Result<()> {
        let flushed = self.ws.flush();
        self.offered(flushed)
    }

    /// What an offer came to: a client behind for longer than the write
    /// timeout, or past the buffer, is given up.
    fn offered(&mut self, sent: tungstenite::Result<()>) -> Result<()> {
        match sent {
            Ok(()) => {
                self.behind_since = None;
                Ok(())
            }
            Err(tungstenite::Error::Io(e)) if would_block(&e) => {
                let since = *self.behind_since.get_or_insert_with(Instant::now);
                if since.elapsed() < self.write_timeout {
                    return Ok(());
                }
                self.end();
                let _ = self.tcp.shutdown(std::net::Shutdown::Both);
                Err(Error::WriteTimeout(self.write_timeout))
            }
            Err(e) => {
                self.end();
                let _ = self.tcp.shutdown(std::net::Shutdown::Both);
                Err(ws_error(e))
            }
        }
    }

    /// Writes one frame. The socket's write timeout bounds the wait on a
    /// client that stopped reading; past it the connection is given up, so
    /// what is held for it stays one frame (and what was queued), and the
    /// chat ends.
    pub(crate) fn write(&mut self, text: String) -> Result<()> {
        self.write_frame(Utf8Bytes::from(text))
    }

    /// Queues one frame in tungstenite's buffer: it goes out with the next
    /// write or [`flush`](Link::flush), or once the buffer holds
    /// `write_buffer_size` bytes (then bounded by the write timeout, as
    /// [`write`](Link::write) is).
    pub(crate) fn queue(&mut self, text: String) -> Result<()> {
        let queued = self.ws.write(Message::Text(Utf8Bytes::from(text)));
        self.written(queued)
    }

    /// [`queue`](Link::queue) the frame when `queued`, else
    /// [`write`](Link::write) it.
    pub(crate) fn write_as(&mut self, text: String, queued: bool) -> Result<()> {
        if queued {
            self.queue(text)
        } else {
            self.write(text)
        }
    }

    /// Writes what [`queue`](Link::queue) left in the buffer.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if !self.is_open() {
            return Err(Error::ConnectionClosed);
        }
        let flushed = self.ws.flush();
        self.written(flushed)
    }

    /// Writes one frame that may also go to other clients (its bytes are
    /// shared, not copied), as [`write`](Link::write) does.
    fn write_frame(&mut self, frame: Utf8Bytes) -> Result<()> {
        let sent = self.ws.send(Message::Text(frame));
        self.written(sent)
    }

    /// What a write to a blocking socket came to: past the write timeout
    /// the connection is given up, so what is held for it stays bounded.
    fn written(&mut self, result: tungstenite::Result<()>) -> Result<()> {
        match result {
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

    /// Waits for the client's next text frame, taken as it came (no
    /// events), at most until `deadline`: pings while it is quiet, and
    /// gives up on one silent (no pong either) for `idle`; `None` once it
    /// has gone, or at the deadline.
    pub(crate) fn next_text(
        &mut self,
        idle: Duration,
        deadline: Option<Instant>,
    ) -> Option<String> {
        let mut heard = Instant::now();
        loop {
            if let Some(answer) = self.pending.pop_front() {
                return Some(answer.text);
            }
            let now = Instant::now();
            if !self.is_open() || heard.elapsed() >= idle || deadline.is_some_and(|d| now >= d) {
                return None;
            }
            let mut wait = (idle / 2).max(Duration::from_millis(1));
            if let Some(deadline) = deadline {
                wait = wait.min(
                    deadline
                        .saturating_duration_since(now)
                        .max(Duration::from_millis(1)),
                );
            }
            self.tcp.set_read_timeout(Some(wait)).ok()?;
            match self.ws.read() {
                Ok(message) => {
                    heard = Instant::now();
                    self.take(message, false);
                }
                Err(tungstenite::Error::Io(e)) if would_block(&e) => {
                    self.ping().ok()?;
                }
                Err(e) => self.fail(e),
            }
        }
    }

    /// Takes in every frame that has already arrived, without waiting.
    pub(crate) fn poll(&mut self, events: bool) {
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
    pub(crate) fn take(&mut self, message: Message, events: bool) {
        let text = match message {
            Message::Text(text) => text.as_str().to_owned(),
            Message::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Message::Close(frame) => {
                self.state = State::ClosedByPeer;
                self.done = frame.is_some_and(|f| f.code == CloseCode::Normal);
                return;
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return,
        };
        if !events {
            self.pending.push_back(Answer {
                text,
                request_id: None,
            });
            return;
        }
        match ClientMessage::decode(text) {
            ClientMessage::Answer(answer) => self.pending.push_back(answer),
            ClientMessage::Approval(answer) => self.approvals.push_back(*answer),
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
    pub(crate) fn fail(&mut self, error: tungstenite::Error) {
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
            self.linger();
        }
        self.end();
    }

    /// A lingering close: after a close frame the server sent first, the
    /// client may still be sending (the rest of an oversize message).
    /// Closing the socket with its bytes unread would reset the connection,
    /// and the client could lose the close frame with its code. So: end the
    /// write side (the close frame goes out, then FIN) and read and drop
    /// what comes, until the client closes or for at most a second.
    fn linger(&mut self) {
        use std::io::Read;
        let _ = self.tcp.shutdown(std::net::Shutdown::Write);
        let deadline = Instant::now() + LINGER;
        let mut sink = [0u8; 8192];
        let mut socket = &*self.tcp;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .is_err()
            {
                break;
            }
            match socket.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }

    /// Refuses the answers that name a request not waiting for one (stale,
    /// or sent twice after a reconnect): each becomes a complaint, and
    /// never an answer to a later request.
    pub(crate) fn screen(&mut self) {
        let open = &self.open;
        let complaints = &mut self.complaints;
        self.pending.retain(|answer| match &answer.request_id {
            Some(id) if !open.contains(id) => {
                complaints.push(not_waiting("input", id));
                false
            }
            _ => true,
        });
        self.approvals.retain(|answer| {
            let waiting = open.contains(&answer.request_id);
            if !waiting {
                complaints.push(not_waiting("tool approval", &answer.request_id));
            }
            waiting
        });
    }

    pub(crate) fn send_complaints(&mut self) -> Result<()> {
        for complaint in std::mem::take(&mut self.complaints) {
            self.write(Event::error(complaint).to_json())?;
        }
        Ok(())
    }
}

/// The complaint for an answer to a request that is not waiting for one.
pub(crate) fn not_waiting(kind: &str, request_id: &str) -> String {
    format!("no {kind} request {request_id:?} is waiting for an answer")
}

/// An answer for `input`, and the request it names, if it names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub text: String,
    pub request_id: Option<String>,
}

/// What one events-mode frame from the client says.
#[derive(Debug, PartialEq)]
enum ClientMessage {
    /// An answer for `input`: an `input_response` event's value (and the
    /// request it names), or a frame that is not JSON at all (a bare text
    /// answer).
    Answer(Answer),
    /// A `tool_approval_response` event.
    Approval(Box<ToolApprovalResponseEvent>),
    /// `{"type": "cancel"}`: stop the work in progress.
    Cancel,
    /// JSON that is no event the server takes: the client gets this as an
    /// `error` event, and the connection goes on.
    Complaint(String),
}

impl ClientMessage {
    fn decode(text: String) -> ClientMessage {
        let Ok(mut value) = serde_json::from_str::<Value>(&text) else {
            return ClientMessage::Answer(Answer {
                text,
                request_id: None,
            });
        };
        match value.get("type").and_then(Value::as_str) {
            Some("cancel") => ClientMessage::Cancel,
            Some("input_response") => {
                let request_id = match value.pointer("/content/request_id") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(id)) => Some(id.clone()),
                    Some(_) => {
                        return ClientMessage::Complaint(
                            "an input_response's request_id must be a string".to_owned(),
                        );
                    }
                };
                match value.pointer("/content/value").and_then(Value::as_str) {
                    Some(answer) => ClientMessage::Answer(Answer {
                        text: answer.to_owned(),
                        request_id,
                    }),
                    None => ClientMessage::Complaint(
                        "an input_response needs {\"content\": {\"value\": \"…\"}}".to_owned(),
                    ),
                }
            }
            Some("tool_approval_response") => {
                let content = value.get_mut("content").map(Value::take).unwrap_or_default();
                match serde_json::from_value::<ToolApprovalResponseEvent>(content) {
                    Ok(answer) => match answer.validate() {
                        Ok(()) => ClientMessage::Approval(Box::new(answer)),
                        Err(why) => ClientMessage::Complaint(why),
                    },
                    Err(e) => ClientMessage::Complaint(format!(
                        "a tool_approval_response needs {{\"content\": {{\"request_id\": \"…\", \
                         \"decision\": \"approve\" | \"deny\" | \"edit\", …}}}}: {e}"
                    )),
                }
            }
            Some(other) => ClientMessage::Complaint(format!(
                "unexpected event type {other:?}: send input_response, \
                 tool_approval_response or cancel"
            )),
            None => ClientMessage::Complaint(
                "expected an event like {\"type\": \"input_response\", \"content\": {\"value\": \"…\"}}"
                    .to_owned(),
            ),
        }
    }
}

pub(crate) fn ws_error(error: tungstenite::Error) -> Error {
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

/// Locks a link shared between a chat and a client's reader. A panic while
/// it was held leaves at worst a half-written frame, after which the link
/// fails on its own; keep going.
pub(crate) fn lock(link: &std::sync::Mutex<Link>) -> std::sync::MutexGuard<'_, Link> {
    link.lock().unwrap_or_else(|p| p.into_inner())
}

/// A write that the socket did not take in its timeout.
fn would_block(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tungstenite::protocol::Role;
    use tungstenite::{Message, WebSocket};

    use super::ClientMessage::{self, Approval, Cancel, Complaint};
    use super::Link;
    use crate::io::Decision;

    /// The server's side of a socket, counting the writes made to it.
    struct Counting(Arc<TcpStream>, Arc<AtomicUsize>);

    impl Read for Counting {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            (&*self.0).read(buf)
        }
    }

    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.1.fetch_add(1, Ordering::SeqCst);
            (&*self.0).write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn queued_frames_go_out_in_one_write_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let client = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
        let (server, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
        let server = Arc::new(server);
        let writes = Arc::new(AtomicUsize::new(0));
        let transport = Box::new(Counting(server.clone(), writes.clone()));
        let ws = WebSocket::from_raw_socket(transport as _, Role::Server, None);
        let mut link = Link::new(ws, server, Duration::from_secs(5));
        let mut reader = WebSocket::from_raw_socket(client, Role::Client, None);

        for i in 0..10 {
            link.queue(format!("token {i}"))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(writes.load(Ordering::SeqCst), 0, "queued, not written");
        link.flush().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(writes.load(Ordering::SeqCst), 1, "ten frames, one write");
        // A frame written after queued ones takes them along, in order.
        for i in 10..13 {
            link.queue(format!("token {i}"))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        link.write("the end".to_owned())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(writes.load(Ordering::SeqCst), 2);
        link.flush().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(writes.load(Ordering::SeqCst), 2, "nothing left to flush");

        let mut got = Vec::new();
        while got.len() < 14 {
            match reader.read() {
                Ok(Message::Text(text)) => got.push(text.as_str().to_owned()),
                other => panic!("{other:?}"),
            }
        }
        let mut expected: Vec<String> = (0..13).map(|i| format!("token {i}")).collect();
        expected.push("the end".to_owned());
        assert_eq!(got, expected);
    }

    fn decode(text: &str) -> ClientMessage {
        ClientMessage::decode(text.to_owned())
    }

    #[allow(non_snake_case)]
    fn Answer(text: String) -> ClientMessage {
        ClientMessage::Answer(super::Answer {
            text,
            request_id: None,
        })
    }

    #[test]
    fn answers_may_name_their_request() {
        let named =
            r#"{"type": "input_response", "content": {"value": "yes", "request_id": "r7"}}"#;
        assert_eq!(
            decode(named),
            ClientMessage::Answer(super::Answer {
                text: "yes".into(),
                request_id: Some("r7".into())
            })
        );
        let bad = r#"{"type": "input_response", "content": {"value": "yes", "request_id": 7}}"#;
        assert!(matches!(decode(bad), Complaint(c) if c.contains("request_id")));
    }

    #[test]
    fn approvals_are_decoded_and_checked() {
        let deny = r#"{"type": "tool_approval_response", "content": {"request_id": "r", "decision": "deny", "reason": "no"}}"#;
        match decode(deny) {
            Approval(a) => {
                assert_eq!(
                    a.decision,
                    Decision::Deny {
                        reason: Some("no".into())
                    }
                );
                assert_eq!(a.request_id, "r");
            }
            other => panic!("{other:?}"),
        }
        let complains = |text: &str, about: &str| match decode(text) {
            Complaint(c) => assert!(c.contains(about), "{text}: {c}"),
            other => panic!("{text}: {other:?}"),
        };
        complains(r#"{"type": "tool_approval_response"}"#, "needs");
        complains(
            r#"{"type": "tool_approval_response", "content": {"request_id": "r", "decision": "perhaps"}}"#,
            "needs",
        );
        complains(
            r#"{"type": "tool_approval_response", "content": {"request_id": "r", "decision": "edit", "arguments": [1]}}"#,
            "JSON object",
        );
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
        complains(r#"{"type": "tool_approval"}"#, "\"tool_approval\"");
        complains(r#"{"type": 3}"#, "expected an event");
        complains(r#"{"content": {"value": "yes"}}"#, "expected an event");
        // JSON, but not an object: no bare answer either.
        complains("42", "expected an event");
        complains(r#""yes""#, "expected an event");
        complains("[]", "expected an event");
    }
}
