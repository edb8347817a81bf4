//! Sessions: a chat that outlives its connection. The chat's thread writes
//! every frame to the session, which numbers it, keeps the recent ones for a
//! resume and writes it to each attached client; clients come and go.

mod id;
mod log;
mod reader;
mod registry;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use tungstenite::Utf8Bytes;
use tungstenite::protocol::frame::coding::CloseCode;

pub(crate) use id::SessionId;
use log::FrameLog;
pub(crate) use reader::{Inline, read_client};
use reader::{Waited, let_go, take_in};
pub(crate) use registry::{Opened, SessionRequest, Sessions};

use crate::io::websockets::link::{self, Answer, Link, lock};
use crate::io::{
    Event, Filter, InputResponseEvent, MissedEventsEvent, Pending, ToolApprovalRequestEvent,
    ToolApprovalResponseEvent,
};
use crate::{Error, Result};

/// What happens to a session's chat when its last client goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnDisconnect {
    /// The chat goes on for the detach grace; its frames wait for a resume.
    Continue,
    /// The chat stops at its next output, as a connection without a session.
    Cancel,
}

/// Answers waiting for `input`, at most: a client flooding answers is
/// told so, and nothing grows without bound.
const MAX_PENDING_ANSWERS: usize = 64;

const TOO_MANY: &str = "too many answers wait already; this one was dropped";

/// How often a chat waiting for input looks at the clock (grace, cancel).
const INPUT_TICK: Duration = Duration::from_millis(200);

/// How often a chat waiting on its first client's socket looks for the
/// answers of the others, while others are attached: their readers cannot
/// wake a thread blocked on another socket.
const JOINED_TICK: Duration = Duration::from_millis(20);

/// One session: its mode and filter, its frames, its clients.
pub(crate) struct Session {
    pub id: SessionId,
    /// Events mode (else text mode): every client of the session has it.
    pub events: bool,
    /// What the clients asked to receive: every client of the session has it.
    pub filter: Filter,
    on_disconnect: OnDisconnect,
    grace: Duration,
    input_timeout: Option<Duration>,
    stopping: Arc<AtomicBool>,
    /// The server's count of detached sessions, and its limit.
    detached: Arc<AtomicUsize>,
    max_detached: usize,
    state: Mutex<State>,
    /// A client asked to cancel: the next output or input fails once.
    cancel: AtomicBool,
    /// Answers from clients, and wakeups for a chat waiting on them.
    answers: (Sender<Wake>, Receiver<Wake>),
    /// The first client, while the chat's thread reads it (only that
    /// thread takes this lock).
    inline: Mutex<Option<Inline>>,
}

/// What wakes a chat waiting for input.
enum Wake {
    /// A client's answer: the answer, the input request the client had been
    /// shown last, and which client (its link's address) sent it.
    Answer(Answer, u64, usize),
    /// A client's tool approval answer.
    Approval(Box<ToolApprovalResponseEvent>),
    /// Something changed (a cancel, the last client left): look again.
    Look,
}

struct State {
    log: FrameLog,
    clients: Vec<Arc<Mutex<Link>>>,
    /// When the last client went (`None` while one is attached).
    detached_since: Option<Instant>,
    /// The chat is over, with this close: a client that resumes gets the
    /// frames it missed, then this close.
    ended: Option<(CloseCode, String)>,
    /// The last client closed with 1000: it is done, nobody comes back.
    done: bool,
    /// When the registry may forget the session: set once its chat has
    /// ended and its clients were closed (later when one may come back).
    forget_at: Option<Instant>,
    /// Counted among the server's detached sessions.
    counted: bool,
    /// Input requests made so far (the open one, while one is open).
    requests: u64,
    /// The last request answered, and by which client.
    answered: (u64, Option<usize>),
    /// The ids of the requests waiting for an answer (events mode): an
    /// answer naming another is refused.
    open: Vec<String>,
    /// Detached when the server already had its most detached sessions:
    /// the chat stops as if its client had cancelled.
    crowded_out: bool,
}

/// The settings a new session takes from the server's configuration.
pub(crate) struct SessionConfig {
    pub events: bool,
    pub filter: Filter,
    pub on_disconnect: OnDisconnect,
    pub grace: Duration,
    pub replay_bytes: usize,
    pub input_timeout: Option<Duration>,
    pub stopping: Arc<AtomicBool>,
    /// The server's count of detached sessions, shared by all of them.
    pub detached: Arc<AtomicUsize>,
    pub max_detached: usize,
}

impl Session {
    /// A session with no client yet.
    pub fn new(id: SessionId, config: SessionConfig) -> Session {
        Session {
            id,
            events: config.events,
            filter: config.filter,
            on_disconnect: config.on_disconnect,
            grace: config.grace,
            input_timeout: config.input_timeout,
            stopping: config.stopping,
            detached: config.detached,
            max_detached: config.max_detached,
            state: Mutex::new(State {
                log: FrameLog::new(config.replay_bytes),
                clients: Vec::new(),
                detached_since: Some(Instant::now()),
                ended: None,
                done: false,
                forget_at: None,
                counted: false,
                crowded_out: false,
                requests: 0,
                answered: (0, None),
                open: Vec::new(),
            }),
            cancel: AtomicBool::new(false),
            answers: crossbeam_channel::bounded(MAX_PENDING_ANSWERS),
            inline: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a whole log and client list.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn inline_slot(&self) -> MutexGuard<'_, Option<Inline>> {
        self.inline.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// From now on the chat's thread reads its first client (already
    /// attached): before output, and while it waits for an answer.
    pub fn read_inline(&self, inline: Inline) {
        *self.inline_slot() = Some(inline);
    }

    /// Takes in what the first client sent, before output: at most every
    /// few milliseconds, as a connection without a session does; and keeps
    /// the connection alive through a chat that is busy without output
    /// (`check` is called while a tool runs).
    fn take_inline(&self) {
        let mut slot = self.inline_slot();
        let Some(inline) = slot.as_ref() else {
            return;
        };
        let (open, complaints) = take_in(self, &inline.client, true);
        if open {
            inline.keep_alive();
        }
        let gone = if open { None } else { slot.take() };
        drop(slot);
        self.settle_inline(gone, complaints);
    }

    /// Waits at most `wait` on the first client's socket, when the chat's
    /// thread reads it; `false` when it does not (the chat waits on the
    /// answers' channel).
    fn wait_inline(&self, wait: Duration) -> bool {
        let mut slot = self.inline_slot();
        let Some(inline) = slot.as_mut() else {
            return false;
        };
        let tick = if self.lock().clients.len() > 1 {
            wait.min(JOINED_TICK)
        } else {
            wait
        };
        match inline.wait(self, tick) {
            Waited::Looked(complaints) => {
                drop(slot);
                self.settle_inline(None, complaints);
            }
            Waited::Gone => {
                let gone = slot.take();
                drop(slot);
                self.settle_inline(gone, Vec::new());
            }
        }
        true
    }

    /// After the first client was read: lets it go if it went, and tells
    /// it what it got wrong.
    fn settle_inline(&self, gone: Option<Inline>, complaints: Vec<String>) {
        if let Some(inline) = gone {
            let_go(self, &inline.client);
        }
        for complaint in complaints {
            let _ = self.publish_now(Event::error(complaint).to_json(), false);
        }
    }

    /// A wait for an answer starts: the first client's silence counts
    /// from now.
    fn start_wait(&self) {
        if let Some(inline) = self.inline_slot().as_mut() {
            inline.start_wait();
        }
    }

    /// Whether the chat may go on: server running, no cancel, and a client
    /// attached, or one may still come back.
    fn ready(&self, state: &State) -> Result<()> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(Error::ServerStopping);
        }
        if self.cancel.swap(false, Ordering::SeqCst) {
            return Err(Error::Cancelled);
        }
        match (state.detached_since, self.on_disconnect) {
            (None, _) => Ok(()),
            (Some(_), _) if state.done || state.crowded_out => Err(Error::ConnectionClosed),
            (Some(_), OnDisconnect::Cancel) => Err(Error::ConnectionClosed),
            (Some(since), OnDisconnect::Continue) if since.elapsed() >= self.grace => {
                Err(Error::ConnectionClosed)
            }
            (Some(_), OnDisconnect::Continue) => Ok(()),
        }
    }

    /// Whether the chat may go on (see [`IOStream::check`](crate::io::IOStream::check)).
    pub fn check(&self) -> Result<()> {
        self.take_inline();
        self.ready(&self.lock())
    }

    /// Sends one frame: numbered, kept, written to every attached client. A
    /// client whose write fails (gone, or past the write timeout) is detached;
    /// its frames wait in the log.
    pub fn publish(&self, frame: String) -> Result<()> {
        self.publish_frame(frame, false)
    }

    /// [`publish`](Self::publish), leaving the frame in each client's
    /// buffer until the next publish or [`flush`](Self::flush).
    pub fn queue(&self, frame: String) -> Result<()> {
        self.publish_frame(frame, true)
    }

    /// Offers the clients what [`queue`](Self::queue) left in their buffers.
    pub fn flush(&self) -> Result<()> {
        self.take_inline();
        let mut state = self.lock();
        self.ready(&state)?;
        state
            .clients
            .retain(|client| lock(client).flush_offered().is_ok());
        self.check_detached(&mut state);
        Ok(())
    }

    fn publish_frame(&self, frame: String, queued: bool) -> Result<()> {
        self.take_inline();
        self.publish_now(frame, queued)
    }

    /// [`publish_frame`](Self::publish_frame), without reading the first
    /// client first.
    fn publish_now(&self, frame: String, queued: bool) -> Result<()> {
        let mut state = self.lock();
        self.ready(&state)?;
        state.log.push(&frame);
        let frame = Utf8Bytes::from(frame);
        // Offered, not waited for: a slow client never slows the chat.
        state
            .clients
            .retain(|client| lock(client).offer(frame.clone(), queued).is_ok());
        self.check_detached(&mut state);
        Ok(())
    }

    /// The session is detached once its last client has been given up.
    fn check_detached(&self, state: &mut State) {
        if state.clients.is_empty() && state.detached_since.is_none() {
            self.became_detached(state);
        }
    }

    /// The last client has gone: the session waits for one, counted among
    /// the server's detached sessions, unless there are too many already.
    fn became_detached(&self, state: &mut State) {
        state.detached_since = Some(Instant::now());
        if state.ended.is_some() || state.counted {
            return;
        }
        let before = self.detached.fetch_add(1, Ordering::SeqCst);
        state.counted = true;
        state.crowded_out = before >= self.max_detached;
    }

    /// The session is not detached any more (a client came back, or its
    /// chat ended).
    fn not_detached(&self, state: &mut State) {
        if std::mem::take(&mut state.counted) {
            self.detached.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Shows `prompt` (a frame, when there is one) and waits for an answer
    /// from any client, attached now or later, at most the input timeout.
    /// `request_id`: the id the prompt's `input_request` carries; an answer
    /// naming another is refused.
    ///
    /// The first answer wins. An answer names, through its client, the
    /// request that client was shown last; one to a request another client
    /// already answered came too late and is dropped (the winner's own next
    /// message, typed ahead, is not).
    pub fn input(&self, prompt: Option<String>, request_id: Option<String>) -> Result<String> {
        let request = {
            let mut state = self.lock();
            state.requests += 1;
            for client in &state.clients {
                lock(client).request_seen = state.requests;
            }
            state.open = request_id.iter().cloned().collect();
            state.requests
        };
        self.start_wait();
        let answer = self.await_input(prompt, request, request_id.as_deref());
        self.lock().open.clear();
        answer
    }

    fn await_input(
        &self,
        prompt: Option<String>,
        request: u64,
        id: Option<&str>,
    ) -> Result<String> {
        if let Some(prompt) = prompt {
            self.publish(prompt)?;
        }
        let deadline = self.deadline();
        loop {
            match self.next_wake(deadline)? {
                None | Some(Wake::Look) => continue,
                Some(Wake::Approval(answer)) => {
                    self.publish(not_waiting("tool approval", &answer.request_id))?;
                }
                Some(Wake::Answer(answer, seen, from)) => {
                    if let Some(named) = answer.request_id.as_deref().filter(|n| Some(*n) != id) {
                        self.publish(not_waiting("input", named))?;
                        continue;
                    }
                    {
                        let mut state = self.lock();
                        let (last, winner) = state.answered;
                        if last > 0 && seen <= last && winner != Some(from) {
                            continue; // another client answered that request first
                        }
                        state.answered = (request, Some(from));
                    }
                    if self.events {
                        // Every client sees which answer was taken.
                        let mut response = InputResponseEvent::new(answer.text.clone());
                        response.request_id = id.map(str::to_owned);
                        self.publish(Event::InputResponse(response).to_json())?;
                    }
                    return Ok(answer.text);
                }
            }
        }
    }

    /// Publishes each request and takes answers from any client, in any
    /// order, at most the input timeout; each answer taken is published
    /// (every client sees it, and a client that resumes knows the request
    /// is settled), one naming no waiting request gets an `error` event.
    pub fn ask_approval(
        &self,
        requests: &[ToolApprovalRequestEvent],
    ) -> Result<Vec<ToolApprovalResponseEvent>> {
        self.lock().open = requests.iter().map(|r| r.request_id.clone()).collect();
        self.start_wait();
        let answers = self.await_approval(requests);
        self.lock().open.clear();
        answers
    }

    fn await_approval(
        &self,
        requests: &[ToolApprovalRequestEvent],
    ) -> Result<Vec<ToolApprovalResponseEvent>> {
        for request in requests {
            self.publish(Event::ToolApprovalRequest(request.clone()).to_json())?;
        }
        let mut pending = Pending::new(requests);
        let deadline = self.deadline();
        while pending.open().next().is_some() {
            match self.next_wake(deadline)? {
                None | Some(Wake::Look) => {}
                Some(Wake::Answer(answer, ..)) => {
                    let named = answer.request_id.unwrap_or_default();
                    self.publish(not_waiting("input", &named))?;
                }
                Some(Wake::Approval(answer)) => match pending.take(*answer) {
                    Ok(settled) => {
                        for answer in settled {
                            self.lock().open.retain(|id| *id != answer.request_id);
                            self.publish(Event::ToolApprovalResponse(answer).to_json())?;
                        }
                    }
                    Err(why) => self.publish(Event::error(why).to_json())?,
                },
            }
        }
        pending.finish().ok_or(Error::InputClosed)
    }

    fn deadline(&self) -> Option<Instant> {
        self.input_timeout.map(|t| Instant::now() + t)
    }

    /// The next answer, or `None` after a tick without one (or a wakeup to
    /// look again, which is never returned); fails when the
    /// chat may not go on or `deadline` has passed.
    fn next_wake(&self, deadline: Option<Instant>) -> Result<Option<Wake>> {
        self.ready(&self.lock())?;
        let mut wait = INPUT_TICK;
        if let Some(deadline) = deadline {
            match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => wait = wait.min(left),
                _ => return Err(Error::InputTimeout(self.input_timeout.unwrap_or_default())),
            }
        }
        match self.answers.1.try_recv() {
            Ok(Wake::Look) => return Ok(None),
            Ok(wake) => return Ok(Some(wake)),
            Err(TryRecvError::Disconnected) => return Err(Error::ConnectionClosed),
            Err(TryRecvError::Empty) => {}
        }
        if self.wait_inline(wait) {
            return Ok(None); // what it took in is on the channel: look again
        }
        match self.answers.1.recv_timeout(wait) {
            Ok(Wake::Look) | Err(RecvTimeoutError::Timeout) => Ok(None),
            Ok(wake) => Ok(Some(wake)),
            Err(RecvTimeoutError::Disconnected) => Err(Error::ConnectionClosed),
        }
    }

    /// An answer from `client`, which was shown request `seen` last; why
    /// not (the text of an `error` event), when it names a request not
    /// waiting or too many wait already.
    pub fn answer(
        &self,
        answer: Answer,
        seen: u64,
        client: &Arc<Mutex<Link>>,
    ) -> std::result::Result<(), String> {
        if let Some(id) = &answer.request_id {
            if !self.lock().open.contains(id) {
                return Err(link::not_waiting("input", id));
            }
        }
        let from = Arc::as_ptr(client) as usize;
        self.answers
            .0
            .try_send(Wake::Answer(answer, seen, from))
            .map_err(|_| TOO_MANY.to_owned())
    }

    /// A tool approval answer from a client; why not, as for [`answer`](Session::answer).
    pub fn approval(&self, answer: ToolApprovalResponseEvent) -> std::result::Result<(), String> {
        if !self.lock().open.contains(&answer.request_id) {
            return Err(link::not_waiting("tool approval", &answer.request_id));
        }
        self.answers
            .0
            .try_send(Wake::Approval(Box::new(answer)))
            .map_err(|_| TOO_MANY.to_owned())
    }

    /// A client asked to stop the chat: it stops, whatever the policy.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// Makes a chat waiting for input look again at once (a full queue
    /// holds answers, which wake it anyway).
    fn wake(&self) {
        let _ = self.answers.0.try_send(Wake::Look);
    }

    /// Attaches `client`, which already has the first `after` frames: it
    /// gets the kept frames after those (first a `missed_events` event in
    /// events mode when some were evicted), then the live ones, with none
    /// lost or repeated. When the chat is already over, it gets what it
    /// missed and the chat's close; then this returns `Ok(false)`.
    pub fn attach(&self, client: Arc<Mutex<Link>>, after: u64) -> Result<bool> {
        let mut state = self.lock();
        let backlog = state.log.after(after).ok_or(Error::ConnectionClosed)?;
        {
            let mut link = lock(&client);
            if backlog.missed > 0 && self.events {
                link.offer(Utf8Bytes::from(missed_events(backlog.missed)), true)?;
            }
            // The backlog in as few writes as the socket takes.
            for frame in backlog.frames {
                link.offer(frame, true)?;
            }
            link.flush_offered()?;
            if let Some((code, reason)) = &state.ended {
                let stopping = self.stopping.load(Ordering::SeqCst);
                link.close(*code, reason, None, stopping);
                return Ok(false);
            }
        }
        // It has the open request (or the last) in what it got.
        lock(&client).request_seen = state.requests;
        state.clients.push(client);
        state.detached_since = None;
        state.done = false;
        self.not_detached(&mut state);
        Ok(true)
    }

    /// Detaches `client` (its reader saw it go); the session waits for it
    /// to come back, unless it was the last and `done` (it closed with 1000).
    pub fn detach(&self, client: &Arc<Mutex<Link>>, done: bool) {
        let mut state = self.lock();
        state.clients.retain(|c| !Arc::ptr_eq(c, client));
        if state.clients.is_empty() {
            state.done = done;
            if state.detached_since.is_none() {
                self.became_detached(&mut state);
            }
            drop(state);
            self.wake();
        }
    }

    /// What a client that has the first `after` frames would miss, or `None`
    /// when `after` claims frames never sent.
    pub fn missing(&self, after: u64) -> Option<u64> {
        self.lock().log.after(after).map(|b| b.missed)
    }

    /// The chat is over: `error_frame` (if any) goes to every client, then
    /// a close with `code`. Returns whether a client may still come back
    /// for the end (none was attached, and the grace is not over): then the
    /// session is kept a while for it.
    pub fn end(&self, code: CloseCode, reason: &str, error_frame: Option<String>) -> bool {
        // The first client, if still attached, is closed with the others;
        // nobody reads it any more.
        drop(self.inline_slot().take());
        let clients = {
            let mut state = self.lock();
            if let Some(frame) = error_frame {
                // Numbered and kept like any frame: a client that resumes
                // for the end sees why too.
                state.log.push(&frame);
                let frame = Utf8Bytes::from(frame);
                for client in &state.clients {
                    let _ = lock(client).offer(frame.clone(), false);
                }
            }
            state.ended = Some((code, reason.to_owned()));
            self.not_detached(&mut state);
            std::mem::take(&mut state.clients)
        };
        let stopping = self.stopping.load(Ordering::SeqCst);
        // A client that completed the closing handshake has everything; one
        // that did not (its network cut as the chat ended) may resume.
        let mut everyone_has_it = !clients.is_empty();
        for client in clients {
            let mut link = lock(&client);
            // Done only if it answered the close with 1000: a client that
            // was itself going away (1001) may not have kept the last frames.
            everyone_has_it &= link.close(code, reason, None, stopping) && link.done;
        }
        let mut state = self.lock();
        let grace_over = state
            .detached_since
            .is_some_and(|since| since.elapsed() >= self.grace);
        let awaited = !everyone_has_it
            && !grace_over
            && !state.done
            && !state.crowded_out
            && self.on_disconnect == OnDisconnect::Continue;
        state.forget_at = Some(if awaited {
            Instant::now() + self.grace
        } else {
            Instant::now()
        });
        awaited
    }

    /// Whether the session ended and nobody is owed its end any more.
    pub fn expired(&self) -> bool {
        self.lock().forget_at.is_some_and(|at| Instant::now() >= at)
    }
}

/// The `error` event for an answer to a request not waiting for one.
fn not_waiting(kind: &str, request_id: &str) -> String {
    Event::error(link::not_waiting(kind, request_id)).to_json()
}

/// The event that tells a resuming events-mode client how many frames it
/// cannot have (they were evicted). Not counted: it is this client's alone.
fn missed_events(count: u64) -> String {
    Event::MissedEvents(MissedEventsEvent::new(count)).to_json()
}
