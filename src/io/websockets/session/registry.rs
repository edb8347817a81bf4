//! The server's sessions by id, and what a handshake asks of them.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::io::websockets::session::{OnDisconnect, Session, SessionId};
use crate::io::websockets::{Refusal, Request};

/// What a handshake's query asks of sessions (`session`, `after`,
/// `on_disconnect`).
#[derive(Debug)]
pub(crate) struct SessionRequest {
    pub id: SessionId,
    /// The client has the first `after` frames: a resume.
    pub after: Option<u64>,
    pub on_disconnect: OnDisconnect,
}

impl SessionRequest {
    /// The session `request` names, `None` without `session`, or a 400
    /// that says what is wrong (never repeating the id).
    pub fn of(request: &Request) -> Result<Option<SessionRequest>, Refusal> {
        let bad = |why: &str| Refusal::new(400, format!("{why}\n"));
        let Some(id) = request.query_param("session") else {
            return Ok(None);
        };
        let id = SessionId::parse(&id).map_err(bad)?;
        let after = match request.query_param("after") {
            None => None,
            Some(n) => Some(
                n.parse::<u64>()
                    .map_err(|_| bad("after: the number of frames the client has"))?,
            ),
        };
        let on_disconnect = match request.query_param("on_disconnect").as_deref() {
            None | Some("continue") => OnDisconnect::Continue,
            Some("cancel") => OnDisconnect::Cancel,
            Some(_) => return Err(bad("on_disconnect: continue or cancel")),
        };
        Ok(Some(SessionRequest {
            id,
            after,
            on_disconnect,
        }))
    }
}

/// What [`Sessions::open`] found.
pub(crate) enum Opened {
    /// A new session, registered: run its chat.
    New(Arc<Session>),
    /// A live session to join or resume.
    Existing(Arc<Session>),
}

/// The live sessions, at most `max` of them.
pub(crate) struct Sessions {
    live: Mutex<HashMap<SessionId, Arc<Session>>>,
    max: usize,
    /// How many are detached now (their chats keep this count).
    pub detached: Arc<AtomicUsize>,
}

impl Sessions {
    /// No session yet; at most `max` at once.
    pub fn new(max: usize) -> Sessions {
        Sessions {
            live: Mutex::new(HashMap::new()),
            max,
            detached: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, Arc<Session>>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live session `id`, or a new one made by `make` (in one step, so
    /// two clients with a new id never make two sessions). 503 when full.
    pub fn open(&self, id: &SessionId, make: impl FnOnce() -> Session) -> Result<Opened, Refusal> {
        let mut live = self.lock();
        live.retain(|_, s| !s.expired());
        if let Some(session) = live.get(id) {
            return Ok(Opened::Existing(session.clone()));
        }
        if live.len() >= self.max {
            return Err(Refusal::new(503, "too many sessions; try again later\n"));
        }
        let session = Arc::new(make());
        live.insert(id.clone(), session.clone());
        Ok(Opened::New(session))
    }

    /// The live session `id`, if there is one.
    pub fn get(&self, id: &SessionId) -> Option<Arc<Session>> {
        let mut live = self.lock();
        live.retain(|_, s| !s.expired());
        live.get(id).cloned()
    }

    /// Forgets `session` (its chat is over).
    pub fn remove(&self, session: &Session) {
        let mut live = self.lock();
        if live
            .get(&session.id)
            .is_some_and(|s| std::ptr::eq(s.as_ref(), session))
        {
            live.remove(&session.id);
        }
    }

    /// How many sessions are live (or kept for a client owed their end).
    pub fn len(&self) -> usize {
        let mut live = self.lock();
        live.retain(|_, s| !s.expired());
        live.len()
    }
}
