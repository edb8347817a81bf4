//! `run()`: a chat on a background thread, its events over a channel, for
//! blocking applications that embed agentio.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use serde_json::json;

use crate::agentchat::{ChatOptions, ChatResult, ConversableAgent};
use crate::io::approval::Reply;
use crate::io::{
    self, Event, IOStream, Pending, RunCompletionEvent, ToolApprovalRequestEvent,
    ToolApprovalResponseEvent, Uuid,
};
use crate::{Error, Result};

/// A chat running on its own thread (see [`run`]).
///
/// Iterate over [`events`](RunResponse::events) to see the chat as it
/// happens; answer [`Event::InputRequest`]s with [`respond`](RunResponse::respond)
/// and [`Event::ToolApprovalRequest`]s with the request's own
/// [`approve`](ToolApprovalRequestEvent::approve),
/// [`deny`](ToolApprovalRequestEvent::deny) or
/// [`edit`](ToolApprovalRequestEvent::edit), in any order.
/// The last event is a `run_completion`. [`cancel`](RunResponse::cancel)
/// stops the chat at its next output, a running tool's
/// [cancellation check](crate::agentchat::ToolContext::is_cancelled) included;
/// dropping the response does too, and joins its thread.
#[derive(Debug)]
pub struct RunResponse {
    events: Receiver<Event>,
    answers: Option<Sender<String>>,
    /// Wakes a chat waiting for an answer; dropped, it says the run is.
    stop: Option<Sender<()>>,
    /// Dropped when nobody will answer any more ([`wait`](RunResponse::wait)).
    hangup: Option<Sender<()>>,
    cancelled: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<ChatResult>>>,
}

/// The events of a [`RunResponse`], as they happen (see [`RunResponse::events`]).
#[derive(Debug)]
pub struct Events<'a>(crossbeam_channel::Iter<'a, Event>);

impl Iterator for Events<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.0.next()
    }
}

/// The stream of a run: events into the channel, answers from the
/// response and from the approval requests it yielded.
struct ChannelStream {
    events: Sender<Event>,
    answers: Receiver<String>,
    approvals: (
        Sender<ToolApprovalResponseEvent>,
        Receiver<ToolApprovalResponseEvent>,
    ),
    stop: Receiver<()>,
    hangup: Receiver<()>,
    cancelled: Arc<AtomicBool>,
}

impl IOStream for ChannelStream {
    fn print(&self, objects: &[&str], sep: &str, end: &str, _flush: bool) -> Result<()> {
        self.send(&Event::print(objects.iter().copied(), sep, end))
    }

    fn input(&self, prompt: &str, password: bool) -> Result<String> {
        self.send(&Event::input_request(prompt, password))?;
        crossbeam_channel::select! {
            recv(self.answers) -> answer => answer.map_err(|_| Error::RunDropped),
            recv(self.stop) -> _ => Err(self.check().err().unwrap_or(Error::Cancelled)),
        }
    }

    fn send(&self, event: &Event) -> Result<()> {
        self.check()?;
        self.events
            .send(event.clone())
            .map_err(|_| Error::RunDropped)
    }

    /// Yields each request with its way back; takes the answers in any
    /// order, reporting one that names no open request as an `error` event.
    fn ask_approval(
        &self,
        requests: &[ToolApprovalRequestEvent],
    ) -> Result<Vec<ToolApprovalResponseEvent>> {
        let mut pending = Pending::new(requests);
        for request in requests {
            let mut request = request.clone();
            request.reply = Reply(Some(self.approvals.0.clone()));
            self.send(&Event::ToolApprovalRequest(request))?;
        }
        while pending.open().next().is_some() {
            let answer = crossbeam_channel::select! {
                recv(self.approvals.1) -> answer => answer.map_err(|_| Error::RunDropped)?,
                recv(self.stop) -> _ => return Err(self.check().err().unwrap_or(Error::Cancelled)),
                recv(self.hangup) -> _ => return Err(Error::RunDropped),
            };
            match pending.take(answer) {
                Ok(settled) => {
                    for answer in settled {
                        self.send(&Event::ToolApprovalResponse(answer))?;
                    }
                }
                Err(why) => self.send(&Event::error(why))?,
            }
        }
        pending.finish().ok_or(Error::RunDropped)
    }

    fn check(&self) -> Result<()> {
        if self.cancelled.load(Ordering::SeqCst) {
            return Err(Error::Cancelled);
        }
        match self.stop.try_recv() {
            Err(TryRecvError::Disconnected) => Err(Error::RunDropped),
            _ => Ok(()),
        }
    }
}

/// Runs `initiator.initiate_chat(recipient, options)` on a new thread whose
/// default stream is a channel, and returns at once.
///
/// ```
/// use agentio::agentchat::{ConversableAgent, HumanInputMode, UserProxyAgent, run};
/// use agentio::io::Event;
/// use agentio::llm::ReplayClient;
/// use std::sync::Arc;
///
/// let user = UserProxyAgent::new("user");
/// let bot = ConversableAgent::new("bot")
///     .human_input_mode(HumanInputMode::Never)
///     .model_client(Arc::new(ReplayClient::new().text(["Hi! TERMINATE"])));
/// let response = run(user, bot, "hello");
/// for event in response.events() {
///     if let Event::InputRequest(_) = event {
///         response.respond("exit")?;
///     }
/// }
/// assert_eq!(response.wait()?.summary, "Hi! ");
/// # Ok::<(), agentio::Error>(())
/// ```
pub fn run(
    mut initiator: ConversableAgent,
    mut recipient: ConversableAgent,
    options: impl Into<ChatOptions>,
) -> RunResponse {
    let options = options.into();
    let (event_tx, events) = crossbeam_channel::unbounded();
    let (answers, answer_rx) = crossbeam_channel::unbounded();
    let (stop, stop_rx) = crossbeam_channel::bounded(1);
    let (hangup, hangup_rx) = crossbeam_channel::bounded(0);
    let cancelled = Arc::new(AtomicBool::new(false));
    let stream = ChannelStream {
        events: event_tx.clone(),
        answers: answer_rx,
        approvals: crossbeam_channel::unbounded(),
        stop: stop_rx,
        hangup: hangup_rx,
        cancelled: cancelled.clone(),
    };
    let handle = std::thread::spawn(move || {
        let result = io::with_default(std::sync::Arc::new(stream), || {
            initiator.initiate_chat(&mut recipient, options)
        });
        if let Ok(chat) = &result {
            let last_speaker = chat.chat_history.last().and_then(|m| m.name.clone());
            let _ = event_tx.send(Event::RunCompletion(RunCompletionEvent {
                uuid: Uuid::new_v4(),
                summary: chat.summary.clone(),
                history: chat
                    .chat_history
                    .iter()
                    .filter_map(|m| serde_json::to_value(m).ok())
                    .collect(),
                cost: json!({
                    "usage_including_cached_inference": chat.cost.usage_including_cached_inference,
                    "usage_excluding_cached_inference": chat.cost.usage_excluding_cached_inference,
                }),
                last_speaker,
            }));
        }
        result
    });
    RunResponse {
        events,
        answers: Some(answers),
        stop: Some(stop),
        hangup: Some(hangup),
        cancelled,
        handle: Some(handle),
    }
}

impl RunResponse {
    /// The chat's events, in order; the iteration ends when the chat does.
    pub fn events(&self) -> Events<'_> {
        Events(self.events.iter())
    }

    /// Answers the pending input request; [`Error::ChatEnded`] once the
    /// chat is over.
    pub fn respond(&self, answer: impl Into<String>) -> Result<()> {
        self.answers
            .as_ref()
            .ok_or(Error::ChatEnded)?
            .send(answer.into())
            .map_err(|_| Error::ChatEnded)
    }

    /// Stops the chat: its next output, or the input or approval it waits
    /// for, fails with [`Error::Cancelled`], and a running tool's
    /// [`is_cancelled`](crate::agentchat::ToolContext::is_cancelled) turns
    /// true. No model call starts after it.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        if let Some(stop) = &self.stop {
            let _ = stop.try_send(());
        }
    }

    /// Waits for the chat to end and returns its result.
    pub fn wait(mut self) -> Result<ChatResult> {
        // Nobody answers now: a chat still asking ends instead of waiting.
        self.answers = None;
        self.hangup = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::Panicked("the chat's thread".to_owned())),
            None => Err(Error::ChatEnded),
        }
    }
}

impl Drop for RunResponse {
    fn drop(&mut self) {
        // Closing both channels makes the chat's next output or input fail.
        self.events = crossbeam_channel::never();
        self.answers = None;
        self.hangup = None;
        self.stop = None;
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
