//! Two-agent chats: `initiate_chat`, the loop of messages and replies.

use std::sync::Arc;

use crate::agentchat::result::UsageLog;
use crate::agentchat::{ChatOptions, ChatResult, ConversableAgent, Streaming, SummaryMethod};
use crate::io::{
    self, Event, Filter, Filtered, IOStream, ReasoningEvent, TextEvent, ToolCallEvent,
    ToolResponse, ToolResponseEvent,
};
use crate::llm::{ChatRequest, ChatResponse, Message, ModelClient, Role};
use crate::{Error, Result};

/// A message on its way to the peer, with what printing it needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub message: Message,
    /// Tool results, one per call (AutoGen's `tool_responses`).
    pub tool_responses: Vec<ToolResponse>,
    /// The content already reached the stream as `stream` events.
    pub streamed: bool,
}

impl Outgoing {
    /// A plain text message.
    pub fn text(content: String) -> Outgoing {
        Outgoing {
            message: Message::user(content),
            tool_responses: Vec::new(),
            streamed: false,
        }
    }

    /// A message carrying tool results; its content is theirs joined, as AutoGen's.
    pub fn tool_responses(responses: Vec<ToolResponse>) -> Outgoing {
        let joined: Vec<&str> = responses.iter().map(|r| r.content.as_str()).collect();
        let mut message = Message::user(joined.join("\n\n"));
        message.role = Role::Tool;
        Outgoing {
            message,
            tool_responses: responses,
            streamed: false,
        }
    }
}

/// What one chat shares with its agents while they reply.
pub(crate) struct Turn {
    /// Where the chat's output goes (a mute stream for a silent chat).
    pub stream: Arc<dyn IOStream>,
    /// Whose replies stream their tokens.
    pub streaming: Streaming,
    /// Every reply a human typed.
    pub human_input: Vec<String>,
    /// Every model call, for the chat's cost.
    pub usage: UsageLog,
}

impl Turn {
    /// Sends an event to the chat's stream.
    pub fn send(&self, event: Event) -> Result<()> {
        self.stream.send(&event)
    }

    /// Asks `model` for `agent`'s reply and notes its cost. The one place
    /// that decides where the reply's tokens go: to the chat's stream, or
    /// nowhere when the chat keeps this agent's replies whole (the model
    /// call still streams when the request asks, so read timeouts stay per
    /// chunk). Returns the reply and whether its text reached the user as
    /// it streamed.
    pub fn model_reply(
        &mut self,
        agent: &str,
        model: &dyn ModelClient,
        request: &ChatRequest,
    ) -> Result<(ChatResponse, bool)> {
        let shown = self.streaming.streams(agent);
        let reply = if shown {
            model.create_to(request, self.stream.as_ref())?
        } else {
            model.create_to(request, &Filtered::new(self.stream.clone(), Filter::none()))?
        };
        self.usage.record(agent, &reply);
        if reply.finish_reason.as_deref() == Some("length") && !reply.message.tool_calls.is_empty()
        {
            // Its calls' arguments are cut: running them would act on half
            // an instruction, and sending them back would break the next
            // request (servers refuse arguments that are not JSON).
            let names: Vec<&str> = reply
                .message
                .tool_calls
                .iter()
                .map(|c| c.function.name.as_str())
                .collect();
            return Err(Error::TokenLimit(names.join(", ")));
        }
        if let Some(reasoning) = reply
            .reasoning
            .as_ref()
            .filter(|_| !(shown && reply.reasoning_streamed))
        {
            // Not streamed (or kept back while the agent's tokens were):
            // the reasoning arrives whole, as the reply does.
            let mut event = ReasoningEvent::new(reasoning.clone());
            event.sender = Some(agent.to_owned());
            self.send(Event::Reasoning(event))?;
        }
        let streamed = shown && reply.streamed;
        Ok((reply, streamed))
    }
}

impl ConversableAgent {
    /// Starts a chat with `recipient` (AutoGen's `initiate_chat`) and runs it
    /// to its end on this thread: this agent sends the first message, then
    /// the two reply to each other until one stops (a termination message,
    /// `exit`, the auto-reply limit, or `max_turns`).
    ///
    /// Everything the chat shows goes to the current default stream; an error
    /// of that stream (its reader is gone) ends the chat at once with that
    /// error, as does a model error.
    pub fn initiate_chat(
        &mut self,
        recipient: &mut ConversableAgent,
        options: impl Into<ChatOptions>,
    ) -> Result<ChatResult> {
        let options = options.into();
        if self.name == recipient.name {
            return Err(Error::Config(format!(
                "both agents are called {:?}: a chat needs two names",
                self.name
            )));
        }
        let out = io::get_default();
        let stream: Arc<dyn IOStream> = if options.silent {
            // Nothing shown, streamed tokens included; input still asked.
            Arc::new(Filtered::new(out, Filter::none()))
        } else {
            out
        };
        self.prepare_chat(&recipient.name, options.clear_history);
        recipient.prepare_chat(&self.name, options.clear_history);
        let mut turn = Turn {
            stream,
            streaming: options.streaming.clone(),
            human_input: Vec::new(),
            usage: UsageLog::default(),
        };
        let mut exchanges = 0;
        // A resumed chat starts as if the recipient had just spoken.
        let (mut from, mut to, mut to_is_initiator, mut message) = match &options.message {
            Some(first) => (
                &mut *self,
                &mut *recipient,
                false,
                Some(Outgoing::text(first.clone())),
            ),
            None => (&mut *recipient, &mut *self, true, None),
        };
        loop {
            if let Some(message) = message.take() {
                deliver(from, to, &message, &turn)?;
            }
            if to_is_initiator {
                exchanges += 1;
                if options.max_turns.is_some_and(|max| exchanges >= max) {
                    break;
                }
            }
            let sender = from.name.clone();
            let Some(reply) = to.generate_reply(&sender, &mut turn)? else {
                break;
            };
            std::mem::swap(&mut from, &mut to);
            to_is_initiator = !to_is_initiator;
            message = Some(reply);
        }
        let chat_history = self.chat_messages(&recipient.name).to_vec();
        let summary = match &options.summary_method {
            SummaryMethod::LastMsg => chat_history
                .last()
                .map(|m| m.text().replace("TERMINATE", ""))
                .unwrap_or_default(),
            SummaryMethod::Custom(summarise) => summarise(&chat_history),
        };
        Ok(ChatResult {
            chat_history,
            summary,
            cost: turn.usage.cost(),
            cost_by_agent: turn.usage.cost_by_agent(),
            human_input: turn.human_input,
        })
    }

    pub(crate) fn prepare_chat(&mut self, peer: &str, clear_history: bool) {
        self.auto_replies.insert(peer.to_owned(), 0);
        if clear_history {
            self.chat_messages.remove(peer);
        }
    }

    /// Adds a message to the conversation with `peer` in OpenAI's shape:
    /// tool results become `tool` messages; otherwise the role is
    /// `assistant` for what this agent sent and `user` for what it received.
    pub(crate) fn append(&mut self, peer: &str, message: &Outgoing, sending: bool, author: &str) {
        let history = self.chat_messages.entry(peer.to_owned()).or_default();
        for response in &message.tool_responses {
            history.push(Message::tool(&response.tool_call_id, &response.content));
        }
        if message.message.role == Role::Tool && !message.tool_responses.is_empty() {
            return; // its content is only the results, already added
        }
        let mut m = message.message.clone();
        m.role = if !m.tool_calls.is_empty() || sending {
            Role::Assistant
        } else {
            Role::User
        };
        if m.tool_calls.is_empty() && m.name.is_none() {
            m.name = Some(author.to_owned());
        }
        history.push(m);
    }
}

/// Sends `message` from one agent to the other: both histories get it, and
/// the recipient shows it on the chat's stream.
fn deliver(
    from: &mut ConversableAgent,
    to: &mut ConversableAgent,
    message: &Outgoing,
    turn: &Turn,
) -> Result<()> {
    from.append(&to.name, message, true, &from.name.clone());
    to.append(&from.name, message, false, &from.name);
    show(message, &from.name, &to.name, turn)
}

/// Shows `message` from `sender` to `recipient` on the chat's stream: its
/// tool results, its tool calls, or its text.
pub(crate) fn show(message: &Outgoing, sender: &str, recipient: &str, turn: &Turn) -> Result<()> {
    let (sender, recipient) = (sender.to_owned(), recipient.to_owned());
    if !message.tool_responses.is_empty() {
        turn.send(Event::ToolResponse(ToolResponseEvent::new(
            message.tool_responses.clone(),
            sender.clone(),
            recipient.clone(),
        )))?;
        if message.message.role == Role::Tool {
            return Ok(());
        }
    }
    if !message.message.tool_calls.is_empty() {
        let mut event = ToolCallEvent::new(message.message.tool_calls.clone(), sender, recipient);
        event.content = message.message.content.clone();
        event.streamed =
            message.streamed && event.content.as_deref().is_some_and(|c| !c.is_empty());
        return turn.send(Event::ToolCall(event));
    }
    let mut event = TextEvent::new(message.message.text(), sender, recipient);
    event.streamed = message.streamed;
    turn.send(Event::Text(event))
}
