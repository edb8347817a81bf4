//! Server-sent events: a run's messages as the response to its HTTP
//! request, one `data:` event each, and comments while the chat waits.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::sync::Arc;

use crate::io::websockets::Transport;
use crate::io::websockets::run_link::RunSink;
use crate::{Error, Result};

/// The response head: an event stream that proxies must not buffer.
const HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
                    x-accel-buffering: no\r\nconnection: close\r\n";

/// How a protocol's event stream differs from another's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Framing {
    /// Extra response headers, each ending in CRLF.
    pub headers: &'static str,
    /// What follows the last message (the AI SDK's `data: [DONE]`).
    pub trailer: &'static str,
}

/// A run's event stream over one HTTP response.
pub(crate) struct SseSink {
    transport: Box<dyn Transport>,
    tcp: Arc<TcpStream>,
    trailer: &'static str,
    /// Queued events not written yet (at most about [`QUEUED_BYTES`]).
    queued: String,
}

/// How many bytes of queued events wait for a flush at most.
const QUEUED_BYTES: usize = 16 * 1024;

impl SseSink {
    /// Answers the request with the event stream's head (naming
    /// `cors_origin` when the server allows the request's origin).
    pub fn start(
        mut transport: Box<dyn Transport>,
        tcp: Arc<TcpStream>,
        framing: Framing,
        cors_origin: Option<&str>,
    ) -> Result<SseSink> {
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
        Ok(SseSink {
            transport,
            tcp,
            trailer: framing.trailer,
            queued: String::new(),
        })
    }

    /// Writes what was queued, then `bytes`.
    fn write(&mut self, bytes: &str) -> Result<()> {
        self.queued.push_str(bytes);
        self.write_queued()
    }

    /// Writes what was queued, if anything.
    fn write_queued(&mut self) -> Result<()> {
        if self.queued.is_empty() {
            return Ok(());
        }
        let written = self
            .transport
            .write_all(self.queued.as_bytes())
            .and_then(|()| self.transport.flush());
        self.queued.clear();
        written.map_err(|e| match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => Error::WriteTimeout(Default::default()),
            _ => Error::ConnectionClosed,
        })
    }
}

impl RunSink for SseSink {
    fn send(&mut self, messages: &mut Vec<String>, queued: bool) -> Result<()> {
        for message in messages.drain(..) {
            self.queued.push_str("data: ");
            self.queued.push_str(&message);
            self.queued.push_str("\n\n");
        }
        if queued && self.queued.len() < QUEUED_BYTES {
            return Ok(());
        }
        self.write_queued()
    }

    fn flush(&mut self) -> Result<()> {
        self.write_queued()
    }

    fn keep_alive(&mut self) -> Result<()> {
        self.write(": keep-alive\n\n")
    }

    fn check(&mut self) -> Result<()> {
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
            return Err(Error::ConnectionClosed);
        }
        Ok(())
    }

    fn end(&mut self) {
        if !self.trailer.is_empty() {
            let _ = self.write(self.trailer);
        }
        let _ = self.tcp.shutdown(std::net::Shutdown::Both);
    }
}
