//! The `ModelClient` trait and the request and response it speaks.

use serde_json::{Map, Value};

use crate::Result;
use crate::llm::Message;

/// A chat completion request: the conversation, the tools the model may call,
/// and sampling options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The conversation so far, system message first.
    pub messages: Vec<Message>,
    /// Tool schemas in OpenAI's `tools` shape.
    pub tools: Vec<Value>,
    /// Stream the reply: each content fragment goes to the current thread's
    /// default stream as a `stream` event as soon as it arrives.
    pub stream: bool,
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

    /// Streams the reply to the current default stream.
    pub fn stream(mut self, stream: bool) -> ChatRequest {
        self.stream = stream;
        self
    }
}

/// Tokens a completion used, as the server reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
    /// Whether the content already went to the default stream as `stream` events.
    pub streamed: bool,
    /// Whether the reply came from the cache (no model was called).
    pub cached: bool,
    /// Reasoning text some models send beside the answer (not part of it).
    pub reasoning: Option<String>,
}

/// Anything that answers chat completion requests: the OpenAI-compatible
/// client, the replay client, or your own.
///
/// A streaming implementation sends each content fragment to
/// [`io::get_default()`](crate::io::get_default) as an
/// [`Event::stream`](crate::io::Event::stream) as soon as it has it, and stops
/// (returning the error) as soon as sending fails: the stream's reader is gone.
pub trait ModelClient: Send + Sync {
    /// Answers one request.
    fn create(&self, request: &ChatRequest) -> Result<ChatResponse>;
}

impl<C: ModelClient + ?Sized> ModelClient for std::sync::Arc<C> {
    fn create(&self, request: &ChatRequest) -> Result<ChatResponse> {
        (**self).create(request)
    }
}
