//! Streamed tokens that arrive together go out together (one write for a
//! read's worth of model chunks), and none waits for the next: the server
//! writes what it queued before the model client waits on the network.
//! Through a plain connection, a session, in text and events mode, and
//! each frontend protocol (AG-UI over websockets and server-sent events,
//! the AI SDK's websocket transport).

mod common;

use std::time::Duration;

use agentio::io::websockets::ServerConfig;
use agentio::io::{IOStream, IOWebsockets};
use agentio::llm::{ChatRequest, ConfigEntry, LlmConfig, Message, ModelClient, OpenAIWrapper};
use common::ws::{Got, connect, next, send};
use common::{MockServer, Reply, content_chunk, finish_chunk, role_chunk};
use serde_json::Value;

/// How a protocol carries the chat: its first frame and where its tokens
/// are.
struct Protocol {
    /// Appended to the server's URI.
    path: &'static str,
    /// The first frame (else the question as text).
    first: Option<String>,
    /// The token a frame carries, if any.
    token: fn(&str) -> Option<String>,
    /// The frame that ends the run, for protocols whose connection stays.
    last: fn(&str) -> bool,
}

fn json(frame: &str) -> Value {
    serde_json::from_str(frame).unwrap_or(Value::Null)
}

fn text_frames(query: &'static str) -> Protocol {
    Protocol {
        path: query,
        first: None,
        token: |frame| Some(frame.to_owned()),
        last: |_| false,
    }
}

fn events(query: &'static str) -> Protocol {
    Protocol {
        path: query,
        first: None,
        token: |frame| {
            let event = json(frame);
            (event["type"] == "stream")
                .then(|| event["content"]["content"].as_str().map(str::to_owned))?
        },
        last: |_| false,
    }
}

const RUN_AGENT_INPUT: &str = r#"{"threadId":"t1","runId":"r1","messages":[{"id":"m1","role":"user","content":"Five words, then two."}],"tools":[],"context":[],"state":{},"forwardedProps":{}}"#;

fn agui_token(frame: &str) -> Option<String> {
    let event = json(frame);
    (event["type"] == "TEXT_MESSAGE_CONTENT").then(|| event["delta"].as_str().map(str::to_owned))?
}

/// The model's mock: five tokens in one write, then the rest only once
/// `go` is sent (at most 10 s later; without it the reply is cut).
fn gated_model(gate: crossbeam_channel::Receiver<()>) -> (MockServer, OpenAIWrapper) {
    let first: Vec<String> = std::iter::once(role_chunk())
        .chain(["t1 ", "t2 ", "t3 ", "t4 ", "t5 "].map(content_chunk))
        .collect();
    let second = vec![
        content_chunk("t6 "),
        content_chunk("t7"),
        finish_chunk("stop"),
    ];
    let mock = MockServer::start(vec![Reply::Gated(vec![first, second], gate)]);
    let config = LlmConfig::new(vec![
        ConfigEntry::new("mock-model")
            .api_key("sk-test")
            .base_url(mock.base_url()),
    ])
    .timeout(Duration::from_secs(15))
    .max_retries(0)
    .cache_seed(None);
    (
        mock,
        OpenAIWrapper::new(config).unwrap_or_else(|e| panic!("{e}")),
    )
}

/// A server whose chat asks the gated model once, streaming to the client.
fn server(model: OpenAIWrapper) -> agentio::io::websockets::WebsocketServer {
    IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", 0),
        move |ws: &IOWebsockets| {
            let question = ws.input("", false)?;
            let request = ChatRequest::new(vec![Message::user(question)]).stream(true);
            model.create(&request).map(|_| ())
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

const ALL: [&str; 7] = ["t1 ", "t2 ", "t3 ", "t4 ", "t5 ", "t6 ", "t7"];

/// The model streams five tokens in one write, then the rest only once the
/// client has read those five: held back while the model client waited,
/// they would never reach it.
fn five_then_the_rest(protocol: Protocol) {
    let (go, gate) = crossbeam_channel::bounded(1);
    let (_mock, model) = gated_model(gate);
    let server = server(model);
    let mut client = connect(&format!("{}{}", server.uri(), protocol.path));
    send(
        &mut client,
        protocol.first.as_deref().unwrap_or("Five words, then two."),
    );
    let mut tokens = Vec::new();
    let ended = loop {
        match next(&mut client) {
            Got::Text(frame) => {
                tokens.extend((protocol.token)(&frame));
                if tokens.len() == 5 {
                    let _ = go.send(());
                }
                if (protocol.last)(&frame) {
                    break None;
                }
            }
            Got::Closed(code) => break code,
            Got::Failed(e) => panic!("read failed after {tokens:?}: {e}"),
        }
    };
    assert_eq!(tokens, ALL);
    if protocol.path.contains("agui") || protocol.path.contains("api/chat") {
        assert_eq!(ended, None, "the run ended, the connection stays");
    } else {
        assert_eq!(
            ended,
            Some(tungstenite::protocol::frame::coding::CloseCode::Normal)
        );
    }
}

#[test]
fn tokens_reach_a_plain_connection_before_the_model_client_waits() {
    five_then_the_rest(text_frames(""));
}

#[test]
fn tokens_reach_an_events_mode_connection_before_the_model_client_waits() {
    five_then_the_rest(events("?format=events"));
}

#[test]
fn tokens_reach_a_session_before_the_model_client_waits() {
    five_then_the_rest(text_frames("?session=queued-output-in-text-mode"));
    five_then_the_rest(events(
        "?session=queued-output-in-events-mode&format=events",
    ));
}

#[test]
fn tokens_reach_an_agui_websocket_before_the_model_client_waits() {
    five_then_the_rest(Protocol {
        path: "?format=agui",
        first: Some(RUN_AGENT_INPUT.to_owned()),
        token: agui_token,
        last: |frame| json(frame)["type"] == "RUN_FINISHED",
    });
}

#[test]
fn tokens_reach_an_ai_sdk_websocket_before_the_model_client_waits() {
    let send_frame = serde_json::json!({
        "type": "send", "requestId": "q1", "id": "chat-1", "trigger": "submit-message",
        "messages": [{"id": "m1", "role": "user",
                      "parts": [{"type": "text", "text": "Five words, then two."}]}],
    });
    five_then_the_rest(Protocol {
        path: "/api/chat",
        first: Some(send_frame.to_string()),
        token: |frame| {
            let frame = json(frame);
            let chunk = &frame["chunk"];
            (frame["type"] == "chunk" && chunk["type"] == "text-delta")
                .then(|| chunk["delta"].as_str().map(str::to_owned))?
        },
        last: |frame| json(frame)["type"] == "end",
    });
}

#[test]
fn tokens_reach_an_agui_event_stream_before_the_model_client_waits() {
    use std::io::{BufRead, BufReader, Write};
    let (go, gate) = crossbeam_channel::bounded(1);
    let (_mock, model) = gated_model(gate);
    let server = server(model);
    let addr = server.uri().trim_start_matches("ws://").to_owned();
    let mut http = std::net::TcpStream::connect(&addr).unwrap_or_else(|e| panic!("{e}"));
    let _ = http.set_read_timeout(Some(Duration::from_secs(15)));
    let request = format!(
        "POST /agui HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         accept: text/event-stream\r\ncontent-length: {}\r\n\r\n{RUN_AGENT_INPUT}",
        RUN_AGENT_INPUT.len()
    );
    http.write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tokens = Vec::new();
    let mut finished = false;
    for line in BufReader::new(http).lines() {
        let Ok(line) = line else { break };
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        tokens.extend(agui_token(data));
        if tokens.len() == 5 {
            let _ = go.send(());
        }
        if json(data)["type"] == "RUN_FINISHED" {
            finished = true;
        }
    }
    assert_eq!(tokens, ALL);
    assert!(finished, "the run finished");
}
