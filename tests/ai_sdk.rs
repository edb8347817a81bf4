//! agentio's events as the Vercel AI SDK's UI message stream, checked with
//! the SDK's own package (`ai`'s `uiMessageChunkSchema` for every chunk,
//! its `readUIMessageStream` to build the message, from tests/ai_sdk's
//! lockfile): the notebook chat on the mock model, a reply with reasoning,
//! an approval that ends the run, a denied call, a failed run and a group
//! chat.
//!
//! Reported as ignored when Node.js or the packages are missing (`npm ci
//! --prefix tests/ai_sdk`), unless `AGENTIO_REQUIRE_NODE` is set.

mod common;
#[path = "common/external.rs"]
mod external;

use std::sync::{Arc, Mutex};

use agentio::agentchat::{ChatOptions, ConversableAgent, HumanInputMode};
use agentio::io::{
    self, Decision, Encoder, Event, EventKind, IOStream, ToolApprovalRequestEvent,
    ToolApprovalResponseEvent, UiMessageEncoder,
};
use agentio::llm::{ConfigEntry, LlmConfig, OpenAIWrapper};
use common::notebook::{Model, chat_with, example};
use common::weather::{Ran, cities, done, paris_call, weather};
use common::{MockServer, Must, Reply, content_chunk, finish_chunk, role_chunk, streamed_text};
use serde_json::{Value, json};

fn main() {
    external::run(vec![
        trial!(
            the_notebook_chat_is_one_valid_ui_message,
            external::AI_SDK_CLIENT
        ),
        trial!(reasoning_is_a_reasoning_part, external::AI_SDK_CLIENT),
        trial!(an_approval_ends_the_message_asking, external::AI_SDK_CLIENT),
        trial!(a_denied_call_is_output_denied, external::AI_SDK_CLIENT),
        trial!(a_failed_run_ends_with_an_error, external::AI_SDK_CLIENT),
        trial!(a_group_chats_turns_are_steps, external::AI_SDK_CLIENT),
        trial!(
            use_chat_runs_the_notebook_chat_over_http,
            external::AI_SDK_CLIENT
        ),
        trial!(
            use_chat_answers_an_approval_and_the_run_goes_on,
            external::AI_SDK_CLIENT
        ),
        trial!(
            the_websocket_transport_streams_the_chat_in_order,
            external::AI_SDK_CLIENT
        ),
        trial!(
            the_websocket_transport_answers_an_approval_on_the_same_connection,
            external::AI_SDK_CLIENT
        ),
        trial!(
            a_cut_reply_resumes_whole_from_sequence_zero,
            external::AI_SDK_CLIENT
        ),
        trial!(abort_stops_the_model_stream, external::AI_SDK_CLIENT),
    ]);
}

/// A stream that encodes UI message chunks and keeps them (as a transport
/// would send them). Its approvals: `None` ends the run asking the
/// frontend; a decision answers every request.
struct UiStream {
    encoder: Mutex<UiMessageEncoder>,
    chunks: Mutex<Vec<Value>>,
    decision: Option<Decision>,
}

impl UiStream {
    fn new(user: &str, decision: Option<Decision>) -> Arc<UiStream> {
        let mut encoder = UiMessageEncoder::new().message_id("msg-1").user(user);
        let start = encoder.start();
        Arc::new(UiStream {
            encoder: Mutex::new(encoder),
            chunks: Mutex::new(start),
            decision,
        })
    }

    fn push(&self, chunks: Vec<Value>) {
        self.chunks.lock().must("the chunks").extend(chunks);
    }

    fn finish(&self) -> Vec<Value> {
        let end = self.encoder.lock().must("the encoder").finish();
        self.push(end);
        self.chunks.lock().must("the chunks").clone()
    }
}

impl IOStream for UiStream {
    fn print(&self, _: &[&str], _: &str, _: &str, _: bool) -> agentio::Result<()> {
        Ok(())
    }
    fn input(&self, _: &str, _: bool) -> agentio::Result<String> {
        Err(agentio::Error::InputClosed)
    }
    fn send(&self, event: &Event) -> agentio::Result<()> {
        let encoded = self.encoder.lock().must("the encoder").encode(event);
        self.push(encoded);
        Ok(())
    }
    fn wants(&self, kind: EventKind) -> bool {
        !kind.is_on_request() || agentio::io::AGUI_KINDS.contains(&kind)
    }
    fn ask_approval(
        &self,
        requests: &[ToolApprovalRequestEvent],
    ) -> agentio::Result<Vec<ToolApprovalResponseEvent>> {
        let waiting: Vec<Event> = requests
            .iter()
            .cloned()
            .map(Event::ToolApprovalRequest)
            .collect();
        let Some(decision) = &self.decision else {
            let asked = self.encoder.lock().must("the encoder").interrupt(&waiting);
            self.push(asked);
            return Err(agentio::Error::InputClosed); // the run ends here
        };
        let mut answers = Vec::new();
        for (request, event) in requests.iter().zip(&waiting) {
            let answer =
                ToolApprovalResponseEvent::new(&request.request_id, decision.clone(), false);
            self.send(event)?;
            self.send(&Event::ToolApprovalResponse(answer.clone()))?;
            answers.push(answer);
        }
        Ok(answers)
    }
}

/// What the `ai` package makes of `chunks`: `{types, message, errors}`, or
/// a failure saying why it refuses them.
fn verify(chunks: &[Value]) -> Value {
    let lines: Vec<String> = chunks.iter().map(Value::to_string).collect();
    let mut node = external::AI_SDK_CLIENT.script("tests/ai_sdk/verify.mjs");
    let context = format!("the AI SDK refuses the chunks:\n{}\n", lines.join("\n"));
    external::json_of(&mut node, &lines.join("\n"), &context)
}

fn parts(summary: &Value) -> Vec<Value> {
    summary["message"]["parts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn of_type<'a>(parts: &'a [Value], kind: &str) -> Vec<&'a Value> {
    parts.iter().filter(|p| p["type"] == kind).collect()
}

fn mock_client(mock: &MockServer) -> Arc<OpenAIWrapper> {
    let config = LlmConfig::new(vec![
        ConfigEntry::new("mock-model").base_url(mock.base_url()),
    ])
    .stream(true)
    .cache_seed(None);
    Arc::new(OpenAIWrapper::new(config).must("the client"))
}

fn the_notebook_chat_is_one_valid_ui_message() {
    let mock = MockServer::start(vec![
        common::streamed_tool_call("call_1", "weather_forecast", r#"{"city": "Paris"}"#),
        streamed_text(&["Sunny ", "in ", "Paris. ", "TERMINATE"]),
    ]);
    let stream = UiStream::new("user_proxy", None);
    io::with_default(stream.clone(), || {
        chat_with(Model::Mock(&mock.base_url()), "Weather in Paris?".into())
    })
    .must("the chat");
    let summary = verify(&stream.finish());
    assert_eq!(summary["message"]["id"], "msg-1", "{summary}");
    let parts = parts(&summary);
    let kinds: Vec<&str> = parts.iter().filter_map(|p| p["type"].as_str()).collect();
    assert_eq!(
        kinds,
        ["step-start", "tool-weather_forecast", "step-start", "text"],
        "{summary}"
    );
    let call = &parts[1];
    assert_eq!(call["toolCallId"], "call_1");
    assert_eq!(call["state"], "output-available", "{summary}");
    assert_eq!(call["input"], json!({"city": "Paris"}));
    let output = call["output"].as_str().unwrap_or("");
    assert!(
        output.starts_with("The weather forecast for Paris"),
        "{summary}"
    );
    assert_eq!(parts[3]["text"], "Sunny in Paris. TERMINATE");
    assert_eq!(parts[3]["state"], "done");
    assert_eq!(summary["errors"], json!([]));
    let types = summary["types"].as_array().must("types");
    assert_eq!(types.last(), Some(&json!("finish")));
}

fn reasoning_is_a_reasoning_part() {
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
    let mut chatbot = ConversableAgent::new("chatbot")
        .human_input_mode(HumanInputMode::Never)
        .model_client(mock_client(&mock));
    let mut user = ConversableAgent::new("user").human_input_mode(HumanInputMode::Never);
    let stream = UiStream::new("user", None);
    io::with_default(stream.clone(), || {
        user.initiate_chat(&mut chatbot, ChatOptions::new("Hi").max_turns(1))
    })
    .must("the chat");
    let summary = verify(&stream.finish());
    let parts = parts(&summary);
    let kinds: Vec<&str> = parts.iter().filter_map(|p| p["type"].as_str()).collect();
    assert_eq!(kinds, ["step-start", "reasoning", "text"], "{summary}");
    assert_eq!(parts[1]["text"], "Think first.");
    assert_eq!(parts[1]["state"], "done");
    assert_eq!(parts[2]["text"], "Done.");
}

fn an_approval_ends_the_message_asking() {
    let mock = MockServer::start(vec![paris_call(), done()]);
    let ran = Ran::default();
    let (mut chatbot, mut user_proxy) =
        example::notebook_agents_with(mock_client(&mock), weather(&ran));
    let stream = UiStream::new("user_proxy", None);
    let ended = io::with_default(stream.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "Weather in Paris?")
    });
    assert!(ended.is_err(), "the run stops where it waits");
    let chunks = stream.finish(); // nothing more: the interrupt ended it
    let summary = verify(&chunks);
    let types: Vec<&str> = summary["types"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        types[types.len() - 3..],
        ["tool-approval-request", "finish-step", "finish"],
        "{summary}"
    );
    assert_eq!(
        chunks.last(),
        Some(&json!({"type": "finish", "finishReason": "tool-calls"}))
    );
    let parts = parts(&summary);
    let call = of_type(&parts, "tool-weather_forecast");
    assert_eq!(call.len(), 1, "{summary}");
    assert_eq!(call[0]["state"], "approval-requested", "{summary}");
    assert_eq!(call[0]["approval"]["id"], "approval-call_1");
    assert_eq!(call[0]["input"], json!({"city": "Paris"}));
    assert!(cities(&ran).is_empty(), "nothing ran");
}

fn a_denied_call_is_output_denied() {
    let mock = MockServer::start(vec![paris_call(), done()]);
    let ran = Ran::default();
    let (mut chatbot, mut user_proxy) =
        example::notebook_agents_with(mock_client(&mock), weather(&ran));
    let denied = Decision::Deny {
        reason: Some("not today".into()),
    };
    let stream = UiStream::new("user_proxy", Some(denied));
    io::with_default(stream.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "Weather in Paris?")
    })
    .must("the chat");
    let summary = verify(&stream.finish());
    let parts = parts(&summary);
    let call = of_type(&parts, "tool-weather_forecast");
    assert_eq!(call.len(), 1, "{summary}");
    assert_eq!(call[0]["state"], "output-denied", "{summary}");
    let texts: Vec<&Value> = of_type(&parts, "text").iter().map(|p| &p["text"]).collect();
    assert_eq!(texts, [&json!("Done. TERMINATE")], "{summary}");
    assert!(cities(&ran).is_empty(), "nothing ran");
}

fn a_failed_run_ends_with_an_error() {
    let mut encoder = UiMessageEncoder::new();
    let mut chunks = encoder.start();
    let mut fragment = agentio::io::StreamEvent::new("Half a ");
    fragment.sender = Some("chatbot".into());
    chunks.extend(encoder.encode(&Event::Stream(fragment)));
    chunks.extend(encoder.fail("the model went away"));
    let summary = verify(&chunks);
    assert_eq!(
        summary["errors"],
        json!(["the model went away"]),
        "{summary}"
    );
    let parts = parts(&summary);
    assert_eq!(
        parts.last().map(|p| &p["state"]),
        Some(&json!("done")),
        "{summary}"
    );
    assert_eq!(
        chunks.last(),
        Some(&json!({"type": "finish", "finishReason": "error"}))
    );
}

fn a_group_chats_turns_are_steps() {
    let stream = UiStream::new("user_proxy", None);
    common::poets::write_a_poem(stream.clone()).must("the group chat");
    let summary = verify(&stream.finish());
    let parts = parts(&summary);
    let shape: Vec<String> = parts
        .iter()
        .map(|p| match p["type"].as_str() {
            Some("text") => format!("text:{}", p["text"].as_str().unwrap_or("")),
            Some("data-speaker") => format!("speaker:{}", p["data"]["name"].as_str().unwrap_or("")),
            other => other.unwrap_or("").to_owned(),
        })
        .collect();
    assert_eq!(
        shape,
        [
            "step-start",
            "speaker:writer",
            "text:Roses are red.",
            "step-start",
            "speaker:critic",
            "text:TERMINATE",
        ],
        "{summary}"
    );
}

/// The example's server (its AI SDK endpoint is `/api/chat`), every tool
/// call waiting for approval when `approve_tools`.
fn serve(approve_tools: bool) -> agentio::io::websockets::WebsocketServer {
    let setup = example::Setup {
        model: example::Model::Replay,
        approve_tools,
        human_input_mode: HumanInputMode::Never,
    };
    example::serve("127.0.0.1", 0, setup).must("the server")
}

/// The SDK's own chat (tests/ai_sdk/use_chat.mjs) asking `question` at
/// the server's `/api/chat`, answering approvals with `decisions`: its
/// summary.
fn use_chat(
    server: &agentio::io::websockets::WebsocketServer,
    question: &str,
    decisions: &[Value],
) -> Value {
    let url = format!("{}api/chat", example::page_url(server));
    let mut node = external::AI_SDK_CLIENT.script("tests/ai_sdk/use_chat.mjs");
    node.arg(url)
        .arg(question)
        .args(decisions.iter().map(Value::to_string));
    let summary = external::json_of(&mut node, "", "");
    assert_eq!(summary["errors"], json!([]), "{summary}");
    for response in summary["responses"].as_array().must("responses") {
        assert_eq!(response["status"], 200, "{summary}");
        assert_eq!(response["header"], "v1", "{summary}");
        assert_eq!(response["done"], true, "ends with [DONE]: {summary}");
    }
    summary
}

/// The parts of the summary's last message: (type, state).
fn last_parts(summary: &Value) -> Vec<(String, String)> {
    let messages = summary["messages"].as_array().must("messages");
    let last = messages.last().must("a message");
    last["parts"]
        .as_array()
        .must("parts")
        .iter()
        .map(|p| {
            let text = |key: &str| p[key].as_str().unwrap_or("").to_owned();
            (text("type"), text("state"))
        })
        .collect()
}

fn use_chat_runs_the_notebook_chat_over_http() {
    let server = serve(false);
    let summary = use_chat(&server, "What's the weather in Paris?", &[]);
    let messages = summary["messages"].as_array().must("messages");
    assert_eq!(messages.len(), 2, "the question and one reply: {summary}");
    let parts = last_parts(&summary);
    let tool: Vec<&(String, String)> = parts
        .iter()
        .filter(|(t, _)| t == "tool-weather_forecast")
        .collect();
    assert_eq!(
        tool,
        [&("tool-weather_forecast".into(), "output-available".into())],
        "{summary}"
    );
    let reply = &messages[1];
    let call = reply["parts"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["type"] == "tool-weather_forecast"))
        .must("the tool part");
    assert_eq!(call["input"], json!({"city": "Paris"}));
    let output = call["output"].as_str().unwrap_or("");
    assert!(
        output.starts_with("The weather forecast for Paris at "),
        "{output}"
    );
    let texts: Vec<&str> = reply["parts"]
        .as_array()
        .must("parts")
        .iter()
        .filter(|p| p["type"] == "text")
        .filter_map(|p| p["text"].as_str())
        .collect();
    assert_eq!(texts.len(), 1, "the poem once: {summary}");
    assert!(
        texts[0].starts_with("Beneath the Paris sky"),
        "{}",
        texts[0]
    );
    assert_eq!(texts[0].split_whitespace().count(), 200);
}

fn use_chat_answers_an_approval_and_the_run_goes_on() {
    let server = serve(true);
    let approve = json!({"approved": true});
    let summary = use_chat(&server, "What's the weather in Paris?", &[approve]);
    let responses = summary["responses"].as_array().must("responses");
    assert_eq!(responses.len(), 2, "{summary}");
    let first: Vec<&str> = responses[0]["types"]
        .as_array()
        .must("types")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(first.contains(&"tool-approval-request"), "{first:?}");
    assert!(
        !first.contains(&"tool-output-available"),
        "not run yet: {first:?}"
    );
    // The continuation extends the same assistant message.
    let messages = summary["messages"].as_array().must("messages");
    assert_eq!(messages.len(), 2, "{summary}");
    let parts = last_parts(&summary);
    assert!(
        parts.contains(&("tool-weather_forecast".into(), "output-available".into())),
        "{parts:?}"
    );
    assert!(
        parts.iter().any(|(t, _)| t == "text"),
        "the poem: {parts:?}"
    );

    let deny = json!({"approved": false, "reason": "not today"});
    let summary = use_chat(&server, "What's the weather in Paris?", &[deny]);
    let parts = last_parts(&summary);
    assert!(
        parts.contains(&("tool-weather_forecast".into(), "output-denied".into())),
        "{parts:?}"
    );
}

/// tests/ai_sdk/ws_chat.mjs in `mode` against the server's `/api/chat`
/// websocket: its summary.
fn ws_chat(
    server: &agentio::io::websockets::WebsocketServer,
    mode: &str,
    question: &str,
    args: &[String],
) -> Value {
    let url = format!("{}/api/chat", server.uri());
    let mut node = external::AI_SDK_CLIENT.script("tests/ai_sdk/ws_chat.mjs");
    external::json_of(node.args([mode, &url, question]).args(args), "", "")
}

/// One connection's frames: every chunk's sequence is the next, from 0,
/// between one `start` and one `end`, and no frame type the transport does
/// not know. Returns the chunks.
fn in_order(frames: &Value) -> Vec<Value> {
    let frames = frames.as_array().must("frames");
    let types: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"start"), "{types:?}");
    assert_eq!(types.last(), Some(&"end"), "{types:?}");
    let chunks: Vec<Value> = frames
        .iter()
        .filter(|f| f["type"] == "chunk")
        .cloned()
        .collect();
    assert_eq!(
        chunks.len() + 2,
        frames.len(),
        "only start, chunks, end: {types:?}"
    );
    for (i, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk["sequence"], i, "no gaps, in order");
        assert_eq!(chunk["requestId"], frames[0]["requestId"]);
    }
    chunks.into_iter().map(|f| f["chunk"].clone()).collect()
}

/// A reply message's poem parts and tool parts, checked: the tool call
/// with its input and output, and the poem whole, once.
fn assert_the_notebook_reply(message: &Value) {
    let parts = message["parts"].as_array().must("parts");
    let tools: Vec<&Value> = parts
        .iter()
        .filter(|p| p["type"] == "tool-weather_forecast")
        .collect();
    assert_eq!(tools.len(), 1, "{message}");
    assert_eq!(tools[0]["state"], "output-available", "{message}");
    assert_eq!(tools[0]["input"], json!({"city": "Paris"}));
    let texts: Vec<&str> = parts
        .iter()
        .filter(|p| p["type"] == "text")
        .filter_map(|p| p["text"].as_str())
        .collect();
    assert_eq!(texts.len(), 1, "the poem once: {message}");
    assert!(
        texts[0].starts_with("Beneath the Paris sky"),
        "{}",
        texts[0]
    );
    assert_eq!(texts[0].split_whitespace().count(), 200);
}

fn the_websocket_transport_streams_the_chat_in_order() {
    let server = serve(false);
    let summary = ws_chat(&server, "chat", "What's the weather in Paris?", &[]);
    assert_eq!(summary["errors"], json!([]), "{summary}");
    let connections = summary["connections"].as_array().must("connections");
    assert_eq!(connections.len(), 1, "{summary}");
    in_order(&connections[0]);
    let messages = summary["messages"].as_array().must("messages");
    assert_eq!(messages.len(), 2, "{summary}");
    assert_the_notebook_reply(&messages[1]);
}

fn the_websocket_transport_answers_an_approval_on_the_same_connection() {
    // The example's chat, counting how often a chat is started: an answer
    // that continues the waiting chat in place starts none.
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let setup = example::Setup {
        model: example::Model::Replay,
        approve_tools: true,
        human_input_mode: HumanInputMode::Never,
    };
    let count = started.clone();
    let server = io::IOWebsockets::run_server_in_thread(
        agentio::io::websockets::ServerConfig::new("127.0.0.1", 0),
        move |ws: &io::IOWebsockets| {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            example::on_connect(ws, &setup)
        },
    )
    .must("the server");
    let approve = json!({"approved": true}).to_string();
    let summary = ws_chat(&server, "chat", "What's the weather in Paris?", &[approve]);
    assert_eq!(summary["errors"], json!([]), "{summary}");
    assert_eq!(
        started.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the approval went on in place"
    );
    let connections = summary["connections"].as_array().must("connections");
    assert_eq!(
        connections.len(),
        1,
        "one connection, two requests: {summary}"
    );
    let frames = connections[0].as_array().must("frames");
    let starts = frames.iter().filter(|f| f["type"] == "start").count();
    assert_eq!(starts, 2, "{summary}");
    let messages = summary["messages"].as_array().must("messages");
    assert_eq!(
        messages.len(),
        2,
        "the reply goes on in one message: {summary}"
    );
    let parts = messages[1]["parts"].as_array().must("parts");
    assert!(
        parts
            .iter()
            .any(|p| p["type"] == "tool-weather_forecast" && p["state"] == "output-available"),
        "{summary}"
    );
}

fn a_cut_reply_resumes_whole_from_sequence_zero() {
    // Paced, so the reply is still streaming when the client comes back.
    let setup = example::Setup {
        model: example::Model::ReplayPaced(std::time::Duration::from_millis(2)),
        approve_tools: false,
        human_input_mode: HumanInputMode::Never,
    };
    let server = example::serve("127.0.0.1", 0, setup).must("the server");
    let summary = ws_chat(
        &server,
        "cut",
        "What's the weather in Paris?",
        &["20".into()],
    );
    assert_eq!(
        summary["before"].as_array().map(Vec::len),
        Some(20),
        "{summary}"
    );
    let connections = summary["connections"].as_array().must("connections");
    assert_eq!(connections.len(), 2, "{summary}");
    // The second connection got the reply again from 0, then the rest.
    let chunks = in_order(&connections[1]);
    assert_eq!(
        chunks.first().map(|c| c["type"].clone()),
        Some(json!("start"))
    );
    assert_eq!(
        chunks.last().map(|c| c["type"].clone()),
        Some(json!("finish"))
    );
    assert_the_notebook_reply(&summary["message"]);
}

fn abort_stops_the_model_stream() {
    let words: Vec<String> = (0..200)
        .map(|i| common::content_chunk(&format!("word{i} ")))
        .collect();
    let mock = MockServer::start(vec![Reply::Slow(
        words,
        std::time::Duration::from_millis(10),
    )]);
    let model = common::notebook::mock_model(&mock.base_url());
    let server = example::serve("127.0.0.1", 0, model).must("the server");
    let summary = ws_chat(&server, "abort", "Write a long poem.", &["5".into()]);
    assert_eq!(
        summary["before"].as_array().map(Vec::len),
        Some(5),
        "{summary}"
    );
    assert_eq!(
        summary["after"], "no-active",
        "the connection still serves: {summary}"
    );
    // The model's stream is dropped: the mock sees its client leave.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !mock
        .client_left_early
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the model stream went on"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let written = mock
        .slow_events_written
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(written < 200, "stopped early: {written} of 200 chunks");
    assert_eq!(mock.received().len(), 1, "no model call after the abort");
}
