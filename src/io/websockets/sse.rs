//! A frontend protocol over HTTP + server-sent events: the response to
//! one run's request, one `data:` event per protocol message, encoded from
//! the chat's events as they happen.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::io::websockets::Transport;
use crate::io::websockets::run_request::{Answers, RunRequest};
use crate::io::{
    Encoder, Event, InputRequestEvent, ToolApprovalRequestEvent, ToolApprovalResponseEvent,
};
use crate::llm::Message;
use crate::{Error, Result};

/// One run's response stream.
pub(crate) struct SseLink {
    transport: Box<dyn Transport>,
    tcp: Arc<TcpStream>,
    encoder: Box<dyn Encoder>,
    /// What ends the stream after the encoder's last message (the AI SDK's
    /// `data: [DONE]`).
    trailer: &'static str,
    /// The run's question, until the chat takes it.
    question: Option<String>,
    /// The conversation before it.
    history: Vec<Message>,
    /// What the human answered to what the previous run waited for.
    answers: Answers,
    /// When the last bytes went out, and how long a silence may last.
    last_write: Instant,
    keep_alive: Duration,
    open: bool,
}

/// The response head: an event stream that proxies must not buffer.
const HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
                    x-accel-buffering: no\r\nconnection: close\r\n";

/// How a protocol's stream is framed besides its messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Framing {
    /// Extra response headers, each ending in CRLF.
    pub headers: &'static str,
    /// What follows the last message.
    pub trailer: &'static str,
    /// The longest silence while the chat waits (a comment ends it).
    pub keep_alive: Duration,
}

impl SseLink {
    /// Answers the request with the event stream's head and the encoder's
    /// opening messages.
    pub fn start(
        mut transport: Box<dyn Transport>,
        tcp: Arc<TcpStream>,
        mut encoder: Box<dyn Encoder>,
        request: RunRequest,
        framing: Framing,
        cors_origin: Option<&str>,
    ) -> Result<SseLink> {
        let mut head = format!("{HEAD}{}", framing.headers);
        if let Some(origin) = cors_origin {
            head.push_str(&format!(
                "access-control-allow-origin: {origin}\r\nvary: origin\r\n"
            ));
        }
        head.push_str("\r\n");
        transport
            .write_all(head.as_bytes())
            .map_err(|_| Error::ConnectionClosed)?;
        let started = encoder.start();
        let mut link = SseLink {
            transport,
            tcp,
            encoder,
            trailer: framing.trailer,
            question: request.question,
            history: request.history,
            answers: request.answers,
            last_write: Instant::now(),
            keep_alive: framing.keep_alive,
            open: true,
        };
        link.write(&started)?;
        Ok(link)
    }

    /// The conversation the frontend sent before the question.
    pub fn history(&self) -> Vec<Message> {
        self.history.clone()
    }

    /// Whether the run continues its conversation instead of asking a new
    /// question (it answers what the previous run waited for).
    pub fn resumes(&self) -> bool {
        self.question.is_none() && !self.history.is_empty()
    }

    /// The run's question, the first time it is asked for.
    pub fn take_question(&mut self) -> Option<String> {
        self.question.take()
    }

    /// The answer to an input request: the human's, when the request
    /// brought one; otherwise the run ends waiting for it.
    pub fn input(&mut self, request: InputRequestEvent) -> Result<String> {
        if let Some(answer) = self.answers.inputs.pop_front() {
            return Ok(answer);
        }
        self.interrupt(&[Event::InputRequest(request)])
    }

    /// The decisions on `requests`: the human's, when the request brought
    /// them all; otherwise the run ends waiting for the rest.
    pub fn ask_approval(
        &mut self,
        requests: &[ToolApprovalRequestEvent],
    ) -> Result<Vec<ToolApprovalResponseEvent>> {
        let waiting: Vec<Event> = requests
            .iter()
            .filter(|r| !self.answers.approvals.contains_key(&r.call_id))
            .map(|r| Event::ToolApprovalRequest(r.clone()))
            .collect();
        if !waiting.is_empty() {
            return self.interrupt(&waiting);
        }
        let mut answers = Vec::new();
        for request in requests {
            let Some(decision) = self.answers.approvals.remove(&request.call_id) else {
                continue; // checked above
            };
            let answer = ToolApprovalResponseEvent::new(&request.request_id, decision, false);
            // The encoder learns what was decided (a denied call is shown
            // as denied, not as failed).
            self.send(&Event::ToolApprovalRequest(request.clone()))?;
            self.send(&Event::ToolApprovalResponse(answer.clone()))?;
            answers.push(answer);
        }
        Ok(answers)
    }

    /// Ends the run waiting for `waiting`; the chat stops with
    /// [`Error::AwaitingHuman`].
    fn interrupt<T>(&mut self, waiting: &[Event]) -> Result<T> {
        let last = self.encoder.interrupt(waiting);
        self.end(&last);
        Err(Error::AwaitingHuman)
    }

    /// Sends what `event` means in the protocol.
    pub fn send(&mut self, event: &Event) -> Result<()> {
        let encoded = self.encoder.encode(event);
        self.write(&encoded)
    }

    /// Fails when the client has gone: the request is over for it.
    pub fn check(&mut self) -> Result<()> {
        if !self.open {
            return Err(Error::ConnectionClosed);
        }
        // An SSE client sends nothing after its body: readable means closed.
        let mut byte = [0u8; 1];
        let _ = self.tcp.set_nonblocking(true);
        let gone = match self.tcp.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted),
        };
        let _ = self.tcp.set_nonblocking(false);
        if gone {
            self.open = false;
            return Err(Error::ConnectionClosed);
        }
        // The chat is waiting (the stream is checked, not written): a
        // comment keeps proxies from taking the silence for a dead stream.
        if self.last_write.elapsed() >= self.keep_alive {
            self.write_raw(": keep-alive\n\n")?;
        }
        Ok(())
    }

    /// Ends the run (unless it has ended already, by an interrupt): well,
    /// or with `error`; then the connection closes.
    pub fn close(&mut self, error: Option<&str>) {
        if !self.open {
            return;
        }
        let last = match error {
            Some(error) => self.encoder.fail(error),
            None => self.encoder.finish(),
        };
        self.end(&last);
    }

    /// Writes the last messages and the trailer, and closes.
    fn end(&mut self, last: &[Value]) {
        let _ = self.write(last);
        if self.open && !self.trailer.is_empty() {
            let _ = self.transport.write_all(self.trailer.as_bytes());
            let _ = self.transport.flush();
        }
        self.open = false;
        let _ = self.tcp.shutdown(std::net::Shutdown::Both);
    }

    /// Writes messages, each as one `data:` event; a write that fails or
    /// waits past the write timeout ends the link.
    fn write(&mut self, messages: &[Value]) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        if !self.open {
            return Err(Error::ConnectionClosed);
        }
        let mut frames = String::new();
        for message in messages {
            frames.push_str("data: ");
            frames.push_str(&message.to_string());
            frames.push_str("\n\n");
        }
        self.write_raw(&frames)
    }

    /// Writes bytes of the stream as they are.
    fn write_raw(&mut self, frames: &str) -> Result<()> {
        self.last_write = Instant::now();
        let written = self
            .transport
            .write_all(frames.as_bytes())
            .and_then(|()| self.transport.flush());
        written.map_err(|e| {
            self.open = false;
            match e.kind() {
                ErrorKind::WouldBlock | ErrorKind::TimedOut => {
                    Error::WriteTimeout(Default::default())
                }
                _ => Error::ConnectionClosed,
            }
        })
    }
}
