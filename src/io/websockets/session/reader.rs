//! A session client's reader: what the client sends (answers, cancels,
//! pongs, its close) reaches the session while the chat's thread writes.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::coding::CloseCode;

use crate::io::Event;
use crate::io::websockets::link::{Link, lock};
use crate::io::websockets::session::Session;

/// Reads `client`'s frames into `session` until the client goes, then
/// detaches it. Waits for bytes with `peek`, without the link's lock, so
/// the chat's writes never wait on this read; pings a silent client every
/// half of `idle_timeout`, and gives up on it after the whole.
pub(crate) fn read_client(
    session: &Session,
    client: &Arc<Mutex<Link>>,
    tcp: &TcpStream,
    idle_timeout: Duration,
) {
    let ping_every = (idle_timeout / 2).max(Duration::from_millis(1));
    let mut heard = Instant::now();
    let mut byte = [0u8; 1];
    // Set once: while the client is attached, only this thread reads.
    if tcp.set_read_timeout(Some(ping_every)).is_ok() {
        loop {
            match tcp.peek(&mut byte) {
                Ok(0) => break, // the client closed its side
                Ok(_) => {
                    heard = Instant::now();
                    let (answers, approvals, seen, cancel, mut complaints, open) = {
                        let mut link = lock(client);
                        link.poll(session.events);
                        let answers: Vec<_> = link.pending.drain(..).collect();
                        let approvals: Vec<_> = link.approvals.drain(..).collect();
                        let complaints = std::mem::take(&mut link.complaints);
                        let seen = link.request_seen;
                        (
                            answers,
                            approvals,
                            seen,
                            link.take_cancel(),
                            complaints,
                            link.is_open(),
                        )
                    };
                    // The link's lock is released: publishing takes the
                    // session's lock, then each link's.
                    for answer in answers {
                        complaints.extend(session.answer(answer, seen, client).err());
                    }
                    for answer in approvals {
                        complaints.extend(session.approval(answer).err());
                    }
                    for complaint in complaints {
                        let _ = session.publish(Event::error(complaint).to_json());
                    }
                    if cancel {
                        session.cancel();
                    }
                    if !open {
                        break;
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if heard.elapsed() >= idle_timeout || lock(client).ping().is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    }
    let done = lock(client).done;
    session.detach(client, done);
    let mut link = lock(client);
    if link.is_open() {
        // Silent, or its socket failed: end the link for the chat's writes too.
        link.end();
        let _ = link.tcp.shutdown(std::net::Shutdown::Both);
    } else {
        // The client closed first: complete the closing handshake, then
        // close TCP, as a server does after it (RFC 6455, 7.1.1).
        link.close(CloseCode::Normal, "", None, false);
        let _ = link.tcp.shutdown(std::net::Shutdown::Both);
    }
}
