//! One client, on its own thread, from its first byte to its close: the
//! transport (TLS or not), the request and its route, the upgrade, the
//! chat (`on_connect` with the connection as the thread's default stream),
//! and the close code that says how the chat ended.

use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;

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
