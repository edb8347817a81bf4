//! A mock OpenAI-compatible server for tests: real TCP on 127.0.0.1, real
//! HTTP/1.1, real server-sent events, one scripted reply per request, and a
//! record of every request it got.

#![allow(dead_code)] // each test binary uses a different part

pub mod notebook;
pub mod poets;
pub mod process;
pub mod tls;
pub mod weather;
pub mod ws;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How the mock answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A 200 event stream: each item is one event's data, written in one
    /// write, then `data: [DONE]`.
    Sse(Vec<String>),
    /// A 200 stream of exactly these writes (no `[DONE]` added).
    Raw(Vec<Vec<u8>>),
    /// A response with this status, headers and body.
    Status(u16, Vec<(String, String)>, String),
    /// SSE events with a pause before each, noting whether the client left.
    Slow(Vec<String>, Duration),
    /// Headers, then silence until the client gives up.
    Stall,
    /// SSE events in batches: each batch in one write, then a wait (at
    /// most 10 s) for the test's go-ahead before the next batch; then
    /// `[DONE]`. Without a go-ahead the stream ends unfinished.
    Gated(Vec<Vec<String>>, crossbeam_channel::Receiver<()>),
}

/// A request as the mock received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct MockServer {
    addr: SocketAddr,
    script: Arc<Mutex<VecDeque<Reply>>>,
    requests: Receiver<Request>,
    /// Set when a `Slow` reply found the client gone before the end.
    pub client_left_early: Arc<AtomicBool>,
    /// Events of `Slow` replies written before the client left.
    pub slow_events_written: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl MockServer {
    pub fn start(replies: Vec<Reply>) -> MockServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let script = Arc::new(Mutex::new(VecDeque::from(replies)));
        let (tx, requests) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let client_left_early = Arc::new(AtomicBool::new(false));
        let slow_events_written = Arc::new(AtomicUsize::new(0));
        let accept = {
            let (script, stop, left, written) = (
                script.clone(),
                stop.clone(),
                client_left_early.clone(),
                slow_events_written.clone(),
            );
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (script, tx, left, written, stop) = (
                        script.clone(),
                        tx.clone(),
                        left.clone(),
                        written.clone(),
                        stop.clone(),
                    );
                    std::thread::spawn(move || serve(conn, script, tx, left, written, stop));
                }
            })
        };
        MockServer {
            addr,
            script,
            requests,
            client_left_early,
            slow_events_written,
            stop,
            accept: Some(accept),
        }
    }

    /// The base URL to configure (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The next request received, waiting at most 5 s.
    pub fn request(&self) -> Option<Request> {
        self.requests.recv_timeout(Duration::from_secs(5)).ok()
    }

    /// Every request received so far, without waiting.
    pub fn received(&self) -> Vec<Request> {
        self.requests.try_iter().collect()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn serve(
    conn: TcpStream,
    script: Arc<Mutex<VecDeque<Reply>>>,
    requests: Sender<Request>,
    left_early: Arc<AtomicBool>,
    written: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return; // the accept loop's wake-up call, or a client that left
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = requests.send(Request {
        path,
        headers,
        body,
    });
    let reply = script
        .lock()
        .ok()
        .and_then(|mut s| s.pop_front())
        .unwrap_or_else(|| {
            Reply::Status(
                500,
                vec![],
                r#"{"error":{"message":"mock: no reply scripted"}}"#.into(),
            )
        });
    let sse_head =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
    match reply {
        Reply::Sse(events) => {
            let _ = out.write_all(sse_head.as_bytes());
            for data in events.iter().map(String::as_str).chain(["[DONE]"]) {
                if out
                    .write_all(format!("data: {data}\n\n").as_bytes())
                    .is_err()
                {
                    return;
                }
            }
        }
        Reply::Raw(writes) => {
            let _ = out.write_all(sse_head.as_bytes());
            for bytes in writes {
                if out.write_all(&bytes).is_err() {
                    return;
                }
            }
        }
        Reply::Status(status, extra, body) => {
            let mut head = format!(
                "HTTP/1.1 {status} Mock\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in extra {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = out.write_all(head.as_bytes());
            let _ = out.write_all(body.as_bytes());
        }
        Reply::Slow(events, pause) => {
            let _ = out.write_all(sse_head.as_bytes());
            for data in &events {
                std::thread::sleep(pause);
                if out
                    .write_all(format!("data: {data}\n\n").as_bytes())
                    .is_err()
                {
                    left_early.store(true, Ordering::SeqCst);
                    return;
                }
                let _ = out.flush();
                written.fetch_add(1, Ordering::SeqCst);
            }
            let _ = out.write_all(b"data: [DONE]\n\n");
        }
        Reply::Gated(batches, go) => {
            let _ = out.write_all(sse_head.as_bytes());
            for (i, batch) in batches.iter().enumerate() {
                if i > 0 && go.recv_timeout(Duration::from_secs(10)).is_err() {
                    return;
                }
                let bytes: String = batch.iter().map(|d| format!("data: {d}\n\n")).collect();
                if out.write_all(bytes.as_bytes()).is_err() {
                    return;
                }
                let _ = out.flush();
            }
            let _ = out.write_all(b"data: [DONE]\n\n");
        }
        Reply::Stall => {
            let _ = out.write_all(sse_head.as_bytes());
            // Hold the connection until the client closes it (or 10 s pass).
            let mut byte = [0u8; 1];
            while !stop.load(Ordering::SeqCst) {
                match reader.read(&mut byte) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
    }
    let _ = out.flush();
    let _ = out.shutdown(std::net::Shutdown::Write);
}

/// A content chunk as OpenAI streams it.
pub fn content_chunk(text: &str) -> String {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "mock-model",
           "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
    .to_string()
}

/// The role-only first chunk.
pub fn role_chunk() -> String {
    json!({"object": "chat.completion.chunk", "model": "mock-model",
           "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]})
    .to_string()
}

/// The last choice chunk.
pub fn finish_chunk(reason: &str) -> String {
    json!({"object": "chat.completion.chunk", "model": "mock-model",
           "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
    .to_string()
}

/// The usage chunk of `stream_options.include_usage`.
pub fn usage_chunk(prompt: u64, completion: u64) -> String {
    json!({"object": "chat.completion.chunk", "model": "mock-model", "choices": [],
           "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                     "total_tokens": prompt + completion}})
    .to_string()
}

/// A tool-call fragment chunk.
pub fn tool_chunk(fragment: Value) -> String {
    json!({"object": "chat.completion.chunk", "model": "mock-model",
           "choices": [{"index": 0, "delta": {"tool_calls": [fragment]}, "finish_reason": null}]})
    .to_string()
}

/// A whole streamed text reply: role chunk, one chunk per piece, finish, usage.
pub fn streamed_text(pieces: &[&str]) -> Reply {
    let mut events = vec![role_chunk()];
    events.extend(pieces.iter().map(|p| content_chunk(p)));
    events.push(finish_chunk("stop"));
    events.push(usage_chunk(10, pieces.len() as u64));
    Reply::Sse(events)
}

/// A streamed call of one tool, its arguments in two pieces.
pub fn streamed_tool_call(id: &str, name: &str, arguments: &str) -> Reply {
    let (a, b) = arguments.split_at(arguments.len() / 2);
    Reply::Sse(vec![
        role_chunk(),
        tool_chunk(json!({"index": 0, "id": id, "type": "function",
                          "function": {"name": name, "arguments": ""}})),
        tool_chunk(json!({"index": 0, "function": {"arguments": a}})),
        tool_chunk(json!({"index": 0, "function": {"arguments": b}})),
        finish_chunk("tool_calls"),
        usage_chunk(20, 5),
    ])
}

/// The property tests' settings: `default_cases` cases with a fixed seed
/// (0x5eed), so CI is reproducible; `PROPTEST_CASES` and
/// `PROPTEST_SEED=random` (or a number) explore.
pub fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, RngSeed};
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_cases),
        failure_persistence: None,
        rng_seed: match std::env::var("PROPTEST_SEED").as_deref() {
            Ok("random") => RngSeed::Random,
            Ok(seed) => RngSeed::Fixed(seed.parse().unwrap_or(0x5eed)),
            Err(_) => RngSeed::Fixed(0x5eed),
        },
        ..Config::default()
    }
}

/// A test's way to say "this must have worked": the value, or a panic
/// that says what failed and why.
pub trait Must<T> {
    fn must(self, what: &str) -> T;
}

impl<T, E: std::fmt::Debug> Must<T> for Result<T, E> {
    fn must(self, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{what}: {e:?}"))
    }
}

impl<T> Must<T> for Option<T> {
    fn must(self, what: &str) -> T {
        self.unwrap_or_else(|| panic!("{what}: nothing"))
    }
}

/// Waits (bounded: 10 s) until `done`.
pub fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
