//! Against llama.cpp's own `llama-server`, serving tiny models that
//! tests/real_server/make_models.py writes: the notebook chat over real
//! websockets in text and events mode, parallel tool calls, text before a
//! call, reasoning, a call cut by the token limit, a prompt over the context,
//! a wrong API key, a server that goes away and comes back, a client that
//! leaves mid-stream, and 16 chats at once. Everything on the wire (SSE
//! framing, deltas, tool-call parsing into OpenAI `tool_calls`, ids, errors)
//! is llama.cpp's; only the model's words are scripted.
//!
//! `bash tests/real_server/setup.sh` gets the server and writes the models;
//! without them these tests are reported as ignored, unless
//! `AGENTIO_REQUIRE_LLAMA` is set (see tests/real_server/llama.rs).
//! `AGENTIO_LLAMA_DUMP=1` prints every chat's frames and events.

mod common;
#[path = "real_server/llama.rs"]
mod llama;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentio::io::websockets::{ServerConfig, WebsocketServer};
use agentio::io::{IOStream, IOWebsockets};
use agentio::llm::{ConfigEntry, LlmConfig, ModelClient, OpenAIWrapper};
use common::Must;
use common::notebook::example;
use common::ws::{Got, connect, next, send, text, until_close};
use llama::{LlamaServer, Model, Options};
use serde_json::{Value, json};

fn main() {
    llama::run(tests![
        the_notebook_chat_streams_the_poem_in_text_and_events_mode,
        parallel_calls_both_run_and_both_are_answered,
        text_before_a_call_streams_and_the_call_is_marked_streamed,
        reasoning_is_its_own_event_and_never_goes_back_to_the_model,
        a_call_cut_by_the_token_limit_ends_the_chat_with_an_error,
        a_prompt_over_the_context_is_a_clear_error_and_not_retried,
        a_wrong_api_key_is_a_clear_401_and_not_retried,
        a_server_that_goes_away_and_comes_back,
        a_client_that_leaves_mid_stream_cancels_the_generation,
        sixteen_chats_at_once_all_complete,
    ]);
}

// --- what the scripted model says (tests/real_server/make_models.py) -------

/// The reply after a tool result, as llama-server streams it: one delta per
/// token, the 4-byte emoji (four byte tokens) held until it is whole.
const POEM: [&str; 7] = [
    "Paris wakes in gold",
    " — the Seine is bright;",
    "\ncafé chairs warm by nine,",
    "\n晴れ, soleil, ",
    "🌤",
    "\nand not a cloud in sight.",
    "\n\nTERMINATE",
];

/// A message saying "think", without reasoning parsing: all of it is content.
const THINK_AS_TEXT: [&str; 7] = [
    "<think>",
    "\nI ponder the sky ",
    "over Paris; ",
    "the forecast tool will know.\n",
    "</think>",
    "\n\nLet me check ",
    "the forecast.",
];

/// The same with the reasoning template: `reasoning_content` deltas (the
/// server drops the newline after `<think>`) ...
const REASONING: [&str; 3] = [
    "I ponder the sky ",
    "over Paris; ",
    "the forecast tool will know.\n",
];

/// ... then `content` deltas (the blank line after `</think>` dropped too).
const TEXT_AFTER_REASONING: [&str; 2] = ["Let me check ", "the forecast."];

/// The word only the reasoning holds.
const REASONING_WORD: &str = "ponder";

/// What the model says when reasoning came back to it in a request.
const ECHO: &str = "ECHO: my reasoning came back";

/// What it says when a call of its last message got no result (by id).
const UNANSWERED: &str = "UNANSWERED";

/// The repeating reply of a chat whose message says "forever".
const FOREVER: [&str; 3] = ["and the sun ", "keeps on ", "shining, "];

const MESSAGE: &str = "Check out the weather in Paris and write a poem about it.";
const TWO_CITIES: &str = "Check out the weather in Paris and Lyon.";
const THINK: &str = "Please think, then check the weather in Paris.";
const FOREVER_MESSAGE: &str = "Tell me about the weather in Paris, forever.";

// --- the chat server and its clients ---------------------------------------

/// The websocket example's notebook chat on `llama`: every connection reads
/// its first message and runs the notebook's agents, one model client shared
/// by all chats, as the example serves them.
fn chat_server(llama: &LlamaServer, api_key: Option<&str>) -> WebsocketServer {
    let mut entry = ConfigEntry::new("scripted").base_url(llama.base_url());
    if let Some(key) = api_key {
        entry = entry.api_key(key);
    }
    let config = LlmConfig::new(vec![entry])
        .stream(true)
        .cache_seed(None)
        .timeout(Duration::from_secs(20));
    let client: Arc<dyn ModelClient> = Arc::new(OpenAIWrapper::new(config).must("the client"));
    IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", 0),
        move |ws: &IOWebsockets| {
            let message = ws.input("", false)?;
            let (mut chatbot, mut user_proxy) = example::notebook_agents(client.clone());
            user_proxy.initiate_chat(&mut chatbot, message).map(|_| ())
        },
    )
    .must("the chat server")
}

/// A text-mode chat, as the notebook's client: its frames and close code.
fn text_chat(server: &WebsocketServer, message: &str) -> (Vec<String>, Option<u16>) {
    let mut ws = connect(&format!("{}/ws", server.uri()));
    send(&mut ws, message);
    let (frames, code) = until_close(&mut ws);
    let code = code.map(u16::from);
    if std::env::var_os("AGENTIO_LLAMA_DUMP").is_some() {
        eprintln!("text mode, {message:?}: {frames:#?}, closed {code:?}");
    }
    (frames, code)
}

/// An events-mode client that has sent its first message.
fn events_client(server: &WebsocketServer, message: &str) -> common::ws::Client {
    let mut ws = connect(&format!("{}/ws?format=events", server.uri()));
    let first: Value = serde_json::from_str(&text(&mut ws)).must("an event");
    assert_eq!(first["type"], "input_request", "{first}");
    send(
        &mut ws,
        &json!({"type": "input_response", "content": {"value": message}}).to_string(),
    );
    ws
}

/// An events-mode chat, as a UI: its events and close code.
fn events_chat(server: &WebsocketServer, message: &str) -> (Vec<Value>, Option<u16>) {
    let mut ws = events_client(server, message);
    let (frames, code) = until_close(&mut ws);
    let events: Vec<Value> = frames
        .iter()
        .map(|f| serde_json::from_str(f).must("an event"))
        .collect();
    let code = code.map(u16::from);
    if std::env::var_os("AGENTIO_LLAMA_DUMP").is_some() {
        eprintln!(
            "events mode, {message:?}:{}\nclosed {code:?}",
            dump(&events)
        );
    }
    (events, code)
}

/// The events, one JSON line each, for a failure's message.
fn dump(events: &[Value]) -> String {
    events.iter().map(|e| format!("\n  {e}")).collect()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["type"].as_str()).collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// The `content` of the stream events.
fn streamed(events: &[Value]) -> Vec<&str> {
    of_kind(events, "stream")
        .iter()
        .filter_map(|e| e["content"]["content"].as_str())
        .collect()
}

fn footer() -> String {
    format!("\n{}\n", "-".repeat(80))
}

/// The stars under a header line, as long as it.
fn stars(header: &str) -> String {
    format!("{}\n", "*".repeat(header.trim_end().chars().count()))
}

/// The call id in a "***** Suggested tool call (ID): NAME *****" frame.
fn call_id(frame: &str) -> &str {
    frame
        .strip_prefix("***** Suggested tool call (")
        .and_then(|rest| rest.split_once(')'))
        .map(|(id, _)| id)
        .must("a suggested tool call frame")
}

fn is_forecast(text: &str, city: &str) -> bool {
    text.starts_with(&format!("The weather forecast for {city} at "))
        && text.ends_with(" is sunny.")
}

/// Waits (at most `timeout`) for `done`; whether it came.
fn eventually(timeout: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// The events mode's view of the notebook chat on the scripted model: the
/// call of `weather_forecast` for `cities` (arguments assembled from the
/// streamed fragments), run, answered, then the poem streamed and whole.
fn assert_events_chat(events: &[Value], code: Option<u16>, cities: &[&str]) {
    assert_eq!(code, Some(1000), "{}", dump(events));
    let others: Vec<&str> = kinds(events)
        .into_iter()
        .filter(|k| *k != "stream")
        .collect();
    let mut expected = vec!["text", "using_auto_reply", "tool_call"];
    for _ in cities {
        expected.extend(["execute_function", "executed_function"]);
    }
    expected.extend(["tool_response", "using_auto_reply", "text", "termination"]);
    assert_eq!(others, expected, "{}", dump(events));
    let call = of_kind(events, "tool_call")[0];
    let calls = call["content"]["tool_calls"].as_array().must("tool_calls");
    assert_eq!(calls.len(), cities.len(), "{call}");
    let responses = of_kind(events, "tool_response")[0]["content"]["tool_responses"]
        .as_array()
        .must("tool_responses")
        .clone();
    assert_eq!(responses.len(), cities.len());
    for ((call, city), response) in calls.iter().zip(cities).zip(&responses) {
        assert_eq!(call["function"]["name"], "weather_forecast");
        let arguments = call["function"]["arguments"].as_str().must("arguments");
        assert_eq!(
            serde_json::from_str::<Value>(arguments).must("the arguments"),
            json!({"city": city}),
            "{arguments:?}"
        );
        let id = call["id"].as_str().must("a call id");
        assert!(!id.is_empty());
        assert_eq!(response["tool_call_id"], id);
        let result = response["content"].as_str().must("a result");
        assert!(is_forecast(result, city), "{result}");
    }
    for (event, city) in of_kind(events, "execute_function").iter().zip(cities) {
        assert_eq!(event["content"]["arguments"], json!({"city": city}));
    }
    for event in of_kind(events, "executed_function") {
        assert_eq!(event["content"]["is_exec_success"], true, "{event}");
    }
    // The poem (not the model's complaint that a call got no result: the
    // answers reached it under the calls' ids), one event per delta, the
    // multi-byte characters whole.
    assert_eq!(streamed(events), POEM, "{}", dump(events));
    let last = &of_kind(events, "text")[1]["content"];
    assert_eq!(last["content"], POEM.concat());
    assert_eq!(last["streamed"], true);
    assert_eq!(last["sender"], "chatbot");
    for stream in of_kind(events, "stream") {
        assert_eq!(stream["content"]["sender"], "chatbot", "{stream}");
    }
}

// --- 1. the notebook chat --------------------------------------------------

fn the_notebook_chat_streams_the_poem_in_text_and_events_mode() {
    let llama = LlamaServer::start(Options::new("notebook", Model::Scripted));
    let server = chat_server(&llama, None);

    // Text mode: AutoGen's frames; the poem one frame per delta.
    let (frames, code) = text_chat(&server, MESSAGE);
    assert_eq!(code, Some(1000), "{frames:#?}");
    let suggested = frames.get(5).must("the suggested call").clone();
    let id = call_id(&suggested).to_owned();
    assert!(!id.is_empty());
    let response = format!("***** Response from calling tool ({id}) *****\n");
    let head = [
        "user_proxy (to chatbot):\n\n".to_owned(),
        format!("{MESSAGE}\n"),
        footer(),
        "\n>>>>>>>> USING AUTO REPLY...\n".to_owned(),
        "chatbot (to user_proxy):\n\n".to_owned(),
        format!("***** Suggested tool call ({id}): weather_forecast *****\n"),
        "Arguments: \n{\"city\": \"Paris\"}\n".to_owned(),
        stars(&suggested),
        footer(),
        "\n>>>>>>>> EXECUTING FUNCTION weather_forecast...\n".to_owned(),
        "user_proxy (to chatbot):\n\n".to_owned(),
        response.clone(),
    ];
    assert!(frames.len() > head.len() + 3, "{frames:#?}");
    assert_eq!(frames[..head.len()], head);
    let result = &frames[head.len()];
    assert!(is_forecast(result.trim_end(), "Paris"), "{result:?}");
    let rest = &frames[head.len() + 1..];
    let mut expected = vec![
        stars(&response),
        footer(),
        "\n>>>>>>>> USING AUTO REPLY...\n".to_owned(),
    ];
    expected.extend(POEM.iter().map(|p| (*p).to_owned()));
    expected.extend([
        "\n".to_owned(),
        "chatbot (to user_proxy):\n\n".to_owned(),
        format!("{}\n", POEM.concat()),
        footer(),
    ]);
    assert_eq!(rest, expected);

    // Events mode: AG2's events, the poem as stream events.
    let (events, code) = events_chat(&server, MESSAGE);
    assert_events_chat(&events, code, &["Paris"]);
    llama.sync();
    assert_eq!(llama.requests(), 4, "two requests per chat");
}

// --- 2. parallel tool calls --------------------------------------------------

fn parallel_calls_both_run_and_both_are_answered() {
    let llama = LlamaServer::start(Options::new("parallel", Model::Scripted));
    let server = chat_server(&llama, None);

    let (events, code) = events_chat(&server, TWO_CITIES);
    assert_events_chat(&events, code, &["Paris", "Lyon"]);

    let (frames, code) = text_chat(&server, TWO_CITIES);
    assert_eq!(code, Some(1000), "{frames:#?}");
    let count = |prefix: &str| frames.iter().filter(|f| f.starts_with(prefix)).count();
    assert_eq!(count("***** Suggested tool call ("), 2, "{frames:#?}");
    assert!(frames.contains(&"Arguments: \n{\"city\": \"Lyon\"}\n".to_owned()));
    assert_eq!(
        count("\n>>>>>>>> EXECUTING FUNCTION weather_forecast..."),
        2,
        "{frames:#?}"
    );
    assert_eq!(
        count("***** Response from calling tool ("),
        2,
        "{frames:#?}"
    );
    assert!(
        !frames.iter().any(|f| f.contains(UNANSWERED)),
        "{frames:#?}"
    );
    assert!(
        frames.contains(&format!("{}\n", POEM.concat())),
        "{frames:#?}"
    );
}

// --- 3. text, then a call ------------------------------------------------------

fn text_before_a_call_streams_and_the_call_is_marked_streamed() {
    let llama = LlamaServer::start(Options::new("text-and-call", Model::Scripted));
    let server = chat_server(&llama, None);

    // Events mode: the text as stream events, then the call, which says its
    // text was streamed (a UI finalises it instead of showing it twice).
    let (events, code) = events_chat(&server, THINK);
    let call_at = kinds(&events)
        .iter()
        .position(|k| *k == "tool_call")
        .must("a tool_call event");
    assert_eq!(
        streamed(&events[..call_at]),
        THINK_AS_TEXT,
        "{}",
        dump(&events)
    );
    let call = &events[call_at]["content"];
    assert_eq!(call["content"], THINK_AS_TEXT.concat(), "{call}");
    assert_eq!(
        call["streamed"], true,
        "the tool_call after streamed text must say so: {call}"
    );
    assert_eq!(
        call["tool_calls"][0]["function"]["arguments"],
        r#"{"city": "Paris"}"#
    );
    assert_eq!(of_kind(&events, "executed_function").len(), 1);
    assert_eq!(streamed(&events[call_at..]), POEM, "{}", dump(&events));
    assert_eq!(code, Some(1000));

    // Text mode: the text streams, then the suggested call.
    let (frames, code) = text_chat(&server, THINK);
    assert_eq!(code, Some(1000), "{frames:#?}");
    let auto = frames
        .iter()
        .position(|f| f == "\n>>>>>>>> USING AUTO REPLY...\n")
        .must("the auto reply frame");
    assert_eq!(
        frames[auto + 1..auto + 1 + THINK_AS_TEXT.len()],
        THINK_AS_TEXT,
        "{frames:#?}"
    );
    let suggested = frames
        .iter()
        .position(|f| f.starts_with("***** Suggested tool call ("))
        .must("the suggested call");
    assert!(suggested > auto + THINK_AS_TEXT.len(), "{frames:#?}");
    assert!(
        frames.contains(&format!("{}\n", POEM.concat())),
        "{frames:#?}"
    );
}

// --- 4. reasoning ----------------------------------------------------------------

fn reasoning_is_its_own_event_and_never_goes_back_to_the_model() {
    let llama = LlamaServer::start(Options::new("reasoning", Model::ScriptedReasoning));
    let server = chat_server(&llama, None);

    // Events mode: `reasoning` events, before the text; the reasoning in
    // no other event.
    let (events, code) = events_chat(&server, THINK);
    let reasoning = of_kind(&events, "reasoning");
    let pieces: Vec<&str> = reasoning
        .iter()
        .filter_map(|e| e["content"]["content"].as_str())
        .collect();
    assert_eq!(pieces, REASONING, "{}", dump(&events));
    for event in &reasoning {
        let content = &event["content"];
        assert_eq!(content["sender"], "chatbot", "{event}");
        assert!(
            content["uuid"].as_str().is_some_and(|u| !u.is_empty()),
            "{event}"
        );
    }
    let first_stream = kinds(&events)
        .iter()
        .position(|k| *k == "stream")
        .must("a stream event");
    let last_reasoning = kinds(&events)
        .iter()
        .rposition(|k| *k == "reasoning")
        .must("a reasoning event");
    assert!(last_reasoning < first_stream, "{}", dump(&events));
    for event in events.iter().filter(|e| e["type"] != "reasoning") {
        assert!(
            !event.to_string().contains(REASONING_WORD),
            "reasoning outside a reasoning event: {event}"
        );
    }
    let call_at = kinds(&events)
        .iter()
        .position(|k| *k == "tool_call")
        .must("a tool_call event");
    assert_eq!(streamed(&events[..call_at]), TEXT_AFTER_REASONING);
    assert_eq!(
        events[call_at]["content"]["content"],
        TEXT_AFTER_REASONING.concat()
    );
    // The next request did not carry the reasoning back (as
    // reasoning_content, or in the content): the model says the poem, not
    // its ECHO.
    assert!(
        !events.iter().any(|e| e.to_string().contains(ECHO)),
        "the reasoning went back to the model: {}",
        dump(&events)
    );
    assert_eq!(streamed(&events[call_at..]), POEM, "{}", dump(&events));
    assert_eq!(code, Some(1000));

    // Text mode: no reasoning in any frame, and none back to the model.
    let (frames, code) = text_chat(&server, THINK);
    assert_eq!(code, Some(1000), "{frames:#?}");
    assert!(
        !frames.iter().any(|f| f.contains(REASONING_WORD)),
        "reasoning in a text-mode frame: {frames:#?}"
    );
    assert!(!frames.iter().any(|f| f.contains(ECHO)), "{frames:#?}");
    let auto = frames
        .iter()
        .position(|f| f == "\n>>>>>>>> USING AUTO REPLY...\n")
        .must("the auto reply frame");
    assert_eq!(
        frames[auto + 1..auto + 1 + TEXT_AFTER_REASONING.len()],
        TEXT_AFTER_REASONING,
        "{frames:#?}"
    );
    assert!(
        frames.contains(&format!("{}\n", POEM.concat())),
        "{frames:#?}"
    );
}

// --- 5. the token limit ----------------------------------------------------------

/// The error of a chat cut by the token limit names the cause.
fn assert_names_the_token_limit(error: &str) {
    assert!(
        error.contains("token limit") && error.contains("finish_reason"),
        "the error should name the token limit and finish_reason: {error:?}"
    );
}

fn a_call_cut_by_the_token_limit_ends_the_chat_with_an_error() {
    // `-n 5`: the fifth token of the call is "Par", so the reply stops with
    // finish_reason "length" and the arguments `{"city": "Par`.
    let llama = LlamaServer::start(Options::new("token-limit", Model::Scripted).args(&["-n", "5"]));
    let server = chat_server(&llama, None);

    // Events mode: an error event and 1011; the broken call is not run.
    let (events, code) = events_chat(&server, MESSAGE);
    let errors = of_kind(&events, "error");
    assert_eq!(errors.len(), 1, "{}", dump(&events));
    assert_names_the_token_limit(errors[0]["content"]["error"].as_str().unwrap_or(""));
    for kind in ["execute_function", "executed_function", "tool_response"] {
        assert!(
            of_kind(&events, kind).is_empty(),
            "{kind}: {}",
            dump(&events)
        );
    }
    assert_eq!(code, Some(1011), "{}", dump(&events));
    // No retry, and no broken arguments sent back: one request.
    llama.sync();
    assert_eq!(llama.requests(), 1, "{}", dump(&events));

    // Text mode: an "Error: " frame.
    let (frames, code) = text_chat(&server, MESSAGE);
    let error = frames
        .iter()
        .find(|f| f.starts_with("Error: "))
        .must("an Error frame");
    assert_names_the_token_limit(error);
    assert!(
        !frames
            .iter()
            .any(|f| f.contains(">>>>>>>> EXECUTING FUNCTION")),
        "{frames:#?}"
    );
    assert_eq!(code, Some(1011), "{frames:#?}");
    llama.sync();
    assert_eq!(llama.requests(), 2, "{frames:#?}");
}

// --- 6. a prompt over the context ------------------------------------------------

fn a_prompt_over_the_context_is_a_clear_error_and_not_retried() {
    let llama = LlamaServer::start(Options::new("context", Model::Random).args(&["-c", "256"]));
    let server = chat_server(&llama, None);
    let long = format!(
        "Check out the weather in Paris. {}",
        "Then tell me more. ".repeat(100)
    );
    let clear = |error: &str| {
        assert!(
            error.contains("400") && error.contains("exceeds the available context size"),
            "{error:?}"
        );
    };

    let (events, code) = events_chat(&server, &long);
    assert_eq!(
        kinds(&events),
        ["text", "using_auto_reply", "error"],
        "{}",
        dump(&events)
    );
    clear(
        of_kind(&events, "error")[0]["content"]["error"]
            .as_str()
            .unwrap_or(""),
    );
    assert_eq!(code, Some(1011));
    llama.sync();
    assert_eq!(llama.requests(), 1, "not retried");
    assert_eq!(llama.log.count("exceeds the available context size"), 1);

    let (frames, code) = text_chat(&server, &long);
    let error = frames.last().must("a frame");
    assert!(error.starts_with("Error: "), "{frames:#?}");
    clear(error);
    assert_eq!(code, Some(1011));
    llama.sync();
    assert_eq!(llama.requests(), 2, "not retried");
}

// --- 7. a wrong API key ------------------------------------------------------------

fn a_wrong_api_key_is_a_clear_401_and_not_retried() {
    let llama = LlamaServer::start(Options::new("api-key", Model::Scripted).api_key("secret"));
    let wrong = chat_server(&llama, Some("not-the-key"));
    let clear = |error: &str| {
        assert!(
            error.contains("401") && error.contains("Invalid API Key"),
            "{error:?}"
        );
    };

    let (events, code) = events_chat(&wrong, MESSAGE);
    assert_eq!(
        kinds(&events),
        ["text", "using_auto_reply", "error"],
        "{}",
        dump(&events)
    );
    clear(
        of_kind(&events, "error")[0]["content"]["error"]
            .as_str()
            .unwrap_or(""),
    );
    assert_eq!(code, Some(1011));
    let (frames, code) = text_chat(&wrong, MESSAGE);
    let error = frames.last().must("a frame");
    assert!(error.starts_with("Error: "), "{frames:#?}");
    clear(error);
    assert_eq!(code, Some(1011));
    llama.sync();
    assert_eq!(llama.log.count("unauthorized"), 2, "one refusal per chat");
    assert_eq!(llama.requests(), 2, "not retried");
    assert_eq!(llama.completions(), 0, "none reached the model");

    // With the right key the same server answers.
    let right = chat_server(&llama, Some("secret"));
    let (events, code) = events_chat(&right, MESSAGE);
    assert_events_chat(&events, code, &["Paris"]);
}

// --- 8. a server that goes away and comes back ----------------------------------

fn a_server_that_goes_away_and_comes_back() {
    let options = Options::new("restart", Model::Scripted);
    let llama = LlamaServer::start(options.clone());
    let port = llama.port();
    let server = chat_server(&llama, None);
    // A chat first, so the client holds a kept-alive connection to the old server.
    let (events, code) = events_chat(&server, MESSAGE);
    assert_events_chat(&events, code, &["Paris"]);
    llama.stop();

    let (events, code) = events_chat(&server, MESSAGE);
    let error = of_kind(&events, "error")
        .first()
        .and_then(|e| e["content"]["error"].as_str())
        .must("an error event")
        .to_owned();
    assert!(
        error.contains("cannot reach the model server") && error.contains("Connection refused"),
        "not a clear connection error: {error:?}"
    );
    assert_eq!(code, Some(1011));

    let llama = LlamaServer::start_on(port, options);
    assert_eq!(llama.port(), port);
    let (events, code) = events_chat(&server, MESSAGE);
    assert_events_chat(&events, code, &["Paris"]);
    let (frames, code) = text_chat(&server, MESSAGE);
    assert_eq!(code, Some(1000), "{frames:#?}");
    assert!(
        frames.contains(&format!("{}\n", POEM.concat())),
        "{frames:#?}"
    );
    // The connection the client kept to the old server cost no request.
    llama.sync();
    assert_eq!(llama.requests(), 4);
}

// --- 9. a client that leaves mid-stream -----------------------------------------

fn a_client_that_leaves_mid_stream_cancels_the_generation() {
    // Without a client leaving, the endless reply runs to -n.
    let llama = LlamaServer::start(Options::new("leave", Model::Scripted).args(&["-n", "30000"]));
    let server = chat_server(&llama, None);
    let mut ws = events_client(&server, FOREVER_MESSAGE);
    let mut pieces = Vec::new();
    while pieces.len() < 3 * FOREVER.len() {
        match next(&mut ws) {
            Got::Text(frame) => {
                let event: Value = serde_json::from_str(&frame).must("an event");
                if event["type"] == "stream" {
                    pieces.push(
                        event["content"]["content"]
                            .as_str()
                            .must("content")
                            .to_owned(),
                    );
                }
            }
            other => panic!("the chat ended before the reply had streamed: {other:?}"),
        }
    }
    assert_eq!(pieces[..FOREVER.len()], FOREVER);
    assert_eq!(server.chats(), 1);
    drop(ws); // mid-stream, without a close handshake

    assert!(
        eventually(Duration::from_secs(10), || server.chats() == 0),
        "the chat thread did not end after its client left"
    );
    let cancelled = llama.log.line_with("cancel task", Duration::from_secs(10));
    assert!(
        cancelled.is_some(),
        "llama-server did not cancel the generation: see {}",
        llama.log.file.display()
    );
    // It stopped long before the token limit.
    let released = llama
        .log
        .lines()
        .into_iter()
        .rev()
        .find(|l| l.contains("stop processing: n_tokens = "))
        .must("a released slot");
    let n_tokens: usize = released
        .split("n_tokens = ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .must("n_tokens");
    assert!(n_tokens < 20_000, "{released}");
    llama.sync();
    assert_eq!(llama.requests(), 2, "the call, then the endless reply");
}

// --- 10. sixteen chats at once ------------------------------------------------------

fn sixteen_chats_at_once_all_complete() {
    let llama = LlamaServer::start(
        Options::new("concurrent", Model::Scripted).args(&["-np", "4", "-c", "16384"]),
    );
    let server = Arc::new(chat_server(&llama, None));
    let (done, results) = std::sync::mpsc::channel();
    for i in 0..16 {
        let (server, done) = (server.clone(), done.clone());
        std::thread::spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let (message, cities): (&str, &[&str]) = if i % 2 == 0 {
                    (MESSAGE, &["Paris"])
                } else {
                    (TWO_CITIES, &["Paris", "Lyon"])
                };
                if i % 4 < 2 {
                    let (events, code) = events_chat(&server, message);
                    assert_events_chat(&events, code, cities);
                } else {
                    let (frames, code) = text_chat(&server, message);
                    assert_eq!(code, Some(1000), "{frames:#?}");
                    assert!(
                        frames.contains(&format!("{}\n", POEM.concat())),
                        "{frames:#?}"
                    );
                    let calls = frames
                        .iter()
                        .filter(|f| f.starts_with("***** Suggested tool call ("))
                        .count();
                    assert_eq!(calls, cities.len(), "{frames:#?}");
                }
            }));
            let _ = done.send((i, outcome.is_ok()));
        });
    }
    let mut failed = Vec::new();
    for _ in 0..16 {
        let (i, ok) = results
            .recv_timeout(Duration::from_secs(60))
            .must("every chat to end");
        if !ok {
            failed.push(i);
        }
    }
    assert!(
        failed.is_empty(),
        "chats {failed:?} failed (their panics are above)"
    );
    assert!(eventually(Duration::from_secs(5), || server.chats() == 0));
    llama.sync();
    assert_eq!(llama.requests(), 32, "two requests per chat, none retried");
}
