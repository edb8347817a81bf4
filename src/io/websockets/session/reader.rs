//! A session client's reader: what the client sends (answers, cancels,
//! pongs, its close) reaches the session while the chat's thread writes.
//!
//! A client that joins or resumes a session is read by its own connection's
//! thread ([`read_client`]). The client that opened the session is read by
//! the chat's thread itself ([`Inline`]): before output, as a connection
//! without a session is, and while the chat waits for an answer. That saves
//! a thread (its stack, its start and exit, a switch per frame read) for
//! every session.

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
                    let (open, complaints) = take_in(session, client, false);
                    for complaint in complaints {
                        let _ = session.publish(Event::error(complaint).to_json());
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
    let_go(session, client);
}

/// Takes in the frames `client` sent: its answers and approvals go to the
/// session (one refused becomes a complaint), a cancel stops the chat.
/// `throttled`: before output, at most every few milliseconds (see
/// `Link::poll_before_output`). Returns whether the client is still open,
/// and the complaints, for the caller to publish: publishing takes the
/// session's lock, then each link's, so it must wait until this is done.
pub(super) fn take_in(
    session: &Session,
    client: &Arc<Mutex<Link>>,
    throttled: bool,
) -> (bool, Vec<String>) {
    let (answers, approvals, seen, cancel, mut complaints, open) = {
        let mut link = lock(client);
        if throttled {
            link.poll_before_output(session.events);
        } else {
            link.poll(session.events);
        }
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
    // The link's lock is released: the session's is taken next.
    for answer in answers {
        complaints.extend(session.answer(answer, seen, client).err());
    }
    for answer in approvals {
        complaints.extend(session.approval(answer).err());
    }
    if cancel {
        session.cancel();
    }
    (open, complaints)
}

/// Detaches a client that went (or was given up), and ends its link: a
/// clean close when the client closed first, else a shutdown.
pub(super) fn let_go(session: &Session, client: &Arc<Mutex<Link>>) {
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

/// The session's first client, read by the chat's thread (see the module's
/// documentation). Silence is counted within a wait for an answer, as on a
/// connection without a session: the client has nothing to say while the
/// chat writes.
pub(crate) struct Inline {
    pub(super) client: Arc<Mutex<Link>>,
    tcp: Arc<TcpStream>,
    idle_timeout: Duration,
    heard: Instant,
}

/// What one wait on the first client's socket came to.
pub(super) enum Waited {
    /// Bytes came (and were taken in), or the tick passed.
    Looked(Vec<String>),
    /// The client went, or was silent for the idle timeout.
    Gone,
}

impl Inline {
    /// The first client `client`, over `tcp`; given up when silent for
    /// `idle_timeout` while the chat waits for it.
    pub(crate) fn new(
        client: Arc<Mutex<Link>>,
        tcp: Arc<TcpStream>,
        idle_timeout: Duration,
    ) -> Inline {
        Inline {
            client,
            tcp,
            idle_timeout: idle_timeout.max(Duration::from_millis(2)),
            heard: Instant::now(),
        }
    }

    /// Pings the client at most every half idle timeout (`Link::keep_alive`)
    /// through a chat busy without output (a long tool call, a slow model):
    /// proxies that drop quiet connections see traffic, as when a reader
    /// thread pinged it. A ping that fails ends the link, which the next
    /// look at it finds.
    pub(super) fn keep_alive(&self) {
        let _ = lock(&self.client).keep_alive(self.idle_timeout / 2);
    }

    /// A wait for an answer starts: silence counts from now.
    pub(super) fn start_wait(&mut self) {
        self.heard = Instant::now();
    }

    /// Waits at most `tick` for the client's bytes and takes them in;
    /// pings it every half of the idle timeout of silence.
    pub(super) fn wait(&mut self, session: &Session, tick: Duration) -> Waited {
        let tick = tick.max(Duration::from_millis(1));
        if self.tcp.set_read_timeout(Some(tick)).is_err() {
            return Waited::Gone;
        }
        let mut byte = [0u8; 1];
        match self.tcp.peek(&mut byte) {
            Ok(0) => Waited::Gone, // the client closed its side
            Ok(_) => {
                self.heard = Instant::now();
                match take_in(session, &self.client, false) {
                    (true, complaints) => Waited::Looked(complaints),
                    (false, _) => Waited::Gone,
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let ping_every = self.idle_timeout / 2;
                if self.heard.elapsed() >= self.idle_timeout {
                    Waited::Gone
                } else if self.heard.elapsed() >= ping_every {
                    // Quiet for half the idle timeout: a ping, unless one
                    // went less than that ago.
                    match lock(&self.client).keep_alive(ping_every) {
                        Ok(()) => Waited::Looked(Vec::new()),
                        Err(_) => Waited::Gone,
                    }
                } else {
                    Waited::Looked(Vec::new())
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Waited::Looked(Vec::new()),
            Err(_) => Waited::Gone,
        }
    }
}
