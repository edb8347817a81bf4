//! One run of a frontend protocol (AG-UI, the AI SDK's UI message stream):
//! the request's question, conversation and answers, and the response,
//! encoded from the chat's events as they happen and framed by the
//! transport that carries it ([`RunSink`]: server-sent events, websocket
//! frames).

use std::time::{Duration, Instant};

use serde_json::Value;

use crossbeam_channel::Sender;

use crate::io::encoder::message_text;
use crate::io::websockets::parking::{Handoff, Parker};
use crate::io::websockets::run_request::{Answers, RunRequest};
use crate::io::{
    Encoder, Event, InputRequestEvent, ToolApprovalRequestEvent, ToolApprovalResponseEvent,
};
use crate::llm::Message;
use crate::{Error, Result};

/// Where a run's messages go: a transport's framing of them.
pub(crate) trait RunSink: Send {
    /// Sends messages (their JSON texts, taken out of `messages`), in
    /// order, framed. `queued`: they may wait in the sink's buffer for the
    /// next send or [`flush`](RunSink::flush).
    fn send(&mut self, messages: &mut Vec<String>, queued: bool) -> Result<()>;
    /// Sends what was queued.
    fn flush(&mut self) -> Result<()>;
    /// Tells a silent stream's proxies it is alive.
    fn keep_alive(&mut self) -> Result<()>;
    /// Fails when the client has gone, or asked the run to stop.
    fn check(&mut self) -> Result<()>;
    /// Ends the response after its last messages.
    fn end(&mut self);
}

/// One run: what it was asked and its response.
pub(crate) struct RunLink {
    sink: Box<dyn RunSink>,
    encoder: Box<dyn Encoder>,
    /// The run's question, until the chat takes it.
    question: Option<String>,
    /// The conversation before it.
    history: Vec<Message>,
    /// What the human answered to what the previous run waited for.
    answers: Answers,
    /// When the last bytes went out, and how long a silence may last.
    last_write: Instant,
    keep_alive: Duration,
    open: bool,
    /// Where the chat waits for the run that answers an interrupt (`None`:
    /// it ends, and that run rebuilds it).
    park: Option<Box<dyn Parker>>,
    /// Held while the chat serves a response handed over by another
    /// request's thread, which waits for it to drop.
    done: Option<Sender<()>>,
    /// The messages on their way to the sink (kept for its allocation).
    texts: Vec<String>,
}

impl RunLink {
    /// Starts the response to `request` with the encoder's opening messages;
    /// a silence of `keep_alive` while the chat waits gets a keep-alive.
    pub fn start(
        sink: Box<dyn RunSink>,
        mut encoder: Box<dyn Encoder>,
        request: RunRequest,
        keep_alive: Duration,
        park: Option<Box<dyn Parker>>,
    ) -> Result<RunLink> {
        let started = encoder.start();
        let mut link = RunLink {
            sink,
            encoder,
            question: request.question,
            history: request.history,
            answers: request.answers,
            last_write: Instant::now(),
            keep_alive,
            open: true,
            park,
            done: None,
            texts: Vec::new(),
        };
        link.write(&started)?;
        Ok(link)
    }

    /// The conversation the frontend sent before the question.
    pub fn history(&self) -> Vec<Message> {
        self.history.clone()
    }

    /// Whether the run continues its conversation instead of asking a new
    /// question (it answers what the previous run waited for).
    pub fn resumes(&self) -> bool {
        self.question.is_none() && !self.history.is_empty()
    }

    /// The run's question, the first time it is asked for.
    pub fn take_question(&mut self) -> Option<String> {
        self.question.take()
    }

    /// The answer to an input request: the human's, when the request
    /// brought one; otherwise the run ends waiting for it (and the chat
    /// goes on here if the answer comes to this server in time).
    pub fn input(&mut self, request: InputRequestEvent) -> Result<String> {
        loop {
            if let Some(answer) = self.answers.inputs.pop_front() {
                return Ok(answer);
            }
            self.interrupt(&[Event::InputRequest(request.clone())])?;
        }
    }

    /// The decisions on `requests`: the human's, when the request brought
    /// them all; otherwise the run ends waiting for the rest (as for input).
    pub fn ask_approval(
        &mut self,
        requests: &[ToolApprovalRequestEvent],
    ) -> Result<Vec<ToolApprovalResponseEvent>> {
        loop {
            let waiting: Vec<Event> = requests
                .iter()
                .filter(|r| !self.answers.approvals.contains_key(&r.call_id))
                .map(|r| Event::ToolApprovalRequest(r.clone()))
                .collect();
            if waiting.is_empty() {
                break;
            }
            self.interrupt(&waiting)?;
        }
        let mut answers = Vec::new();
        for request in requests {
            let Some(decision) = self.answers.approvals.remove(&request.call_id) else {
                continue; // checked above
            };
            let answer = ToolApprovalResponseEvent::new(&request.request_id, decision, false);
            // The encoder learns what was decided (a denied call is shown
            // as denied, not as failed).
            self.send(&Event::ToolApprovalRequest(request.clone()))?;
            self.send(&Event::ToolApprovalResponse(answer.clone()))?;
            answers.push(answer);
        }
        Ok(answers)
    }

    /// Ends the run waiting for `waiting`, then waits parked for the run
    /// that answers: `Ok` when it came (the chat goes on, answering it),
    /// else [`Error::AwaitingHuman`] and the chat stops.
    fn interrupt(&mut self, waiting: &[Event]) -> Result<()> {
        let last = self.encoder.interrupt(waiting);
        self.end(&last);
        let Some(handoff) = self.park.as_mut().and_then(|p| p.wait()) else {
            return Err(Error::AwaitingHuman);
        };
        self.take_over(handoff)
    }

    /// Serves the run handed over: its response, encoder and answers.
    fn take_over(&mut self, handoff: Handoff) -> Result<()> {
        let Handoff {
            sink,
            mut encoder,
            answers,
            done,
        } = handoff;
        self.answers.approvals.extend(answers.approvals);
        self.answers.inputs.extend(answers.inputs);
        let started = encoder.start();
        self.sink = sink;
        self.encoder = encoder;
        self.done = Some(done);
        self.open = true;
        self.write(&started)
    }

    /// Sends what `event` means in the protocol.
    pub fn send(&mut self, event: &Event) -> Result<()> {
        self.encoder.encode_text(event, &mut self.texts);
        self.write_texts(false)
    }

    /// [`send`](Self::send), the messages left in the sink's buffer until
    /// the next send or [`flush`](Self::flush).
    pub fn queue(&mut self, event: &Event) -> Result<()> {
        self.encoder.encode_text(event, &mut self.texts);
        self.write_texts(true)
    }

    /// Sends what [`queue`](Self::queue) left in the sink's buffer.
    pub fn flush(&mut self) -> Result<()> {
        if !self.open {
            return Err(Error::ConnectionClosed);
        }
        self.sink.flush().inspect_err(|_| self.open = false)
    }

    /// Fails when the client has gone (or asked to stop): the run is over
    /// for it.
    pub fn check(&mut self) -> Result<()> {
        if !self.open {
            return Err(Error::ConnectionClosed);
        }
        if let Err(e) = self.sink.check() {
            self.open = false;
            return Err(e);
        }
        // The chat is waiting (the stream is checked, not written): a
        // keep-alive keeps proxies from taking the silence for a dead stream.
        if self.last_write.elapsed() >= self.keep_alive {
            self.last_write = Instant::now();
            if let Err(e) = self.sink.keep_alive() {
                self.open = false;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Ends the run (unless it has ended already, by an interrupt): well,
    /// or with `error`; then the connection closes.
    pub fn close(&mut self, error: Option<&str>) {
        if !self.open {
            return;
        }
        let last = match error {
            Some(error) => self.encoder.fail(error),
            None => self.encoder.finish(),
        };
        self.end(&last);
    }

    /// Writes the last messages and ends the response.
    fn end(&mut self, last: &[Value]) {
        let _ = self.write(last);
        if self.open {
            let _ = self.sink.flush();
            self.sink.end();
        }
        self.open = false;
        self.done = None; // a thread that handed the response over may go
    }

    /// Sends messages; a send that fails (or waits past the write
    /// timeout) ends the run.
    fn write(&mut self, messages: &[Value]) -> Result<()> {
        self.texts.extend(messages.iter().map(message_text));
        self.write_texts(false)
    }

    /// Sends the messages in `texts` (or queues them).
    fn write_texts(&mut self, queued: bool) -> Result<()> {
        if self.texts.is_empty() {
            return Ok(());
        }
        if !self.open {
            self.texts.clear();
            return Err(Error::ConnectionClosed);
        }
        self.last_write = Instant::now();
        let sent = self.sink.send(&mut self.texts, queued);
        self.texts.clear(); // what a failed send left
        sent.inspect_err(|_| self.open = false)
    }
}
