//! The `ModelClient` trait and the request and response it speaks.

use serde_json::{Map, Value};

use crate::Result;
use crate::io::{self, IOStream};
use crate::llm::Message;

/// A chat completion request: the conversation, the tools the model may call,
/// who is speaking, and sampling options.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ChatRequest {
    /// The conversation so far, system message first.
    pub messages: Vec<Message>,
    /// Tool schemas in OpenAI's `tools` shape.
    pub tools: Vec<Value>,
    /// Stream the reply: each content fragment goes to the output stream as
    /// a `stream` event as soon as it arrives.
    pub stream: bool,
    /// The agent whose reply this is: its `stream` events carry it as their
    /// `sender`, so filters and UIs know who is talking.
    pub sender: Option<String>,
    /// The agent the reply is for (the first `stream` event of the reply
    /// carries it, so a console can print the reply's header once).
    pub recipient: Option<String>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// The most tokens to generate.
    pub max_tokens: Option<u32>,
    /// Other request fields, sent as they are (`top_p`, `seed`, `tool_choice`…).
    pub extra: Map<String, Value>,
}

impl ChatRequest {
    /// A request for a reply to `messages`.
    pub fn new(messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            messages,
            ..ChatRequest::default()
        }
    }

    /// Sets the tools the model may call.
    pub fn tools(mut self, tools: Vec<Value>) -> ChatRequest {
        self.tools = tools;
        self
    }

    /// Streams the reply to the output stream as it arrives.
    pub fn stream(mut self, stream: bool) -> ChatRequest {
        self.stream = stream;
        self
    }

    /// Says who speaks (`sender`) and to whom: the reply's `stream` events
    /// are made with them, once.
    pub fn speaker(
        mut self,
        sender: impl Into<String>,
        recipient: impl Into<String>,
    ) -> ChatRequest {
        self.sender = Some(sender.into());
        self.recipient = Some(recipient.into());
        self
    }
}

/// Tokens a completion used, as the server reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Tokens sent.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
}

/// A model's reply.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChatResponse {
    /// The assistant message: text, tool calls, or both.
    pub message: Message,
    /// Why the model stopped (`stop`, `length`, `tool_calls`, …), if it said.
    pub finish_reason: Option<String>,
    /// Token counts (zero when the server did not report them).
    pub usage: Usage,
    /// The model that answered.
    pub model: String,
    /// Cost in dollars, from the configured price (0 when unknown).
    pub cost: f64,
    /// Whether content already went to the output stream as `stream` events.
    pub streamed: bool,
    /// Whether the reply came from the cache (no model was called).
    pub cached: bool,
    /// Reasoning text some models send beside the answer (not part of it,
    /// and never sent back to the model).
    pub reasoning: Option<String>,
    /// Whether the reasoning already went to the output stream as
    /// `reasoning` events.
    pub reasoning_streamed: bool,
}

impl Usage {
    /// Counts as the server reports them.
    pub fn new(prompt_tokens: u64, completion_tokens: u64, total_tokens: u64) -> Usage {
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens,
        }
    }
}

impl ChatResponse {
    /// A reply carrying `message` from `model`, with no usage or cost, not
    /// streamed, not cached: what your own [`ModelClient`] starts from.
    pub fn new(message: Message, model: impl Into<String>) -> ChatResponse {
        ChatResponse {
            message,
            finish_reason: None,
            usage: Usage::default(),
            model: model.into(),
            cost: 0.0,
            streamed: false,
            cached: false,
            reasoning: None,
            reasoning_streamed: false,
        }
    }
}

/// Anything that answers chat completion requests: the OpenAI-compatible
/// client, the replay client, or your own.
///
/// The caller says where a streamed reply goes: [`create_to`](ModelClient::create_to)
/// takes the output stream. A streaming implementation sends each content
/// fragment there as a `stream` event made with the request's
/// [`sender`](ChatRequest::sender) as soon as it has it, and stops (returning
/// the error) as soon as sending fails: the stream's reader is gone. A model
/// error after a fragment went out is [`Error::Interrupted`](crate::Error::Interrupted),
/// so nobody retries a reply the user already saw part of.
///
/// ```
/// use agentio::io::{Event, IOBuffer};
/// use agentio::llm::{ChatRequest, Message, ModelClient, ReplayClient};
///
/// let model = ReplayClient::new().text(["Sunny ", "today."]);
/// let out = IOBuffer::new();
/// let request = ChatRequest::new(vec![Message::user("Weather?")])
///     .stream(true)
///     .speaker("chatbot", "user_proxy");
/// let reply = model.create_to(&request, &out)?;
/// assert_eq!(reply.message.text(), "Sunny today.");
/// let Event::Stream(first) = &out.events()[0] else { panic!("not a stream event") };
/// assert_eq!((first.content.as_str(), first.sender.as_deref()), ("Sunny ", Some("chatbot")));
/// # Ok::<(), agentio::Error>(())
/// ```
pub trait ModelClient: Send + Sync {
    /// Answers one request; a streamed reply's fragments go to `out`.
    fn create_to(&self, request: &ChatRequest, out: &dyn IOStream) -> Result<ChatResponse>;

    /// Answers one request, streaming to the current thread's default
    /// stream (AutoGen's `create`).
    fn create(&self, request: &ChatRequest) -> Result<ChatResponse> {
        self.create_to(request, io::get_default().as_ref())
    }
}

impl<C: ModelClient + ?Sized> ModelClient for std::sync::Arc<C> {
    fn create_to(&self, request: &ChatRequest, out: &dyn IOStream) -> Result<ChatResponse> {
        (**self).create_to(request, out)
    }
}
