//! Replies the AI SDK's websocket transport may resume: each chat's reply
//! while it streams (and for a grace after), its chunks kept so a client
//! that lost its connection gets the whole reply again from sequence 0 and
//! then the rest as it comes. Bounded in count and in bytes per reply.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::io::websockets::text_log::TextLog;
use std::time::{Duration, Instant};

/// One chat's reply as it streams.
#[derive(Debug, Default)]
pub(super) struct LiveReply {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Each chunk's JSON, by sequence.
    chunks: TextLog,
    /// Chunks pushed (kept or not): the next sequence.
    pushed: usize,
    /// Past the byte limit: nothing more is kept, and no resume is offered.
    overflowed: bool,
    ended: Option<Instant>,
    /// Clients following it from a resume.
    followers: usize,
    /// A follower asked to stop.
    aborted: bool,
}

/// What a follower finds when it waits.
pub(super) struct Progress {
    /// The chunks from the sequence asked for.
    pub chunks: Vec<String>,
    /// Whether the reply has ended (after these chunks).
    pub ended: bool,
}

impl LiveReply {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps (a copy of) the next chunk, unless the reply outgrew `limit`
    /// bytes; returns its sequence.
    pub fn push(&self, chunk: &str, limit: usize) -> usize {
        let mut state = self.state();
        let sequence = state.pushed;
        state.pushed += 1;
        if !state.overflowed && state.chunks.bytes() + chunk.len() > limit {
            state.overflowed = true;
            state.chunks.clear();
        }
        if !state.overflowed {
            state.chunks.push(chunk);
        }
        drop(state);
        self.changed.notify_all();
        sequence
    }

    /// The reply is over.
    pub fn end(&self) {
        self.state().ended = Some(Instant::now());
        self.changed.notify_all();
    }

    /// A follower wants the chat stopped.
    pub fn abort(&self) {
        self.state().aborted = true;
        self.changed.notify_all();
    }

    /// Whether a follower asked to stop.
    pub fn aborted(&self) -> bool {
        self.state().aborted
    }

    /// How many clients follow it.
    pub fn followers(&self) -> usize {
        self.state().followers
    }

    /// Counts a follower in (`true`) or out.
    pub fn follow(&self, joining: bool) {
        let mut state = self.state();
        if joining {
            state.followers += 1;
        } else {
            state.followers = state.followers.saturating_sub(1);
        }
    }

    /// The chunks from `from` on, waiting at most `wait` for one when there
    /// is none yet; `None` once the reply can no longer be replayed whole.
    pub fn wait_from(&self, from: usize, wait: Duration) -> Option<Progress> {
        let mut state = self.state();
        if state.chunks.len() <= from && state.ended.is_none() && !state.overflowed {
            state = match self.changed.wait_timeout(state, wait) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        if state.overflowed {
            return None;
        }
        Some(Progress {
            chunks: state.chunks.iter_from(from).map(str::to_owned).collect(),
            ended: state.ended.is_some(),
        })
    }
}

/// The replies by chat id.
#[derive(Debug)]
pub(super) struct LiveReplies {
    replies: Mutex<HashMap<String, Arc<LiveReply>>>,
    max: usize,
    /// How long an ended reply stays resumable.
    grace: Duration,
}

impl LiveReplies {
    /// At most `max` replies, each kept `grace` after its end.
    pub fn new(max: usize, grace: Duration) -> LiveReplies {
        LiveReplies {
            replies: Mutex::new(HashMap::new()),
            max,
            grace,
        }
    }

    fn replies(&self) -> MutexGuard<'_, HashMap<String, Arc<LiveReply>>> {
        let mut replies = self.replies.lock().unwrap_or_else(|p| p.into_inner());
        let grace = self.grace;
        replies.retain(|_, reply| {
            let state = reply.state();
            !state.overflowed && state.ended.is_none_or(|at| at.elapsed() < grace)
        });
        replies
    }

    /// A new reply for chat `id` (a later one replaces an earlier); `None`
    /// when the server keeps its most already (the reply then cannot be
    /// resumed, but it is sent).
    pub fn open(&self, id: &str) -> Option<Arc<LiveReply>> {
        let mut replies = self.replies();
        if replies.len() >= self.max && !replies.contains_key(id) {
            return None;
        }
        let reply = Arc::new(LiveReply::default());
        replies.insert(id.to_owned(), reply.clone());
        Some(reply)
    }

    /// Chat `id`'s reply, if it streams or ended within the grace.
    pub fn get(&self, id: &str) -> Option<Arc<LiveReply>> {
        self.replies().get(id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_follower_gets_every_chunk_from_the_start_then_the_end() {
        let replies = LiveReplies::new(4, Duration::from_secs(60));
        let reply = replies.open("chat").unwrap_or_default();
        assert_eq!(reply.push("a", 100), 0);
        assert_eq!(reply.push("b", 100), 1);
        let found = replies
            .get("chat")
            .and_then(|r| r.wait_from(0, Duration::ZERO));
        let found = found.map(|p| (p.chunks, p.ended));
        assert_eq!(found, Some((vec!["a".to_owned(), "b".to_owned()], false)));
        reply.end();
        let last = reply
            .wait_from(2, Duration::from_secs(5))
            .map(|p| (p.chunks.len(), p.ended));
        assert_eq!(last, Some((0, true)), "an end wakes the follower");
    }

    #[test]
    fn replies_are_bounded_in_bytes_count_and_time() {
        let replies = LiveReplies::new(1, Duration::ZERO);
        let reply = replies.open("one").unwrap_or_default();
        assert!(replies.open("two").is_none(), "the most are kept already");
        reply.push(&"x".repeat(60), 100);
        reply.push(&"x".repeat(60), 100);
        assert!(
            reply.wait_from(0, Duration::ZERO).is_none(),
            "too big to replay"
        );
        assert!(replies.get("one").is_none(), "and no longer offered");
        let reply = replies.open("two").unwrap_or_default();
        reply.end();
        assert!(replies.get("two").is_none(), "gone after its grace");
    }
}
