//! `ReplayClient`: a scripted model, for tests, demos and working offline.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::io::IOStream;
use crate::llm::chunks::ChunkAssembler;
use crate::llm::{ChatRequest, ChatResponse, ModelClient};
use crate::{Error, Result};

/// One scripted reply.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptedReply {
    /// Text, sent in these chunks when streaming.
    Text(Vec<String>),
    /// Tool calls: (name, arguments) each.
    ToolCalls(Vec<(String, Value)>),
}

/// A model that answers each request with the next scripted reply, like
/// autogen-ext's `ReplayChatCompletionClient`.
///
/// Replies are turned into the same chunks an OpenAI server streams and go
/// through the same assembly as real ones, so a streamed reply reaches the
/// output stream chunk by chunk. When the script is used up, `create` fails.
///
/// ```
/// use agentio::llm::{ChatRequest, Message, ModelClient, ReplayClient};
///
/// let model = ReplayClient::new()
///     .tool_call("weather_forecast", serde_json::json!({"city": "Paris"}))
///     .text(["Sunny ", "in Paris.", "\nTERMINATE"]);
/// let first = model.create(&ChatRequest::new(vec![Message::user("Weather?")]))?;
/// assert_eq!(first.message.tool_calls[0].function.name, "weather_forecast");
/// let second = model.create(&ChatRequest::new(vec![]))?;
/// assert_eq!(second.message.text(), "Sunny in Paris.\nTERMINATE");
/// # Ok::<(), agentio::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct ReplayClient {
    script: Mutex<VecDeque<ScriptedReply>>,
    calls: AtomicU64,
    pace: Option<Duration>,
}

/// The model name replay replies carry.
pub const REPLAY_MODEL: &str = "replay";

impl ReplayClient {
    /// A client with an empty script.
    pub fn new() -> ReplayClient {
        ReplayClient::default()
    }

    /// Adds a text reply, streamed in these chunks.
    pub fn text<I, S>(self, chunks: I) -> ReplayClient
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.push(ScriptedReply::Text(
            chunks.into_iter().map(Into::into).collect(),
        ))
    }

    /// Adds a reply that calls one tool.
    pub fn tool_call(self, name: impl Into<String>, arguments: Value) -> ReplayClient {
        self.push(ScriptedReply::ToolCalls(vec![(name.into(), arguments)]))
    }

    /// Adds any scripted reply.
    pub fn push(self, reply: ScriptedReply) -> ReplayClient {
        self.lock_script().push_back(reply);
        self
    }

    /// Waits this long before each streamed chunk, as a real model does
    /// between tokens (demos, and load tests whose chats must last a while).
    pub fn pace(mut self, per_chunk: Duration) -> ReplayClient {
        self.pace = Some(per_chunk);
        self
    }

    /// Drops the first `n` scripted replies: for a chat rebuilt from a
    /// conversation in which the model already gave them.
    pub fn skip(self, n: usize) -> ReplayClient {
        {
            let mut script = self.lock_script();
            let n = n.min(script.len());
            script.drain(..n);
        }
        self
    }

    /// How many requests were answered.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn lock_script(&self) -> std::sync::MutexGuard<'_, VecDeque<ScriptedReply>> {
        self.script.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The chunks an OpenAI server would stream for `reply`.
fn chunks(reply: &ScriptedReply, call_number: u64, prompt_tokens: u64) -> Vec<Value> {
    let chunk = |delta: Value, finish: Value| {
        json!({"object": "chat.completion.chunk", "model": REPLAY_MODEL,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut out = vec![chunk(json!({"role": "assistant"}), Value::Null)];
    let (finish, completion_tokens) = match reply {
        ScriptedReply::Text(pieces) => {
            out.extend(
                pieces
                    .iter()
                    .map(|p| chunk(json!({"content": p}), Value::Null)),
            );
            ("stop", pieces.len() as u64)
        }
        ScriptedReply::ToolCalls(calls) => {
            for (i, (name, arguments)) in calls.iter().enumerate() {
                out.push(chunk(
                    json!({"tool_calls": [{"index": i, "id": format!("call_replay{call_number}_{i}"),
                        "type": "function", "function": {"name": name, "arguments": arguments.to_string()}}]}),
                    Value::Null,
                ));
            }
            ("tool_calls", calls.len() as u64 * 10)
        }
    };
    out.push(chunk(json!({}), finish.into()));
    out.push(
        json!({"object": "chat.completion.chunk", "model": REPLAY_MODEL, "choices": [],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens}}),
    );
    out
}

impl ModelClient for ReplayClient {
    fn create_to(&self, request: &ChatRequest, out: &dyn IOStream) -> Result<ChatResponse> {
        let reply = self.lock_script().pop_front().ok_or_else(|| {
            Error::Protocol("the replay model has no scripted reply left".to_owned())
        })?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        // Numbered by the model's place in the conversation, so call ids
        // stay unique over a conversation that several clients served
        // (a frontend's turns, a rebuilt chat).
        let call_number = request
            .messages
            .iter()
            .filter(|m| m.role == crate::llm::Role::Assistant)
            .count() as u64
            + 1;
        // About four characters a token, as a stand-in for a tokenizer.
        let prompt_chars: usize = request.messages.iter().map(|m| m.text().len()).sum();
        let mut assembler = if request.stream {
            ChunkAssembler::streaming(request, out).queued()
        } else {
            ChunkAssembler::new()
        };
        for chunk in chunks(&reply, call_number, prompt_chars as u64 / 4) {
            if let Some(pace) = self.pace.filter(|_| request.stream) {
                out.flush()?;
                std::thread::sleep(pace);
            }
            assembler.push(&chunk)?;
        }
        out.flush()?;
        assembler.finish()
    }
}
