//! Tool approval, tool context, time limits and cancellation, in the agent
//! layer: answered in text (a scripted buffer, the console on a pipe) and
//! through `run()`, against the mock model server.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use agentio::agentchat::{
    ConversableAgent, HumanInputMode, ParamType, Tool, ToolContext, register_function, run,
};
use agentio::io::{self, Decision, Event, IOBuffer, IOConsole};
use agentio::llm::{ConfigEntry, LlmConfig, OpenAIWrapper};
use common::weather::{City, Ran, cities, done, parallel_calls, paris_call, tools_in, weather};
use common::{MockServer, Must, streamed_tool_call};
use serde_json::{Value, json};

/// `user_proxy` (runs tools, never asks a human for replies) and `chatbot`
/// on the mock model, with `tool` registered between them.
fn agents(mock: &MockServer, tool: Tool) -> (ConversableAgent, ConversableAgent) {
    let config = LlmConfig::new(vec![
        ConfigEntry::new("mock-model").base_url(mock.base_url()),
    ])
    .stream(true)
    .cache_seed(None);
    let mut chatbot = ConversableAgent::new("chatbot")
        .human_input_mode(HumanInputMode::Never)
        .llm_config(config);
    let mut user_proxy = ConversableAgent::new("user_proxy")
        .human_input_mode(HumanInputMode::Never)
        .is_termination_msg(|m| m.text().contains("TERMINATE"));
    register_function(tool, &mut chatbot, &mut user_proxy);
    (chatbot, user_proxy)
}

/// The `tool` messages the model received in request `n` (reads, and so
/// empties, the mock's record).
fn tool_messages(mock: &MockServer, n: usize) -> Vec<Value> {
    tools_in(&mock.received(), n)
}

/// The chat (Paris call, then "Done.") answered with `inputs` in text.
fn text_chat(inputs: &[&str]) -> (MockServer, Ran, Arc<IOBuffer>) {
    let mock = MockServer::start(vec![paris_call(), done()]);
    let ran = Ran::default();
    let (mut chatbot, mut user_proxy) = agents(&mock, weather(&ran));
    let buffer = Arc::new(IOBuffer::new().with_inputs(inputs.iter().copied()));
    io::with_default(buffer.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "Weather in Paris?")
    })
    .must("the chat");
    (mock, ran, buffer)
}

#[test]
fn text_yes_runs_the_call_after_a_prompt_that_names_it() {
    let (mock, ran, buffer) = text_chat(&["y"]);
    assert_eq!(cities(&ran), ["Paris"]);
    let prompts = buffer.prompts();
    assert_eq!(prompts.len(), 1, "{prompts:?}");
    assert!(
        prompts[0].contains(r#"weather_forecast({"city":"Paris"})"#),
        "{}",
        prompts[0]
    );
    assert!(prompts[0].contains("chatbot wants user_proxy to run"));
    assert_eq!(tool_messages(&mock, 1)[0]["content"], "Sunny in Paris.");
}

#[test]
fn text_denial_with_a_reason_reaches_the_model_and_nothing_runs() {
    let (mock, ran, buffer) = text_chat(&["not today, thanks"]);
    assert!(cities(&ran).is_empty());
    let content = tool_messages(&mock, 1)[0]["content"]
        .as_str()
        .must("a text tool message")
        .to_owned();
    assert_eq!(
        content,
        "The user denied this call of weather_forecast: not today, thanks"
    );
    let executed: Vec<_> = buffer
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::ExecutedFunction(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(executed.len(), 1);
    assert!(!executed[0].is_exec_success);
    assert_eq!(executed[0].content, content);
    assert!(
        !buffer
            .events()
            .iter()
            .any(|e| matches!(e, Event::ExecuteFunction(_)))
    );
}

#[test]
fn text_empty_line_and_no_deny_without_a_reason() {
    for answer in ["", "n", "NO"] {
        let (mock, ran, _) = text_chat(&[answer]);
        assert!(cities(&ran).is_empty(), "{answer:?}");
        assert_eq!(
            tool_messages(&mock, 1)[0]["content"],
            "The user denied this call of weather_forecast."
        );
    }
}

#[test]
fn text_edit_runs_the_edited_arguments_and_tells_the_model() {
    // An edit that is no JSON object is asked again, not taken as a denial.
    let (mock, ran, buffer) = text_chat(&["edit Berlin", r#"edit {"city": "Berlin"}"#]);
    assert_eq!(cities(&ran), ["Berlin"]);
    assert_eq!(buffer.prompts().len(), 2);
    assert!(
        buffer
            .text()
            .contains("edit needs the arguments as a JSON object")
    );
    assert_eq!(
        tool_messages(&mock, 1)[0]["content"],
        "The user edited the arguments to {\"city\":\"Berlin\"}.\nSunny in Berlin."
    );
    let execute = buffer.events().into_iter().find_map(|e| match e {
        Event::ExecuteFunction(e) => Some(e),
        _ => None,
    });
    assert_eq!(
        execute.must("an execute_function event").arguments,
        json!({"city": "Berlin"})
    );
}

#[test]
fn the_end_of_input_denies() {
    let (mock, ran, _) = text_chat(&[]);
    assert!(cities(&ran).is_empty());
    assert_eq!(
        tool_messages(&mock, 1)[0]["content"],
        "The user denied this call of weather_forecast."
    );
}

/// A chat whose model calls the tool twice in a row, answered with `inputs`.
fn two_calls(inputs: &[&str]) -> (MockServer, Ran, Arc<IOBuffer>) {
    let mock = MockServer::start(vec![
        paris_call(),
        streamed_tool_call("call_2", "weather_forecast", r#"{"city": "Rome"}"#),
        done(),
    ]);
    let ran = Ran::default();
    let (mut chatbot, mut user_proxy) = agents(&mock, weather(&ran));
    let buffer = Arc::new(IOBuffer::new().with_inputs(inputs.iter().copied()));
    io::with_default(buffer.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "Weather?")
    })
    .must("the chat");
    (mock, ran, buffer)
}

#[test]
fn always_and_never_are_remembered_for_later_calls() {
    let (_, ran, buffer) = two_calls(&["always"]);
    assert_eq!(cities(&ran), ["Paris", "Rome"]);
    assert_eq!(buffer.prompts().len(), 1);

    let (mock, ran, buffer) = two_calls(&["never"]);
    assert!(cities(&ran).is_empty());
    assert_eq!(buffer.prompts().len(), 1);
    assert_eq!(
        tool_messages(&mock, 2)[1]["content"],
        "The user denied this call of weather_forecast (as for every call of it)."
    );

    // A plain yes is for that call only.
    let (_, ran, buffer) = two_calls(&["y", "n"]);
    assert_eq!(cities(&ran), ["Paris"]);
    assert_eq!(buffer.prompts().len(), 2);
}

#[test]
fn a_predicate_decides_which_calls_ask() {
    let mock = MockServer::start(vec![
        paris_call(),
        streamed_tool_call("call_2", "weather_forecast", r#"{"city": "Rome"}"#),
        done(),
    ]);
    let ran = Ran::default();
    let tool = weather(&ran).needs_approval_when(|args| args["city"] == "Rome");
    let (mut chatbot, mut user_proxy) = agents(&mock, tool);
    let buffer = Arc::new(IOBuffer::new().with_inputs(["no"]));
    io::with_default(buffer.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "Weather?")
    })
    .must("the chat");
    assert_eq!(cities(&ran), ["Paris"]);
    assert_eq!(buffer.prompts().len(), 1);
    assert!(buffer.prompts()[0].contains("Rome"));
}

#[test]
fn run_yields_requests_answered_in_any_order_with_approve_deny_and_edit() {
    let mock = MockServer::start(vec![parallel_calls(), paris_call(), done()]);
    let ran = Ran::default();
    let (chatbot, user_proxy) = agents(&mock, weather(&ran));
    let response = run(user_proxy, chatbot, "Weather?");
    let mut requests = Vec::new();
    let mut errors = Vec::new();
    let mut responses = Vec::new();
    for event in response.events() {
        match event {
            Event::ToolApprovalRequest(request) => {
                requests.push(request.clone());
                match requests.len() {
                    1 => {} // wait for the second of the pair
                    2 => {
                        // The second first; a stale id in between.
                        let mut stale = requests[1].clone();
                        stale.request_id = "no-such-request".into();
                        requests[1].deny(Some("not Rome")).must("the denial");
                        stale.approve().must("the stale answer is sent");
                        requests[0].edit(json!({"city": "Lyon"})).must("the edit");
                    }
                    _ => request.approve().must("the approval"),
                }
            }
            Event::ToolApprovalResponse(r) => responses.push(r),
            Event::Error(e) => errors.push(e.error),
            _ => {}
        }
    }
    response.wait().must("the run");
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].call_id, "call_a");
    assert_eq!(requests[1].arguments, json!({"city": "Rome"}));
    assert_eq!(cities(&ran), ["Lyon", "Paris"]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("no-such-request"), "{errors:?}");
    // Every answer taken is shown, in the order taken.
    assert_eq!(responses.len(), 3);
    assert_eq!(responses[0].request_id, requests[1].request_id);
    let tools = tool_messages(&mock, 1);
    assert_eq!(tools[0]["tool_call_id"], "call_a");
    assert!(
        tools[0]["content"]
            .as_str()
            .must("a text tool message")
            .contains("Sunny in Lyon.")
    );
    assert_eq!(
        tools[1]["content"],
        "The user denied this call of weather_forecast: not Rome"
    );
}

#[test]
fn a_remembered_answer_settles_its_parallel_twin() {
    let mock = MockServer::start(vec![parallel_calls(), done()]);
    let ran = Ran::default();
    let (chatbot, user_proxy) = agents(&mock, weather(&ran));
    let response = run(user_proxy, chatbot, "Weather?");
    let mut settled = Vec::new();
    for event in response.events() {
        match event {
            Event::ToolApprovalRequest(request) if request.call_id == "call_b" => {
                request.answer(Decision::Approve, true).must("the answer");
            }
            Event::ToolApprovalResponse(r) => settled.push(r.request_id),
            _ => {}
        }
    }
    response.wait().must("the run");
    assert_eq!(settled.len(), 2);
    assert_eq!(cities(&ran), ["Paris", "Rome"]);
}

#[test]
fn cancelling_a_run_stops_its_running_tool_and_calls_no_model_after() {
    let mock = MockServer::start(vec![paris_call(), done()]);
    let saw_cancel = Arc::new(AtomicBool::new(false));
    let (started_tx, started) = crossbeam_channel::bounded(1);
    let tool = {
        let saw_cancel = saw_cancel.clone();
        Tool::new("weather_forecast", "Weather")
            .param("city", ParamType::String, "city")
            .function_with_context(move |_: City, context: &ToolContext| {
                let _ = started_tx.send(());
                let deadline = Instant::now() + Duration::from_secs(10);
                while !context.is_cancelled() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                saw_cancel.store(context.is_cancelled(), Ordering::SeqCst);
                Ok::<_, String>("stopped".to_owned())
            })
    };
    let (chatbot, user_proxy) = agents(&mock, tool);
    let response = run(user_proxy, chatbot, "Weather?");
    started
        .recv_timeout(Duration::from_secs(10))
        .must("the tool started");
    response.cancel();
    for _ in response.events() {}
    let result = response.wait();
    assert!(
        matches!(result, Err(agentio::Error::Cancelled)),
        "{result:?}"
    );
    assert!(saw_cancel.load(Ordering::SeqCst));
    assert_eq!(mock.received().len(), 1, "no model call after the cancel");
}

#[test]
fn a_tool_past_its_time_limit_gives_the_model_an_error_and_sees_the_cancel() {
    let mock = MockServer::start(vec![paris_call(), done()]);
    let (saw_cancel_tx, saw_cancel) = crossbeam_channel::bounded(1);
    let tool = Tool::new("weather_forecast", "Weather")
        .param("city", ParamType::String, "city")
        .time_limit(Some(Duration::from_millis(100)))
        .function_with_context(move |_: City, context: &ToolContext| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !context.is_cancelled() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = saw_cancel_tx.send(context.is_cancelled());
            Ok::<_, String>("late".to_owned())
        });
    let (mut chatbot, mut user_proxy) = agents(&mock, tool);
    let buffer = Arc::new(IOBuffer::new());
    io::with_default(buffer.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "Weather?")
    })
    .must("the chat");
    assert_eq!(
        tool_messages(&mock, 1)[0]["content"],
        "Error: weather_forecast did not finish within 0.1 s and was asked to stop."
    );
    assert_eq!(saw_cancel.recv_timeout(Duration::from_secs(10)), Ok(true));
}

#[test]
fn a_tool_reports_progress_through_the_stream_and_not_to_the_model() {
    let mock = MockServer::start(vec![paris_call(), done()]);
    let tool = Tool::new("weather_forecast", "Weather")
        .param("city", ParamType::String, "city")
        .function_with_context(|args: City, context: &ToolContext| {
            context.progress(format!("looking up {}", args.city))?;
            Ok::<_, agentio::Error>(format!("call {} ran", context.call_id()))
        });
    let (mut chatbot, mut user_proxy) = agents(&mock, tool);
    let buffer = Arc::new(IOBuffer::new());
    io::with_default(buffer.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "Weather?")
    })
    .must("the chat");
    let progress: Vec<_> = buffer
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::ToolProgress(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(progress.len(), 1);
    assert_eq!(progress[0].message, "looking up Paris");
    assert_eq!(progress[0].call_id, "call_1");
    assert!(
        buffer
            .text()
            .contains("[weather_forecast] looking up Paris\n")
    );
    let requests = mock.received();
    assert_eq!(tools_in(&requests, 1)[0]["content"], "call call_1 ran");
    let bodies = serde_json::to_string(&requests[1].body).must("the request as JSON");
    assert!(!bodies.contains("looking up"));
}

const CHILD_ENV: &str = "AGENTIO_APPROVAL_CONSOLE_CHILD";

/// The console child: three calls in a row, answered on its piped stdin.
#[test]
fn console_child() {
    let Some(base_url) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let config = LlmConfig::new(vec![
        ConfigEntry::new("mock-model").base_url(base_url.to_string_lossy()),
    ])
    .stream(true)
    .cache_seed(None);
    let client = Arc::new(OpenAIWrapper::new(config).must("the model client"));
    let mut chatbot = ConversableAgent::new("chatbot")
        .human_input_mode(HumanInputMode::Never)
        .model_client(client);
    let mut user_proxy = ConversableAgent::new("user_proxy")
        .human_input_mode(HumanInputMode::Never)
        .is_termination_msg(|m| m.text().contains("TERMINATE"));
    let tool = Tool::new("weather_forecast", "Weather")
        .param("city", ParamType::String, "city")
        .needs_approval()
        .function(|args: City| Ok::<_, String>(format!("RAN[{}]", args.city)));
    register_function(tool, &mut chatbot, &mut user_proxy);
    io::with_default(Arc::new(IOConsole::new()), || {
        user_proxy.initiate_chat(&mut chatbot, "Weather?")
    })
    .must("the chat");
}

#[test]
fn the_console_reads_approve_deny_and_edit_from_stdin() -> std::io::Result<()> {
    let mock = MockServer::start(vec![
        paris_call(),
        streamed_tool_call("call_2", "weather_forecast", r#"{"city": "Oslo"}"#),
        streamed_tool_call("call_3", "weather_forecast", r#"{"city": "Rome"}"#),
        done(),
    ]);
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "console_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mock.base_url())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(b"yes\ntoo cold there\nedit {\"city\": \"Milan\"}\n")?;
    }
    let output = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(stdout.matches("Approve? y = yes").count(), 3, "{stdout}");
    assert!(
        stdout.contains(r#"run weather_forecast({"city":"Oslo"})"#),
        "{stdout}"
    );
    let requests = mock.received();
    let tools: Vec<String> = (1..=3)
        .map(|n| tools_in(&requests, n).last().must("a tool message")["content"].to_string())
        .collect();
    assert_eq!(tools[0], "\"RAN[Paris]\"");
    assert_eq!(
        tools[1],
        "\"The user denied this call of weather_forecast: too cold there\""
    );
    assert!(tools[2].contains("RAN[Milan]"), "{}", tools[2]);
    Ok(())
}
