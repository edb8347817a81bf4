//! One client, on its own thread, from its first byte to its close: the
//! transport (TLS or not), the request and its route, the upgrade, the
//! chat (`on_connect` with the connection as the thread's default stream),
//! and the close code that says how the chat ended.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tungstenite::WebSocket;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{Role, WebSocketConfig};

use crate::io;
use crate::io::websockets::handshake::{accept, read_request};
use crate::io::websockets::routes::{self, Route};
use crate::io::websockets::shared::{ChatSlot, Shared};
use crate::io::websockets::{IOWebsockets, TcpSocket, Transport};

/// What `on_connect` may be: a function of the connection's stream that
/// returns `Ok(())` or an error to report to the client.
pub(super) type OnConnect = dyn Fn(&IOWebsockets) -> std::result::Result<(), String> + Send + Sync;

/// tungstenite's read buffer per connection: small, since thousands of
/// mostly idle chats each hold one, and client messages are short.
const READ_BUFFER: usize = 4 * 1024;

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
    // Counted from before the 101, so a drain that starts once the client
    // is connected waits for its chat.
    let slot = ChatSlot::take(shared);
    if accept(t, key, &request).is_err() {
        return;
    }
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size))
        .read_buffer_size(READ_BUFFER);
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
