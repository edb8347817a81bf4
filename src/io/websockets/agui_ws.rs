//! AG-UI over a websocket (`?format=agui`): each text frame from the client
//! is a `RunAgentInput`, each AG-UI event goes back as one text frame, and
//! runs follow one another on the connection. A run that ends in an
//! interrupt waits on its connection for the next frame: a run resuming
//! the same thread continues the chat in place; anything else ends the
//! chat and is served next. `{"type": "cancel"}` stops the running chat.

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::WebSocket;
use tungstenite::protocol::frame::coding::CloseCode;

use crate::io::Filter;
use crate::io::websockets::agui_input::RunAgentInput;
use crate::io::websockets::link::{Answer, Link, lock};
use crate::io::websockets::parking::{Handoff, Parker};
use crate::io::websockets::run_link::{RunLink, RunSink};
use crate::io::websockets::serve::{OnConnect, run_chat, serve_frames};
use crate::io::websockets::shared::{ChatSlot, Shared};
use crate::io::websockets::{Request, Transport};
use crate::{Error, Result};

/// Runs a client may send ahead while one streams; past it, it is closed.
const MAX_QUEUED: usize = 16;

/// Serves one AG-UI websocket connection until it closes.
pub(super) fn serve_agui_ws(
    ws: WebSocket<Box<dyn Transport>>,
    tcp: Arc<TcpStream>,
    request: Request,
    filter: Filter,
    shared: &Shared,
    on_connect: &OnConnect,
) {
    serve_frames(ws, tcp, shared, |link, text| {
        run(link, &text, &request, &filter, shared, on_connect).is_ok()
    });
}

/// Runs one `RunAgentInput` frame.
fn run(
    link: &Arc<Mutex<Link>>,
    text: &str,
    request: &Request,
    filter: &Filter,
    shared: &Shared,
    on_connect: &OnConnect,
) -> Result<()> {
    let config = &shared.config;
    if serde_json::from_str::<Value>(text).is_ok_and(|v| v["type"] == "cancel") {
        return Ok(()); // nothing runs now
    }
    let (encoder, run) = match RunAgentInput::open(text.as_bytes()) {
        Ok(opened) => opened,
        Err(why) => {
            return lock(link).write(json!({"type": "RUN_ERROR", "message": why}).to_string());
        }
    };
    if shared.draining.load(Ordering::SeqCst) {
        let why = "the server is draining: connect again (to another instance)";
        lock(link).write(json!({"type": "RUN_ERROR", "message": why}).to_string())?;
        return Err(Error::ServerStopping);
    }
    let park = run.thread_id.clone().map(|thread| {
        Box::new(WaitHere {
            link: link.clone(),
            thread,
            idle: config.idle_timeout,
            timeout: config.interrupt_wait(),
            stopping: shared.stopping.clone(),
        }) as Box<dyn Parker>
    });
    let sink = FrameSink { link: link.clone() };
    let slot = ChatSlot::take(shared);
    let run = RunLink::start(
        Box::new(sink),
        Box::new(encoder),
        run,
        config.sse_keep_alive,
        park,
    )?;
    run_chat(
        slot,
        run,
        request.clone(),
        filter.clone(),
        shared,
        on_connect,
    );
    if lock(link).is_open() {
        Ok(())
    } else {
        Err(Error::ConnectionClosed)
    }
}

/// A run's AG-UI events, one text frame each.
struct FrameSink {
    link: Arc<Mutex<Link>>,
}

impl RunSink for FrameSink {
    fn send(&mut self, messages: &mut Vec<String>, queued: bool) -> Result<()> {
        let mut inner = lock(&self.link);
        for message in messages.drain(..) {
            inner.write_as(message, queued)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        lock(&self.link).flush()
    }

    fn keep_alive(&mut self) -> Result<()> {
        lock(&self.link).ping()
    }

    /// Takes in what the client sent meanwhile: a cancel stops the run;
    /// other runs wait their turn (a few).
    fn check(&mut self) -> Result<()> {
        let mut inner = lock(&self.link);
        inner.poll(false);
        let cancel = inner.pending.iter().position(|answer| {
            serde_json::from_str::<Value>(&answer.text).is_ok_and(|v| v["type"] == "cancel")
        });
        if let Some(at) = cancel {
            inner.pending.remove(at);
            return Err(Error::Cancelled);
        }
        if inner.pending.len() > MAX_QUEUED {
            inner.close(CloseCode::Policy, "too many runs sent ahead", None, false);
        }
        if !inner.is_open() {
            return Err(Error::ConnectionClosed);
        }
        Ok(())
    }

    /// The connection stays for the next run.
    fn end(&mut self) {}
}

/// A chat waiting for its answer on its own connection: the next frame.
struct WaitHere {
    link: Arc<Mutex<Link>>,
    thread: String,
    idle: Duration,
    timeout: Duration,
    stopping: Arc<AtomicBool>,
}

impl Parker for WaitHere {
    fn wait(&mut self) -> Option<Handoff> {
        if self.stopping.load(Ordering::SeqCst) {
            return None;
        }
        let deadline = Instant::now() + self.timeout;
        let text = lock(&self.link).next_text(self.idle, Some(deadline))?;
        match RunAgentInput::open(text.as_bytes()) {
            Ok((encoder, run))
                if run.question.is_none() && run.thread_id.as_deref() == Some(&self.thread) =>
            {
                // Nobody waits for this response to be done: it is ours.
                let (done, _) = crossbeam_channel::bounded(1);
                Some(Handoff {
                    sink: Box::new(FrameSink {
                        link: self.link.clone(),
                    }),
                    encoder: Box::new(encoder),
                    answers: run.answers,
                    done,
                })
            }
            _ => {
                // Not the answer: the chat ends, and the frame is served next.
                lock(&self.link).pending.push_front(Answer {
                    text,
                    request_id: None,
                });
                None
            }
        }
    }
}
