//! Two-agent chats: `initiate_chat`, its options and its result.

use std::sync::Arc;

use crate::agentchat::ConversableAgent;
use crate::io::{
    self, Event, Filter, Filtered, IOStream, ModelUsage, ModelUsageSummary, TextEvent,
    ToolCallEvent, ToolResponse, ToolResponseEvent, Uuid,
};
use crate::llm::{ChatResponse, Message, Role};
use crate::{Error, Result};

/// A function that summarises a chat from its history.
pub type Summariser = Arc<dyn Fn(&[Message]) -> String + Send + Sync>;

/// How a finished chat is summarised.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum SummaryMethod {
    /// The last message's content with `"TERMINATE"` removed (AutoGen's `last_msg`).
    #[default]
    LastMsg,
    /// Your own function of the chat history.
    Custom(Summariser),
}

impl std::fmt::Debug for SummaryMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SummaryMethod::LastMsg => f.write_str("LastMsg"),
            SummaryMethod::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Whose replies stream their tokens in a chat. A reply that does not stream
/// arrives whole, as one `text` event (`streamed` false), once it is complete.
///
/// Tool-call replies never stream anything in any mode (their fragments are
/// assembled, then shown as one `tool_call` event), so `All` already streams
/// only the turns that answer; use `Agents` to stream only the agent whose
/// replies are the chat's answer (AutoGen issues 1143 and 3099).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Streaming {
    /// Every agent's replies stream when the agent streams (the default).
    #[default]
    All,
    /// Only these agents' replies stream; the others arrive whole.
    Agents(Vec<String>),
    /// No reply streams; every reply arrives whole. The model calls still
    /// stream when the agent asks for it, so read timeouts stay per chunk.
    None,
}

impl Streaming {
    /// Only `agents`' replies stream.
    pub fn agents<I, S>(agents: I) -> Streaming
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Streaming::Agents(agents.into_iter().map(Into::into).collect())
    }

    /// Whether `agent`'s replies stream.
    pub fn streams(&self, agent: &str) -> bool {
        match self {
            Streaming::All => true,
            Streaming::Agents(agents) => agents.iter().any(|a| a == agent),
            Streaming::None => false,
        }
    }
}

/// The options of [`ConversableAgent::initiate_chat`]; a `&str` or `String`
/// converts into options with AutoGen's defaults.
#[derive(Debug, Clone)]
pub struct ChatOptions {
    message: String,
    clear_history: bool,
    silent: bool,
    streaming: Streaming,
    max_turns: Option<usize>,
    summary_method: SummaryMethod,
}

impl ChatOptions {
    /// A chat that starts with `message`; history cleared, not silent, no turn
    /// limit, summary from the last message.
    pub fn new(message: impl Into<String>) -> ChatOptions {
        ChatOptions {
            message: message.into(),
            clear_history: true,
            silent: false,
            streaming: Streaming::All,
            max_turns: None,
            summary_method: SummaryMethod::LastMsg,
        }
    }

    /// Whether to forget earlier conversations between the two agents (default true).
    pub fn clear_history(mut self, clear: bool) -> ChatOptions {
        self.clear_history = clear;
        self
    }

    /// Whether to send nothing of this chat to the stream, streamed tokens
    /// included (default false). Input requests still reach the stream.
    pub fn silent(mut self, silent: bool) -> ChatOptions {
        self.silent = silent;
        self
    }

    /// Whose replies stream their tokens (default: every streaming agent's).
    ///
    /// ```
    /// use agentio::agentchat::{ChatOptions, Streaming};
    ///
    /// // Only the chatbot's answers stream; the user proxy's turns arrive whole.
    /// let options = ChatOptions::new("Weather in Paris?").streaming(Streaming::agents(["chatbot"]));
    /// # let _ = options;
    /// ```
    pub fn streaming(mut self, streaming: Streaming) -> ChatOptions {
        self.streaming = streaming;
        self
    }

    /// The most exchanges (a message and its reply) the chat may have.
    pub fn max_turns(mut self, turns: usize) -> ChatOptions {
        self.max_turns = Some(turns);
        self
    }

    /// How to summarise the chat (default: the last message).
    pub fn summary_method(mut self, method: SummaryMethod) -> ChatOptions {
        self.summary_method = method;
        self
    }
}

impl From<&str> for ChatOptions {
    fn from(message: &str) -> ChatOptions {
        ChatOptions::new(message)
    }
}

impl From<String> for ChatOptions {
    fn from(message: String) -> ChatOptions {
        ChatOptions::new(message)
    }
}

/// Tokens and cost of a chat, as AutoGen's `ChatResult.cost` reports them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatCost {
    /// Every completion, cached ones included.
    pub usage_including_cached_inference: ModelUsageSummary,
    /// Completions that were not answered from the cache.
    pub usage_excluding_cached_inference: ModelUsageSummary,
}

impl ChatCost {
    /// The cost as a `usage_summary` event (mode both), which prints as
    /// AutoGen's `print_usage_summary()`: send it to a stream to show it.
    pub fn usage_summary(&self) -> Event {
        Event::UsageSummary(crate::io::UsageSummaryEvent {
            uuid: Uuid::new_v4(),
            actual: self.usage_excluding_cached_inference.clone(),
            total: self.usage_including_cached_inference.clone(),
            mode: crate::io::UsageMode::Both,
        })
    }
}

/// What a finished chat produced.
#[derive(Debug, Clone)]
pub struct ChatResult {
    /// The conversation, as the initiating agent saw it, in OpenAI's shape.
    pub chat_history: Vec<Message>,
    /// The summary (by default the last message without `"TERMINATE"`).
    pub summary: String,
    /// Tokens and cost of both agents' model calls during the chat.
    pub cost: ChatCost,
    /// Every reply a human typed, in order.
    pub human_input: Vec<String>,
}

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
    /// (model, usage, cost, cached) of every model call.
    pub usage: Vec<(String, crate::llm::Usage, f64, bool)>,
}

impl Turn {
    /// Sends an event to the chat's stream.
    pub fn send(&self, event: Event) -> Result<()> {
        self.stream.send(&event)
    }

    /// Notes a model call's tokens and cost.
    pub fn record_usage(&mut self, reply: &ChatResponse) {
        self.usage
            .push((reply.model.clone(), reply.usage, reply.cost, reply.cached));
    }

    /// Usage per model, in the order models were first used.
    fn summary(&self, include_cached: bool) -> ModelUsageSummary {
        let mut usages: Vec<ModelUsage> = Vec::new();
        for (model, usage, cost, cached) in &self.usage {
            if *cached && !include_cached {
                continue;
            }
            let index = match usages.iter().position(|u| &u.model == model) {
                Some(i) => i,
                None => {
                    usages.push(ModelUsage {
                        model: model.clone(),
                        prompt_tokens: 0,
                        completion_tokens: 0,
                        total_tokens: 0,
                        cost: 0.0,
                    });
                    usages.len() - 1
                }
            };
            let entry = &mut usages[index];
            entry.prompt_tokens += usage.prompt_tokens;
            entry.completion_tokens += usage.completion_tokens;
            entry.total_tokens += usage.total_tokens;
            entry.cost += cost;
        }
        let total_cost = usages.iter().map(|u| u.cost).sum();
        ModelUsageSummary {
            usages: Some(usages),
            total_cost: Some(total_cost),
        }
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
            usage: Vec::new(),
        };
        let mut message = Outgoing::text(options.message.clone());
        let mut exchanges = 0;
        let (mut from, mut to) = (&mut *self, &mut *recipient);
        let mut to_is_initiator = false;
        loop {
            deliver(from, to, &message, &turn)?;
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
            message = reply;
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
            cost: ChatCost {
                usage_including_cached_inference: turn.summary(true),
                usage_excluding_cached_inference: turn.summary(false),
            },
            human_input: turn.human_input,
        })
    }

    fn prepare_chat(&mut self, peer: &str, clear_history: bool) {
        self.auto_replies.insert(peer.to_owned(), 0);
        if clear_history {
            self.chat_messages.remove(peer);
        }
    }

    /// Adds a message to the conversation with `peer` in OpenAI's shape:
    /// tool results become `tool` messages; otherwise the role is
    /// `assistant` for what this agent sent and `user` for what it received.
    fn append(&mut self, peer: &str, message: &Outgoing, sending: bool, author: &str) {
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
    let (sender, recipient) = (from.name.clone(), to.name.clone());
    if !message.tool_responses.is_empty() {
        turn.send(Event::ToolResponse(ToolResponseEvent {
            uuid: Uuid::new_v4(),
            content: message
                .tool_responses
                .iter()
                .map(|r| r.content.as_str())
                .collect::<Vec<_>>()
                .join("\n\n"),
            sender: sender.clone(),
            recipient: recipient.clone(),
            role: "tool".to_owned(),
            tool_responses: message.tool_responses.clone(),
        }))?;
        if message.message.role == Role::Tool {
            return Ok(());
        }
    }
    if !message.message.tool_calls.is_empty() {
        return turn.send(Event::ToolCall(ToolCallEvent {
            uuid: Uuid::new_v4(),
            content: message.message.content.clone(),
            sender,
            recipient,
            role: "assistant".to_owned(),
            tool_calls: message.message.tool_calls.clone(),
        }));
    }
    turn.send(Event::Text(TextEvent {
        uuid: Uuid::new_v4(),
        content: message.message.text().to_owned(),
        sender,
        recipient,
        streamed: message.streamed,
    }))
}
