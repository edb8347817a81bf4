//! Turning completion chunks into a reply, streaming content as it comes.
//!
//! Both the OpenAI client (chunks parsed from server-sent events) and the
//! replay client (scripted chunks) feed this, so a scripted reply takes the
//! same path to the user as a real one.

use serde_json::Value;

use crate::io::IOStream;
use crate::llm::chunk::Chunk;
use crate::llm::fragments::Fragments;
use crate::llm::tool_calls::ToolCallAssembler;
use crate::llm::{ChatRequest, ChatResponse, Message, Usage};
use crate::{Error, Result};

/// Builds a [`ChatResponse`] from `chat.completion.chunk` objects.
#[derive(Debug, Default)]
pub struct ChunkAssembler<'a> {
    content: String,
    reasoning: String,
    tool_calls: ToolCallAssembler,
    finish_reason: Option<String>,
    usage: Usage,
    model: String,
    fragments: Option<Fragments<'a>>,
}

impl<'a> ChunkAssembler<'a> {
    /// An assembler for one reply that only collects it.
    pub fn new() -> ChunkAssembler<'a> {
        ChunkAssembler::default()
    }

    /// An assembler for the reply to `request` that sends each content
    /// fragment to `out` as it comes.
    pub fn streaming(request: &'a ChatRequest, out: &'a dyn IOStream) -> ChunkAssembler<'a> {
        ChunkAssembler {
            fragments: Some(Fragments::new(request, out)),
            ..ChunkAssembler::default()
        }
    }

    /// Queues the content fragments instead of sending each (see
    /// [`Fragments::queued`]): the caller flushes the stream before it
    /// waits on anything.
    pub fn queued(mut self) -> ChunkAssembler<'a> {
        self.fragments = self.fragments.map(Fragments::queued);
        self
    }

    /// Whether any fragment (content or reasoning) has reached the stream:
    /// from then on the request must not be retried, or the user would see
    /// it twice.
    pub fn has_streamed(&self) -> bool {
        self.fragments.as_ref().is_some_and(Fragments::shown)
    }

    /// The `finish_reason` seen so far.
    pub fn finish_reason(&self) -> Option<&str> {
        self.finish_reason.as_deref()
    }

    /// Takes one chunk (or a whole non-streamed completion); a streaming
    /// assembler sends its content fragment on at once. An `error` object in
    /// the chunk is an error.
    pub fn push(&mut self, chunk: &Value) -> Result<()> {
        let chunk = Chunk::of(chunk)
            .map_err(|e| Error::Protocol(format!("a stream chunk is not a chunk: {e}")))?;
        self.take(&chunk)
    }

    /// [`push`](Self::push) for a chunk's JSON text, read without building
    /// a JSON tree (the streaming hot path).
    pub fn push_json(&mut self, text: &str) -> Result<()> {
        let chunk = Chunk::parse(text).map_err(|e| {
            Error::Protocol(format!("a stream chunk is not JSON ({e}): {text:.200}"))
        })?;
        self.take(&chunk)
    }

    fn take(&mut self, chunk: &Chunk<'_>) -> Result<()> {
        if let Some(error) = &chunk.error {
            return Err(Error::api_in_stream(error));
        }
        if let Some(model) = chunk.model.as_deref() {
            if self.model.is_empty() {
                self.model = model.to_owned();
            }
        }
        if let Some(usage) = chunk.usage.as_ref().filter(|u| u.is_object()) {
            let count = |key: &str| usage.get(key).and_then(Value::as_u64);
            if let Some(total) = count("total_tokens") {
                self.usage = Usage {
                    prompt_tokens: count("prompt_tokens").unwrap_or(0),
                    completion_tokens: count("completion_tokens").unwrap_or(0),
                    total_tokens: total,
                };
            }
        }
        // Only the first choice matters (n = 1).
        for choice in &chunk.choices {
            if choice.index.as_ref().and_then(Value::as_u64).unwrap_or(0) != 0 {
                continue;
            }
            if let Some(reason) = choice.finish_reason.as_deref().filter(|r| !r.is_empty()) {
                self.finish_reason = Some(reason.to_owned());
            }
            let Some(delta) = choice.delta.as_ref().or(choice.message.as_ref()) else {
                continue;
            };
            for piece in [&delta.reasoning_content, &delta.reasoning] {
                if let Some(piece) = piece.as_deref().filter(|p| !p.is_empty()) {
                    if let Some(fragments) = &mut self.fragments {
                        fragments.reasoning(piece)?;
                    }
                    self.reasoning.push_str(piece);
                }
            }
            if let Some(piece) = delta.content.as_deref().filter(|p| !p.is_empty()) {
                if let Some(fragments) = &mut self.fragments {
                    fragments.send(piece)?;
                }
                self.content.push_str(piece);
            }
            let fragments_in = delta.tool_calls.as_ref().and_then(Value::as_array);
            for fragment in fragments_in.into_iter().flatten() {
                let position = self.tool_calls.push(fragment);
                if let (Some(fragments), Some((id, name))) =
                    (&mut self.fragments, self.tool_calls.call(position))
                {
                    let arguments = fragment
                        .pointer("/function/arguments")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    fragments.tool_call(position, id, name, arguments)?;
                }
            }
        }
        Ok(())
    }

    /// The reply; a streaming assembler first tells a stream that asked
    /// that the reply is complete (`reply_end`).
    pub fn finish(mut self) -> Result<ChatResponse> {
        if let Some(fragments) = &mut self.fragments {
            fragments.end(self.finish_reason.as_deref())?;
        }
        let streamed = self.fragments.as_ref().is_some_and(Fragments::sent);
        let reasoning_streamed = self.fragments.as_ref().is_some_and(Fragments::reasoned);
        let tool_calls = self.tool_calls.finish();
        let mut message = if tool_calls.is_empty() {
            Message::assistant(self.content)
        } else {
            let mut message = Message::tool_calls(tool_calls);
            message.content = (!self.content.is_empty()).then_some(self.content);
            message
        };
        message.name = None;
        Ok(ChatResponse {
            message,
            finish_reason: self.finish_reason,
            usage: self.usage,
            model: self.model,
            cost: 0.0,
            streamed,
            cached: false,
            reasoning: (!self.reasoning.is_empty()).then_some(self.reasoning),
            reasoning_streamed,
        })
    }
}
