//! The baseline: the least a server can do for the notebook chat. It makes
//! the same two streamed HTTP calls to the model (JSON bodies, SSE chunks
//! parsed as JSON, the tool call's arguments collected) and writes the same
//! websocket frames as agentio's chat (recorded from one), with no agents,
//! no events, no default stream, no retries.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tungstenite::Message;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;

/// A recorded chat's frames, cut around the poem's tokens.
struct Frames {
    before_tokens: Vec<String>,
    after_tokens: Vec<String>,
}

/// The baseline process, on a listener with this backlog; prints its address.
pub fn run(base_url: String, frames_path: String, backlog: i32) {
    let recorded: Vec<String> = std::fs::read_to_string(&frames_path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| panic!("no frames in {frames_path}"));
    let tokens = crate::chat::poem("Paris");
    let first = recorded
        .iter()
        .position(|f| Some(f) == tokens.first())
        .unwrap_or_else(|| panic!("the recorded chat has no poem"));
    let frames = Arc::new(Frames {
        before_tokens: recorded[..first].to_vec(),
        after_tokens: recorded[(first + tokens.len()).min(recorded.len())..].to_vec(),
    });
    let listener = crate::listen(backlog);
    println!(
        "ws://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    // The same connection buffers and pool as agentio's OpenAIClient.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .input_buffer_size(16 * 1024)
        .max_response_header_size(8 * 1024)
        .output_buffer_size(8 * 1024)
        .max_idle_connections(64)
        .max_idle_connections_per_host(64)
        .build()
        .into();
    let url: Arc<str> = format!("{base_url}/chat/completions").into();
    for conn in listener.incoming().map_while(Result::ok) {
        let (agent, url, frames) = (agent.clone(), url.clone(), frames.clone());
        std::thread::spawn(move || {
            if let Err(e) = chat(conn, &agent, &url, &frames) {
                eprintln!("baseline chat: {e}");
            }
        });
    }
}

type BoxError = Box<dyn std::error::Error>;

fn chat(conn: TcpStream, agent: &ureq::Agent, url: &str, frames: &Frames) -> Result<(), BoxError> {
    conn.set_nodelay(true)?;
    let mut ws = tungstenite::accept(conn)?;
    let message = loop {
        if let Message::Text(text) = ws.read()? {
            break text.as_str().to_owned();
        }
    };
    let tools = json!([{"type": "function", "function": {
        "name": "weather_forecast", "description": "Weather forecast for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "city"}},
                       "required": ["city"]}}}]);
    let mut messages = vec![
        json!({"role": "system", "content": "You are a helpful assistant. Use the tools you are given. Reply TERMINATE when the task is done."}),
        json!({"role": "user", "content": message, "name": "user_proxy"}),
    ];
    let mut arguments = String::new();
    stream(agent, url, &messages, &tools, |delta| {
        if let Some(args) = delta["tool_calls"][0]["function"]["arguments"].as_str() {
            arguments.push_str(args);
        }
        Ok(())
    })?;
    for frame in &frames.before_tokens {
        ws.send(Message::text(frame.as_str()))?;
    }
    messages.push(
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1",
        "type": "function", "function": {"name": "weather_forecast", "arguments": arguments}}]}),
    );
    messages.push(json!({"role": "tool", "tool_call_id": "call_1",
        "content": "The weather forecast for Paris at 12:00:00 is sunny."}));
    stream(agent, url, &messages, &tools, |delta| {
        if let Some(token) = delta["content"].as_str() {
            ws.send(Message::text(token))?;
        }
        Ok(())
    })?;
    for frame in &frames.after_tokens {
        ws.send(Message::text(frame.as_str()))?;
    }
    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))?;
    while ws.read().is_ok() {}
    Ok(())
}

/// One streamed call: each `data:` line parsed, its first choice's delta
/// handed to `each`.
fn stream(
    agent: &ureq::Agent,
    url: &str,
    messages: &[Value],
    tools: &Value,
    mut each: impl FnMut(&Value) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    let body = json!({"model": "mock-model", "messages": messages, "tools": tools, "stream": true});
    let response = agent
        .post(url)
        .header("authorization", "Bearer sk-bench")
        .content_type("application/json")
        .send(serde_json::to_vec(&body)?)?;
    let reader = BufReader::new(response.into_body().into_reader());
    for line in reader.lines() {
        let line = line?;
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        if data == "[DONE]" {
            break;
        }
        let chunk: Value = serde_json::from_str(data)?;
        each(&chunk["choices"][0]["delta"])?;
    }
    Ok(())
}
