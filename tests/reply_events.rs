//! The events frontend protocols need as a model streams (the first piece
//! of issue 18): `reply_start`, `tool_call_delta` and `reply_end`, only for
//! streams that ask, with ids that tie them to the `tool_call` event.

mod common;

use std::sync::{Arc, Mutex};

use agentio::agentchat::{
    ChatOptions, ConversableAgent, HumanInputMode, ParamType, Tool, register_function,
};
use agentio::io::websockets::ServerConfig;
use agentio::io::{self, Event, EventKind, Filter, IOBuffer, IOStream, IOWebsockets};
use agentio::llm::{ConfigEntry, LlmConfig, OpenAIWrapper};
use common::ws::{connect, send, text, until_close};
use common::{
    MockServer, Must, Reply, content_chunk, finish_chunk, role_chunk, streamed_text, tool_chunk,
    usage_chunk,
};
use serde_json::{Value, json};

/// A stream that wants every kind and keeps the events.
#[derive(Default)]
struct Everything(Mutex<Vec<Event>>);

impl IOStream for Everything {
    fn print(&self, _: &[&str], _: &str, _: &str, _: bool) -> agentio::Result<()> {
        Ok(())
    }
    fn input(&self, _: &str, _: bool) -> agentio::Result<String> {
        Err(agentio::Error::InputClosed)
    }
    fn send(&self, event: &Event) -> agentio::Result<()> {
        self.0.lock().must("events").push(event.clone());
        Ok(())
    }
    fn wants(&self, _: EventKind) -> bool {
        true
    }
}

/// Text, then two calls whose fragments interleave, the second without an id.
fn text_and_calls() -> Reply {
    Reply::Sse(vec![
        role_chunk(),
        content_chunk("Checking "),
        content_chunk("both."),
        tool_chunk(json!({"index": 0, "id": "call_a", "type": "function",
                          "function": {"name": "weather_forecast", "arguments": ""}})),
        tool_chunk(json!({"index": 1, "type": "function",
                          "function": {"name": "weather_forecast", "arguments": "{\"city\""}})),
        tool_chunk(json!({"index": 0, "function": {"arguments": "{\"city\": \"Paris\"}"}})),
        tool_chunk(json!({"index": 1, "function": {"arguments": ": \"Rome\"}"}})),
        finish_chunk("tool_calls"),
        usage_chunk(20, 10),
    ])
}

fn chat_on(stream: Arc<dyn IOStream>, mock: &MockServer) {
    let config = LlmConfig::new(vec![
        ConfigEntry::new("mock-model").base_url(mock.base_url()),
    ])
    .stream(true)
    .cache_seed(None);
    let mut chatbot = ConversableAgent::new("chatbot")
        .human_input_mode(HumanInputMode::Never)
        .model_client(Arc::new(OpenAIWrapper::new(config).must("the client")));
    let mut user = ConversableAgent::new("user_proxy")
        .human_input_mode(HumanInputMode::Never)
        .is_termination_msg(|m| m.text().contains("TERMINATE"));
    let tool = Tool::new("weather_forecast", "Weather")
        .param("city", ParamType::String, "city")
        .function(|args: Value| Ok::<_, String>(format!("Sunny in {}.", args["city"])));
    register_function(tool, &mut chatbot, &mut user);
    io::with_default(stream, || {
        user.initiate_chat(&mut chatbot, ChatOptions::new("Weather?"))
    })
    .must("the chat");
}

#[test]
fn a_stream_that_asks_gets_each_replys_frame_and_argument_fragments() {
    let mock = MockServer::start(vec![
        text_and_calls(),
        streamed_text(&["Sunny. ", "TERMINATE"]),
    ]);
    let stream = Arc::new(Everything::default());
    chat_on(stream.clone(), &mock);
    let events = stream.0.lock().must("events").clone();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind().as_str()).collect();
    // The first reply: start, text, interleaved fragments, end, then the whole message.
    let first_end = kinds
        .iter()
        .position(|k| *k == "reply_end")
        .must("a reply_end");
    let first: Vec<&str> = kinds[..=first_end]
        .iter()
        .copied()
        .filter(|k| *k != "text")
        .collect();
    assert_eq!(
        first,
        [
            "reply_start",
            "stream",
            "stream",
            "tool_call_delta",
            "tool_call_delta",
            "tool_call_delta",
            "tool_call_delta",
            "reply_end"
        ],
        "{kinds:?}"
    );
    let (mut message_ids, mut by_call) = (
        Vec::new(),
        std::collections::BTreeMap::<String, (String, String)>::new(),
    );
    for event in &events[..=first_end] {
        match event {
            Event::ReplyStart(s) => {
                assert_eq!(s.sender.as_deref(), Some("chatbot"));
                assert_eq!(s.recipient.as_deref(), Some("user_proxy"));
                message_ids.push(s.message_id.clone());
            }
            Event::ToolCallDelta(d) => {
                message_ids.push(d.message_id.clone());
                let entry = by_call.entry(d.call_id.clone()).or_default();
                entry.0 = d.name.clone();
                entry.1.push_str(&d.arguments);
            }
            Event::ReplyEnd(e) => {
                assert_eq!(e.finish_reason.as_deref(), Some("tool_calls"));
                message_ids.push(e.message_id.clone());
            }
            _ => {}
        }
    }
    assert!(
        message_ids.windows(2).all(|w| w[0] == w[1]),
        "{message_ids:?}"
    );
    // The fragments join to the arguments, under the ids the tool_call event gives.
    let call = events.iter().find_map(|e| match e {
        Event::ToolCall(c) => Some(c.clone()),
        _ => None,
    });
    let call = call.must("a tool_call event");
    assert_eq!(call.tool_calls.len(), 2);
    for tool_call in &call.tool_calls {
        let (name, arguments) = by_call.get(&tool_call.id).must("fragments for the call");
        assert_eq!(*name, tool_call.function.name);
        assert_eq!(*arguments, tool_call.function.arguments);
    }
    assert_eq!(call.tool_calls[0].id, "call_a");
    assert!(
        call.tool_calls[1].id.starts_with("call_"),
        "a made id: {}",
        call.tool_calls[1].id
    );
    // The second reply has its own id.
    let second = events[first_end + 1..].iter().find_map(|e| match e {
        Event::ReplyStart(s) => Some(s.message_id.clone()),
        _ => None,
    });
    assert_ne!(second.must("the second reply_start"), message_ids[0]);
}

#[test]
fn streams_that_do_not_ask_get_none_of_them() {
    let mock = MockServer::start(vec![
        text_and_calls(),
        streamed_text(&["Sunny. ", "TERMINATE"]),
    ]);
    let buffer = Arc::new(IOBuffer::new());
    chat_on(buffer.clone(), &mock);
    assert!(
        buffer.events().iter().all(|e| !e.kind().is_on_request()),
        "{:?}",
        buffer.events().iter().map(|e| e.kind()).collect::<Vec<_>>()
    );
    assert!(!Filter::all().allows_kind(EventKind::ReplyStart));
    assert!(Filter::everything().allows_kind(EventKind::ToolCallDelta));
    let named = Filter::from_query("events=reply_start,stream").must("a filter");
    assert!(named.allows_kind(EventKind::ReplyStart) && !named.allows_kind(EventKind::ReplyEnd));
    assert!(
        !Filter::from_query("events=-stream")
            .must("a filter")
            .allows_kind(EventKind::ReplyEnd)
    );
}

#[test]
fn an_events_mode_client_gets_them_when_its_filter_names_them() {
    for (query, wanted) in [
        ("", false),
        ("&events=-using_auto_reply", false),
        (
            "&events=reply_start,reply_end,tool_call_delta,tool_call",
            true,
        ),
    ] {
        let mock = MockServer::start(vec![
            text_and_calls(),
            streamed_text(&["Sunny. ", "TERMINATE"]),
        ]);
        let url = mock.base_url();
        let server = IOWebsockets::run_server_in_thread(
            ServerConfig::new("127.0.0.1", 0),
            move |ws: &IOWebsockets| {
                let _ = ws.input("", false)?;
                let config = LlmConfig::new(vec![ConfigEntry::new("mock-model").base_url(&url)])
                    .stream(true)
                    .cache_seed(None);
                let mut chatbot = ConversableAgent::new("chatbot")
                    .human_input_mode(HumanInputMode::Never)
                    .model_client(Arc::new(OpenAIWrapper::new(config)?));
                let mut user = ConversableAgent::new("user_proxy")
                    .human_input_mode(HumanInputMode::Never)
                    .is_termination_msg(|m| m.text().contains("TERMINATE"));
                let tool = Tool::new("weather_forecast", "Weather")
                    .param("city", ParamType::String, "city")
                    .function(|_: Value| Ok::<_, String>("Sunny.".to_owned()));
                register_function(tool, &mut chatbot, &mut user);
                user.initiate_chat(&mut chatbot, "Weather?").map(|_| ())
            },
        )
        .must("the server");
        let mut ws = connect(&format!("{}/ws?format=events{query}", server.uri()));
        let _ = text(&mut ws);
        send(&mut ws, "Weather?");
        let (frames, _) = until_close(&mut ws);
        let kinds: Vec<String> = frames
            .iter()
            .filter_map(|f| serde_json::from_str::<Value>(f).ok())
            .map(|e| e["type"].as_str().unwrap_or("").to_owned())
            .collect();
        let deltas = kinds.iter().filter(|k| *k == "tool_call_delta").count();
        let starts = kinds.iter().filter(|k| *k == "reply_start").count();
        if wanted {
            assert_eq!((starts, deltas), (2, 4), "{query}: {kinds:?}");
            assert!(kinds.contains(&"tool_call".to_owned()));
            assert!(
                !kinds.contains(&"stream".to_owned()),
                "not named: {kinds:?}"
            );
        } else {
            assert_eq!((starts, deltas), (0, 0), "{query}: {kinds:?}");
        }
    }
}
