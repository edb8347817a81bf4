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

use agentio::agentchat::{ConversableAgent, HumanInputMode};
use agentio::io::{self, AguiEncoder, Encoder, Event, EventKind, IOStream};
use agentio::llm::{ConfigEntry, LlmConfig, OpenAIWrapper};
use common::notebook::example;
use common::{MockServer, Must, Reply, content_chunk, finish_chunk, role_chunk, streamed_text};
use serde_json::{Value, json};

fn main() {
    external::run(vec![
        trial!(the_notebook_chat_is_valid_agui, external::AGUI_CLIENT),
        trial!(reasoning_is_agui_reasoning, external::AGUI_CLIENT),
        trial!(a_group_chats_turns_are_steps, external::AGUI_CLIENT),
        trial!(http_agent_runs_the_notebook_chat, external::AGUI_CLIENT),
        trial!(
            a_second_run_carries_the_first_as_history,
            external::AGUI_CLIENT
        ),
        trial!(
            a_chunked_post_gets_valid_server_sent_events,
            external::AGUI_CLIENT
        ),
        trial!(
            an_approval_interrupts_the_run_and_its_resume_runs_the_tool,
            external::AGUI_CLIENT
        ),
        trial!(
            a_denied_or_edited_call_resumes_as_decided,
            external::AGUI_CLIENT
        ),
        trial!(
            input_requests_are_input_required_interrupts,
            external::AGUI_CLIENT
        ),
        trial!(a_waiting_chat_goes_on_in_place, external::AGUI_CLIENT),
        trial!(
            a_resume_at_another_server_rebuilds_the_chat,
            external::AGUI_CLIENT
        ),
        trial!(filters_work_on_runs_too, external::AGUI_CLIENT),
        trial!(
            agui_over_a_websocket_serves_run_after_run,
            external::AGUI_CLIENT
        ),
        trial!(
            an_interrupt_on_a_websocket_goes_on_in_place,
            external::AGUI_CLIENT
        ),
        trial!(a_waiting_chat_keeps_its_stream_alive),
        trial!(bad_runs_get_clear_http_answers),
        trial!(a_client_that_closes_the_request_stops_the_chat),
        trial!(cors_is_off_by_default_and_answers_the_origins_it_is_given),
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
        let mut encoder = AguiEncoder::new("thread-1", "run-1").user(user);
        let start = encoder.start();
        Arc::new(Agui {
            encoder: Mutex::new(encoder),
            events: Mutex::new(start),
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
    let mut node = external::AGUI_CLIENT.script("tests/agui/verify.js");
    let context = format!("AG-UI refuses the events:\n{}\n", lines.join("\n"));
    let summary = external::json_of(node.arg(&file), "", &context);
    let _ = std::fs::remove_file(&file);
    summary
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
    let agui = Agui::new("user_proxy");
    common::poets::write_a_poem(agui.clone()).must("the group chat");
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

/// The websocket example's server, whose one port also takes AG-UI runs.
fn serve(model: example::Model) -> agentio::io::websockets::WebsocketServer {
    example::serve("127.0.0.1", 0, model).must("the server")
}

/// The example's server whose every tool call waits for approval, or whose
/// user proxy asks the human after every reply.
fn serve_asking(
    approve_tools: bool,
    human_input_mode: HumanInputMode,
) -> agentio::io::websockets::WebsocketServer {
    let setup = example::Setup {
        model: example::Model::Replay,
        approve_tools,
        human_input_mode,
    };
    example::serve("127.0.0.1", 0, setup).must("the server")
}

/// One question, then a run per answer while the runs end in interrupts
/// (tests/agui/interrupt.js): its summary.
fn interrupted_runs(url: &str, question: &str, answers: &[Value]) -> Value {
    interrupted_runs_resumed_at(url, None, question, answers)
}

/// [`interrupted_runs`] whose resuming runs go to `resume_url`.
fn interrupted_runs_resumed_at(
    url: &str,
    resume_url: Option<&str>,
    question: &str,
    answers: &[Value],
) -> Value {
    let mut node = external::AGUI_CLIENT.script("tests/agui/interrupt.js");
    if let Some(resume_url) = resume_url {
        node.env("RESUME_URL", resume_url);
    }
    node.arg(url)
        .arg(question)
        .args(answers.iter().map(Value::to_string));
    let summary = external::json_of(&mut node, "", "");
    assert!(summary["error"].is_null(), "{summary}");
    summary
}

/// The roles of the messages the client assembled.
fn roles(summary: &Value) -> Vec<String> {
    summary["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m["role"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn an_approval_interrupts_the_run_and_its_resume_runs_the_tool() {
    let server = serve_asking(true, HumanInputMode::Never);
    let approve = json!({"status": "resolved", "payload": {"approved": true}});
    let summary = interrupted_runs(&agui_url(&server), "Weather in Paris?", &[approve]);
    let runs = summary["runs"].as_array().must("runs");
    assert_eq!(runs.len(), 2, "{summary}");
    // The first run ends waiting: the call streamed and ended, not run.
    let first = &runs[0];
    assert_eq!(first["outcome"], "interrupt", "{summary}");
    let interrupt = &first["interrupts"][0];
    assert_eq!(interrupt["reason"], "tool_call");
    let call = &summary["messages"][1]["toolCalls"][0];
    assert_eq!(interrupt["toolCallId"], call["id"], "{summary}");
    assert_eq!(call["function"]["arguments"], r#"{"city":"Paris"}"#);
    let types = |run: &Value| -> Vec<String> {
        run["types"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(types(first).contains(&"TOOL_CALL_END".to_owned()));
    assert!(!types(first).contains(&"TOOL_CALL_RESULT".to_owned()));
    assert_eq!(
        types(first).last().map(String::as_str),
        Some("RUN_FINISHED")
    );
    // The resume ran the tool and the chat went on to its end.
    let second = &runs[1];
    assert_ne!(second["outcome"], "interrupt", "{summary}");
    assert!(
        types(second).contains(&"TOOL_CALL_RESULT".to_owned()),
        "{summary}"
    );
    assert_eq!(
        roles(&summary),
        ["user", "assistant", "tool", "assistant"],
        "{summary}"
    );
    let result = summary["messages"][2]["content"].as_str().unwrap_or("");
    assert!(
        result.starts_with("The weather forecast for Paris at "),
        "{result}"
    );
    let poem = summary["messages"][3]["content"].as_str().unwrap_or("");
    assert!(poem.starts_with("Beneath the Paris sky"), "{poem}");
    assert_eq!(poem.split_whitespace().count(), 200, "the poem once");
}

fn a_denied_or_edited_call_resumes_as_decided() {
    let server = serve_asking(true, HumanInputMode::Never);
    let deny = json!({"status": "resolved", "payload": {"approved": false, "reason": "not today"}});
    let summary = interrupted_runs(&agui_url(&server), "Weather in Paris?", &[deny]);
    assert_eq!(
        roles(&summary),
        ["user", "assistant", "tool", "assistant"],
        "{summary}"
    );
    let result = summary["messages"][2]["content"].as_str().unwrap_or("");
    assert!(
        !result.contains("The weather forecast"),
        "not run: {result}"
    );
    assert!(
        result.contains("not today"),
        "the reason reaches the model: {result}"
    );

    let edit = json!({"status": "resolved", "payload": {"approved": true, "editedArgs": {"city": "Lyon"}}});
    let summary = interrupted_runs(&agui_url(&server), "Weather in Paris?", &[edit]);
    let result = summary["messages"][2]["content"].as_str().unwrap_or("");
    assert!(
        result.contains("The weather forecast for Lyon at "),
        "{summary}"
    );

    // A cancelled interrupt denies the call.
    let cancel = json!({"status": "cancelled"});
    let summary = interrupted_runs(&agui_url(&server), "Weather in Paris?", &[cancel]);
    let result = summary["messages"][2]["content"].as_str().unwrap_or("");
    assert!(!result.contains("The weather forecast"), "{summary}");
}

fn input_requests_are_input_required_interrupts() {
    let server = serve_asking(false, HumanInputMode::Always);
    // Enter (auto-reply) after the tool call, then `exit` after the poem.
    let answers = [
        json!({"status": "resolved", "payload": ""}),
        json!({"status": "resolved", "payload": "exit"}),
    ];
    let summary = interrupted_runs(&agui_url(&server), "Weather in Paris?", &answers);
    let runs = summary["runs"].as_array().must("runs");
    assert_eq!(runs.len(), 3, "{summary}");
    for run in &runs[..2] {
        assert_eq!(run["outcome"], "interrupt", "{summary}");
        assert_eq!(
            run["interrupts"][0]["reason"], "input_required",
            "{summary}"
        );
        let prompt = run["interrupts"][0]["message"].as_str().unwrap_or("");
        assert!(prompt.starts_with("Replying as user_proxy."), "{prompt}");
    }
    assert_ne!(runs[2]["outcome"], "interrupt", "{summary}");
    assert_eq!(
        roles(&summary),
        ["user", "assistant", "tool", "assistant"],
        "{summary}"
    );
}

fn a_waiting_chat_goes_on_in_place() {
    // Input after each reply and approval for each call: three interrupts
    // in one chat, answered one by one. Only a chat that waited (not one
    // rebuilt from the messages, which would ask for input again before
    // the call) gets through them in this order.
    let server = serve_asking(true, HumanInputMode::Always);
    let answers = [
        json!({"status": "resolved", "payload": ""}),
        json!({"status": "resolved", "payload": {"approved": true}}),
        json!({"status": "resolved", "payload": "exit"}),
    ];
    let summary = interrupted_runs(&agui_url(&server), "Weather in Paris?", &answers);
    let runs = summary["runs"].as_array().must("runs");
    let reasons: Vec<&Value> = runs.iter().map(|r| &r["interrupts"][0]["reason"]).collect();
    assert_eq!(
        reasons,
        [
            &json!("input_required"),
            &json!("tool_call"),
            &json!("input_required"),
            &Value::Null
        ],
        "{summary}"
    );
    assert_eq!(
        roles(&summary),
        ["user", "assistant", "tool", "assistant"],
        "{summary}"
    );
    let result = summary["messages"][2]["content"].as_str().unwrap_or("");
    assert!(
        result.starts_with("The weather forecast for Paris at "),
        "{result}"
    );
    // The runs that answered continued the chat: no new RUN of the model
    // for the call, one poem.
    let poem = summary["messages"][3]["content"].as_str().unwrap_or("");
    assert_eq!(poem.split_whitespace().count(), 200, "the poem once");
    assert_eq!(server.chats(), 0, "the chat is over");
}

fn a_resume_at_another_server_rebuilds_the_chat() {
    let first = serve_asking(true, HumanInputMode::Never);
    let other = serve_asking(true, HumanInputMode::Never);
    let approve = json!({"status": "resolved", "payload": {"approved": true}});
    let summary = interrupted_runs_resumed_at(
        &agui_url(&first),
        Some(&agui_url(&other)),
        "Weather in Paris?",
        &[approve],
    );
    let runs = summary["runs"].as_array().must("runs");
    assert_eq!(runs.len(), 2, "{summary}");
    assert_eq!(
        roles(&summary),
        ["user", "assistant", "tool", "assistant"],
        "{summary}"
    );
    let result = summary["messages"][2]["content"].as_str().unwrap_or("");
    assert!(
        result.starts_with("The weather forecast for Paris at "),
        "{result}"
    );
    // The first server's chat still waits; stopping the server ends it.
    assert_eq!(first.chats(), 1, "parked on the first server");
    assert_eq!(other.chats(), 0);
    let started = std::time::Instant::now();
    drop(first);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// Sends one AG-UI run on an AG-UI websocket and reads its events to the
/// run's end.
fn ws_run(ws: &mut common::ws::Client, input: &Value) -> Vec<Value> {
    common::ws::send(ws, &input.to_string());
    let mut events = Vec::new();
    loop {
        let event: Value = serde_json::from_str(&common::ws::text(ws)).must("an AG-UI event");
        let last = matches!(event["type"].as_str(), Some("RUN_FINISHED" | "RUN_ERROR"));
        events.push(event);
        if last {
            return events;
        }
    }
}

fn agui_over_a_websocket_serves_run_after_run() {
    let server = serve(example::Model::Replay);
    let url = format!("{}/ws?format=agui", server.uri());
    let mut ws = common::ws::connect(&url);
    let first = json!({"threadId": "t1", "runId": "r1", "messages": [
        {"id": "u1", "role": "user", "content": "Weather in Paris?"}]});
    let events = ws_run(&mut ws, &first);
    let summary = verify(&events);
    let args: Vec<&Value> = summary["args"].as_object().must("args").values().collect();
    assert_eq!(args, [&json!(r#"{"city":"Paris"}"#)], "{summary}");
    let texts: Vec<&str> = summary["text"]
        .as_object()
        .must("texts")
        .values()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(texts.len(), 1, "the poem once: {summary}");
    assert_eq!(texts[0].split_whitespace().count(), 200);
    // The next run on the same connection carries the first as history.
    let second = json!({"threadId": "t1", "runId": "r2", "messages": [
        {"id": "u1", "role": "user", "content": "Weather in Paris?"},
        {"id": "a1", "role": "assistant", "content": texts[0]},
        {"id": "u2", "role": "user", "content": "And in Rome?"}]});
    let events = ws_run(&mut ws, &second);
    let summary = verify(&events);
    assert_eq!(events[0]["runId"], "r2");
    let args: Vec<&Value> = summary["args"].as_object().must("args").values().collect();
    assert_eq!(args, [&json!(r#"{"city":"Rome"}"#)], "{summary}");
    // A frame that is no run gets RUN_ERROR, and the connection goes on.
    common::ws::send(&mut ws, "not json");
    let error: Value = serde_json::from_str(&common::ws::text(&mut ws)).must("an event");
    assert_eq!(error["type"], "RUN_ERROR", "{error}");
    let events = ws_run(&mut ws, &first);
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some(json!("RUN_FINISHED"))
    );
}

fn an_interrupt_on_a_websocket_goes_on_in_place() {
    let server = serve_asking(true, HumanInputMode::Never);
    let url = format!("{}/ws?format=agui", server.uri());
    let mut ws = common::ws::connect(&url);
    let question = json!({"id": "u1", "role": "user", "content": "Weather in Paris?"});
    let first = json!({"threadId": "t1", "runId": "r1", "messages": [question]});
    let events = ws_run(&mut ws, &first);
    verify(&events);
    let finished = events.last().must("RUN_FINISHED");
    assert_eq!(finished["outcome"]["type"], "interrupt", "{finished}");
    let interrupt = &finished["outcome"]["interrupts"][0];
    let call_id = interrupt["toolCallId"].clone();
    assert_eq!(server.chats(), 1, "the chat waits on its connection");
    let resume = json!({"threadId": "t1", "runId": "r2", "messages": [question,
        {"id": "a1", "role": "assistant", "toolCalls": [{"id": call_id, "type": "function",
            "function": {"name": "weather_forecast", "arguments": "{\"city\":\"Paris\"}"}}]}],
        "resume": [{"interruptId": interrupt["id"], "status": "resolved",
                    "payload": {"approved": true}}]});
    let events = ws_run(&mut ws, &resume);
    let summary = verify(&events);
    assert_eq!(events[0]["runId"], "r2");
    let results: Vec<&Value> = summary["results"]
        .as_object()
        .must("results")
        .values()
        .collect();
    assert_eq!(results.len(), 1, "{summary}");
    assert!(
        results[0]
            .as_str()
            .unwrap_or("")
            .starts_with("The weather forecast for Paris at "),
        "{summary}"
    );
    assert_eq!(
        events.last().map(|e| e["outcome"].clone()),
        Some(Value::Null),
        "a success"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while server.chats() > 0 {
        assert!(std::time::Instant::now() < deadline, "the chat did not end");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn filters_work_on_runs_too() {
    let server = serve(example::Model::Replay);
    // Without the tool results: the call streams, its result does not.
    let url = format!("{}?events=-tool_response", agui_url(&server));
    let summary = http_agent(&url, "Weather in Paris?");
    assert!(summary["error"].is_null(), "{summary}");
    assert_eq!(
        roles(&summary),
        ["user", "assistant", "assistant"],
        "{summary}"
    );
    let types = summary["types"].as_array().must("types");
    assert!(!types.contains(&json!("TOOL_CALL_RESULT")), "{summary}");
    assert!(types.contains(&json!("TOOL_CALL_ARGS")), "{summary}");
    // Only user_proxy's events: nothing of the chatbot's reply.
    let url = format!("{}?agents=user_proxy", agui_url(&server));
    let summary = http_agent(&url, "Weather in Paris?");
    let types = summary["types"].as_array().must("types");
    assert!(!types.contains(&json!("TEXT_MESSAGE_CONTENT")), "{summary}");
    assert!(types.contains(&json!("TOOL_CALL_RESULT")), "{summary}");
    // A filter that names no kind is refused, as for a websocket.
    let body = run_input("Hi");
    let head = raw(
        server.local_addr(),
        &format!(
            "POST /agui?events=poems HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(head.starts_with("http/1.1 400"), "{head}");
}

fn a_waiting_chat_keeps_its_stream_alive() {
    use std::io::{BufRead, BufReader, Write};
    let mock = MockServer::start(vec![
        common::streamed_tool_call("call_1", "slow", "{}"),
        streamed_text(&["Done. ", "TERMINATE"]),
    ]);
    let model = common::notebook::mock_model(&mock.base_url());
    // The tool runs until the test has seen a keep-alive comment.
    let (go, wait) = crossbeam_channel::bounded::<()>(1);
    let tool = agentio::agentchat::Tool::new("slow", "takes its time").function(move |_: Value| {
        let seen = wait
            .recv_timeout(std::time::Duration::from_secs(10))
            .is_ok();
        Ok::<_, String>(if seen { "done" } else { "no keep-alive came" })
    });
    let config = agentio::io::websockets::ServerConfig::new("127.0.0.1", 0)
        .sse_keep_alive(std::time::Duration::from_millis(30));
    let server = io::IOWebsockets::run_server_in_thread(config, move |ws: &io::IOWebsockets| {
        let question = ws.input("", false)?;
        let (mut chatbot, mut user_proxy) =
            example::notebook_agents_with(model.client(&question), tool.clone());
        user_proxy.initiate_chat(&mut chatbot, question).map(|_| ())
    })
    .must("the server");
    let body = json!({"threadId": "t", "runId": "r", "messages": [
        {"id": "1", "role": "user", "content": "Take your time."}]})
    .to_string();
    let mut socket = std::net::TcpStream::connect(server.local_addr()).must("connect");
    let _ = socket.set_read_timeout(Some(std::time::Duration::from_secs(20)));
    let head = format!(
        "POST /agui HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).must("the head");
    socket.write_all(body.as_bytes()).must("the body");
    let mut lines = BufReader::new(socket).lines();
    let mut before = Vec::new();
    for line in lines.by_ref() {
        let line = line.must("a line");
        if line == ": keep-alive" {
            let _ = go.send(());
            break;
        }
        before.push(line);
    }
    assert!(
        before.iter().any(|l| l.contains("TOOL_CALL_END")),
        "the comment came while the tool ran: {before:?}"
    );
    let after: Vec<String> = lines.map_while(|l| l.ok()).collect();
    let results: Vec<&String> = after
        .iter()
        .filter(|l| l.contains("TOOL_CALL_RESULT"))
        .collect();
    assert_eq!(results.len(), 1, "{after:?}");
    assert!(results[0].contains(r#""content":"done""#), "{after:?}");
    assert!(
        after.iter().any(|l| l.contains("RUN_FINISHED")),
        "{after:?}"
    );
}

fn agui_url(server: &agentio::io::websockets::WebsocketServer) -> String {
    format!("{}agui", example::page_url(server))
}

/// @ag-ui/client's HttpAgent, one run per message on one thread: its summary.
fn http_agent(url: &str, message: &str) -> Value {
    http_agent_runs(url, &[message])
}

fn http_agent_runs(url: &str, messages: &[&str]) -> Value {
    let mut node = external::AGUI_CLIENT.script("tests/agui/http_agent.js");
    external::json_of(node.arg(url).args(messages), "", "")
}

fn http_agent_runs_the_notebook_chat() {
    let server = serve(example::Model::Replay);
    let summary = http_agent(&agui_url(&server), "Check out the weather in Paris.");
    assert!(summary.get("error").is_none(), "{summary}");
    let messages = summary["messages"].as_array().must("messages");
    let roles: Vec<&str> = messages.iter().filter_map(|m| m["role"].as_str()).collect();
    // The question is the frontend's own: not echoed back as the agent's.
    assert_eq!(
        roles,
        ["user", "assistant", "tool", "assistant"],
        "{summary}"
    );
    let call = &messages[1]["toolCalls"][0];
    assert_eq!(call["function"]["name"], "weather_forecast");
    assert_eq!(call["function"]["arguments"], r#"{"city":"Paris"}"#);
    assert_eq!(messages[2]["toolCallId"], call["id"]);
    let result = messages[2]["content"].as_str().unwrap_or("");
    assert!(
        result.starts_with("The weather forecast for Paris at "),
        "{result}"
    );
    let poem = messages[3]["content"].as_str().unwrap_or("");
    assert!(poem.starts_with("Beneath the Paris sky"), "{poem}");
    assert_eq!(poem.split_whitespace().count(), 200);
    let types = summary["types"].as_array().must("types");
    assert_eq!(types.first(), Some(&json!("RUN_STARTED")));
    assert_eq!(types.last(), Some(&json!("RUN_FINISHED")));
}

fn a_second_run_carries_the_first_as_history() {
    let mock = MockServer::start(vec![
        common::streamed_tool_call("call_1", "weather_forecast", r#"{"city": "Paris"}"#),
        streamed_text(&["Sunny ", "in ", "Paris. ", "TERMINATE"]),
        streamed_text(&["Rome ", "too. ", "TERMINATE"]),
    ]);
    let model = common::notebook::mock_model(&mock.base_url());
    let server = serve(model);
    let summary = http_agent_runs(&agui_url(&server), &["Weather in Paris?", "And in Rome?"]);
    assert!(summary["error"].is_null(), "{summary}");
    assert_eq!(
        summary["runs"].as_array().map(Vec::len),
        Some(2),
        "{summary}"
    );
    let requests = mock.received();
    assert_eq!(requests.len(), 3, "two model calls, then one");
    // The second run's chat started from the conversation the client sent.
    let messages = requests[2].body["messages"]
        .as_array()
        .must("messages")
        .clone();
    let shape: Vec<(String, String)> = messages
        .iter()
        .map(|m| {
            let text = m["content"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(20)
                .collect();
            (m["role"].as_str().unwrap_or("").to_owned(), text)
        })
        .collect();
    let roles: Vec<&str> = shape.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "assistant", "user"],
        "{shape:?}"
    );
    assert_eq!(messages[1]["content"], "Weather in Paris?");
    assert_eq!(messages[2]["tool_calls"][0]["id"], "call_1");
    assert_eq!(messages[3]["tool_call_id"], "call_1");
    assert_eq!(messages[4]["content"], "Sunny in Paris. TERMINATE");
    assert_eq!(messages[5]["content"], "And in Rome?");
    let last = summary["messages"]
        .as_array()
        .and_then(|m| m.last())
        .must("a message");
    assert_eq!(last["content"], "Rome too. TERMINATE");
}

/// Posts `body` to `url`'s AG-UI path by hand; returns the status line,
/// the head and the body as sent.
fn post(
    server: &agentio::io::websockets::WebsocketServer,
    head_extra: &str,
    body: &[u8],
) -> (String, String) {
    use std::io::{Read, Write};
    let addr = server.local_addr();
    let mut socket = std::net::TcpStream::connect(addr).must("connect");
    let _ = socket.set_read_timeout(Some(std::time::Duration::from_secs(20)));
    let head = format!(
        "POST /agui HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n{head_extra}\r\n"
    );
    socket.write_all(head.as_bytes()).must("the head");
    socket.write_all(body).must("the body");
    let mut response = Vec::new();
    let _ = socket.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.to_owned(), body.to_owned())
}

fn run_input(message: &str) -> String {
    json!({"threadId": "t-1", "runId": "r-1", "state": {}, "tools": [], "context": [],
           "forwardedProps": {}, "messages": [{"id": "u1", "role": "user", "content": message}]})
    .to_string()
}

fn a_chunked_post_gets_valid_server_sent_events() {
    let server = serve(example::Model::Replay);
    let body = run_input("Weather in Oslo?");
    let (first, second) = body.split_at(body.len() / 2);
    let chunked = format!(
        "{:x}\r\n{first}\r\n{:x}\r\n{second}\r\n0\r\n\r\n",
        first.len(),
        second.len()
    );
    let (head, stream) = post(
        &server,
        "transfer-encoding: chunked\r\n",
        chunked.as_bytes(),
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    let events: Vec<Value> = stream
        .split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).must("an AG-UI event"))
        .collect();
    let summary = verify(&events);
    let text: String = summary["text"]
        .as_object()
        .map(|t| t.values().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(text.starts_with("Beneath the Oslo sky"), "{summary}");
    assert_eq!(
        summary["types"].as_array().and_then(|t| t.last()),
        Some(&json!("RUN_FINISHED"))
    );
}

fn bad_runs_get_clear_http_answers() {
    let server = agentio::io::IOWebsockets::run_server_in_thread(
        agentio::io::websockets::ServerConfig::new("127.0.0.1", 0).max_request_body(2048),
        |_: &agentio::io::IOWebsockets| Ok::<(), agentio::Error>(()),
    )
    .must("the server");
    let status = |extra: &str, body: &str| {
        let (head, _) = post(&server, extra, body.as_bytes());
        head.split(' ').nth(1).unwrap_or("").to_owned()
    };
    let good = run_input("Hi");
    assert_eq!(
        status(&format!("content-length: {}\r\n", good.len()), &good),
        "200"
    );
    assert_eq!(status("content-length: 8\r\n", "not json"), "400");
    let no_user = json!({"threadId": "t", "runId": "r", "messages": [{"id": "a", "role": "assistant", "content": "x"}]}).to_string();
    assert_eq!(
        status(&format!("content-length: {}\r\n", no_user.len()), &no_user),
        "400"
    );
    let big = "x".repeat(4096);
    assert_eq!(
        status(&format!("content-length: {}\r\n", big.len()), &big),
        "413"
    );
    assert_eq!(status("", ""), "411");
    assert_eq!(status("transfer-encoding: chunked\r\n", "zz\r\n"), "400");
    // The server goes on serving.
    assert_eq!(
        status(&format!("content-length: {}\r\n", good.len()), &good),
        "200"
    );
}

fn a_client_that_closes_the_request_stops_the_chat() {
    use std::io::{Read, Write};
    // The poem at a model's pace: 200 words, 20 ms apart.
    let server = serve(example::Model::ReplayPaced(
        std::time::Duration::from_millis(20),
    ));
    let addr = server.local_addr();
    let mut socket = std::net::TcpStream::connect(addr).must("connect");
    let _ = socket.set_read_timeout(Some(std::time::Duration::from_secs(20)));
    let body = run_input("Weather in Paris?");
    let head = format!(
        "POST /agui HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).must("the head");
    socket.write_all(body.as_bytes()).must("the body");
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("TEXT_MESSAGE_CONTENT") || seen.matches("TEXT_MESSAGE_CONTENT").count() < 3
    {
        let n = socket.read(&mut buf).must("the stream");
        assert!(n > 0, "the stream ended early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert_eq!(server.chats(), 1);
    drop(socket);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.chats() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the chat went on for nobody"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Sends a raw request, returns the response head.
fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(addr).must("connect");
    let _ = socket.set_read_timeout(Some(std::time::Duration::from_secs(20)));
    socket.write_all(request.as_bytes()).must("the request");
    let mut response = Vec::new();
    let _ = socket.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    response
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn cors_is_off_by_default_and_answers_the_origins_it_is_given() {
    let preflight = |addr, origin: &str| {
        raw(
            addr,
            &format!(
                "OPTIONS /agui HTTP/1.1\r\nhost: x\r\norigin: {origin}\r\n\
             access-control-request-method: POST\r\naccess-control-request-headers: content-type\r\n\r\n"
            ),
        )
    };
    let body = run_input("Hi");
    let post = |addr, origin: &str| {
        raw(
            addr,
            &format!(
                "POST /agui HTTP/1.1\r\nhost: x\r\norigin: {origin}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let quiet = |_: &agentio::io::IOWebsockets| Ok::<(), agentio::Error>(());
    let off = agentio::io::IOWebsockets::run_server_in_thread(
        agentio::io::websockets::ServerConfig::new("127.0.0.1", 0),
        quiet,
    )
    .must("a server");
    let head = preflight(off.local_addr(), "https://app.example.com");
    assert!(head.starts_with("http/1.1 204"), "{head}");
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    assert!(
        !post(off.local_addr(), "https://app.example.com").contains("access-control-allow-origin")
    );

    let on = agentio::io::IOWebsockets::run_server_in_thread(
        agentio::io::websockets::ServerConfig::new("127.0.0.1", 0)
            .cors_origins(["https://app.example.com"]),
        quiet,
    )
    .must("a server");
    let head = preflight(on.local_addr(), "https://app.example.com");
    assert!(
        head.contains("access-control-allow-origin: https://app.example.com"),
        "{head}"
    );
    assert!(
        head.contains("access-control-allow-methods: post, options"),
        "{head}"
    );
    assert!(
        head.contains("access-control-allow-headers: content-type"),
        "{head}"
    );
    let head = post(on.local_addr(), "https://app.example.com");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("access-control-allow-origin: https://app.example.com"),
        "{head}"
    );
    // Another origin: no permission.
    assert!(
        !preflight(on.local_addr(), "https://evil.example").contains("access-control-allow-origin")
    );
    assert!(!post(on.local_addr(), "https://evil.example").contains("access-control-allow-origin"));
}
