//! The bookkeeping the server handle, the accept loop and every client
//! thread share: live sockets, client threads, the chat count, and the
//! wakeup that lets shutdown and drain wait without polling.

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::io::websockets::ServerConfig;
use crate::io::websockets::live_reply::LiveReplies;
use crate::io::websockets::parking::Parking;
use crate::io::websockets::session::Sessions;

/// What the accept loop and the connections share with the handle.
pub(super) struct Shared {
    pub(super) config: ServerConfig,
    /// Set once, by shutdown; connections see it through their own `Arc`.
    pub(super) stopping: Arc<AtomicBool>,
    /// Health checks answer 503 and new chats are refused.
    pub(super) draining: AtomicBool,
    /// Chats in `on_connect` now, and chats ended so far.
    pub(super) chats: AtomicUsize,
    pub(super) chats_ended: AtomicUsize,
    /// Sessions by id: chats that outlive their connections.
    pub(super) sessions: Sessions,
    /// The AI SDK websocket transport's replies, by chat id, for resumes.
    pub(super) replies: Arc<LiveReplies>,
    /// Chats waiting, between two HTTP runs, for a human's answer.
    pub(super) parking: Arc<Parking>,
    /// Live connections: a handle on each socket, to close it on shutdown.
    live: Mutex<HashMap<u64, Arc<TcpStream>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    next_id: AtomicU64,
    /// Woken each time a chat or connection ends, so shutdown and drain
    /// wait without polling. One slot: a pending wakeup is enough, and
    /// nothing piles up while nobody waits.
    ended: SyncSender<()>,
    ended_rx: Mutex<Receiver<()>>,
}

impl Shared {
    pub(super) fn new(config: ServerConfig) -> Shared {
        let (ended, ended_rx) = mpsc::sync_channel(1);
        Shared {
            sessions: Sessions::new(config.max_sessions),
            replies: Arc::new(LiveReplies::new(config.max_sessions, config.detach_grace)),
            parking: Arc::new(Parking::new(config.max_detached_sessions)),
            config,
            stopping: Arc::new(AtomicBool::new(false)),
            draining: AtomicBool::new(false),
            chats: AtomicUsize::new(0),
            chats_ended: AtomicUsize::new(0),
            live: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            ended,
            ended_rx: Mutex::new(ended_rx),
        }
    }

    /// The live sockets by connection id. A panic elsewhere must not stop
    /// shutdown from closing them, hence the poison is ignored.
    pub(super) fn live(&self) -> MutexGuard<'_, HashMap<u64, Arc<TcpStream>>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every client thread started and not yet reaped.
    pub(super) fn threads(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.threads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh connection id.
    pub(super) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Forgets a connection whose thread is over, and wakes a waiting
    /// shutdown.
    pub(super) fn connection_ended(&self, id: u64) {
        self.live().remove(&id);
        let _ = self.ended.try_send(());
    }

    /// Waits until `done()`, at most `grace`, woken each time a chat or a
    /// connection ends; returns `done()`.
    pub(super) fn wait_until(&self, grace: Duration, done: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + grace;
        let ended = self.ended_rx.lock().unwrap_or_else(|p| p.into_inner());
        while !done() {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return done();
            };
            let _ = ended.recv_timeout(left);
        }
        true
    }
}

/// One running chat in the server's count, from the 101 to the end of
/// `on_connect` (or an early return); a drain waits for these.
pub(super) struct ChatSlot<'a>(&'a Shared);

impl ChatSlot<'_> {
    pub(super) fn take(shared: &Shared) -> ChatSlot<'_> {
        shared.chats.fetch_add(1, Ordering::SeqCst);
        ChatSlot(shared)
    }
}

impl Drop for ChatSlot<'_> {
    fn drop(&mut self) {
        self.0.chats_ended.fetch_add(1, Ordering::SeqCst);
        self.0.chats.fetch_sub(1, Ordering::SeqCst);
        let _ = self.0.ended.try_send(());
    }
}
