//! Two-agent chats: the notebook chat frame by frame (text) and event by
//! event (AG2 shape), every human-input path, limits, tool errors, silence.

mod common;

use std::sync::Arc;

use agentio::agentchat::{
    ChatOptions, ConversableAgent, HumanInputMode, Tool, UserProxyAgent, register_function,
};
use agentio::io::{self, Event, EventKind, IOBuffer};
use agentio::llm::{ConfigEntry, LlmConfig, OpenAIWrapper, ReplayClient, Role};
use agentio::{Error, Result};
use common::notebook::example;
use common::{MockServer, Reply, finish_chunk, role_chunk, streamed_text, tool_chunk};
use serde_json::json;

/// The websocket example's notebook agents, the chatbot on `config`.
fn notebook_agents(config: LlmConfig) -> (ConversableAgent, ConversableAgent) {
    let wrapper = OpenAIWrapper::new(config).unwrap_or_else(|e| panic!("{e}"));
    example::notebook_agents(Arc::new(wrapper))
}

/// The notebook tool's answer for Paris: "The weather forecast for Paris at
/// <now> is sunny."
fn is_forecast_for_paris(text: &str) -> bool {
    text.starts_with("The weather forecast for Paris at ") && text.ends_with(" is sunny.")
}

fn notebook_mock() -> MockServer {
    MockServer::start(vec![
        common::streamed_tool_call("call_XYZ", "weather_forecast", r#"{"city": "Paris"}"#),
        streamed_text(&["In Paris", " the sun", " is shining.\n", "TERMINATE"]),
    ])
}

fn mock_config(mock: &MockServer) -> LlmConfig {
    LlmConfig::new(vec![
        ConfigEntry::new("mock-model")
            .api_key("sk-test")
            .base_url(mock.base_url()),
    ])
    .cache_seed(None)
}

#[test]
fn the_notebook_chat_in_text_mode_is_autogens_frames() -> Result<()> {
    let mock = notebook_mock();
    let (mut chatbot, mut user_proxy) = notebook_agents(mock_config(&mock));
    let buffer = Arc::new(IOBuffer::new());
    let result = io::with_default(buffer.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "Check out the weather in Paris.")
    })?;
    let footer = format!("\n{}\n", "-".repeat(80));
    let stars = |n| format!("{}\n", "*".repeat(n));
    // reference/autogen.md's frame list, without AutoGen's bugs 8 and 9 (colour
    // codes, doubled tool-response header); the "\n" after the stream is the
    // newline AutoGen prints with its colour reset.
    let expected = [
        "user_proxy (to chatbot):\n\n",
        "Check out the weather in Paris.\n",
        &footer,
        "\n>>>>>>>> USING AUTO REPLY...\n",
        "chatbot (to user_proxy):\n\n",
        "***** Suggested tool call (call_XYZ): weather_forecast *****\n",
        "Arguments: \n{\"city\": \"Paris\"}\n",
        &stars(60),
        &footer,
        "\n>>>>>>>> EXECUTING FUNCTION weather_forecast...\n",
        "user_proxy (to chatbot):\n\n",
        "***** Response from calling tool (call_XYZ) *****\n",
        "(the forecast)",
        &stars(49),
        &footer,
        "\n>>>>>>>> USING AUTO REPLY...\n",
        "In Paris",
        " the sun",
        " is shining.\n",
        "TERMINATE",
        "\n",
        "chatbot (to user_proxy):\n\n",
        "In Paris the sun is shining.\nTERMINATE\n",
        &footer,
    ];
    let mut chunks = buffer.chunks();
    let forecast = std::mem::replace(&mut chunks[12], "(the forecast)".to_owned());
    assert!(is_forecast_for_paris(forecast.trim_end()), "{forecast:?}");
    assert_eq!(chunks, expected);
    assert_eq!(result.summary, "In Paris the sun is shining.\n");
    assert_eq!(result.chat_history.len(), 4);
    assert_eq!(result.chat_history[2].role, Role::Tool);
    let usage = result
        .cost
        .usage_including_cached_inference
        .usages
        .clone()
        .unwrap_or_default();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].total_tokens, 25 + 14);
    let summary = result.cost.usage_summary().to_string();
    assert!(
        summary.contains("* Model 'mock-model': cost: 0.0, prompt_tokens: 30, completion_tokens: 9, total_tokens: 39\n"),
        "{summary}"
    );

    // What the model saw on its second call: system, user, tool call, tool result.
    let requests = mock.received();
    assert_eq!(requests.len(), 2);
    let messages = &requests[1].body["messages"];
    assert_eq!(
        messages[1],
        json!({"role": "user", "content": "Check out the weather in Paris.", "name": "user_proxy"})
    );
    assert_eq!(messages[2]["tool_calls"][0]["id"], "call_XYZ");
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[3]["tool_call_id"], "call_XYZ");
    assert_eq!(messages[3]["content"], forecast.trim_end());
    assert_eq!(
        requests[0].body["tools"][0],
        example::weather_forecast().schema()
    );
    Ok(())
}

#[test]
fn the_notebook_chat_in_events_has_ag2s_sequence_and_marks_the_streamed_reply() -> Result<()> {
    let mock = notebook_mock();
    let (mut chatbot, mut user_proxy) = notebook_agents(mock_config(&mock));
    let buffer = Arc::new(IOBuffer::new());
    io::with_default(buffer.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "Check out the weather in Paris.")
    })?;
    let events = buffer.events();
    let kinds: Vec<EventKind> = events.iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [
            "text",
            "using_auto_reply",
            "tool_call",
            "execute_function",
            "executed_function",
            "tool_response",
            "using_auto_reply",
            "stream",
            "stream",
            "stream",
            "stream",
            "text",
            "termination"
        ]
    );
    let json: Vec<serde_json::Value> = events
        .iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .collect();
    assert_eq!(json[1]["content"]["human_input_mode"], "TERMINATE");
    assert_eq!(json[1]["content"]["sender"], "user_proxy");
    assert_eq!(json[1]["content"]["recipient"], "chatbot");
    assert_eq!(json[3]["content"]["arguments"], json!({"city": "Paris"}));
    assert_eq!(json[4]["content"]["is_exec_success"], true);
    assert_eq!(
        json[5]["content"]["tool_responses"][0]["tool_call_id"],
        "call_XYZ"
    );
    assert_eq!(
        json[11]["content"]["streamed"], true,
        "the UI can finalise instead of duplicating"
    );
    assert!(json[0]["content"].get("streamed").is_none());
    assert_eq!(
        json[12]["content"]["termination_reason"],
        "Termination message condition on agent 'user_proxy' met"
    );
    assert_eq!(json[12]["content"]["sender"], "user_proxy");
    Ok(())
}

const ALWAYS_PROMPT: &str = "Replying as user. Provide feedback to assistant. Press enter to skip and use auto-reply, or type 'exit' to end the conversation: ";

fn assistant(replies: &[&str]) -> ConversableAgent {
    let mut model = ReplayClient::new();
    for reply in replies {
        model = model.text([*reply]);
    }
    ConversableAgent::new("assistant")
        .human_input_mode(HumanInputMode::Never)
        .model_client(Arc::new(model))
}

fn termination_reason(buffer: &IOBuffer) -> Option<String> {
    buffer.events().into_iter().find_map(|e| match e {
        Event::Termination(t) => Some(t.termination_reason),
        _ => None,
    })
}

fn count(buffer: &IOBuffer, kind: &str) -> usize {
    buffer.events().iter().filter(|e| e.kind() == kind).count()
}

#[test]
fn always_mode_empty_reply_typed_reply_and_exit() -> Result<()> {
    let mut user = UserProxyAgent::new("user");
    let mut bot = assistant(&["a1", "a2", "a3"]);
    let buffer = Arc::new(IOBuffer::new().with_inputs(["", "more please", "exit"]));
    let result = io::with_default(buffer.clone(), || user.initiate_chat(&mut bot, "hi"))?;
    assert_eq!(buffer.prompts(), [ALWAYS_PROMPT; 3]);
    assert_eq!(result.human_input, ["", "more please", "exit"]);
    let texts: Vec<String> = result
        .chat_history
        .iter()
        .map(|m| m.text().to_owned())
        .collect();
    assert_eq!(texts, ["hi", "a1", "", "a2", "more please", "a3"]);
    assert_eq!(count(&buffer, "termination_and_human_reply_no_input"), 1);
    assert!(
        buffer
            .text()
            .contains("\n>>>>>>>> NO HUMAN INPUT RECEIVED.\n\n>>>>>>>> USING AUTO REPLY...\n")
    );
    assert_eq!(
        termination_reason(&buffer).as_deref(),
        Some("User requested to end the conversation")
    );
    Ok(())
}

#[test]
fn always_mode_empty_reply_to_a_termination_message_ends_the_chat() -> Result<()> {
    let mut user = UserProxyAgent::new("user");
    let mut bot = assistant(&["TERMINATE"]);
    let buffer = Arc::new(IOBuffer::new().with_inputs([""]));
    let result = io::with_default(buffer.clone(), || user.initiate_chat(&mut bot, "hi"))?;
    assert_eq!(result.chat_history.len(), 2);
    assert_eq!(
        termination_reason(&buffer).as_deref(),
        Some("Termination message condition on agent 'user' met")
    );
    Ok(())
}

#[test]
fn terminate_mode_asks_only_at_a_termination_message() -> Result<()> {
    let mut user = ConversableAgent::new("user").is_termination_msg(example::is_termination_msg);
    let mut bot = assistant(&["working", "done TERMINATE", "ok, bye TERMINATE"]);
    let buffer = Arc::new(IOBuffer::new().with_inputs(["one more thing", ""]));
    let result = io::with_default(buffer.clone(), || user.initiate_chat(&mut bot, "hi"))?;
    let prompt =
        "Please give feedback to assistant. Press enter or type 'exit' to stop the conversation: ";
    assert_eq!(
        buffer.prompts(),
        [prompt, prompt],
        "not asked after 'working'"
    );
    let texts: Vec<String> = result
        .chat_history
        .iter()
        .map(|m| m.text().to_owned())
        .collect();
    assert_eq!(
        texts,
        [
            "hi",
            "working",
            "",
            "done TERMINATE",
            "one more thing",
            "ok, bye TERMINATE"
        ]
    );
    assert_eq!(count(&buffer, "termination_and_human_reply_no_input"), 1);
    assert_eq!(result.summary, "ok, bye ");
    Ok(())
}

#[test]
fn never_mode_stops_at_the_auto_reply_limit() -> Result<()> {
    let mut user = ConversableAgent::new("user")
        .human_input_mode(HumanInputMode::Never)
        .max_consecutive_auto_reply(2)
        .default_auto_reply("continue");
    let mut bot = assistant(&["r1", "r2", "r3", "r4"]);
    let buffer = Arc::new(IOBuffer::new());
    let result = io::with_default(buffer.clone(), || user.initiate_chat(&mut bot, "go"))?;
    let texts: Vec<String> = result
        .chat_history
        .iter()
        .map(|m| m.text().to_owned())
        .collect();
    assert_eq!(texts, ["go", "r1", "continue", "r2", "continue", "r3"]);
    assert_eq!(
        termination_reason(&buffer).as_deref(),
        Some("Maximum number of consecutive auto-replies reached")
    );
    assert_eq!(
        count(&buffer, "using_auto_reply"),
        0,
        "NEVER prints no auto-reply notice"
    );
    assert!(buffer.prompts().is_empty());
    Ok(())
}

#[test]
fn max_turns_and_custom_termination() -> Result<()> {
    let mut user = ConversableAgent::new("user")
        .human_input_mode(HumanInputMode::Never)
        .default_auto_reply("again");
    let mut bot = assistant(&["1", "2", "3", "4"]);
    let result = io::with_default(Arc::new(IOBuffer::new()), || {
        user.initiate_chat(&mut bot, ChatOptions::new("count").max_turns(2))
    })?;
    assert_eq!(
        result.chat_history.len(),
        4,
        "two exchanges: count/1, again/2"
    );

    let mut user = ConversableAgent::new("user")
        .human_input_mode(HumanInputMode::Never)
        .is_termination_msg(|m| m.text().contains("bye"));
    let mut bot = assistant(&["hello", "bye now"]);
    let buffer = Arc::new(IOBuffer::new());
    let result = io::with_default(buffer.clone(), || user.initiate_chat(&mut bot, "hi"))?;
    assert_eq!(result.chat_history.len(), 4);
    assert_eq!(result.summary, "bye now");
    assert!(termination_reason(&buffer).is_some());
    Ok(())
}

#[test]
fn end_of_input_ends_the_chat_cleanly() -> Result<()> {
    let mut user = UserProxyAgent::new("user");
    let mut bot = assistant(&["a1"]);
    let buffer = Arc::new(IOBuffer::new()); // no replies: like stdin at EOF
    let result = io::with_default(buffer.clone(), || user.initiate_chat(&mut bot, "hi"))?;
    assert_eq!(result.chat_history.len(), 2);
    assert_eq!(
        termination_reason(&buffer).as_deref(),
        Some("User requested to end the conversation")
    );
    Ok(())
}

#[test]
fn tool_errors_reach_the_model_as_autogens_strings_and_the_chat_goes_on() -> Result<()> {
    let failing = Tool::new("fails", "Always fails")
        .function(|_: serde_json::Value| Err::<String, _>("disk on fire"));
    let mock = MockServer::start(vec![
        Reply::Sse(vec![
            role_chunk(),
            tool_chunk(
                json!({"index": 0, "id": "c1", "function": {"name": "weather_forecast", "arguments": "{\"city\": "}}),
            ),
            tool_chunk(
                json!({"index": 1, "id": "c2", "function": {"name": "stock_price", "arguments": "{}"}}),
            ),
            tool_chunk(
                json!({"index": 2, "id": "c3", "function": {"name": "fails", "arguments": ""}}),
            ),
            finish_chunk("tool_calls"),
        ]),
        streamed_text(&["Sorry. TERMINATE"]),
    ]);
    let (mut chatbot, mut user_proxy) = notebook_agents(mock_config(&mock));
    register_function(failing, &mut chatbot, &mut user_proxy);
    let buffer = Arc::new(IOBuffer::new());
    let result = io::with_default(buffer.clone(), || {
        user_proxy.initiate_chat(&mut chatbot, "hi")
    })?;
    assert_eq!(result.summary, "Sorry. ");
    let requests = mock.received();
    let tools: Vec<String> = requests[1].body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(tools.len(), 3);
    assert!(
        tools[0].starts_with("Error: ")
            && tools[0].ends_with("\n The argument must be in JSON format."),
        "{}",
        tools[0]
    );
    assert_eq!(tools[1], "Error: Function stock_price not found.");
    assert_eq!(tools[2], "Error: disk on fire");
    assert_eq!(
        count(&buffer, "execute_function"),
        1,
        "only the call with valid arguments of a known tool ran"
    );
    Ok(())
}

#[test]
fn a_silent_chat_sends_nothing_not_even_streamed_tokens() -> Result<()> {
    let mock = notebook_mock();
    let (mut chatbot, mut user_proxy) = notebook_agents(mock_config(&mock));
    let buffer = Arc::new(IOBuffer::new());
    let result = io::with_default(buffer.clone(), || {
        user_proxy.initiate_chat(
            &mut chatbot,
            ChatOptions::new("Weather in Paris?").silent(true),
        )
    })?;
    assert_eq!(result.chat_history.len(), 4);
    assert!(buffer.chunks().is_empty(), "{:?}", buffer.chunks());
    assert!(buffer.events().is_empty());
    Ok(())
}

#[test]
fn a_failing_stream_ends_the_chat_with_its_error() {
    struct Gone;
    impl agentio::io::IOStream for Gone {
        fn print(&self, _: &[&str], _: &str, _: &str, _: bool) -> Result<()> {
            Err(Error::Io(std::io::Error::from(
                std::io::ErrorKind::BrokenPipe,
            )))
        }
        fn input(&self, _: &str, _: bool) -> Result<String> {
            Err(Error::InputClosed)
        }
    }
    let model = Arc::new(ReplayClient::new().text(["never"]));
    let mut bot = ConversableAgent::new("bot")
        .human_input_mode(HumanInputMode::Never)
        .model_client(model.clone());
    let mut user = ConversableAgent::new("user").human_input_mode(HumanInputMode::Never);
    let result = io::with_default(Arc::new(Gone), || user.initiate_chat(&mut bot, "hi"));
    assert!(matches!(result, Err(Error::Io(_))), "{result:?}");
    assert_eq!(model.calls(), 0, "no model call for a reader that is gone");
}

#[test]
fn run_delivers_events_in_order_and_takes_input_from_the_callers_thread() -> Result<()> {
    let user = UserProxyAgent::new("user");
    let bot = assistant(&["first answer", "second answer"]);
    let response = agentio::agentchat::run(user, bot, "hello");
    let mut kinds = Vec::new();
    let mut answers = ["tell me more", "exit"].into_iter();
    for event in response.events() {
        if let Event::InputRequest(request) = &event {
            assert_eq!(request.prompt, ALWAYS_PROMPT);
            response.respond(answers.next().unwrap_or("exit"))?;
        }
        kinds.push(event.kind());
    }
    assert_eq!(
        kinds,
        [
            "text",
            "text",
            "input_request",
            "text",
            "text",
            "input_request",
            "termination",
            "run_completion"
        ]
    );
    let result = response.wait()?;
    assert_eq!(result.human_input, ["tell me more", "exit"]);
    assert_eq!(result.summary, "second answer");
    Ok(())
}

#[test]
fn dropping_a_run_ends_the_chat_and_its_thread() {
    let user = UserProxyAgent::new("user");
    let bot = assistant(&["a"]);
    let response = agentio::agentchat::run(user, bot, "hello");
    let first = response.events().next();
    assert!(matches!(first, Some(Event::Text(_))));
    drop(response); // joins the thread: the pending input fails, the chat ends
}
