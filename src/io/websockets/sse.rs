//! AG-UI over HTTP + server-sent events: the run's input (`RunAgentInput`)
//! and the response, one `data:` event per AG-UI event, encoded from the
//! chat's events as they happen.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::io::websockets::Transport;
use crate::io::{AguiEncoder, Encoder, Event, FunctionCall, ToolCall};
use crate::llm::Message;
use crate::{Error, Result};

/// What the server takes from AG-UI's `RunAgentInput`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunAgentInput {
    pub thread_id: String,
    pub run_id: String,
    #[serde(default)]
    pub messages: Vec<InputMessage>,
}

/// One message of the conversation the frontend sends.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InputMessage {
    pub role: String,
    #[serde(default)]
    pub content: Value,
    #[serde(default)]
    pub tool_calls: Vec<InputToolCall>,
    #[serde(default)]
    pub tool_call_id: Option<String>,
}

/// A tool call of an assistant message, as AG-UI writes it.
#[derive(Debug, Deserialize)]
pub(crate) struct InputToolCall {
    pub id: String,
    pub function: InputFunction,
}

#[derive(Debug, Deserialize)]
pub(crate) struct InputFunction {
    pub name: String,
    #[serde(default)]
    pub arguments: String,
}

/// A message's text: a string, or its text parts joined.
fn text_of(content: &Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter(|p| p["type"] == "text")
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
}

impl RunAgentInput {
    /// Reads the request body.
    pub fn parse(body: &[u8]) -> std::result::Result<RunAgentInput, String> {
        serde_json::from_slice(body).map_err(|e| format!("the body is no AG-UI RunAgentInput: {e}"))
    }

    /// The last user message's text: what the chat is asked.
    pub fn last_user_text(&self) -> Option<String> {
        let message = self.messages.iter().rev().find(|m| m.role == "user")?;
        text_of(&message.content)
    }

    /// The conversation before the last user message, in OpenAI's shape
    /// (user, assistant with its tool calls, tool results; system and
    /// developer messages as system).
    pub fn history(&self) -> Vec<Message> {
        let last = self
            .messages
            .iter()
            .rposition(|m| m.role == "user")
            .unwrap_or(0);
        self.messages[..last]
            .iter()
            .filter_map(|m| {
                let text = text_of(&m.content);
                Some(match m.role.as_str() {
                    "user" => Message::user(text.unwrap_or_default()),
                    "system" | "developer" => Message::system(text.unwrap_or_default()),
                    "tool" => Message::tool(m.tool_call_id.clone()?, text.unwrap_or_default()),
                    "assistant" if m.tool_calls.is_empty() => {
                        Message::assistant(text.unwrap_or_default())
                    }
                    "assistant" => {
                        let calls = m
                            .tool_calls
                            .iter()
                            .map(|c| {
                                ToolCall::new(
                                    &c.id,
                                    FunctionCall::new(&c.function.name, &c.function.arguments),
                                )
                            })
                            .collect();
                        let mut message = Message::tool_calls(calls);
                        message.content = text.filter(|t| !t.is_empty());
                        message
                    }
                    _ => return None, // reasoning, activity: nothing the model reads
                })
            })
            .collect()
    }
}

/// One AG-UI run's response stream.
pub(crate) struct SseLink {
    transport: Box<dyn Transport>,
    tcp: Arc<TcpStream>,
    encoder: AguiEncoder,
    /// The run's question, until the chat takes it.
    question: Option<String>,
    /// The conversation before it.
    history: Vec<Message>,
    open: bool,
}

/// The response head: an event stream that proxies must not buffer.
const HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
                    x-accel-buffering: no\r\nconnection: close\r\n";

impl SseLink {
    /// Answers the request with the event stream's head and `RUN_STARTED`.
    pub fn start(
        mut transport: Box<dyn Transport>,
        tcp: Arc<TcpStream>,
        input: &RunAgentInput,
        cors_origin: Option<&str>,
    ) -> Result<SseLink> {
        let mut head = HEAD.to_owned();
        if let Some(origin) = cors_origin {
            head.push_str(&format!(
                "access-control-allow-origin: {origin}\r\nvary: origin\r\n"
            ));
        }
        head.push_str("\r\n");
        transport
            .write_all(head.as_bytes())
            .map_err(|_| Error::ConnectionClosed)?;
        let question = input.last_user_text();
        let mut encoder = AguiEncoder::new(&input.thread_id, &input.run_id);
        if let Some(question) = &question {
            encoder = encoder.question(question.clone());
        }
        let mut link = SseLink {
            transport,
            tcp,
            history: input.history(),
            question,
            open: true,
            encoder,
        };
        let started = link.encoder.start();
        link.write(&started)?;
        Ok(link)
    }

    /// The conversation the frontend sent before the question.
    pub fn history(&self) -> Vec<Message> {
        self.history.clone()
    }

    /// The run's question, the first time it is asked for.
    pub fn take_question(&mut self) -> Option<String> {
        self.question.take()
    }

    /// Sends what `event` means in AG-UI.
    pub fn send(&mut self, event: &Event) -> Result<()> {
        let encoded = self.encoder.encode(event);
        self.write(&encoded)
    }

    /// Fails when the client has gone: the request is over for it.
    pub fn check(&mut self) -> Result<()> {
        if !self.open {
            return Err(Error::ConnectionClosed);
        }
        // An SSE client sends nothing after its body: readable means closed.
        let mut byte = [0u8; 1];
        let _ = self.tcp.set_nonblocking(true);
        let gone = match self.tcp.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted),
        };
        let _ = self.tcp.set_nonblocking(false);
        if gone {
            self.open = false;
            return Err(Error::ConnectionClosed);
        }
        Ok(())
    }

    /// Ends the run: `RUN_FINISHED`, or `RUN_ERROR` with `error`; then the
    /// connection closes.
    pub fn close(&mut self, error: Option<&str>) {
        let last = match error {
            Some(error) => self.encoder.fail(error),
            None => self.encoder.finish(),
        };
        let _ = self.write(&last);
        self.open = false;
        let _ = self.tcp.shutdown(std::net::Shutdown::Both);
    }

    /// Writes events, each as one `data:` event; a write that fails or
    /// waits past the write timeout ends the link.
    fn write(&mut self, events: &[Value]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        if !self.open {
            return Err(Error::ConnectionClosed);
        }
        let mut frames = String::new();
        for event in events {
            frames.push_str("data: ");
            frames.push_str(&event.to_string());
            frames.push_str("\n\n");
        }
        let written = self
            .transport
            .write_all(frames.as_bytes())
            .and_then(|()| self.transport.flush());
        written.map_err(|e| {
            self.open = false;
            match e.kind() {
                ErrorKind::WouldBlock | ErrorKind::TimedOut => {
                    Error::WriteTimeout(Default::default())
                }
                _ => Error::ConnectionClosed,
            }
        })
    }
}
