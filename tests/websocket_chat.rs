//! End to end: the websocket example's own server code on port 0 with the
//! replay model, a client speaking as the notebook's does (text mode), a UI
//! client (events mode), and the page on the same port.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::notebook::example as chat;
use common::ws::{connect, send, text, until_close};
use serde_json::Value;
use tungstenite::protocol::frame::coding::CloseCode;

const MESSAGE: &str = "Check out the weather in Paris and write a poem about it.";

#[test]
fn the_notebook_client_sees_autogens_frames_and_the_poem_streamed() {
    let server = chat::serve("127.0.0.1", 0, chat::Model::Replay).unwrap_or_else(|e| panic!("{e}"));
    let mut ws = connect(&format!("{}/ws", server.uri()));
    send(&mut ws, MESSAGE);
    // The notebook's client: read until a frame contains TERMINATE.
    let mut frames = Vec::new();
    loop {
        let frame = text(&mut ws);
        let done = frame.contains("TERMINATE");
        frames.push(frame);
        if done {
            break;
        }
    }
    let footer = format!("\n{}\n", "-".repeat(80));
    let head = [
        "user_proxy (to chatbot):\n\n".to_owned(),
        format!("{MESSAGE}\n"),
        footer.clone(),
        "\n>>>>>>>> USING AUTO REPLY...\n".to_owned(),
        "chatbot (to user_proxy):\n\n".to_owned(),
        "***** Suggested tool call (call_replay1_0): weather_forecast *****\n".to_owned(),
        "Arguments: \n{\"city\":\"Paris\"}\n".to_owned(),
        format!("{}\n", "*".repeat(66)),
        footer.clone(),
        "\n>>>>>>>> EXECUTING FUNCTION weather_forecast...\n".to_owned(),
        "user_proxy (to chatbot):\n\n".to_owned(),
        "***** Response from calling tool (call_replay1_0) *****\n".to_owned(),
    ];
    assert_eq!(frames[..head.len()], head);
    let result = &frames[head.len()];
    assert!(
        result.starts_with("The weather forecast for Paris at ")
            && result.ends_with(" is sunny.\n"),
        "{result}"
    );
    assert_eq!(frames[head.len() + 3], "\n>>>>>>>> USING AUTO REPLY...\n");
    let poem = &frames[head.len() + 4..];
    assert_eq!(poem.len(), 200, "one frame per streamed word");
    assert_eq!(poem[0], "Beneath ");
    assert_eq!(poem[199], "\nTERMINATE");
    // After the stream: AutoGen's newline, then the whole reply once more, then the close.
    let (rest, code) = until_close(&mut ws);
    assert_eq!(rest[0], "\n");
    assert_eq!(rest[1], "chatbot (to user_proxy):\n\n");
    assert_eq!(rest[2], format!("{}\n", poem.concat()));
    assert_eq!(rest[3], footer);
    assert_eq!(rest.len(), 4);
    assert_eq!(code, Some(CloseCode::Normal));
}

#[test]
fn a_ui_client_gets_ag2_events_with_the_reply_marked_as_streamed() {
    let server = chat::serve("127.0.0.1", 0, chat::Model::Replay).unwrap_or_else(|e| panic!("{e}"));
    let mut ws = connect(&format!("{}/ws?format=events", server.uri()));
    let first: Value = serde_json::from_str(&text(&mut ws)).unwrap_or_default();
    assert_eq!(first["type"], "input_request");
    send(
        &mut ws,
        &format!(r#"{{"type":"input_response","content":{{"value":"{MESSAGE}"}}}}"#),
    );
    let (frames, code) = until_close(&mut ws);
    assert_eq!(code, Some(CloseCode::Normal));
    let events: Vec<Value> = frames
        .iter()
        .filter_map(|f| serde_json::from_str(f).ok())
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    let streams = kinds.iter().filter(|k| **k == "stream").count();
    assert_eq!(streams, 200);
    let others: Vec<&str> = kinds.iter().copied().filter(|k| *k != "stream").collect();
    assert_eq!(
        others,
        [
            "text",
            "using_auto_reply",
            "tool_call",
            "execute_function",
            "executed_function",
            "tool_response",
            "using_auto_reply",
            "text",
            "termination"
        ]
    );
    let last_text = &events[events.len() - 2];
    assert_eq!(last_text["content"]["streamed"], true);
    assert!(
        last_text["content"]["content"]
            .as_str()
            .unwrap_or("")
            .ends_with("TERMINATE")
    );
}

#[test]
fn the_page_is_served_on_the_same_port() {
    let server = chat::serve("127.0.0.1", 0, chat::Model::Replay).unwrap_or_else(|e| panic!("{e}"));
    let mut http = TcpStream::connect(server.local_addr()).unwrap_or_else(|e| panic!("{e}"));
    let _ = http.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = http.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let mut answer = String::new();
    let _ = http.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK"));
    assert!(answer.contains("<title>agentio chat</title>"));
    assert!(answer.contains("/ws?format=events"));
}

/// The seed's question: human input ALWAYS with tools, served. The human
/// answers every reply (an empty answer lets user_proxy reply on its own,
/// which runs the tool) and approves the call (`--approve-tools`).
#[test]
fn human_input_always_with_tools_and_approval_over_the_websocket() {
    let setup = chat::Setup {
        model: chat::Model::Replay,
        approve_tools: true,
        human_input_mode: agentio::agentchat::HumanInputMode::Always,
    };
    let server = chat::serve("127.0.0.1", 0, setup).unwrap_or_else(|e| panic!("{e}"));
    let mut ws = connect(&format!("{}/ws?format=events", server.uri()));
    let mut kinds = Vec::new();
    let mut prompts = Vec::new();
    let mut first = true;
    let code = loop {
        let frame = match common::ws::next(&mut ws) {
            common::ws::Got::Text(frame) => frame,
            common::ws::Got::Closed(code) => break code,
            common::ws::Got::Failed(e) => panic!("{e} after {kinds:?}"),
        };
        let event: Value = serde_json::from_str(&frame).unwrap_or_default();
        let kind = event["type"].as_str().unwrap_or("").to_owned();
        let id = event["content"]["request_id"].clone();
        match kind.as_str() {
            "input_request" if first => {
                first = false;
                send(&mut ws, MESSAGE);
            }
            "input_request" => {
                prompts.push(event["content"]["prompt"].as_str().unwrap_or("").to_owned());
                let answer = serde_json::json!({"type": "input_response",
                    "content": {"value": "", "request_id": id}});
                send(&mut ws, &answer.to_string());
            }
            "tool_approval_request" => {
                let answer = serde_json::json!({"type": "tool_approval_response",
                    "content": {"request_id": id, "decision": "approve"}});
                send(&mut ws, &answer.to_string());
            }
            _ => {}
        }
        if kind == "tool_response" {
            let content = event["content"]["content"].as_str().unwrap_or("");
            assert!(content.contains("is sunny"), "{content}");
        }
        if kind != "stream" {
            kinds.push(kind);
        }
    };
    assert_eq!(code, Some(CloseCode::Normal));
    let asked = "Replying as user_proxy. Provide feedback to chatbot. Press enter to skip and \
                 use auto-reply, or type 'exit' to end the conversation: ";
    assert_eq!(prompts, [asked, asked], "{kinds:?}");
    let position = |k: &str| kinds.iter().position(|x| x == k).unwrap_or(usize::MAX);
    assert!(
        position("tool_call") < position("tool_approval_request"),
        "{kinds:?}"
    );
    assert!(
        position("tool_approval_response") < position("execute_function"),
        "{kinds:?}"
    );
    assert_eq!(kinds.last().map(String::as_str), Some("termination"));
}
