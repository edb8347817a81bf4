//! The blocking OpenAI-compatible client, on ureq.

use std::io::Read;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::io::IOStream;
use crate::llm::chunks::ChunkAssembler;
use crate::llm::retry;
use crate::llm::sse::SseReader;
use crate::llm::{ChatRequest, ChatResponse, ConfigEntry, LlmConfig, ModelClient, OPENAI_BASE_URL};
use crate::{ApiError, Error, Result};

/// The largest server-sent event or whole response accepted (8 MiB).
const MAX_RESPONSE_BYTES: usize = 8 << 20;
/// How much of an error body is kept (64 KiB).
const MAX_ERROR_BODY: u64 = 64 << 10;

/// Per-connection buffers. ureq's default is 128 KiB each way, zero-filled
/// on first use, so 256 KiB resident per open connection: 64 MiB for 256
/// concurrent chats. Replies are read as a stream, so 10 KiB in (room for an
/// 8 KiB response header, nginx's default limit too; ureq keeps 10 KiB of it
/// free to write request bodies through, so less would not be less) and
/// 8 KiB out (request bodies are written through it in pieces) lose nothing.
const INPUT_BUFFER: usize = 10 * 1024;
const MAX_RESPONSE_HEADER: usize = 8 * 1024;
const OUTPUT_BUFFER: usize = 8 * 1024;

/// What is read after `[DONE]` at most, to reach the end of the body: a
/// server has nothing more to send there, and one that sends more loses its
/// connection instead of holding the call. (One that sends nothing and does
/// not end the body holds it up to the read timeout, as with OpenAI's own
/// client, which reads every stream to its end too.)
const MAX_AFTER_DONE: usize = 64 * 1024;

/// Idle connections kept for reuse. ureq keeps 3 per host, so a server
/// with many chats on one endpoint would open a new connection (and TLS
/// session) for most calls.
const MAX_IDLE_CONNECTIONS: usize = 64;

/// A client for one OpenAI-compatible endpoint (OpenAI, Azure OpenAI, Ollama,
/// vLLM, llama.cpp, …).
///
/// Keeps its connections alive between calls. A streamed reply goes to the
/// output stream fragment by fragment; if the stream fails (its reader is
/// gone), reading stops at once and the connection is dropped, so no more
/// tokens are generated for nobody.
#[derive(Debug, Clone)]
pub struct OpenAIClient {
    http: ureq::Agent,
    entry: ConfigEntry,
}

impl OpenAIClient {
    /// A client for `entry`, with `config`'s timeouts.
    pub fn new(entry: ConfigEntry, config: &LlmConfig) -> OpenAIClient {
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .input_buffer_size(INPUT_BUFFER)
            .max_response_header_size(MAX_RESPONSE_HEADER)
            .output_buffer_size(OUTPUT_BUFFER)
            .max_idle_connections(MAX_IDLE_CONNECTIONS)
            .max_idle_connections_per_host(MAX_IDLE_CONNECTIONS)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_recv_response(Some(config.timeout))
            .timeout_per_read(Some(config.timeout))
            .build()
            .into();
        OpenAIClient { http, entry }
    }

    /// The endpoint this client calls.
    pub fn entry(&self) -> &ConfigEntry {
        &self.entry
    }

    fn url(&self) -> String {
        let base = self
            .entry
            .base_url
            .as_deref()
            .unwrap_or(OPENAI_BASE_URL)
            .trim_end_matches('/');
        if self.entry.is_azure() {
            let version = self.entry.api_version.as_deref().unwrap_or("2024-06-01");
            format!(
                "{base}/openai/deployments/{}/chat/completions?api-version={version}",
                self.entry.model
            )
        } else {
            format!("{base}/chat/completions")
        }
    }

    /// The JSON body for `request`.
    pub fn body(&self, request: &ChatRequest) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), self.entry.model.clone().into());
        body.insert("messages".into(), json!(request.messages));
        body.insert("stream".into(), request.stream.into());
        if request.stream {
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
        if !request.tools.is_empty() {
            body.insert("tools".into(), json!(request.tools));
        }
        if let Some(t) = request.temperature {
            body.insert("temperature".into(), t.into());
        }
        if let Some(m) = request.max_tokens {
            body.insert("max_tokens".into(), m.into());
        }
        for (key, value) in self.entry.extra.iter().chain(&request.extra) {
            body.insert(key.clone(), value.clone());
        }
        Value::Object(body)
    }
}

impl ModelClient for OpenAIClient {
    fn create_to(&self, request: &ChatRequest, out: &dyn IOStream) -> Result<ChatResponse> {
        let url = self.url();
        if !cfg!(feature = "tls") && url.starts_with("https:") {
            return Err(Error::Config(format!(
                "{url} needs HTTPS, and agentio was built without its `tls` feature"
            )));
        }
        let body = serde_json::to_vec(&self.body(request))?;
        let mut call = self
            .http
            .post(url)
            .header("content-type", "application/json");
        if let Some(key) = &self.entry.api_key {
            call = if self.entry.is_azure() {
                call.header("api-key", key)
            } else {
                call.header("authorization", format!("Bearer {key}"))
            };
        }
        let response = call.send(&body[..]).map_err(|e| Error::Http(Box::new(e)))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = retry::retry_after(
            header("retry-after-ms").as_deref(),
            header("retry-after").as_deref(),
            std::time::SystemTime::now(),
        );
        let should_retry = retry::should_retry(header("x-should-retry").as_deref());
        let reader = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader();
        if !(200..300).contains(&status) {
            return Err(api_error(status, reader, retry_after, should_retry));
        }
        let mut assembler = if request.stream {
            ChunkAssembler::streaming(request, out).queued()
        } else {
            ChunkAssembler::new()
        };
        if request.stream {
            // Fragments queued while more were in hand go out before
            // the reply is over, whatever ended it.
            let read = read_stream(reader, &mut assembler, out);
            let flushed = out.flush();
            read.and(flushed).map_err(|e| {
                // The user saw part of this reply: say so, and keep it from
                // being retried (the stream's own errors pass as they are).
                if e.is_model_error() && assembler.has_streamed() {
                    Error::Interrupted(Box::new(e))
                } else {
                    e
                }
            })?;
        } else {
            let mut text = Vec::new();
            reader
                .take(MAX_RESPONSE_BYTES as u64 + 1)
                .read_to_end(&mut text)
                .map_err(Error::ResponseRead)?;
            if text.len() > MAX_RESPONSE_BYTES {
                return Err(Error::Protocol(format!(
                    "the response is larger than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            let completion: Value = serde_json::from_slice(&text).map_err(|e| {
                Error::Protocol(format!("the response is not a JSON completion: {e}"))
            })?;
            assembler.push(&completion)?;
        }
        let mut reply = assembler.finish()?;
        if reply.model.is_empty() {
            reply.model = self.entry.model.clone();
        }
        reply.cost = self
            .entry
            .cost(reply.usage.prompt_tokens, reply.usage.completion_tokens);
        Ok(reply)
    }
}

/// Reads server-sent events until `[DONE]` or the end, feeding each chunk to
/// the assembler, which queues content to `out`; `out` is flushed before
/// each read from the network, so fragments that arrived together go out
/// together and none waits for the next.
fn read_stream(
    reader: impl Read,
    assembler: &mut ChunkAssembler,
    out: &dyn IOStream,
) -> Result<()> {
    let mut events = SseReader::new(reader, MAX_RESPONSE_BYTES);
    while let Some(event) = events.next_event_with(&mut || out.flush())? {
        if event.data == "[DONE]" {
            // The reply is whole. Read the body to its end, as OpenAI's own
            // client does, so the connection goes back to the pool: what
            // follows is the body's last chunk. The user has every token
            // before that read.
            out.flush()?;
            events.drain(MAX_AFTER_DONE);
            return Ok(());
        }
        if event.data.is_empty() {
            continue;
        }
        if event.event == "error" {
            // A named error event: its data is the error, with or without
            // an `error` wrapper (rare, so read as JSON).
            let chunk: Value = serde_json::from_str(&event.data).map_err(|e| {
                Error::Protocol(format!(
                    "an error event is not JSON ({e}): {:.200}",
                    event.data
                ))
            })?;
            return Err(Error::api_in_stream(chunk.get("error").unwrap_or(&chunk)));
        }
        assembler.push_json(&event.data)?;
    }
    // Without `[DONE]`, only a finished choice shows the reply is whole.
    if assembler.finish_reason().is_some() {
        Ok(())
    } else {
        Err(Error::Protocol(
            "the stream ended before the reply was finished (no [DONE])".to_owned(),
        ))
    }
}

/// The error a non-2xx response carries: the server's `error.message` when
/// the body is OpenAI's error JSON, else the body itself.
fn api_error(
    status: u16,
    reader: impl Read,
    retry_after: Option<Duration>,
    should_retry: Option<bool>,
) -> Error {
    let mut body = Vec::new();
    let _ = reader.take(MAX_ERROR_BODY).read_to_end(&mut body);
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    let parsed: Option<Value> = serde_json::from_str(&text).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let message = error
        .and_then(|e| e.get("message").and_then(Value::as_str).map(str::to_owned))
        .or_else(|| error.and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| {
            if text.is_empty() {
                "(empty body)".to_owned()
            } else {
                text.clone()
            }
        });
    Error::Api(Box::new(ApiError {
        status,
        message,
        code: error
            .and_then(|e| e.get("code"))
            .and_then(crate::error::code_text),
        retry_after,
        should_retry,
    }))
}

#[cfg(all(test, not(feature = "tls")))]
mod tests {
    use super::*;
    use crate::llm::{LlmConfig, Message};

    /// Built without the `tls` feature, an https endpoint is a clear error
    /// at the call, not a hang or a panic.
    #[test]
    fn without_tls_an_https_endpoint_is_a_clear_error() {
        let entry = ConfigEntry::new("m").base_url("https://127.0.0.1:9/v1");
        let client = OpenAIClient::new(entry.clone(), &LlmConfig::new(vec![entry]));
        let err = client.create(&ChatRequest::new(vec![Message::user("hi")]));
        let text = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.to_lowercase().contains("tls"), "{text}");
    }
}
