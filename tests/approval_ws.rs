//! Tool approval and typed input requests over real websockets, in both
//! modes, with and without a session: approve, deny with a reason, edit,
//! remember, parallel calls answered in reverse order, stale answers, the
//! approval timeout, a resume while a request waits; a secret from the
//! handshake that reaches a tool and nothing else; a cancel while a tool runs.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentio::agentchat::{
    ConversableAgent, HumanInputMode, ParamType, Tool, ToolContext, register_function,
};
use agentio::io::websockets::{ServerConfig, WebsocketServer};
use agentio::io::{IOStream, IOWebsockets, Uuid};
use agentio::llm::{ConfigEntry, LlmConfig, OpenAIWrapper};
use common::weather::{City, Ran, cities, done, parallel_calls, paris_call, tools_in, weather};
use common::ws::{Client, Got, connect, next, request_with, send, text, until_close};
use common::{MockServer, Must, streamed_tool_call};
use serde_json::{Value, json};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;

/// A server whose every connection reads a first message, then runs
/// `user_proxy` (runs tools, never asks for replies) ↔ `chatbot` on the
/// mock model, with the tool `make_tool` gives.
fn server(
    mock: &MockServer,
    config: ServerConfig,
    make_tool: impl Fn() -> Tool + Send + Sync + 'static,
) -> WebsocketServer {
    let base_url = mock.base_url();
    IOWebsockets::run_server_in_thread(config, move |ws: &IOWebsockets| {
        let message = ws.input("", false)?;
        let client = OpenAIWrapper::new(
            LlmConfig::new(vec![ConfigEntry::new("mock-model").base_url(&base_url)])
                .stream(true)
                .cache_seed(None),
        )?;
        let mut chatbot = ConversableAgent::new("chatbot")
            .human_input_mode(HumanInputMode::Never)
            .model_client(Arc::new(client));
        let mut user_proxy = ConversableAgent::new("user_proxy")
            .human_input_mode(HumanInputMode::Never)
            .is_termination_msg(|m| m.text().contains("TERMINATE"));
        register_function(make_tool(), &mut chatbot, &mut user_proxy);
        user_proxy.initiate_chat(&mut chatbot, message).map(|_| ())
    })
    .must("the server")
}

fn config() -> ServerConfig {
    ServerConfig::new("127.0.0.1", 0)
}

/// An events-mode client that has sent its first message.
fn events_client(server: &WebsocketServer, query: &str) -> Client {
    let mut ws = connect(&format!("{}/ws?format=events{query}", server.uri()));
    let first: Value = serde_json::from_str(&text(&mut ws)).must("an event");
    assert_eq!(first["type"], "input_request");
    send(&mut ws, "Weather?");
    ws
}

/// Reads events until one of `kind`; returns it.
fn until_kind(ws: &mut Client, kind: &str) -> Value {
    loop {
        let frame = text(ws);
        let event: Value = serde_json::from_str(&frame).must("an event");
        if event["type"] == kind {
            return event;
        }
    }
}

fn answer(ws: &mut Client, content: Value) {
    send(
        ws,
        &json!({"type": "tool_approval_response", "content": content}).to_string(),
    );
}

/// Reads the rest of the chat: its events and how it closed.
fn rest(ws: &mut Client) -> (Vec<Value>, Option<CloseCode>) {
    let (frames, code) = until_close(ws);
    let events = frames
        .iter()
        .map(|f| serde_json::from_str(f).must("an event"))
        .collect();
    (events, code)
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

#[test]
fn events_approve_runs_the_call_and_every_answer_taken_is_shown() {
    let mock = MockServer::start(vec![paris_call(), done()]);
    let ran = Ran::default();
    let tool_ran = ran.clone();
    let server = server(
        &mock,
        config().input_timeout(Some(Duration::from_secs(30))),
        move || weather(&tool_ran),
    );
    let mut ws = events_client(&server, "");
    let request = until_kind(&mut ws, "tool_approval_request");
    let content = &request["content"];
    assert_eq!(content["name"], "weather_forecast");
    assert_eq!(content["arguments"], json!({"city": "Paris"}));
    assert_eq!(content["call_id"], "call_1");
    assert_eq!(content["sender"], "chatbot");
    assert_eq!(content["recipient"], "user_proxy");
    assert_eq!(content["timeout_seconds"], 30.0);
    let id = content["request_id"]
        .as_str()
        .must("a request id")
        .to_owned();
    answer(&mut ws, json!({"request_id": id, "decision": "approve"}));
    let (events, code) = rest(&mut ws);
    assert_eq!(code, Some(CloseCode::Normal));
    let echoed = of_kind(&events, "tool_approval_response");
    assert_eq!(echoed.len(), 1);
    assert_eq!(echoed[0]["content"]["request_id"], id.as_str());
    assert_eq!(echoed[0]["content"]["decision"], "approve");
    assert_eq!(cities(&ran), ["Paris"]);
    assert_eq!(
        tools_in(&mock.received(), 1)[0]["content"],
        "Sunny in Paris."
    );
}

#[test]
fn events_deny_with_a_reason_reaches_the_model_and_nothing_runs() {
    let mock = MockServer::start(vec![paris_call(), done()]);
    let ran = Ran::default();
    let tool_ran = ran.clone();
    let server = server(&mock, config(), move || weather(&tool_ran));
    let mut ws = events_client(&server, "");
    let request = until_kind(&mut ws, "tool_approval_request");
    let id = request["content"]["request_id"].clone();
    answer(
        &mut ws,
        json!({"request_id": id, "decision": "deny", "reason": "I am indoors today"}),
    );
    let (events, code) = rest(&mut ws);
    assert_eq!(code, Some(CloseCode::Normal));
    assert!(cities(&ran).is_empty());
    let denial = "The user denied this call of weather_forecast: I am indoors today";
    assert_eq!(tools_in(&mock.received(), 1)[0]["content"], denial);
    let executed = of_kind(&events, "executed_function");
    assert_eq!(executed.len(), 1);
    assert_eq!(executed[0]["content"]["is_exec_success"], false);
    assert_eq!(executed[0]["content"]["content"], denial);
    assert!(of_kind(&events, "execute_function").is_empty());
}

#[test]
fn events_edit_runs_the_edited_arguments_and_the_events_show_them() {
    let mock = MockServer::start(vec![paris_call(), done()]);
    let ran = Ran::default();
    let tool_ran = ran.clone();
    let server = server(&mock, config(), move || weather(&tool_ran));
    let mut ws = events_client(&server, "");
    let request = until_kind(&mut ws, "tool_approval_request");
    let id = request["content"]["request_id"].clone();
    // Not an object: refused, the request still waits.
    answer(
        &mut ws,
        json!({"request_id": id, "decision": "edit", "arguments": "Berlin"}),
    );
    let error = until_kind(&mut ws, "error");
    assert!(
        error["content"]["error"]
            .as_str()
            .must("an error")
            .contains("JSON object"),
        "{error}"
    );
    answer(
        &mut ws,
        json!({"request_id": id, "decision": "edit", "arguments": {"city": "Berlin"}}),
    );
    let (events, _) = rest(&mut ws);
    assert_eq!(cities(&ran), ["Berlin"]);
    let execute = of_kind(&events, "execute_function");
    assert_eq!(
        execute[0]["content"]["arguments"],
        json!({"city": "Berlin"})
    );
    assert_eq!(
        tools_in(&mock.received(), 1)[0]["content"],
        "The user edited the arguments to {\"city\":\"Berlin\"}.\nSunny in Berlin."
    );
}

#[test]
fn events_parallel_calls_answered_in_reverse_order_and_a_stale_answer_is_refused() {
    let mock = MockServer::start(vec![parallel_calls(), done()]);
    let ran = Ran::default();
    let tool_ran = ran.clone();
    let server = server(&mock, config(), move || weather(&tool_ran));
    let mut ws = events_client(&server, "");
    let first = until_kind(&mut ws, "tool_approval_request");
    let second = until_kind(&mut ws, "tool_approval_request");
    assert_eq!(first["content"]["call_id"], "call_a");
    assert_eq!(second["content"]["call_id"], "call_b");
    let (a, b) = (
        first["content"]["request_id"].clone(),
        second["content"]["request_id"].clone(),
    );
    answer(
        &mut ws,
        json!({"request_id": b, "decision": "deny", "reason": "not Rome"}),
    );
    let echo = until_kind(&mut ws, "tool_approval_response");
    assert_eq!(echo["content"]["request_id"], b);
    // The same answer again: that request waits no more.
    answer(&mut ws, json!({"request_id": b, "decision": "approve"}));
    let error = until_kind(&mut ws, "error");
    assert!(
        error["content"]["error"]
            .as_str()
            .must("an error")
            .contains("is waiting")
    );
    answer(&mut ws, json!({"request_id": a, "decision": "approve"}));
    let (events, code) = rest(&mut ws);
    assert_eq!(code, Some(CloseCode::Normal));
    assert_eq!(cities(&ran), ["Paris"]);
    let tools = tools_in(&mock.received(), 1);
    assert_eq!(tools[0]["tool_call_id"], "call_a");
    assert_eq!(tools[0]["content"], "Sunny in Paris.");
    assert_eq!(
        tools[1]["content"],
        "The user denied this call of weather_forecast: not Rome"
    );
    // Stale answers after the chat moved on: refused too.
    assert!(of_kind(&events, "error").is_empty());
}

#[test]
fn events_remember_answers_the_later_calls_of_that_tool() {
    let mock = MockServer::start(vec![
        paris_call(),
        streamed_tool_call("call_2", "weather_forecast", r#"{"city": "Oslo"}"#),
        done(),
    ]);
    let ran = Ran::default();
    let tool_ran = ran.clone();
    let server = server(&mock, config(), move || weather(&tool_ran));
    let mut ws = events_client(&server, "");
    let request = until_kind(&mut ws, "tool_approval_request");
    let id = request["content"]["request_id"].clone();
    answer(
        &mut ws,
        json!({"request_id": id, "decision": "approve", "remember": true}),
    );
    let (events, code) = rest(&mut ws);
    assert_eq!(code, Some(CloseCode::Normal));
    assert_eq!(cities(&ran), ["Paris", "Oslo"]);
    assert!(of_kind(&events, "tool_approval_request").is_empty());
}

#[test]
fn events_the_approval_timeout_ends_the_chat_and_nothing_runs() {
    let mock = MockServer::start(vec![paris_call(), done()]);
    let ran = Ran::default();
    let tool_ran = ran.clone();
    let server = server(
        &mock,
        config().input_timeout(Some(Duration::from_millis(300))),
        move || weather(&tool_ran),
    );
    let mut ws = connect(&format!("{}/ws?format=events", server.uri()));
    let _ = text(&mut ws);
    send(&mut ws, "Weather?");
    let (events, code) = rest(&mut ws);
    assert_eq!(code, Some(CloseCode::Error));
    assert_eq!(of_kind(&events, "tool_approval_request").len(), 1);
    let error = of_kind(&events, "error");
    assert!(
        error[0]["content"]["error"]
            .as_str()
            .must("an error")
            .contains("no input"),
        "{events:?}"
    );
    assert!(cities(&ran).is_empty());
    assert_eq!(mock.received().len(), 1, "no model call after the timeout");
}

#[test]
fn text_mode_asks_with_one_prompt_frame_and_reads_the_answer() {
    for (answer, ran_in, tool_content) in [
        ("y", vec!["Paris"], "Sunny in Paris."),
        (
            "it rains anyway",
            vec![],
            "The user denied this call of weather_forecast: it rains anyway",
        ),
        (
            r#"edit {"city": "Nice"}"#,
            vec!["Nice"],
            "The user edited the arguments to {\"city\":\"Nice\"}.\nSunny in Nice.",
        ),
    ] {
        let mock = MockServer::start(vec![paris_call(), done()]);
        let ran = Ran::default();
        let tool_ran = ran.clone();
        let server = server(&mock, config(), move || weather(&tool_ran));
        let mut ws = connect(&format!("{}/ws", server.uri()));
        send(&mut ws, "Weather?");
        let prompt = loop {
            let frame = text(&mut ws);
            if frame.contains("Approve?") {
                break frame;
            }
        };
        assert!(
            prompt.starts_with(
                r#"chatbot wants user_proxy to run weather_forecast({"city":"Paris"})"#
            ),
            "{prompt}"
        );
        send(&mut ws, answer);
        let (_, code) = until_close(&mut ws);
        assert_eq!(code, Some(CloseCode::Normal), "{answer}");
        assert_eq!(cities(&ran), ran_in, "{answer}");
        assert_eq!(tools_in(&mock.received(), 1)[0]["content"], tool_content);
    }
}

#[test]
fn an_answer_naming_another_input_request_is_refused_and_never_used_later() {
    let mock = MockServer::start(vec![]);
    let server = IOWebsockets::run_server_in_thread(config(), |ws: &IOWebsockets| {
        let first = ws.input("First? ", false)?;
        let second = ws.input("Second? ", false)?;
        ws.print(&[&format!("got [{first}] [{second}]")], "", "\n", true)
    })
    .must("the server");
    drop(mock);
    let mut ws = connect(&format!("{}/ws?format=events", server.uri()));
    let request: Value = serde_json::from_str(&text(&mut ws)).must("an event");
    assert_eq!(request["type"], "input_request");
    let id = request["content"]["request_id"]
        .as_str()
        .must("a request id")
        .to_owned();
    assert!(!id.is_empty());
    let response = |value: &str, id: &str| {
        json!({"type": "input_response", "content": {"value": value, "request_id": id}}).to_string()
    };
    send(&mut ws, &response("stale", "some-old-request"));
    let error: Value = serde_json::from_str(&text(&mut ws)).must("an event");
    assert_eq!(error["type"], "error");
    send(&mut ws, &response("one", &id));
    let second: Value = serde_json::from_str(&text(&mut ws)).must("an event");
    assert_eq!(second["content"]["prompt"], "Second? ");
    // The first request's id again (a duplicate after a reconnect): refused.
    send(&mut ws, &response("one again", &id));
    let error: Value = serde_json::from_str(&text(&mut ws)).must("an event");
    assert_eq!(error["type"], "error", "{error}");
    let second_id = second["content"]["request_id"]
        .as_str()
        .must("an id")
        .to_owned();
    send(&mut ws, &response("two", &second_id));
    let printed: Value = serde_json::from_str(&text(&mut ws)).must("an event");
    assert_eq!(printed["content"]["objects"][0], "got [one] [two]");
}

/// Cuts the client's TCP connection, as a network would.
fn drop_tcp(mut ws: Client) {
    if let MaybeTlsStream::Plain(socket) = ws.get_mut() {
        let _ = socket.shutdown(std::net::Shutdown::Both);
    }
}

#[test]
fn a_session_resumed_while_a_request_waits_gets_it_and_its_answer_counts() {
    let mock = MockServer::start(vec![parallel_calls(), done()]);
    let ran = Ran::default();
    let tool_ran = ran.clone();
    let server = server(
        &mock,
        config().detach_grace(Duration::from_secs(10)),
        move || weather(&tool_ran),
    );
    let session = Uuid::new_v4().to_string().replace('-', "");
    let mut ws = events_client(&server, &format!("&session={session}"));
    let mut frames = 1; // the input request
    let first = loop {
        let event: Value = serde_json::from_str(&text(&mut ws)).must("an event");
        frames += 1;
        if event["type"] == "tool_approval_request" {
            break event;
        }
    };
    let second = until_kind(&mut ws, "tool_approval_request");
    frames += 1;
    answer(
        &mut ws,
        json!({"request_id": first["content"]["request_id"], "decision": "approve"}),
    );
    let echo = until_kind(&mut ws, "tool_approval_response");
    frames += 1;
    assert_eq!(
        echo["content"]["request_id"],
        first["content"]["request_id"]
    );
    drop_tcp(ws);
    // Back from the start: the requests, the first one's answer, and the
    // second still waiting, which the server takes from the new client.
    let mut again = connect(&format!(
        "{}/ws?format=events&session={session}&after=0",
        server.uri()
    ));
    let replay: Vec<Value> = (0..frames)
        .map(|_| serde_json::from_str(&text(&mut again)).must("an event"))
        .collect();
    assert_eq!(of_kind(&replay, "tool_approval_request").len(), 2);
    assert_eq!(of_kind(&replay, "tool_approval_response").len(), 1);
    // The first answer again, as a page might resend it: refused.
    answer(
        &mut again,
        json!({"request_id": first["content"]["request_id"], "decision": "deny"}),
    );
    let error = until_kind(&mut again, "error");
    let text = error["content"]["error"].as_str().must("an error");
    // The reason itself, not an event wrapped in another.
    assert!(text.starts_with("no tool approval request \""), "{text}");
    answer(
        &mut again,
        json!({"request_id": second["content"]["request_id"], "decision": "approve"}),
    );
    let (_, code) = rest(&mut again);
    assert_eq!(code, Some(CloseCode::Normal));
    assert_eq!(cities(&ran), ["Paris", "Rome"]);
}

#[test]
fn a_secret_from_the_handshake_reaches_the_tool_and_no_model_request_or_frame() {
    const SECRET: &str = "Bearer s3cr3t-t0ken-for-the-bank";
    let mock = MockServer::start(vec![paris_call(), done()]);
    let seen = Arc::new(Mutex::new(None::<String>));
    let tool_seen = seen.clone();
    let server = server(&mock, config(), move || {
        let seen = tool_seen.clone();
        Tool::new("weather_forecast", "Weather")
            .param("city", ParamType::String, "city")
            .function_with_context(move |args: City, context: &ToolContext| {
                let token = context.header("authorization").map(str::to_owned);
                let signed_in = token.is_some();
                *seen.lock().must("the record") = token;
                Ok::<_, String>(format!("Sunny in {} (signed in: {signed_in}).", args.city))
            })
    });
    let request = request_with(
        &format!("{}/ws?format=events", server.uri()),
        "authorization",
        SECRET,
    );
    let (mut ws, _) = tungstenite::connect(request).must("connect");
    let _ = text(&mut ws);
    send(&mut ws, "Weather?");
    let (frames, code) = until_close(&mut ws);
    assert_eq!(code, Some(CloseCode::Normal));
    assert_eq!(seen.lock().must("the record").as_deref(), Some(SECRET));
    let received = mock.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        tools_in(&received, 1)[0]["content"],
        "Sunny in Paris (signed in: true)."
    );
    for request in &received {
        let body = request.body.to_string();
        assert!(!body.contains("s3cr3t"), "the model got the secret: {body}");
    }
    for frame in &frames {
        assert!(
            !frame.contains("s3cr3t"),
            "a frame holds the secret: {frame}"
        );
    }
}

#[test]
fn a_cancel_while_a_tool_runs_stops_it_and_no_model_call_follows() {
    // One tool call for each of the two chats.
    let mock = MockServer::start(vec![paris_call(), paris_call()]);
    let saw_cancel = Arc::new(AtomicBool::new(false));
    let (started_tx, started) = crossbeam_channel::bounded(1);
    let tool_saw = saw_cancel.clone();
    let server = server(&mock, config(), move || {
        let (saw, started) = (tool_saw.clone(), started_tx.clone());
        Tool::new("weather_forecast", "Weather")
            .param("city", ParamType::String, "city")
            .function_with_context(move |_: City, context: &ToolContext| {
                let _ = started.send(());
                let deadline = Instant::now() + Duration::from_secs(10);
                while !context.is_cancelled() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                saw.store(context.is_cancelled(), Ordering::SeqCst);
                Ok::<_, String>("stopped".to_owned())
            })
    });
    for mode in ["?format=events", ""] {
        let mut ws = connect(&format!("{}/ws{mode}", server.uri()));
        if !mode.is_empty() {
            let _ = text(&mut ws);
        }
        send(&mut ws, "Weather?");
        started
            .recv_timeout(Duration::from_secs(10))
            .must("the tool started");
        if mode.is_empty() {
            // Text mode has no cancel: the client leaves, for good.
            ws.close(None).must("close");
        } else {
            send(&mut ws, r#"{"type": "cancel"}"#);
        }
        while let Got::Text(_) = next(&mut ws) {}
        let deadline = Instant::now() + Duration::from_secs(10);
        while !saw_cancel.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "the tool never saw the cancel ({mode})"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        saw_cancel.store(false, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.chats() > 0 {
            assert!(Instant::now() < deadline, "the chat never ended ({mode})");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            mock.received().len(),
            1,
            "no model call after the cancel ({mode})"
        );
    }
}

/// Reads text frames until one asks for approval.
fn until_prompt(ws: &mut Client) -> String {
    loop {
        let frame = text(ws);
        if frame.contains("Approve?") {
            return frame;
        }
    }
}

#[test]
fn text_mode_always_is_remembered_and_parallel_calls_are_asked_in_turn() {
    let mock = MockServer::start(vec![
        parallel_calls(),
        streamed_tool_call("call_2", "weather_forecast", r#"{"city": "Oslo"}"#),
        done(),
    ]);
    let ran = Ran::default();
    let tool_ran = ran.clone();
    let server = server(&mock, config(), move || weather(&tool_ran));
    let mut ws = connect(&format!("{}/ws", server.uri()));
    send(&mut ws, "Weather?");
    assert!(until_prompt(&mut ws).contains("Paris"));
    send(&mut ws, "no");
    assert!(until_prompt(&mut ws).contains("Rome"));
    send(&mut ws, "always");
    // Oslo's call runs without a prompt.
    let (frames, code) = until_close(&mut ws);
    assert_eq!(code, Some(CloseCode::Normal));
    assert!(!frames.iter().any(|f| f.contains("Approve?")), "{frames:?}");
    assert_eq!(cities(&ran), ["Rome", "Oslo"]);
}

#[test]
fn text_mode_the_approval_timeout_ends_the_chat_and_nothing_runs() {
    let mock = MockServer::start(vec![paris_call(), done()]);
    let ran = Ran::default();
    let tool_ran = ran.clone();
    let server = server(
        &mock,
        config().input_timeout(Some(Duration::from_millis(300))),
        move || weather(&tool_ran),
    );
    let mut ws = connect(&format!("{}/ws", server.uri()));
    send(&mut ws, "Weather?");
    let _ = until_prompt(&mut ws);
    let (frames, code) = until_close(&mut ws);
    assert_eq!(code, Some(CloseCode::Error));
    assert!(
        frames
            .iter()
            .any(|f| f.contains("no input from the client")),
        "{frames:?}"
    );
    assert!(cities(&ran).is_empty());
    assert_eq!(mock.received().len(), 1);
}
