//! Every event kind: its JSON shape, its round trip, and its console text
//! compared with AutoGen 0.2's exact output (reference/autogen.md).

use agentio::io::{
    Decision, Event, EventKind, ExecuteFunctionEvent, ExecutedFunctionEvent, FunctionCall,
    GroupChatRunChatEvent, IOBuffer, IOStream, MissedEventsEvent, ModelUsage, ModelUsageSummary,
    ReasoningEvent, RunCompletionEvent, SelectSpeakerEvent, SelectSpeakerInvalidInputEvent,
    SelectSpeakerTryCountExceededEvent, SpeakerAttemptEvent, TerminationAndHumanReplyNoInputEvent,
    TerminationEvent, ToolApprovalRequestEvent, ToolApprovalResponseEvent, ToolCall, ToolCallEvent,
    ToolProgressEvent, ToolResponse, ToolResponseEvent, UsageMode, UsageSummaryEvent,
    UsingAutoReplyEvent, Uuid,
};
use serde_json::{Value, json};

fn dashes(n: usize) -> String {
    "-".repeat(n)
}

fn footer() -> String {
    format!("\n{}\n", dashes(80))
}

fn tool_call() -> Event {
    let mut call = ToolCallEvent::new(
        vec![ToolCall::new(
            "call_XYZ",
            FunctionCall::new("weather_forecast", r#"{"city": "Paris"}"#),
        )],
        "chatbot",
        "user_proxy",
    );
    call.content = Some(String::new());
    Event::ToolCall(call)
}

fn tool_response() -> Event {
    let content = "The weather forecast for Paris is sunny.";
    let response = ToolResponseEvent::new(
        vec![ToolResponse::new("call_XYZ", content)],
        "user_proxy",
        "chatbot",
    );
    assert_eq!(response.content, content);
    Event::ToolResponse(response)
}

fn using_auto_reply() -> Event {
    Event::UsingAutoReply(UsingAutoReplyEvent::new("NEVER", "chatbot", "user_proxy"))
}

fn execute_function(arguments: Value) -> Event {
    let mut execute = ExecuteFunctionEvent::new("weather_forecast", "user_proxy");
    execute.call_id = Some("call_XYZ".into());
    execute.arguments = arguments;
    Event::ExecuteFunction(execute)
}

fn usage(mode: UsageMode, cached: bool) -> Event {
    let entry = |n: u64| {
        ModelUsage::new(
            "gpt-4o-mini-2024-07-18",
            182 * n,
            25 * n,
            207 * n,
            4.23e-05 * n as f64,
        )
    };
    let summary = |n| {
        let summary = ModelUsageSummary::new(vec![entry(n)]);
        assert_eq!(summary.total_cost, Some(4.23e-05 * n as f64));
        summary
    };
    let mut event = UsageSummaryEvent::new(summary(1), summary(if cached { 40 } else { 1 }));
    event.mode = mode;
    Event::UsageSummary(event)
}

/// One of every kind, with the console text AutoGen 0.2 prints for it.
fn every_kind() -> Vec<(Event, String)> {
    let arguments = json!({"city": "Paris"});
    vec![
        (
            Event::print(["Hello,", "World!"], " ", "\n"),
            "Hello, World!\n".into(),
        ),
        (Event::stream(" the sun"), " the sun".into()),
        (
            Event::Reasoning({
                let mut r = ReasoningEvent::new("The user wants the weather.");
                r.sender = Some("chatbot".into());
                r
            }),
            String::new(),
        ),
        (
            Event::text("Check out the weather in Paris.", "user_proxy", "chatbot"),
            format!(
                "user_proxy (to chatbot):\n\nCheck out the weather in Paris.\n{}",
                footer()
            ),
        ),
        (
            tool_call(),
            format!(
                "chatbot (to user_proxy):\n\n\
                 ***** Suggested tool call (call_XYZ): weather_forecast *****\n\
                 Arguments: \n{{\"city\": \"Paris\"}}\n{}\n{}",
                "*".repeat(60),
                footer()
            ),
        ),
        (
            tool_response(),
            format!(
                "user_proxy (to chatbot):\n\n\
                 ***** Response from calling tool (call_XYZ) *****\n\
                 The weather forecast for Paris is sunny.\n{}\n{}",
                "*".repeat(49),
                footer()
            ),
        ),
        (
            using_auto_reply(),
            "\n>>>>>>>> USING AUTO REPLY...\n".into(),
        ),
        (
            Event::TerminationAndHumanReplyNoInput(TerminationAndHumanReplyNoInputEvent::new(
                "NO HUMAN INPUT RECEIVED.",
                "chatbot",
                "user_proxy",
            )),
            "\n>>>>>>>> NO HUMAN INPUT RECEIVED.\n".into(),
        ),
        (
            Event::Termination(TerminationEvent::new(
                "Termination message condition on agent 'user_proxy' met",
                "user_proxy",
                "chatbot",
            )),
            String::new(),
        ),
        (
            execute_function(arguments.clone()),
            "\n>>>>>>>> EXECUTING FUNCTION weather_forecast...\n".into(),
        ),
        (
            {
                let mut executed = ExecutedFunctionEvent::new(
                    "weather_forecast",
                    "The weather forecast for Paris is sunny.",
                    "user_proxy",
                    true,
                );
                executed.call_id = Some("call_XYZ".into());
                executed.arguments = arguments;
                Event::ExecutedFunction(executed)
            },
            String::new(),
        ),
        (
            usage(UsageMode::Actual, false),
            format!(
                "{}\nUsage summary excluding cached usage: \nTotal cost: 4e-05\n\
                 * Model 'gpt-4o-mini-2024-07-18': cost: 4e-05, prompt_tokens: 182, \
                 completion_tokens: 25, total_tokens: 207\n{}\n",
                dashes(100),
                dashes(100)
            ),
        ),
        (Event::input_request("May I?", false), "May I?".into()),
        (Event::input_response("Yes"), String::new()),
        (
            Event::error("the model is gone"),
            "Error: the model is gone\n".into(),
        ),
        (
            {
                let mut completion = RunCompletionEvent::new("sunny");
                completion.history = vec![json!({"role": "user", "content": "hi"})];
                completion.cost = json!({"usage_including_cached_inference": {"total_cost": 0}});
                completion.last_speaker = Some("chatbot".into());
                Event::RunCompletion(completion)
            },
            String::new(),
        ),
        (
            Event::MissedEvents(MissedEventsEvent::new(3)),
            String::new(),
        ),
        (
            Event::ToolApprovalRequest(approval_request()),
            "chatbot wants user_proxy to run weather_forecast({\"city\":\"Paris\"}). Approve? \
             y = yes, a = always, n = no, never, edit {…} = run with these arguments, or say why not: "
                .into(),
        ),
        (
            Event::ToolApprovalResponse(ToolApprovalResponseEvent::new(
                "r1",
                Decision::Deny {
                    reason: Some("too far".into()),
                },
                false,
            )),
            String::new(),
        ),
        (
            Event::ToolProgress(ToolProgressEvent::new(
                "call_XYZ",
                "weather_forecast",
                "looking up Paris",
                "user_proxy",
            )),
            "[weather_forecast] looking up Paris\n".into(),
        ),
        (
            Event::GroupChatRunChat(GroupChatRunChatEvent::new("writer")),
            "\nNext speaker: writer\n\n".into(),
        ),
        (
            Event::SelectSpeaker(SelectSpeakerEvent::new(vec!["writer".into(), "critic".into()])),
            "Please select the next speaker from the following list:\n1: writer\n2: critic\n".into(),
        ),
        (
            Event::SelectSpeakerInvalidInput(SelectSpeakerInvalidInputEvent::new(vec![
                "writer".into(),
                "critic".into(),
            ])),
            "Invalid input. Please enter a number between 1 and 2.\n".into(),
        ),
        (
            Event::SelectSpeakerTryCountExceeded(SelectSpeakerTryCountExceededEvent::new(
                3,
                vec!["writer".into()],
            )),
            "You have tried 3 times. The next speaker will be selected automatically.\n".into(),
        ),
        (
            Event::SpeakerAttemptSuccessful(attempt(&["critic"], 3, 0)),
            ">>>>>>>> Select speaker attempt 3 of 3 successfully selected: critic\n".into(),
        ),
        (
            Event::SpeakerAttemptFailedMultipleAgents(attempt(&["critic", "writer"], 1, 2)),
            ">>>>>>>> Select speaker attempt 1 of 3 failed as it included multiple agent names.\n"
                .into(),
        ),
        (
            Event::SpeakerAttemptFailedNoAgents(attempt(&[], 2, 1)),
            ">>>>>>>> Select speaker attempt #2 failed as it did not include any agent names.\n"
                .into(),
        ),
        (
            serde_json::from_value(json!({"type": "reply_start", "content": {
                "uuid": Uuid::new_v4(), "message_id": "msg_1", "sender": "chatbot", "recipient": "user_proxy"}}))
            .unwrap_or_else(|e| panic!("{e}")),
            String::new(),
        ),
        (
            serde_json::from_value(json!({"type": "reply_end", "content": {
                "uuid": Uuid::new_v4(), "message_id": "msg_1", "sender": "chatbot", "finish_reason": "stop"}}))
            .unwrap_or_else(|e| panic!("{e}")),
            String::new(),
        ),
        (
            serde_json::from_value(json!({"type": "tool_call_delta", "content": {
                "uuid": Uuid::new_v4(), "message_id": "msg_1", "index": 0, "call_id": "call_1",
                "name": "weather_forecast", "arguments": "{\"ci", "sender": "chatbot"}}))
            .unwrap_or_else(|e| panic!("{e}")),
            String::new(),
        ),
    ]
}

fn attempt(names: &[&str], attempt: u32, left: u32) -> SpeakerAttemptEvent {
    let mentions = names.iter().map(|n| (n.to_string(), 1)).collect();
    SpeakerAttemptEvent::new(mentions, attempt, left)
}

fn approval_request() -> ToolApprovalRequestEvent {
    ToolApprovalRequestEvent::new(
        "call_XYZ",
        "weather_forecast",
        json!({"city": "Paris"}),
        "chatbot",
        "user_proxy",
    )
}

#[test]
fn the_table_covers_every_kind() {
    let kinds: Vec<EventKind> = every_kind().iter().map(|(e, _)| e.kind()).collect();
    assert_eq!(kinds, EventKind::ALL);
}

#[test]
fn every_kind_renders_as_autogen_console_text() {
    for (event, text) in every_kind() {
        assert_eq!(
            event.to_string(),
            text,
            "{} renders as AutoGen 0.2",
            event.kind()
        );
        for part in event.text_parts() {
            assert!(
                !part.text.contains('\x1b'),
                "no escape codes in text: {part:?}"
            );
        }
    }
}

#[test]
fn every_kind_round_trips_through_json_in_ag2_shape() -> agentio::Result<()> {
    for (event, _) in every_kind() {
        let text = event.to_json();
        let prefix = format!(
            r#"{{"type":"{}","content":{{"uuid":"{}""#,
            event.kind(),
            event.uuid()
        );
        assert!(text.starts_with(&prefix), "{text}");
        let json: Value = serde_json::from_str(&text)?;
        assert_eq!(Event::from_json(&json.to_string())?, event);
    }
    Ok(())
}

#[test]
fn field_names_are_ag2s() -> agentio::Result<()> {
    // The content's keys, in the order they are written.
    let fields = |event: &Event| -> Vec<String> {
        let json = event.to_json();
        // Skip the envelope's own "content" key.
        let text = json
            .split_once(r#""content":"#)
            .map_or("", |(_, inner)| inner);
        let content = serde_json::to_value(event)
            .ok()
            .and_then(|v| v["content"].as_object().cloned())
            .unwrap_or_default();
        let mut keys: Vec<(usize, String)> = content
            .keys()
            .map(|k| {
                (
                    text.find(&format!("\"{k}\":")).unwrap_or(usize::MAX),
                    k.clone(),
                )
            })
            .collect();
        keys.sort();
        keys.into_iter().map(|(_, k)| k).collect()
    };
    let expected: [&[&str]; 30] = [
        &["uuid", "objects", "sep", "end"],
        &["uuid", "content"],
        &["uuid", "content", "sender"],
        &["uuid", "content", "sender", "recipient"],
        &[
            "uuid",
            "content",
            "sender",
            "recipient",
            "role",
            "tool_calls",
        ],
        &[
            "uuid",
            "content",
            "sender",
            "recipient",
            "role",
            "tool_responses",
        ],
        &["uuid", "human_input_mode", "sender", "recipient"],
        &["uuid", "no_human_input_msg", "sender", "recipient"],
        &["uuid", "termination_reason", "sender", "recipient"],
        &["uuid", "func_name", "call_id", "arguments", "recipient"],
        &[
            "uuid",
            "func_name",
            "call_id",
            "arguments",
            "content",
            "recipient",
            "is_exec_success",
        ],
        &["uuid", "actual", "total", "mode"],
        &[
            "uuid",
            "prompt",
            "password",
            "request_id",
            "timeout_seconds",
        ],
        &["uuid", "value"],
        &["uuid", "error"],
        &["uuid", "summary", "history", "cost", "last_speaker"],
        &["uuid", "count"],
        &[
            "uuid",
            "request_id",
            "call_id",
            "name",
            "arguments",
            "sender",
            "recipient",
            "timeout_seconds",
        ],
        &["uuid", "request_id", "decision", "reason", "remember"],
        &["uuid", "call_id", "name", "message", "recipient"],
        &["uuid", "speaker", "silent"],
        &["uuid", "agents"],
        &["uuid", "agents"],
        &["uuid", "try_count", "agents"],
        &[
            "uuid",
            "mentions",
            "attempt",
            "attempts_left",
            "select_speaker_auto_verbose",
        ],
        &[
            "uuid",
            "mentions",
            "attempt",
            "attempts_left",
            "select_speaker_auto_verbose",
        ],
        &[
            "uuid",
            "mentions",
            "attempt",
            "attempts_left",
            "select_speaker_auto_verbose",
        ],
        &["uuid", "message_id", "sender", "recipient"],
        &["uuid", "message_id", "sender", "finish_reason"],
        &[
            "uuid",
            "message_id",
            "index",
            "call_id",
            "name",
            "arguments",
            "sender",
        ],
    ];
    for ((event, _), want) in every_kind().iter().zip(expected) {
        assert_eq!(fields(event), want, "{}", event.kind());
    }
    let call = serde_json::to_value(tool_call())?;
    assert_eq!(
        call["content"]["tool_calls"][0],
        json!({"id": "call_XYZ", "type": "function",
               "function": {"name": "weather_forecast", "arguments": "{\"city\": \"Paris\"}"}})
    );
    let usage = serde_json::to_value(usage(UsageMode::Both, false))?;
    assert_eq!(
        usage["content"]["actual"],
        json!({"usages": [{"model": "gpt-4o-mini-2024-07-18", "prompt_tokens": 182,
                           "completion_tokens": 25, "total_tokens": 207, "cost": 4.23e-05}],
               "total_cost": 4.23e-05})
    );
    assert_eq!(usage["content"]["mode"], "both");
    Ok(())
}

#[test]
fn ag2_frames_parse_including_fields_agentio_does_not_use() -> agentio::Result<()> {
    // Frame #0002 of reference/ag2-events-transcript.txt.
    let frame = r#"{"type":"tool_call","content":{"uuid":"605c60cf-9dca-4f52-b9de-d552f091d852","content":"","sender":"chatbot","recipient":"user_proxy","refusal":null,"role":"assistant","audio":null,"function_call":null,"tool_calls":[{"id":"call_mock1","function":{"name":"weather_forecast","arguments":"{\"city\":\"Paris\"}"},"type":"function"}]}}"#;
    let Event::ToolCall(call) = Event::from_json(frame)? else {
        panic!("not a tool call");
    };
    assert_eq!(
        call.uuid.to_string(),
        "605c60cf-9dca-4f52-b9de-d552f091d852"
    );
    assert_eq!(call.tool_calls[0].function.arguments, r#"{"city":"Paris"}"#);

    // A client's answer carries no uuid; it gets one.
    let answer = Event::from_json(r#"{"type":"input_response","content":{"value":"Yes"}}"#)?;
    assert!(matches!(&answer, Event::InputResponse(r) if r.value == "Yes"));
    Ok(())
}

#[test]
fn malformed_json_is_an_error_not_a_panic() {
    for bad in [
        "",
        "{",
        "[]",
        r#"{"type":"nope","content":{}}"#,
        r#"{"type":"text","content":{"content":1}}"#,
        r#"{"type":"text","content":{"uuid":"not-a-uuid","content":"x","sender":"a","recipient":"b"}}"#,
        r#"{"type":"stream"}"#,
    ] {
        assert!(Event::from_json(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn a_streamed_text_is_marked_in_json_only() -> agentio::Result<()> {
    let Event::Text(mut text) =
        Event::text("In Paris the sun is shining.", "chatbot", "user_proxy")
    else {
        panic!("not a text event");
    };
    let plain = serde_json::to_value(Event::Text(text.clone()))?;
    assert!(
        plain["content"].get("streamed").is_none(),
        "absent when false, as AG2"
    );
    text.streamed = true;
    let event = Event::Text(text);
    let marked = serde_json::to_value(&event)?;
    assert_eq!(marked["content"]["streamed"], true);
    assert_eq!(Event::from_json(&marked.to_string())?, event);
    assert_eq!(
        event.to_string(),
        format!(
            "\nchatbot (to user_proxy):\n\nIn Paris the sun is shining.\n{}",
            footer()
        ),
        "text mode keeps AutoGen's output: the newline that ends the stream, then the message again"
    );
    Ok(())
}

#[test]
fn usage_summary_modes_match_autogen() {
    let both_same = usage(UsageMode::Both, false).to_string();
    let line = "* Model 'gpt-4o-mini-2024-07-18': cost: 4e-05, prompt_tokens: 182, completion_tokens: 25, total_tokens: 207\n";
    assert_eq!(
        both_same,
        format!(
            "{d}\nUsage summary excluding cached usage: \nTotal cost: 4e-05\n{line}\n\
             All completions are non-cached: the total cost with cached completions is the same as actual cost.\n{d}\n",
            d = dashes(100)
        )
    );
    let both_cached = usage(UsageMode::Both, true).to_string();
    assert!(both_cached.contains(
        "\nUsage summary including cached usage: \nTotal cost: 0.00169\n\
         * Model 'gpt-4o-mini-2024-07-18': cost: 0.00169, prompt_tokens: 7280, completion_tokens: 1000, total_tokens: 8280\n"
    ), "{both_cached}");
    let none = UsageSummaryEvent::new(ModelUsageSummary::default(), ModelUsageSummary::default());
    assert_eq!(none.mode, UsageMode::Both);
    let none = Event::UsageSummary(none);
    assert_eq!(
        none.to_string(),
        "No usage summary. Please call \"create\" first.\n"
    );
}

#[test]
fn tool_call_defaults_and_content_follow_autogen() {
    let Event::ToolCall(mut call) = tool_call() else {
        panic!("not a tool call");
    };
    call.content = Some("Let me check.".into());
    call.tool_calls[0] = ToolCall::new("", FunctionCall::new("", ""));
    let title = "***** Suggested tool call (No tool call id found): (No function name found) *****";
    assert_eq!(
        Event::ToolCall(call).to_string(),
        format!(
            "chatbot (to user_proxy):\n\nLet me check.\n{title}\nArguments: \n(No arguments found)\n{}\n{}",
            "*".repeat(title.len()),
            footer()
        )
    );
}

/// The notebook chat of reference/autogen.md, frame by frame, through the
/// default `send` of a text stream: AutoGen's frames without its bugs 8 and 9.
#[test]
fn the_notebook_chat_prints_autogens_frames() -> agentio::Result<()> {
    let buffer = IOBuffer::new();
    buffer.send(&Event::text(
        "Check out the weather in Paris.",
        "user_proxy",
        "chatbot",
    ))?;
    buffer.send(&using_auto_reply())?;
    buffer.send(&tool_call())?;
    buffer.send(&execute_function(json!({"city": "Paris"})))?;
    buffer.send(&tool_response())?;
    buffer.send(&using_auto_reply())?;
    for chunk in ["In Paris", " the sun", " is shining.\n", "TERMINATE"] {
        buffer.send(&Event::stream(chunk))?;
    }
    buffer.send(&Event::text(
        "In Paris the sun is shining.\nTERMINATE",
        "chatbot",
        "user_proxy",
    ))?;
    let footer = footer();
    let expected = [
        "user_proxy (to chatbot):\n\n",
        "Check out the weather in Paris.\n",
        &footer,
        "\n>>>>>>>> USING AUTO REPLY...\n",
        "chatbot (to user_proxy):\n\n",
        "***** Suggested tool call (call_XYZ): weather_forecast *****\n",
        "Arguments: \n{\"city\": \"Paris\"}\n",
        &format!("{}\n", "*".repeat(60)),
        &footer,
        "\n>>>>>>>> EXECUTING FUNCTION weather_forecast...\n",
        "user_proxy (to chatbot):\n\n",
        "***** Response from calling tool (call_XYZ) *****\n",
        "The weather forecast for Paris is sunny.\n",
        &format!("{}\n", "*".repeat(49)),
        &footer,
        "\n>>>>>>>> USING AUTO REPLY...\n",
        "In Paris",
        " the sun",
        " is shining.\n",
        "TERMINATE",
        "chatbot (to user_proxy):\n\n",
        "In Paris the sun is shining.\nTERMINATE\n",
        &footer,
    ];
    assert_eq!(buffer.chunks(), expected);
    assert_eq!(buffer.events().len(), 11);
    Ok(())
}
