//! The accept loop: admits each connection to its own thread, or, past
//! [`ServerConfig::max_connections`](super::ServerConfig::max_connections),
//! hands it to the one thread that answers 503.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use crate::io::websockets::handshake::{read_request, respond};
use crate::io::websockets::serve::{Deadline, OnConnect, serve};
use crate::io::websockets::shared::Shared;

/// How long the accept loop pauses after a failed accept (e.g. EMFILE).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Refused connections wait here for the one thread that answers them 503.
const REFUSAL_QUEUE: usize = 64;

/// The longest a refused client may take to send its request: refusals
/// share one thread, so a slow one must not hold up the rest for long.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// Accepts until the server stops; then waits for the refusals queued.
pub(super) fn accept_loop(listener: TcpListener, shared: Arc<Shared>, on_connect: Arc<OnConnect>) {
    let (refuse, refused) = mpsc::sync_channel::<TcpStream>(REFUSAL_QUEUE);
    let refuser = {
        let timeout = shared.config.handshake_timeout.min(REFUSAL_TIMEOUT);
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
    // Held until the new thread is recorded, so shutdown joins it too.
    let mut threads = shared.threads();
    threads.retain(|t| !t.is_finished());
    let id = shared.next_id();
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
            shared2.connection_ended(id);
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
        let _ = stream.set_write_timeout(Some(timeout));
        // Read the request first, so closing does not reset the connection
        // before the client has read the answer.
        let deadline = Instant::now() + timeout;
        let _ = read_request(&mut Deadline::new(stream, stream, deadline), None);
        respond(
            &mut stream,
            503,
            "text/plain",
            "server busy: too many connections\n",
        );
    }
    let _ = stream.shutdown(Shutdown::Write);
}
