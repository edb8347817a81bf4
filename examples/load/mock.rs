//! The mock OpenAI-compatible model server: answers a request whose last
//! message is a tool result with the poem, any other with the
//! `weather_forecast` tool call; each SSE event in one write.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use serde_json::{Value, json};

/// The mock process, on a listener with this backlog; prints its address.
pub fn run(backlog: i32) {
    let listener = crate::listen(backlog);
    println!(
        "{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let _ = std::io::stdout().flush();
    let poem: Vec<Vec<u8>> = poem_events();
    let tool: Vec<Vec<u8>> = tool_events();
    let (poem, tool) = (std::sync::Arc::new(poem), std::sync::Arc::new(tool));
    for conn in listener.incoming().map_while(Result::ok) {
        let (poem, tool) = (poem.clone(), tool.clone());
        std::thread::spawn(move || mock_connection(conn, &poem, &tool));
    }
}

fn sse(data: &Value) -> Vec<u8> {
    format!("data: {data}\n\n").into_bytes()
}

fn chunk(delta: Value, finish: Value) -> Value {
    json!({"object": "chat.completion.chunk", "model": "mock-model",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn tool_events() -> Vec<Vec<u8>> {
    vec![
        sse(&chunk(json!({"role": "assistant"}), Value::Null)),
        sse(&chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "weather_forecast", "arguments": ""}}]}),
            Value::Null,
        )),
        sse(&chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": \"Paris\"}"}}]}),
            Value::Null,
        )),
        sse(&chunk(json!({}), json!("tool_calls"))),
        b"data: [DONE]\n\n".to_vec(),
    ]
}

fn poem_events() -> Vec<Vec<u8>> {
    let words = crate::chat::poem("Paris");
    let mut events = vec![sse(&chunk(json!({"role": "assistant"}), Value::Null))];
    events.extend(
        words
            .iter()
            .map(|w| sse(&chunk(json!({"content": w}), Value::Null))),
    );
    events.push(sse(&chunk(json!({}), json!("stop"))));
    events.push(b"data: [DONE]\n\n".to_vec());
    events
}

fn mock_connection(conn: TcpStream, poem: &[Vec<u8>], tool: &[Vec<u8>]) {
    let _ = conn.set_nodelay(true);
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request: Value = serde_json::from_slice(&body).unwrap_or_default();
        let after_tool = request["messages"]
            .as_array()
            .and_then(|m| m.last())
            .is_some_and(|m| m["role"] == "tool");
        let events = if after_tool { poem } else { tool };
        // Chunked encoding keeps the connection open for the next call.
        let _ = out.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
        );
        for event in events {
            let mut frame = format!("{:x}\r\n", event.len()).into_bytes();
            frame.extend_from_slice(event);
            frame.extend_from_slice(b"\r\n");
            if out.write_all(&frame).is_err() {
                return;
            }
        }
        if out.write_all(b"0\r\n\r\n").is_err() {
            return;
        }
    }
}
