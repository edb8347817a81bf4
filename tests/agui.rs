//! agentio's events as AG-UI events, checked with AG-UI's own packages
//! (`@ag-ui/core`'s schemas, `@ag-ui/client`'s `verifyEvents`, from
//! tests/agui's lockfile): the notebook chat on the mock model, a reply
//! with reasoning, and a group chat whose turns are steps.
//!
//! Reported as ignored when Node.js or the packages are missing (`npm ci
//! --prefix tests/agui`), unless `AGENTIO_REQUIRE_NODE` is set.

mod common;
#[path = "common/external.rs"]
mod external;

use std::sync::{Arc, Mutex};

use agentio::agentchat::{
    ConversableAgent, GroupChat, GroupChatManager, HumanInputMode, SpeakerSelection,
};
use agentio::io::{self, AguiEncoder, Event, EventKind, IOStream};
use agentio::llm::{ConfigEntry, LlmConfig, OpenAIWrapper, ReplayClient};
use common::notebook::example;
use common::{MockServer, Must, Reply, content_chunk, finish_chunk, role_chunk, streamed_text};
use serde_json::{Value, json};

fn main() {
    external::run(vec![
        trial!(the_notebook_chat_is_valid_agui, external::AGUI_CLIENT),
        trial!(reasoning_is_agui_reasoning, external::AGUI_CLIENT),
        trial!(a_group_chats_turns_are_steps, external::AGUI_CLIENT),
    ]);
}

/// A stream that encodes AG-UI, keeping the events (the transports, SSE
/// and websockets, are the next step).
struct Agui {
    encoder: Mutex<AguiEncoder>,
    events: Mutex<Vec<Value>>,
}

impl Agui {
    fn new(user: &str) -> Arc<Agui> {
        let encoder = AguiEncoder::new("thread-1", "run-1").user(user);
        let start = encoder.start();
        Arc::new(Agui {
            encoder: Mutex::new(encoder),
            events: Mutex::new(vec![start]),
        })
    }

    fn finish(&self) -> Vec<Value> {
        let end = self.encoder.lock().must("the encoder").finish();
        let mut events = self.events.lock().must("the events");
        events.extend(end);
        events.clone()
    }
}

impl IOStream for Agui {
    fn print(&self, _: &[&str], _: &str, _: &str, _: bool) -> agentio::Result<()> {
        Ok(())
    }
    fn input(&self, _: &str, _: bool) -> agentio::Result<String> {
        Err(agentio::Error::InputClosed)
    }
    fn send(&self, event: &Event) -> agentio::Result<()> {
        let encoded = self.encoder.lock().must("the encoder").encode(event);
        self.events.lock().must("the events").extend(encoded);
        Ok(())
    }
    fn wants(&self, kind: EventKind) -> bool {
        !kind.is_on_request() || agentio::io::AGUI_KINDS.contains(&kind)
    }
}

/// What AG-UI's packages make of `events`: their summary, or why they refuse them.
fn verify(events: &[Value]) -> Value {
    let dir = std::env::temp_dir().join(format!("agentio-agui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).must("a scratch folder");
    let file = dir.join(format!("{}.jsonl", agentio::io::Uuid::new_v4()));
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    std::fs::write(&file, lines.join("\n")).must("the events file");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/agui/verify.js");
    let output = std::process::Command::new(external::AGUI_CLIENT.path())
        .arg(script)
        .arg(&file)
        .output()
        .must("node");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "AG-UI refuses the events: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        lines.join("\n")
    );
    serde_json::from_slice(&output.stdout).must("the summary")
}

fn the_notebook_chat_is_valid_agui() {
    let mock = MockServer::start(vec![
        common::streamed_tool_call("call_1", "weather_forecast", r#"{"city": "Paris"}"#),
        streamed_text(&["Sunny ", "in ", "Paris. ", "TERMINATE"]),
    ]);
    let client = OpenAIWrapper::new(
        LlmConfig::new(vec![
            ConfigEntry::new("mock-model").base_url(mock.base_url()),
        ])
        .stream(true)
        .cache_seed(None),
    )
    .must("the client");
    let (mut chatbot, mut user_proxy) = example::notebook_agents(Arc::new(client));
    let agui = Agui::new("user_proxy");
    io::with_default(agui.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "Weather in Paris?")
    })
    .must("the chat");
    let summary = verify(&agui.finish());
    let texts: Vec<&str> = summary["text"]
        .as_object()
        .map(|t| t.values().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(texts, ["Sunny in Paris. TERMINATE"], "{summary}");
    assert_eq!(
        summary["args"]["call_1"], r#"{"city": "Paris"}"#,
        "{summary}"
    );
    let result = summary["results"]["call_1"].as_str().unwrap_or("");
    assert!(
        result.starts_with("The weather forecast for Paris"),
        "{summary}"
    );
    assert_eq!(
        summary["steps"],
        json!(["chatbot", "user_proxy", "chatbot"]),
        "{summary}"
    );
    let types = summary["types"].as_array().must("types");
    assert_eq!(types.first(), Some(&json!("RUN_STARTED")));
    assert_eq!(types.last(), Some(&json!("RUN_FINISHED")));
    // The user's own message is the frontend's: not sent back.
    assert_eq!(
        types.iter().filter(|t| *t == "TEXT_MESSAGE_START").count(),
        1,
        "{summary}"
    );
}

fn reasoning_is_agui_reasoning() {
    let reasoning = |text: &str| {
        json!({"object": "chat.completion.chunk", "model": "mock-model",
               "choices": [{"index": 0, "delta": {"reasoning_content": text}, "finish_reason": null}]})
        .to_string()
    };
    let mock = MockServer::start(vec![Reply::Sse(vec![
        role_chunk(),
        reasoning("Think "),
        reasoning("first."),
        content_chunk("Done."),
        finish_chunk("stop"),
    ])]);
    let config = LlmConfig::new(vec![
        ConfigEntry::new("mock-model").base_url(mock.base_url()),
    ])
    .stream(true)
    .cache_seed(None);
    let mut chatbot = ConversableAgent::new("chatbot")
        .human_input_mode(HumanInputMode::Never)
        .llm_config(config);
    let mut user = ConversableAgent::new("user").human_input_mode(HumanInputMode::Never);
    let agui = Agui::new("user");
    io::with_default(agui.clone(), || {
        user.initiate_chat(
            &mut chatbot,
            agentio::agentchat::ChatOptions::new("Hi").max_turns(1),
        )
    })
    .must("the chat");
    let events = agui.finish();
    let summary = verify(&events);
    let reasoning: String = events
        .iter()
        .filter(|e| e["type"] == "REASONING_MESSAGE_CONTENT")
        .filter_map(|e| e["delta"].as_str())
        .collect();
    assert_eq!(reasoning, "Think first.");
    let types: Vec<&str> = summary["types"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let end = types
        .iter()
        .position(|t| *t == "REASONING_END")
        .must("REASONING_END");
    let text = types
        .iter()
        .position(|t| *t == "TEXT_MESSAGE_START")
        .must("the text");
    assert!(end < text, "{types:?}");
}

fn a_group_chats_turns_are_steps() {
    let say = |text: &str| Arc::new(ReplayClient::new().text([text.to_owned()]));
    let writer = ConversableAgent::new("writer")
        .human_input_mode(HumanInputMode::Never)
        .stream(true)
        .model_client(say("Roses are red."));
    let critic = ConversableAgent::new("critic")
        .human_input_mode(HumanInputMode::Never)
        .model_client(say("TERMINATE"));
    let user = ConversableAgent::new("user_proxy").human_input_mode(HumanInputMode::Never);
    let group = GroupChat::new([user, writer, critic])
        .max_round(4)
        .speaker_selection_method(SpeakerSelection::RoundRobin);
    let mut manager = GroupChatManager::new(group);
    let agui = Agui::new("user_proxy");
    io::with_default(agui.clone(), || {
        manager.initiate_chat("user_proxy", "Write a poem.")
    })
    .must("the group chat");
    let summary = verify(&agui.finish());
    assert_eq!(summary["steps"], json!(["writer", "critic"]), "{summary}");
    let texts: Vec<&str> = summary["text"]
        .as_object()
        .map(|t| t.values().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(texts.len(), 2, "{summary}");
    assert!(
        texts.contains(&"Roses are red.") && texts.contains(&"TERMINATE"),
        "{summary}"
    );
}
