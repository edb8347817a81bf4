//! The options of a chat: its first message, history, silence, streaming,
//! turn limit and summary.

use std::sync::Arc;

use crate::llm::Message;

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

/// The options of [`ConversableAgent::initiate_chat`](crate::agentchat::ConversableAgent::initiate_chat); a `&str` or `String`
/// converts into options with AutoGen's defaults.
#[derive(Debug, Clone)]
pub struct ChatOptions {
    /// The first message; `None` when the chat resumes.
    pub(crate) message: Option<String>,
    pub(crate) clear_history: bool,
    pub(crate) silent: bool,
    pub(crate) streaming: Streaming,
    pub(crate) max_turns: Option<usize>,
    pub(crate) summary_method: SummaryMethod,
}

impl ChatOptions {
    /// A chat that starts with `message`; history cleared, not silent, no turn
    /// limit, summary from the last message.
    pub fn new(message: impl Into<String>) -> ChatOptions {
        ChatOptions {
            message: Some(message.into()),
            clear_history: true,
            silent: false,
            streaming: Streaming::All,
            max_turns: None,
            summary_method: SummaryMethod::LastMsg,
        }
    }

    /// A chat that continues the conversation the two agents already hold
    /// (loaded with [`load_history`](crate::agentchat::ConversableAgent::load_history),
    /// say from a frontend's request): no new message; the initiator
    /// replies first, to the last message the recipient sent it (a tool
    /// call waiting for its result, a question waiting for an answer).
    /// History is kept.
    pub fn resume() -> ChatOptions {
        ChatOptions {
            message: None,
            clear_history: false,
            ..ChatOptions::new("")
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
