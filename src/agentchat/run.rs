//! `run()`: a chat on a background thread, its events over a channel, for
//! blocking applications that embed agentio.

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use serde_json::json;

use crate::agentchat::{ChatOptions, ChatResult, ConversableAgent};
use crate::io::{self, Event, IOStream, RunCompletionEvent, Uuid};
use crate::{Error, Result};

/// A chat running on its own thread (see [`run`]).
///
/// Iterate over [`events`](RunResponse::events) to see the chat as it
/// happens; answer [`Event::InputRequest`]s with [`respond`](RunResponse::respond).
/// The last event is a `run_completion`. Dropping the response ends the chat
/// at its next output and joins its thread.
#[derive(Debug)]
pub struct RunResponse {
    events: Receiver<Event>,
    answers: Option<Sender<String>>,
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

/// The stream of a run: events into the channel, input from the answers.
struct ChannelStream {
    events: Sender<Event>,
    answers: Receiver<String>,
}

impl IOStream for ChannelStream {
    fn print(&self, objects: &[&str], sep: &str, end: &str, _flush: bool) -> Result<()> {
        self.send(&Event::print(objects.iter().copied(), sep, end))
    }

    fn input(&self, prompt: &str, password: bool) -> Result<String> {
        self.send(&Event::input_request(prompt, password))?;
        self.answers.recv().map_err(|_| Error::RunDropped)
    }

    fn send(&self, event: &Event) -> Result<()> {
        self.events
            .send(event.clone())
            .map_err(|_| Error::RunDropped)
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
    let stream = ChannelStream {
        events: event_tx.clone(),
        answers: answer_rx,
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

    /// Waits for the chat to end and returns its result.
    pub fn wait(mut self) -> Result<ChatResult> {
        self.answers = None;
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
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
