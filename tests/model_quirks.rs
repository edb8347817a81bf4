//! What real model servers send that a chat must handle, on the mock
//! server (tests/llama_server.rs meets the same against llama.cpp): a tool
//! call cut by the token limit, reasoning beside the reply, and text
//! streamed before a tool call.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agentio::agentchat::{ConversableAgent, HumanInputMode, ParamType, Tool, register_function};
use agentio::io::websockets::ServerConfig;
use agentio::io::{self, Event, IOBuffer, IOConsole, IOStream, IOWebsockets};
use agentio::llm::{ConfigEntry, LlmConfig, OpenAIWrapper};
use common::ws::{connect, send, text, until_close};
use common::{
    MockServer, Must, Reply, content_chunk, finish_chunk, role_chunk, streamed_text, tool_chunk,
    usage_chunk,
};
use serde_json::{Value, json};
use tungstenite::protocol::frame::coding::CloseCode;

/// `user_proxy` runs the counted weather tool; `chatbot` streams from the mock.
fn agents(base_url: &str, runs: &Arc<AtomicUsize>) -> (ConversableAgent, ConversableAgent) {
    let config = LlmConfig::new(vec![ConfigEntry::new("mock-model").base_url(base_url)])
        .stream(true)
        .cache_seed(None);
    let mut chatbot = ConversableAgent::new("chatbot")
        .human_input_mode(HumanInputMode::Never)
        .model_client(Arc::new(OpenAIWrapper::new(config).must("the client")));
    let mut user_proxy = ConversableAgent::new("user_proxy")
        .human_input_mode(HumanInputMode::Never)
        .is_termination_msg(|m| m.text().contains("TERMINATE"));
    let runs = runs.clone();
    let tool = Tool::new("weather_forecast", "Weather")
        .param("city", ParamType::String, "city")
        .function(move |args: Value| {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>(format!("Sunny in {}.", args["city"]))
        });
    register_function(tool, &mut chatbot, &mut user_proxy);
    (chatbot, user_proxy)
}

/// A call whose arguments stop mid-string, as llama-server sends it at `-n 3`.
fn cut_call() -> Reply {
    Reply::Sse(vec![
        role_chunk(),
        tool_chunk(json!({"index": 0, "id": "call_1", "type": "function",
                          "function": {"name": "weather_forecast", "arguments": ""}})),
        tool_chunk(json!({"index": 0, "function": {"arguments": "{\"city\": \""}})),
        finish_chunk("length"),
        usage_chunk(30, 3),
    ])
}

#[test]
fn a_tool_call_cut_by_the_token_limit_is_never_run_nor_sent_back() {
    let mock = MockServer::start(vec![cut_call(), streamed_text(&["never asked"])]);
    let runs = Arc::new(AtomicUsize::new(0));
    let (mut chatbot, mut user_proxy) = agents(&mock.base_url(), &runs);
    let buffer = Arc::new(IOBuffer::new());
    let result = io::with_default(buffer.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "Weather?")
    });
    let error = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.contains("token limit") && error.contains("finish_reason"),
        "{error}"
    );
    assert!(
        error.contains("weather_forecast") && error.contains("max_tokens"),
        "{error}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the cut call ran");
    assert_eq!(
        mock.received().len(),
        1,
        "retried, or the broken call was sent back"
    );
    assert!(
        !buffer
            .events()
            .iter()
            .any(|e| matches!(e, Event::ExecuteFunction(_)))
    );
}

#[test]
fn over_a_websocket_the_cut_ends_the_chat_with_an_error_that_names_it() {
    for mode in ["?format=events", ""] {
        let mock = MockServer::start(vec![cut_call()]);
        let runs = Arc::new(AtomicUsize::new(0));
        let url = mock.base_url();
        let server = IOWebsockets::run_server_in_thread(ServerConfig::new("127.0.0.1", 0), {
            let runs = runs.clone();
            move |ws: &IOWebsockets| {
                let message = ws.input("", false)?;
                let (mut chatbot, mut user_proxy) = agents(&url, &runs);
                user_proxy.initiate_chat(&mut chatbot, message).map(|_| ())
            }
        })
        .must("the server");
        let mut ws = connect(&format!("{}/ws{mode}", server.uri()));
        if !mode.is_empty() {
            let _ = text(&mut ws);
        }
        send(&mut ws, "Weather?");
        let (frames, code) = until_close(&mut ws);
        assert_eq!(code, Some(CloseCode::Error), "{mode}");
        let last = frames.last().cloned().unwrap_or_default();
        assert!(last.contains("token limit"), "{mode}: {last}");
        if mode.is_empty() {
            assert!(last.starts_with("Error: "), "{last}");
        } else {
            let event: Value = serde_json::from_str(&last).must("an event");
            assert_eq!(event["type"], "error");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        assert_eq!(mock.received().len(), 1);
    }
}

/// Reasoning deltas, then the answer, as llama.cpp, vLLM and DeepSeek stream them.
fn reasoning_reply() -> Reply {
    let reasoning = |text: &str| {
        json!({"object": "chat.completion.chunk", "model": "mock-model",
               "choices": [{"index": 0, "delta": {"reasoning_content": text}, "finish_reason": null}]})
        .to_string()
    };
    Reply::Sse(vec![
        role_chunk(),
        reasoning("The user wants "),
        reasoning("a greeting."),
        content_chunk("Hello, "),
        content_chunk("there."),
        finish_chunk("stop"),
        usage_chunk(10, 8),
    ])
}

fn reasoning_of(events: &[Event]) -> Vec<(String, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Reasoning(r) => Some((r.content.clone(), r.sender.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn reasoning_is_reported_as_its_own_events_and_kept_from_the_reply_and_the_model() {
    let mock = MockServer::start(vec![reasoning_reply(), streamed_text(&["again TERMINATE"])]);
    let runs = Arc::new(AtomicUsize::new(0));
    let (mut chatbot, mut user_proxy) = agents(&mock.base_url(), &runs);
    let buffer = Arc::new(IOBuffer::new());
    let result = io::with_default(buffer.clone(), || {
        user_proxy.initiate_chat(
            &mut chatbot,
            agentio::agentchat::ChatOptions::new("Hi").max_turns(2),
        )
    })
    .must("the chat");
    let events = buffer.events();
    assert_eq!(
        reasoning_of(&events),
        [
            ("The user wants ".to_owned(), Some("chatbot".to_owned())),
            ("a greeting.".to_owned(), Some("chatbot".to_owned()))
        ]
    );
    for event in &events {
        if let Event::Stream(s) = event {
            assert!(!s.content.contains("greeting"), "{s:?}");
        }
        if let Event::Text(t) = event {
            assert!(!t.content.contains("greeting"), "{t:?}");
        }
    }
    // Not in text: AutoGen's console shows no reasoning.
    assert!(!buffer.text().contains("greeting"), "{}", buffer.text());
    assert!(
        result
            .chat_history
            .iter()
            .all(|m| !m.text().contains("greeting"))
    );
    // Not sent back.
    let _ = mock.request();
    let second = mock.request().must("the second request");
    assert!(
        !second.body.to_string().contains("greeting"),
        "{}",
        second.body
    );
}

#[test]
fn reasoning_of_a_reply_that_did_not_stream_arrives_whole() {
    let completion = json!({"id": "c1", "object": "chat.completion", "model": "mock-model",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
            "reasoning_content": "Think first.", "content": "Done. TERMINATE"}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}});
    let json_type = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    let mock = MockServer::start(vec![Reply::Status(200, json_type, completion.to_string())]);
    let config = LlmConfig::new(vec![
        ConfigEntry::new("mock-model").base_url(mock.base_url()),
    ])
    .cache_seed(None);
    let mut chatbot = ConversableAgent::new("chatbot")
        .human_input_mode(HumanInputMode::Never)
        .llm_config(config);
    let mut user = ConversableAgent::new("user").human_input_mode(HumanInputMode::Never);
    let buffer = Arc::new(IOBuffer::new());
    io::with_default(buffer.clone(), || {
        user.initiate_chat(
            &mut chatbot,
            agentio::agentchat::ChatOptions::new("Hi").max_turns(1),
        )
    })
    .must("the chat");
    assert_eq!(
        reasoning_of(&buffer.events()),
        [("Think first.".to_owned(), Some("chatbot".to_owned()))]
    );
}

/// Text, then a call in the same reply.
fn text_then_call() -> Reply {
    Reply::Sse(vec![
        role_chunk(),
        content_chunk("Let me "),
        content_chunk("check."),
        tool_chunk(json!({"index": 0, "id": "call_1", "type": "function",
                          "function": {"name": "weather_forecast", "arguments": "{\"city\": \"Paris\"}"}})),
        finish_chunk("tool_calls"),
        usage_chunk(20, 9),
    ])
}

#[test]
fn a_tool_call_after_streamed_text_is_marked_streamed_and_the_console_shows_the_text_once() {
    let mock = MockServer::start(vec![
        text_then_call(),
        streamed_text(&["Sunny. ", "TERMINATE"]),
    ]);
    let runs = Arc::new(AtomicUsize::new(0));
    let (mut chatbot, mut user_proxy) = agents(&mock.base_url(), &runs);
    let buffer = Arc::new(IOBuffer::new());
    io::with_default(buffer.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "Weather?")
    })
    .must("the chat");
    let call = buffer.events().into_iter().find_map(|e| match e {
        Event::ToolCall(c) => Some(c),
        _ => None,
    });
    let call = call.must("a tool_call event");
    assert!(call.streamed);
    assert_eq!(call.content.as_deref(), Some("Let me check."));
    let json = serde_json::to_value(Event::ToolCall(call)).must("JSON");
    assert_eq!(json["content"]["streamed"], true);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // A call without text stays unmarked (AG2's shape).
    let plain = agentio::io::ToolCallEvent::new(Vec::new(), "a", "b");
    let json = serde_json::to_value(Event::ToolCall(plain)).must("JSON");
    assert!(json["content"].get("streamed").is_none());
}

const CHILD: &str = "AGENTIO_MODEL_QUIRKS_CONSOLE";

#[test]
fn console_child() {
    let Some(url) = std::env::var_os(CHILD) else {
        return;
    };
    let runs = Arc::new(AtomicUsize::new(0));
    let (mut chatbot, mut user_proxy) = agents(&url.to_string_lossy(), &runs);
    io::with_default(Arc::new(IOConsole::new()), || {
        user_proxy.initiate_chat(&mut chatbot, "Weather?")
    })
    .must("the chat");
}

#[test]
fn the_console_shows_text_streamed_before_a_call_once() {
    let mock = MockServer::start(vec![
        text_then_call(),
        streamed_text(&["Sunny. ", "TERMINATE"]),
    ]);
    let output = std::process::Command::new(std::env::current_exe().must("this test"))
        .args([
            "console_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, mock.base_url())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .must("the child");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert_eq!(out.matches("Let me check.").count(), 1, "{out}");
    assert_eq!(out.matches("chatbot (to user_proxy):").count(), 2, "{out}");
    assert!(
        out.contains("chatbot (to user_proxy):\n\nLet me check.\n***** Suggested tool call (call_1): weather_forecast *****"),
        "{out}"
    );
}
