//! The examples' chat as the seed notebook has it: the notebook's agents
//! (system message, tool, termination, auto-reply limit), no disk cache
//! unless asked for, and one offline replay script that follows the city
//! asked about. The chat code runs in process; `websocket_chat` and
//! `cli_chat` run as the processes users start (`cargo build --examples`).

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use agentio::io::{self, IOBuffer};
use agentio::llm::{ConfigEntry, LlmConfig};
use common::notebook::example as chat;
use common::process::{Running, example_bin};
use common::ws::{connect, send, until_close};
use common::{MockServer, streamed_text};
use serde_json::{Value, json};

/// The seed notebook's `chatbot` system message, to the letter.
const NOTEBOOK_SYSTEM_MESSAGE: &str = "Complete a task given to you and reply TERMINATE when the task is done. If asked about the weather, use tool 'weather_forecast(city)' to get the weather forecast for a city.";

const MESSAGE: &str = "Check out the weather in Paris and write a poem about it.";

/// The example's model on the mock (no cache: the in-process tests must not
/// write one either).
fn mock_model(mock: &MockServer) -> chat::Model {
    let entry = ConfigEntry::new("mock-model")
        .api_key("sk-test")
        .base_url(mock.base_url());
    chat::Model::config(LlmConfig::new(vec![entry]).cache_seed(None))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_model_gets_the_notebooks_system_message_and_tool() {
    let mock = MockServer::start(vec![streamed_text(&["Done. ", "TERMINATE"])]);
    let model = mock_model(&mock);
    let result = io::with_default(Arc::new(IOBuffer::new()), || {
        chat::notebook_chat(MESSAGE.to_owned(), &model)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(result.chat_history.len(), 2, "TERMINATE ends the chat");
    let first = mock.request().unwrap_or_else(|| panic!("no request"));
    assert_eq!(
        first.body["messages"][0],
        json!({"role": "system", "content": NOTEBOOK_SYSTEM_MESSAGE})
    );
    // AutoGen's schema for the notebook's `weather_forecast(city: str)` with
    // description "Weather forecast for a city".
    let tool: Value = json!({"type": "function", "function": {
        "description": "Weather forecast for a city", "name": "weather_forecast",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "city"}},
                       "required": ["city"]}}});
    assert_eq!(first.body["tools"], json!([tool]));
}

#[test]
fn a_chat_that_never_terminates_stops_after_10_auto_replies() {
    let replies = (1..=12).map(|i| streamed_text(&[&format!("reply {i}")]));
    let mock = MockServer::start(replies.collect());
    let model = mock_model(&mock);
    let buffer = Arc::new(IOBuffer::new());
    let result = io::with_default(buffer.clone(), || {
        chat::notebook_chat(MESSAGE.to_owned(), &model)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    // The message, 11 model replies, and user_proxy's 10 auto replies between them.
    assert_eq!(result.chat_history.len(), 1 + 11 + 10);
    assert_eq!(result.summary, "reply 11");
    assert_eq!(mock.received().len(), 11, "the model was asked 11 times");
    let reasons: Vec<Value> = buffer
        .events()
        .iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .filter(|e| e["type"] == "termination")
        .map(|e| e["content"]["termination_reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        [json!("Maximum number of consecutive auto-replies reached")]
    );
}

/// An empty directory of its own, to run an example in.
fn scratch_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "agentio-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// The websocket example in `dir`, its model the mock; returns it and its
/// websocket URL.
fn websocket_chat(dir: &Path, mock: &MockServer, args: &[&str]) -> (Running, String) {
    let app = Running::command(
        Command::new(example_bin("websocket_chat"))
            .args(["--port", "0"])
            .args(args)
            .current_dir(dir)
            .env_remove("OAI_CONFIG_LIST")
            .env("OPENAI_API_KEY", "sk-test")
            .env("OPENAI_BASE_URL", mock.base_url())
            .env("OPENAI_MODEL", "mock-model"),
    );
    let uri = app.line_after("websocket:");
    (app, uri)
}

/// One chat over `uri`: the notebook's client sends `MESSAGE` and reads
/// until the server closes; everything it was sent.
fn one_chat(uri: &str) -> String {
    let mut ws = connect(uri);
    send(&mut ws, MESSAGE);
    until_close(&mut ws).0.concat()
}

/// Two chats with the same first message on one run of the example in
/// `dir`, whose model answers "First model." then "Second model."; the mock
/// and what each chat was sent.
fn two_chats(dir: &Path, args: &[&str]) -> (MockServer, String, String) {
    let mock = MockServer::start(vec![
        streamed_text(&["First ", "model. ", "TERMINATE"]),
        streamed_text(&["Second ", "model. ", "TERMINATE"]),
    ]);
    let (_app, uri) = websocket_chat(dir, &mock, args);
    let first = one_chat(&uri);
    let second = one_chat(&uri);
    assert!(first.contains("First model. TERMINATE"), "{first}");
    (mock, first, second)
}

#[test]
fn every_connection_and_every_run_gets_its_own_models_reply_and_no_cache_is_written() {
    let dir = scratch_dir("no-cache");
    let (mock, _, second) = two_chats(&dir, &[]);
    assert!(
        second.contains("Second model. TERMINATE") && !second.contains("First model."),
        "the second user got the first user's reply: {second}"
    );
    assert_eq!(mock.received().len(), 2, "both chats asked the model");

    // The next run, against a fresh model server, in the same directory.
    let fresh = MockServer::start(vec![streamed_text(&["Fresh ", "model. ", "TERMINATE"])]);
    let (_app, uri) = websocket_chat(&dir, &fresh, &[]);
    let third = one_chat(&uri);
    assert!(
        third.contains("Fresh model. TERMINATE"),
        "an earlier run's reply: {third}"
    );
    assert!(
        !dir.join(".cache").exists(),
        "a disk cache appeared in {}",
        dir.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cache_seed_opts_in_to_the_disk_cache() {
    let dir = scratch_dir("cache-seed");
    let (mock, _, second) = two_chats(&dir, &["--cache-seed", "7"]);
    assert!(second.contains("First model. TERMINATE"), "{second}");
    assert_eq!(
        mock.received().len(),
        1,
        "the second chat was answered from the cache"
    );
    assert!(dir.join(".cache").join("7").is_dir());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_chats_offline_replay_follows_the_city_asked_about() {
    let dir = scratch_dir("cli-chat");
    let mut child = Command::new(example_bin("cli_chat"))
        .current_dir(&dir)
        .env_remove("OAI_CONFIG_LIST")
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cli_chat: {e}"));
    // The question, Enter (let the tool run), then end of input (exit).
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(b"What is the weather in Lisbon?\n\n")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = tx.send(out);
    });
    let out = rx.recv_timeout(Duration::from_secs(30));
    let _ = child.kill();
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    let out = out.unwrap_or_else(|e| panic!("cli_chat did not finish: {e}"));
    assert!(status.success(), "{status}: {out}");
    assert!(
        out.contains("Arguments: \n{\"city\":\"Lisbon\"}\n"),
        "the tool was not called with Lisbon: {out}"
    );
    assert!(out.contains("The weather forecast for Lisbon at "), "{out}");
    assert!(out.contains("Beneath the Lisbon sky"), "the answer: {out}");
    assert!(!out.contains("Paris"), "{out}");
    // The streamed poem is shown once, under its header (issue 15's defect 7:
    // the console showed the tokens, then the whole message again).
    assert_eq!(out.matches("TERMINATE").count(), 1, "{out}");
    let after_header = out
        .rsplit_once("assistant (to user):\n\n")
        .map(|(_, poem)| poem);
    assert!(
        after_header.is_some_and(|poem| poem.starts_with("Beneath the Lisbon sky")),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
