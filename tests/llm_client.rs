//! The OpenAI-compatible client against a mock server on 127.0.0.1: streaming
//! into the default stream, tool calls and server quirks, errors, retries and
//! fallback, timeouts, and a consumer that goes away.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agentio::io::{self, Event, IOBuffer, IOStream};
use agentio::llm::{
    ChatRequest, ConfigEntry, LlmConfig, Message, ModelClient, OpenAIClient, OpenAIWrapper,
};
use agentio::{Error, Result};
use common::{
    MockServer, Reply, content_chunk, finish_chunk, role_chunk, streamed_text, tool_chunk,
    usage_chunk,
};
use serde_json::json;

fn config(servers: &[&MockServer]) -> LlmConfig {
    LlmConfig::new(
        servers
            .iter()
            .map(|s| {
                ConfigEntry::new("mock-model")
                    .api_key("sk-test")
                    .base_url(s.base_url())
            })
            .collect(),
    )
    .timeout(Duration::from_secs(5))
    .max_retry_wait(Duration::from_millis(50))
    .cache_seed(None)
}

fn ask(stream: bool) -> ChatRequest {
    ChatRequest::new(vec![Message::system("Be brief."), Message::user("Hi")]).stream(stream)
}

fn stream_events(buffer: &IOBuffer) -> Vec<String> {
    buffer
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Stream(s) => Some(s.content),
            _ => None,
        })
        .collect()
}

#[test]
fn streamed_fragments_reach_the_default_stream_in_order() -> Result<()> {
    let pieces = ["In Paris", " the sun", " is shining.\n", "TERMINATE"];
    let mock = MockServer::start(vec![streamed_text(&pieces)]);
    let client = OpenAIWrapper::new(config(&[&mock]))?;
    let buffer = Arc::new(IOBuffer::new());
    let reply = io::with_default(buffer.clone(), || client.create(&ask(true)))?;
    assert_eq!(
        stream_events(&buffer),
        pieces,
        "one stream event per fragment, none for the role chunk"
    );
    assert_eq!(reply.message.text(), pieces.concat());
    assert!(reply.streamed);
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        (reply.usage.prompt_tokens, reply.usage.total_tokens),
        (10, 14)
    );
    assert_eq!(reply.model, "mock-model");
    Ok(())
}

#[test]
fn the_request_body_carries_model_messages_tools_and_stream_options() -> Result<()> {
    let mock = MockServer::start(vec![streamed_text(&["ok"])]);
    let client = OpenAIWrapper::new(config(&[&mock]).temperature(0.5))?;
    let mut assistant = Message::tool_calls(vec![agentio::io::ToolCall::new(
        "call_1",
        agentio::io::FunctionCall::new("weather_forecast", r#"{"city":"Paris"}"#),
    )]);
    assistant.name = Some("chatbot".into());
    let tool = json!({"type": "function", "function": {"name": "weather_forecast",
        "description": "Weather forecast for a city", "parameters": {"type": "object",
        "properties": {"city": {"type": "string", "description": "city"}}, "required": ["city"]}}});
    let request = ChatRequest::new(vec![
        Message::user("Weather in Paris?").with_name("user_proxy"),
        assistant,
        Message::tool("call_1", "Sunny."),
    ])
    .tools(vec![tool.clone()])
    .stream(true);
    io::with_default(Arc::new(IOBuffer::new()), || client.create(&request))?;
    let got = mock.request().ok_or(Error::InputClosed)?;
    assert_eq!(got.path, "/v1/chat/completions");
    assert_eq!(got.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(got.body["model"], "mock-model");
    assert_eq!(got.body["stream"], true);
    assert_eq!(got.body["stream_options"], json!({"include_usage": true}));
    assert_eq!(got.body["temperature"], 0.5);
    assert_eq!(got.body["tools"], json!([tool]));
    assert_eq!(
        got.body["messages"],
        json!([
            {"role": "user", "content": "Weather in Paris?", "name": "user_proxy"},
            {"role": "assistant", "content": null, "name": "chatbot", "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "weather_forecast", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "content": "Sunny.", "tool_call_id": "call_1"}
        ])
    );
    Ok(())
}

/// Streams `events` and returns the calls as (id, name, arguments).
fn tool_calls_from(events: Vec<String>) -> Result<Vec<(String, String, String)>> {
    let mock = MockServer::start(vec![Reply::Sse(events)]);
    let client = OpenAIClient::new(
        ConfigEntry::new("mock-model").base_url(mock.base_url()),
        &config(&[&mock]),
    );
    let buffer = Arc::new(IOBuffer::new());
    let reply = io::with_default(buffer.clone(), || client.create(&ask(true)))?;
    assert!(
        stream_events(&buffer).is_empty(),
        "tool calls stream no text"
    );
    Ok(reply
        .message
        .tool_calls
        .into_iter()
        .map(|c| (c.id, c.function.name, c.function.arguments))
        .collect())
}

fn call(id: &str, name: &str, args: &str) -> (String, String, String) {
    (id.into(), name.into(), args.into())
}

#[test]
fn parallel_tool_calls_by_index() -> Result<()> {
    let calls = tool_calls_from(vec![
        role_chunk(),
        tool_chunk(
            json!({"index": 0, "id": "call_a", "type": "function", "function": {"name": "weather", "arguments": ""}}),
        ),
        tool_chunk(
            json!({"index": 1, "id": "call_b", "type": "function", "function": {"name": "weather", "arguments": ""}}),
        ),
        tool_chunk(json!({"index": 0, "function": {"arguments": "{\"city\":\"Paris\"}"}})),
        tool_chunk(json!({"index": 1, "function": {"arguments": "{\"city\":\"Rome\"}"}})),
        finish_chunk("tool_calls"),
    ])?;
    assert_eq!(
        calls,
        [
            call("call_a", "weather", r#"{"city":"Paris"}"#),
            call("call_b", "weather", r#"{"city":"Rome"}"#)
        ]
    );
    Ok(())
}

#[test]
fn missing_index_empty_continuation_ids_and_whole_calls() -> Result<()> {
    let calls = tool_calls_from(vec![
        tool_chunk(
            json!({"id": "call_a", "function": {"name": "weather", "arguments": "{\"city\":"}}),
        ),
        tool_chunk(json!({"id": "", "function": {"arguments": "\"Oslo\"}"}})),
        tool_chunk(json!({"id": "call_b", "function": {"name": "now", "arguments": ""}})),
        finish_chunk("tool_calls"),
    ])?;
    assert_eq!(
        calls,
        [
            call("call_a", "weather", r#"{"city":"Oslo"}"#),
            call("call_b", "now", "{}")
        ]
    );
    Ok(())
}

#[test]
fn azure_empty_first_chunk_null_choices_and_missing_delta_are_skipped() -> Result<()> {
    let mock = MockServer::start(vec![Reply::Sse(vec![
        json!({"choices": [], "prompt_filter_results": [{"prompt_index": 0}]}).to_string(),
        json!({"choices": null}).to_string(),
        json!({"id": "x"}).to_string(),
        content_chunk("Hello"),
        json!({"choices": [{"index": 0, "finish_reason": "stop"}]}).to_string(),
        json!({"choices": [], "usage": {}}).to_string(),
    ])]);
    let client = OpenAIWrapper::new(config(&[&mock]))?;
    let buffer = Arc::new(IOBuffer::new());
    let reply = io::with_default(buffer.clone(), || client.create(&ask(true)))?;
    assert_eq!(reply.message.text(), "Hello");
    assert_eq!(stream_events(&buffer), ["Hello"]);
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    Ok(())
}

#[test]
fn reasoning_fragments_stay_out_of_the_answer() -> Result<()> {
    let mock = MockServer::start(vec![Reply::Sse(vec![
        json!({"choices": [{"index": 0, "delta": {"reasoning_content": "think"}}]}).to_string(),
        json!({"choices": [{"index": 0, "delta": {"reasoning": "ing"}}]}).to_string(),
        content_chunk("42"),
        finish_chunk("stop"),
    ])]);
    let client = OpenAIWrapper::new(config(&[&mock]))?;
    let buffer = Arc::new(IOBuffer::new());
    let reply = io::with_default(buffer.clone(), || client.create(&ask(true)))?;
    assert_eq!(reply.message.text(), "42");
    assert_eq!(reply.reasoning.as_deref(), Some("thinking"));
    assert_eq!(stream_events(&buffer), ["42"]);
    Ok(())
}

#[test]
fn an_error_inside_a_200_stream_is_an_error_with_its_integer_code() -> Result<()> {
    let mock = MockServer::start(vec![Reply::Sse(vec![
        content_chunk("Hel"),
        json!({"error": {"message": "context too long", "code": 500}}).to_string(),
    ])]);
    let client = OpenAIClient::new(
        ConfigEntry::new("m").base_url(mock.base_url()),
        &config(&[&mock]),
    );
    let result = io::with_default(Arc::new(IOBuffer::new()), || client.create(&ask(true)));
    // "Hel" was shown before the error: it says so, with the API error inside.
    let result = match result {
        Err(Error::Interrupted(cause)) => Err(*cause),
        other => other,
    };
    match result {
        Err(Error::Api(api)) if api.status == 200 => {
            assert_eq!(api.message, "context too long");
            assert_eq!(api.code.as_deref(), Some("500"));
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    Ok(())
}

#[test]
fn http_errors_keep_the_servers_message() {
    let mock = MockServer::start(vec![Reply::Status(
        400,
        vec![],
        r#"{"error":{"message":"Invalid 'messages'","type":"invalid_request_error","param":null,"code":null}}"#.into(),
    )]);
    let client = OpenAIClient::new(
        ConfigEntry::new("m").base_url(mock.base_url()),
        &config(&[&mock]),
    );
    let err = client.create(&ask(false)).err();
    assert!(
        matches!(&err, Some(Error::Api(api)) if api.status == 400 && api.message == "Invalid 'messages'"),
        "{err:?}"
    );
}

#[test]
fn non_streamed_completions_send_nothing_to_the_stream() -> Result<()> {
    let body = json!({"id": "c", "model": "mock-model", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": "Whole."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}});
    let mock = MockServer::start(vec![Reply::Status(200, vec![], body.to_string())]);
    let client = OpenAIWrapper::new(config(&[&mock]))?;
    let buffer = Arc::new(IOBuffer::new());
    let reply = io::with_default(buffer.clone(), || client.create(&ask(false)))?;
    assert_eq!(reply.message.text(), "Whole.");
    assert!(!reply.streamed);
    assert!(buffer.events().is_empty());
    assert_eq!(reply.usage.total_tokens, 5);
    assert_eq!(
        mock.request().map(|r| r.body["stream"].clone()),
        Some(json!(false))
    );
    Ok(())
}

#[test]
fn a_response_header_past_8_kib_is_a_clear_error_and_one_under_it_is_fine() {
    let body = json!({"id": "c", "model": "mock-model", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": "Whole."}, "finish_reason": "stop"}]});
    let header = |kib: usize| vec![("x-padding".to_owned(), "p".repeat(kib * 1024))];
    let mock = MockServer::start(vec![
        Reply::Status(200, header(7), body.to_string()),
        Reply::Status(200, header(9), body.to_string()),
    ]);
    let client = OpenAIClient::new(
        ConfigEntry::new("m").base_url(mock.base_url()),
        &config(&[&mock]),
    );
    let fine = client.create(&ask(false));
    assert!(
        matches!(&fine, Ok(reply) if reply.message.text() == "Whole."),
        "{fine:?}"
    );
    let err = client.create(&ask(false)).err();
    assert!(
        matches!(&err, Some(Error::Http(e)) if e.to_string().contains("header")),
        "{err:?}"
    );
}

#[test]
fn retries_429_after_retry_after_ms_and_500_then_succeeds() -> Result<()> {
    let mock = MockServer::start(vec![
        Reply::Status(
            429,
            vec![("retry-after-ms".into(), "10".into())],
            r#"{"error":{"message":"slow down","code":"rate_limit_exceeded"}}"#.into(),
        ),
        Reply::Status(500, vec![], "oops".into()),
        streamed_text(&["done"]),
    ]);
    let client = OpenAIWrapper::new(config(&[&mock]))?;
    let reply = io::with_default(Arc::new(IOBuffer::new()), || client.create(&ask(true)))?;
    assert_eq!(reply.message.text(), "done");
    assert_eq!(mock.received().len(), 3);
    Ok(())
}

#[test]
fn insufficient_quota_is_not_retried_and_the_next_config_is_tried() -> Result<()> {
    let broke = MockServer::start(vec![Reply::Status(
        429,
        vec![],
        r#"{"error":{"message":"You exceeded your current quota","code":"insufficient_quota"}}"#
            .into(),
    )]);
    let backup = MockServer::start(vec![streamed_text(&["from backup"])]);
    let client = OpenAIWrapper::new(config(&[&broke, &backup]))?;
    let reply = io::with_default(Arc::new(IOBuffer::new()), || client.create(&ask(true)))?;
    assert_eq!(reply.message.text(), "from backup");
    assert_eq!(broke.received().len(), 1, "billing errors are not retried");
    assert_eq!(backup.received().len(), 1);
    Ok(())
}

#[test]
fn when_every_config_fails_the_error_lists_each_attempt() -> Result<()> {
    let first = MockServer::start(vec![Reply::Status(
        401,
        vec![],
        r#"{"error":{"message":"bad key"}}"#.into(),
    )]);
    let second = MockServer::start(vec![
        Reply::Status(503, vec![], "busy".into()),
        Reply::Status(503, vec![], "busy".into()),
        Reply::Status(503, vec![], "still busy".into()),
    ]);
    let client = OpenAIWrapper::new(config(&[&first, &second]))?;
    let err = client.create(&ask(false)).err();
    let Some(Error::AllAttemptsFailed(errors)) = &err else {
        panic!("expected every attempt listed, got {err:?}");
    };
    let statuses: Vec<u16> = errors
        .iter()
        .filter_map(|e| match e {
            Error::Api(api) => Some(api.status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, [401, 503, 503, 503], "one try, then two retries");
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.contains("bad key") && text.contains("still busy"),
        "{text}"
    );
    Ok(())
}

#[test]
fn a_connection_dropped_mid_stream_is_an_error_not_a_short_answer() {
    let mock = MockServer::start(vec![Reply::Raw(vec![
        format!("data: {}\n\n", role_chunk()).into_bytes(),
        format!("data: {}\n\n", content_chunk("partial")).into_bytes(),
    ])]);
    let client = OpenAIClient::new(
        ConfigEntry::new("m").base_url(mock.base_url()),
        &config(&[&mock]),
    );
    let buffer = Arc::new(IOBuffer::new());
    let result = io::with_default(buffer.clone(), || client.create(&ask(true)));
    assert!(
        matches!(&result, Err(Error::Interrupted(cause)) if matches!(**cause, Error::Protocol(_))),
        "{result:?}"
    );
    assert_eq!(
        stream_events(&buffer),
        ["partial"],
        "what arrived was shown"
    );
}

#[test]
fn a_stalled_server_hits_the_read_timeout() {
    let mock = MockServer::start(vec![Reply::Stall]);
    let config = config(&[&mock])
        .timeout(Duration::from_millis(300))
        .max_retries(0);
    let client = OpenAIWrapper::new(config).unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let result = io::with_default(Arc::new(IOBuffer::new()), || client.create(&ask(true)));
    assert!(result.is_err());
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "took {:?}",
        start.elapsed()
    );
}

/// A stream whose reader goes away after `allowed` events.
struct Leaving {
    allowed: usize,
    seen: AtomicUsize,
}

impl IOStream for Leaving {
    fn print(&self, _: &[&str], _: &str, _: &str, _: bool) -> Result<()> {
        Ok(())
    }
    fn input(&self, _: &str, _: bool) -> Result<String> {
        Err(Error::InputClosed)
    }
    fn send(&self, _: &Event) -> Result<()> {
        if self.seen.fetch_add(1, Ordering::SeqCst) >= self.allowed {
            Err(Error::InputClosed)
        } else {
            Ok(())
        }
    }
}

#[test]
fn a_failing_consumer_stops_the_read_and_closes_the_connection() {
    let words: Vec<String> = (0..100).map(|i| content_chunk(&format!("w{i} "))).collect();
    let mock = MockServer::start(vec![Reply::Slow(words, Duration::from_millis(10))]);
    let client = OpenAIWrapper::new(config(&[&mock])).unwrap_or_else(|e| panic!("{e}"));
    let leaving = Arc::new(Leaving {
        allowed: 3,
        seen: AtomicUsize::new(0),
    });
    let result = io::with_default(leaving.clone(), || client.create(&ask(true)));
    assert!(
        matches!(result, Err(Error::InputClosed)),
        "the stream's error, unretried: {result:?}"
    );
    assert_eq!(
        mock.received().len(),
        1,
        "not retried: the user saw part of it"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !mock.client_left_early.load(Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        mock.client_left_early.load(Ordering::SeqCst),
        "the mock saw the connection close"
    );
    let written = mock.slow_events_written.load(Ordering::SeqCst);
    assert!(
        written < 20,
        "the server was stopped early, after {written} of 100 chunks"
    );
}

#[test]
fn usage_and_cost_follow_the_configured_price() -> Result<()> {
    let mock = MockServer::start(vec![Reply::Sse(vec![
        content_chunk("x"),
        finish_chunk("stop"),
        usage_chunk(1000, 500),
    ])]);
    let entry = ConfigEntry::new("mock-model")
        .base_url(mock.base_url())
        .price(0.01, 0.03);
    let client = OpenAIWrapper::new(LlmConfig::new(vec![entry]).cache_seed(None))?;
    let reply = io::with_default(Arc::new(IOBuffer::new()), || client.create(&ask(true)))?;
    assert!((reply.cost - 0.025).abs() < 1e-12, "{}", reply.cost);
    Ok(())
}

fn temp_cache(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("agentio-cache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_second_identical_call_is_answered_from_the_disk_cache() -> Result<()> {
    let root = temp_cache("hit");
    let mock = MockServer::start(vec![streamed_text(&["cached ", "answer"])]);
    let config = config(&[&mock]).cache_seed(Some(7)).cache_root(&root);
    let first = io::with_default(Arc::new(IOBuffer::new()), || {
        OpenAIWrapper::new(config.clone())?.create(&ask(true))
    })?;
    assert!(!first.cached);
    // A new client, as in a rerun of the program.
    let buffer = Arc::new(IOBuffer::new());
    let second = io::with_default(buffer.clone(), || {
        OpenAIWrapper::new(config.clone())?.create(&ask(true))
    })?;
    assert!(second.cached);
    assert_eq!(second.message.text(), "cached answer");
    assert_eq!(
        stream_events(&buffer),
        ["cached answer"],
        "a cached reply still reaches the stream"
    );
    assert_eq!(mock.received().len(), 1, "the model was called once");
    assert!(root.join("7").is_dir());
    let _ = std::fs::remove_dir_all(root);
    Ok(())
}

#[test]
fn a_corrupt_cache_entry_is_a_miss_and_is_replaced() -> Result<()> {
    let root = temp_cache("corrupt");
    let mock = MockServer::start(vec![streamed_text(&["fresh"]), streamed_text(&["unused"])]);
    let config = config(&[&mock]).cache_seed(Some(1)).cache_root(&root);
    let wrapper = OpenAIWrapper::new(config)?;
    let client = OpenAIClient::new(
        ConfigEntry::new("mock-model")
            .api_key("sk-test")
            .base_url(mock.base_url()),
        wrapper.config(),
    );
    let key = agentio::unversioned::DiskCache::key(&client.body(&ask(true)));
    std::fs::create_dir_all(root.join("1")).map_err(Error::Io)?;
    std::fs::write(
        root.join("1").join(format!("{key}.json")),
        b"{\"message\": trunc",
    )
    .map_err(Error::Io)?;
    let reply = io::with_default(Arc::new(IOBuffer::new()), || wrapper.create(&ask(true)))?;
    assert_eq!(reply.message.text(), "fresh");
    assert!(!reply.cached);
    let again = io::with_default(Arc::new(IOBuffer::new()), || wrapper.create(&ask(true)))?;
    assert!(again.cached, "the corrupt entry was replaced");
    assert_eq!(mock.received().len(), 1);
    let _ = std::fs::remove_dir_all(root);
    Ok(())
}

#[test]
fn x_should_retry_overrides_the_status_rules() -> Result<()> {
    let mock = MockServer::start(vec![
        Reply::Status(
            400,
            vec![
                ("x-should-retry".into(), "true".into()),
                ("retry-after".into(), "0".into()),
            ],
            "odd".into(),
        ),
        streamed_text(&["ok"]),
    ]);
    let client = OpenAIWrapper::new(config(&[&mock]))?;
    let reply = io::with_default(Arc::new(IOBuffer::new()), || client.create(&ask(true)))?;
    assert_eq!(reply.message.text(), "ok");
    assert_eq!(mock.received().len(), 2);

    let mock = MockServer::start(vec![Reply::Status(
        503,
        vec![("x-should-retry".into(), "false".into())],
        "down".into(),
    )]);
    let client = OpenAIWrapper::new(config(&[&mock]))?;
    assert!(client.create(&ask(false)).is_err());
    assert_eq!(mock.received().len(), 1, "the server said not to retry");
    Ok(())
}

/// The caller says where a reply streams: the fragments go to the stream
/// given to `create_to`, never to the default one, each made once with the
/// speaker the request names (the first also with its recipient).
#[test]
fn create_to_streams_into_the_stream_it_is_given_with_the_speaker() -> Result<()> {
    let mock = MockServer::start(vec![streamed_text(&["Sun ", "in ", "Paris."])]);
    let client = OpenAIClient::new(
        ConfigEntry::new("m").base_url(mock.base_url()),
        &config(&[&mock]),
    );
    let default = Arc::new(IOBuffer::new());
    let given = IOBuffer::new();
    let request = ask(true).speaker("chatbot", "user_proxy");
    let reply = io::with_default(default.clone(), || client.create_to(&request, &given))?;
    assert_eq!(reply.message.text(), "Sun in Paris.");
    assert!(reply.streamed);
    assert!(default.events().is_empty(), "{:?}", default.events());
    let fragments: Vec<(String, Option<String>, Option<String>)> = given
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Stream(s) => Some((s.content, s.sender, s.recipient)),
            _ => None,
        })
        .collect();
    let chatbot = Some("chatbot".to_owned());
    assert_eq!(
        fragments,
        [
            ("Sun ".into(), chatbot.clone(), Some("user_proxy".into())),
            ("in ".into(), chatbot.clone(), None),
            ("Paris.".into(), chatbot, None),
        ]
    );
    Ok(())
}

/// A stream that records what the client queues and flushes, and lets the
/// mock send its second batch only once the first batch's tokens were
/// flushed.
struct Recording {
    log: std::sync::Mutex<Vec<String>>,
    first_batch: usize,
    go: crossbeam_channel::Sender<()>,
}

impl Recording {
    fn log(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl IOStream for Recording {
    fn print(&self, _: &[&str], _: &str, _: &str, _: bool) -> Result<()> {
        Ok(())
    }
    fn input(&self, _: &str, _: bool) -> Result<String> {
        Err(Error::InputClosed)
    }
    fn send(&self, event: &Event) -> Result<()> {
        self.log().push(format!("send {:?}", event.kind()));
        Ok(())
    }
    fn queue(&self, event: &Event) -> Result<()> {
        if let Event::Stream(s) = event {
            self.log().push(format!("queue {}", s.content));
        }
        Ok(())
    }
    fn flush(&self) -> Result<()> {
        let mut log = self.log();
        let queued = log.iter().filter(|l| l.starts_with("queue")).count();
        log.push("flush".to_owned());
        if queued == self.first_batch {
            let _ = self.go.send(());
        }
        Ok(())
    }
}

#[test]
fn tokens_that_arrive_together_are_queued_and_flushed_before_the_client_waits() -> Result<()> {
    // Five tokens in one write; the rest only once those five were flushed:
    // a client that waited on the network with tokens held would never see
    // the rest (the mock gives up after 10 s and the reply is cut).
    let first: Vec<String> = std::iter::once(role_chunk())
        .chain(["a", "b", "c", "d", "e"].map(content_chunk))
        .collect();
    let second: Vec<String> = ["f", "g"]
        .map(content_chunk)
        .into_iter()
        .chain([finish_chunk("stop")])
        .collect();
    let (go, gate) = crossbeam_channel::bounded(1);
    let mock = MockServer::start(vec![Reply::Gated(vec![first, second], gate)]);
    let client = OpenAIWrapper::new(config(&[&mock]))?;
    let recording = Arc::new(Recording {
        log: std::sync::Mutex::new(Vec::new()),
        first_batch: 5,
        go,
    });
    let reply = io::with_default(recording.clone(), || client.create(&ask(true)))?;
    assert_eq!(reply.message.text(), "abcdefg");
    let log = recording.log().clone();
    let tokens: Vec<&str> = log
        .iter()
        .filter_map(|l| l.strip_prefix("queue "))
        .collect();
    assert_eq!(tokens, ["a", "b", "c", "d", "e", "f", "g"], "{log:?}");
    // The first five were queued with no flush between them (they came in
    // one read), and flushed before the client read again.
    let at = |entry: &str| log.iter().position(|l| l == entry);
    let (a, e, f) = (at("queue a"), at("queue e"), at("queue f"));
    let between = |from: Option<usize>, to: Option<usize>| match (from, to) {
        (Some(from), Some(to)) => log[from..to].iter().filter(|l| *l == "flush").count(),
        _ => usize::MAX,
    };
    assert_eq!(between(a, e), 0, "one batch, no flush inside it: {log:?}");
    assert!(between(e, f) >= 1, "flushed before waiting: {log:?}");
    assert_eq!(
        log.last().map(String::as_str),
        Some("flush"),
        "nothing left queued: {log:?}"
    );
    assert!(!log.iter().any(|l| l.starts_with("send Stream")), "{log:?}");
    Ok(())
}

#[test]
fn a_tee_and_a_filter_pass_queued_tokens_and_the_flush_through() -> Result<()> {
    // The client's queue and flush reach the stream behind a tee (as its
    // primary and as a secondary) and behind a filter that lets tokens by.
    let pieces = ["one ", "two"];
    let mock = MockServer::start(vec![streamed_text(&pieces)]);
    let client = OpenAIWrapper::new(config(&[&mock]))?;
    let (go, _gate) = crossbeam_channel::bounded(8);
    let recording = |go: &crossbeam_channel::Sender<()>| {
        Arc::new(Recording {
            log: std::sync::Mutex::new(Vec::new()),
            first_batch: usize::MAX,
            go: go.clone(),
        })
    };
    let (primary, secondary) = (recording(&go), recording(&go));
    let tee = io::Tee::new(Arc::new(io::Filtered::new(
        primary.clone(),
        io::Filter::all(),
    )))
    .with(secondary.clone());
    io::with_default(Arc::new(tee), || client.create(&ask(true)))?;
    for log in [primary.log().clone(), secondary.log().clone()] {
        let tokens: Vec<&str> = log
            .iter()
            .filter_map(|l| l.strip_prefix("queue "))
            .collect();
        assert_eq!(tokens, pieces, "{log:?}");
        assert_eq!(log.last().map(String::as_str), Some("flush"), "{log:?}");
    }
    Ok(())
}

/// A server that keeps its connections alive, as real ones do: chunked SSE
/// replies, any number per connection. Counts the connections it accepted.
struct KeepAlive {
    addr: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl KeepAlive {
    fn start(events: &'static [&'static str]) -> KeepAlive {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (count, stopping) = (connections.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            std::thread::scope(|scope| {
                for conn in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    count.fetch_add(1, Ordering::SeqCst);
                    scope.spawn(move || Self::serve(conn, events));
                }
            });
        });
        KeepAlive {
            addr,
            connections,
            stop,
            accept: Some(accept),
        }
    }

    /// Answers every request on `conn` until the client closes it.
    fn serve(mut conn: std::net::TcpStream, events: &[&str]) {
        use std::io::{Read, Write};
        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
        let mut pending = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            // A request: its head, then `content-length` bytes of body.
            let head_end = loop {
                if let Some(at) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
                match conn.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => pending.extend_from_slice(&chunk[..n]),
                }
            };
            let head = String::from_utf8_lossy(&pending[..head_end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while pending.len() < head_end + length {
                match conn.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => pending.extend_from_slice(&chunk[..n]),
                }
            }
            pending.drain(..head_end + length);
            let mut reply = String::from(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
            );
            for data in events.iter().copied().chain(["[DONE]"]) {
                let event = format!("data: {data}\n\n");
                reply.push_str(&format!("{:x}\r\n{event}\r\n", event.len()));
            }
            // The body's end comes a moment after `[DONE]`, as on a network.
            if conn.write_all(reply.as_bytes()).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
            if conn.write_all(b"0\r\n\r\n").is_err() {
                return;
            }
        }
    }

    fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.addr); // wakes the accept
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

#[test]
fn a_streamed_reply_read_to_its_end_leaves_its_connection_for_the_next_call() -> Result<()> {
    const EVENTS: &[&str] = &[
        r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"content":" there"},"finish_reason":"stop"}]}"#,
    ];
    let server = KeepAlive::start(EVENTS);
    {
        let config = LlmConfig::new(vec![
            ConfigEntry::new("mock-model")
                .api_key("sk-test")
                .base_url(server.base_url()),
        ])
        .timeout(Duration::from_secs(5))
        .cache_seed(None);
        let client = OpenAIWrapper::new(config)?;
        for _ in 0..3 {
            let buffer = Arc::new(IOBuffer::new());
            let reply = io::with_default(buffer.clone(), || client.create(&ask(true)))?;
            assert_eq!(reply.message.text(), "Hello there");
            assert_eq!(stream_events(&buffer), ["Hello", " there"]);
        }
    } // the client and its pooled connection go: the server's threads end
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        1,
        "three calls, one connection"
    );
    Ok(())
}
