//! The notebook chat over a frontend protocol's HTTP stream: AG-UI
//! (`POST /agui`, a `RunAgentInput`) or the AI SDK (`POST /api/chat`, UI
//! messages), read as server-sent events until the stream ends.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{MESSAGE, Sample};

/// A frontend protocol over server-sent events.
#[derive(Debug, Clone, Copy)]
pub enum Protocol {
    /// AG-UI: `POST /agui`.
    Agui,
    /// The Vercel AI SDK's UI message stream: `POST /api/chat`.
    AiSdk,
}

impl Protocol {
    /// `agui` or `ai-sdk`.
    pub fn parse(name: &str) -> Option<Protocol> {
        match name {
            "agui" => Some(Protocol::Agui),
            "ai-sdk" => Some(Protocol::AiSdk),
            _ => None,
        }
    }

    fn request(self, host: &str) -> String {
        let (path, body) = match self {
            Protocol::Agui => (
                "/agui",
                json!({"threadId": "t1", "runId": "r1", "tools": [], "context": [],
                       "state": {}, "forwardedProps": {},
                       "messages": [{"id": "m1", "role": "user", "content": MESSAGE}]}),
            ),
            Protocol::AiSdk => (
                "/api/chat",
                json!({"id": "chat-1", "trigger": "submit-message",
                       "messages": [{"id": "m1", "role": "user",
                                     "parts": [{"type": "text", "text": MESSAGE}]}]}),
            ),
        };
        let body = body.to_string();
        format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
             accept: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// The event that ends a whole run.
    fn last(self, data: &str) -> bool {
        match self {
            Protocol::Agui => data.contains(r#""type":"RUN_FINISHED""#),
            Protocol::AiSdk => data == "[DONE]",
        }
    }
}

/// One chat: the request, then every event until the server closes.
pub fn one_chat(uri: &str, protocol: Protocol, first_word: &str) -> Result<Sample, String> {
    let host = uri.trim_start_matches("ws://");
    let start = Instant::now();
    let mut stream = TcpStream::connect(host).map_err(|e| e.to_string())?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    stream
        .write_all(protocol.request(host).as_bytes())
        .map_err(|e| e.to_string())?;
    let mut sample = Sample {
        connect: start.elapsed(),
        ..Sample::default()
    };
    let delta = format!(r#""delta":"{}"#, first_word.trim_end());
    let mut lines = BufReader::new(stream).lines();
    match lines.next() {
        Some(Ok(status)) if status.starts_with("HTTP/1.1 200") => {}
        other => return Err(format!("no 200: {other:?}")),
    }
    let mut finished = false;
    for line in lines {
        let line = line.map_err(|e| format!("{e} after {} events", sample.frames))?;
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        sample.frames += 1;
        if sample.frames == 1 {
            sample.first_frame = start.elapsed();
        }
        if sample.first_token.is_zero() && data.contains(&delta) {
            sample.first_token = start.elapsed();
        }
        finished |= protocol.last(data);
    }
    sample.done = start.elapsed();
    if finished && !sample.first_token.is_zero() {
        Ok(sample)
    } else {
        Err(format!("ended unfinished after {} events", sample.frames))
    }
}
