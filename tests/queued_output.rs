//! Streamed tokens that arrive together go out together (one write for a
//! read's worth of model chunks), and none waits for the next: the server
//! writes what it queued before the model client waits on the network.
//! Through a plain connection, a session, in text and events mode.

mod common;

use std::time::Duration;

use agentio::io::websockets::ServerConfig;
use agentio::io::{IOStream, IOWebsockets};
use agentio::llm::{ChatRequest, ConfigEntry, LlmConfig, Message, ModelClient, OpenAIWrapper};
use common::ws::{Got, connect, next, send};
use common::{MockServer, Reply, content_chunk, finish_chunk, role_chunk};
use serde_json::Value;

/// The token a frame carries: the frame itself in text mode, a `stream`
/// event's content in events mode.
fn token(frame: &str, events: bool) -> Option<String> {
    if !events {
        return Some(frame.to_owned());
    }
    let event: Value = serde_json::from_str(frame).ok()?;
    (event["type"] == "stream").then(|| event["content"]["content"].as_str().map(str::to_owned))?
}

/// A chat whose model streams five tokens in one write, then the rest only
/// once the client has read those five: held back while the model client
/// waited, they would never reach it, and the mock would give up after 10 s.
fn five_then_the_rest(query: &str, events: bool) {
    let first: Vec<String> = std::iter::once(role_chunk())
        .chain(["t1 ", "t2 ", "t3 ", "t4 ", "t5 "].map(content_chunk))
        .collect();
    let second = vec![
        content_chunk("t6 "),
        content_chunk("t7"),
        finish_chunk("stop"),
    ];
    let (go, gate) = crossbeam_channel::bounded(1);
    let mock = MockServer::start(vec![Reply::Gated(vec![first, second], gate)]);
    let config = LlmConfig::new(vec![
        ConfigEntry::new("mock-model")
            .api_key("sk-test")
            .base_url(mock.base_url()),
    ])
    .timeout(Duration::from_secs(15))
    .max_retries(0)
    .cache_seed(None);
    let model = OpenAIWrapper::new(config).unwrap_or_else(|e| panic!("{e}"));
    let server = IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", 0),
        move |ws: &IOWebsockets| {
            let question = ws.input("", false)?;
            let request = ChatRequest::new(vec![Message::user(question)]).stream(true);
            model.create(&request).map(|_| ())
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let mut client = connect(&format!("{}{query}", server.uri()));
    send(&mut client, "Five words, then two.");
    let mut tokens = Vec::new();
    let code = loop {
        match next(&mut client) {
            Got::Text(frame) => {
                tokens.extend(token(&frame, events));
                if tokens.len() == 5 {
                    let _ = go.send(());
                }
            }
            Got::Closed(code) => break code,
            Got::Failed(e) => panic!("read failed after {tokens:?}: {e}"),
        }
    };
    assert_eq!(tokens, ["t1 ", "t2 ", "t3 ", "t4 ", "t5 ", "t6 ", "t7"]);
    assert_eq!(
        code,
        Some(tungstenite::protocol::frame::coding::CloseCode::Normal)
    );
}

#[test]
fn tokens_reach_a_plain_connection_before_the_model_client_waits() {
    five_then_the_rest("", false);
}

#[test]
fn tokens_reach_an_events_mode_connection_before_the_model_client_waits() {
    five_then_the_rest("?format=events", true);
}

#[test]
fn tokens_reach_a_session_before_the_model_client_waits() {
    five_then_the_rest("?session=queued-output-in-text-mode", false);
    five_then_the_rest("?session=queued-output-in-events-mode&format=events", true);
}
