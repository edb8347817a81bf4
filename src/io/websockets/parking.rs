//! Chats that wait for a human between two HTTP runs: a run that ends in
//! an interrupt (an AG-UI interrupt, an AI SDK approval request) leaves its
//! chat parked here, by thread or chat id, for the input timeout; the run
//! that answers it, arriving at this server, hands the chat its response
//! and answers, and the chat goes on in place (no model call repeated, no
//! rebuild). A run that finds nothing parked rebuilds the chat from the
//! conversation it carries, so any server can serve it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

use crate::io::Encoder;
use crate::io::websockets::run_link::RunSink;
use crate::io::websockets::run_request::Answers;

/// What a run that answers a parked chat gives it: the new response, its
/// encoder, the human's answers; `done` is dropped when the chat is over
/// with the response.
pub(crate) struct Handoff {
    pub sink: Box<dyn RunSink>,
    pub encoder: Box<dyn Encoder>,
    pub answers: Answers,
    pub done: Sender<()>,
}

/// A parked chat: its ticket (which park it is) and its way in.
type Parked = (u64, Sender<Box<Handoff>>);

/// The parked chats by key.
#[derive(Debug)]
pub(crate) struct Parking {
    parked: Mutex<HashMap<String, Parked>>,
    next: AtomicU64,
    max: usize,
}

/// How often a parked chat looks whether the server stops.
const STOP_POLL: Duration = Duration::from_millis(250);

impl Parking {
    /// Room for `max` parked chats.
    pub fn new(max: usize) -> Parking {
        Parking {
            parked: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            max,
        }
    }

    fn parked(&self) -> MutexGuard<'_, HashMap<String, Parked>> {
        self.parked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits, parked under `key`, for the run that answers: at most
    /// `timeout`, and not past a server stop. `None` when nobody came (or
    /// there is no room: the chat ends, and its answer rebuilds it).
    pub fn wait(
        &self,
        key: &str,
        timeout: Duration,
        stopping: &AtomicBool,
    ) -> Option<Box<Handoff>> {
        let (sender, receiver) = bounded(0);
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        {
            let mut parked = self.parked();
            if parked.len() >= self.max && !parked.contains_key(key) {
                return None;
            }
            // A newer run of the same thread replaces an older one.
            parked.insert(key.to_owned(), (ticket, sender));
        }
        let handoff = wait_for(&receiver, timeout, stopping);
        let mut parked = self.parked();
        if parked.get(key).is_some_and(|(t, _)| *t == ticket) {
            parked.remove(key);
        }
        drop(parked);
        // One may have come just as the wait ended.
        handoff.or_else(|| receiver.try_recv().ok())
    }

    /// Hands `handoff` to the chat parked under `key`; gives it back when
    /// none is (or it has just given up).
    pub fn hand_over(&self, key: &str, handoff: Box<Handoff>) -> Result<(), Box<Handoff>> {
        let Some((_, sender)) = self.parked().remove(key) else {
            return Err(handoff);
        };
        sender.send(handoff).map_err(|e| e.into_inner())
    }
}

fn wait_for(
    receiver: &Receiver<Box<Handoff>>,
    timeout: Duration,
    stopping: &AtomicBool,
) -> Option<Box<Handoff>> {
    let deadline = Instant::now() + timeout;
    loop {
        if stopping.load(Ordering::SeqCst) {
            return None;
        }
        let left = deadline.checked_duration_since(Instant::now())?;
        match receiver.recv_timeout(left.min(STOP_POLL)) {
            Ok(handoff) => return Some(handoff),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Where a run's chat waits for the run that answers its interrupt.
pub(crate) trait Parker: Send {
    /// Waits for it: the answering run's response, or `None` (nobody came
    /// in time; the chat ends and the answer, when it comes, rebuilds it).
    fn wait(&mut self) -> Option<Handoff>;
}

/// Parked in the server's [`Parking`], for a run arriving on any
/// connection (the HTTP protocols).
pub(crate) struct Park {
    pub parking: Arc<Parking>,
    pub key: String,
    pub timeout: Duration,
    pub stopping: Arc<AtomicBool>,
}

impl Parker for Park {
    fn wait(&mut self) -> Option<Handoff> {
        self.parking
            .wait(&self.key, self.timeout, &self.stopping)
            .map(|handoff| *handoff)
    }
}
