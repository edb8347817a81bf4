//! Load generator for the websocket chat: C concurrent clients for R rounds
//! against the `websocket_chat` server code, with a mock OpenAI-compatible
//! server, each in its own process, measured from `/proc`.
//!
//! ```sh
//! cargo run --release --example load -- --clients 64 --rounds 20
//! cargo run --release --example load -- --idle 10000   # needs `ulimit -n` above 10,100
//! ```
//!
//! Workload (the seed notebook): a client connects and sends one message; the
//! server's agents make two streamed model calls to the mock (a
//! `weather_forecast` tool call, then a 200-word poem one word per chunk
//! ending in TERMINATE); the client reads until the chat closes.

#[path = "websocket_chat/chat.rs"]
#[allow(dead_code)] // the example's main uses the rest
mod chat;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentio::llm::{ConfigEntry, LlmConfig};
use serde_json::{Value, json};
use tungstenite::Message;

const MESSAGE: &str = "Check out the weather in Paris and write a poem about it.";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    match args.first().map(String::as_str) {
        Some("--mock") => return run_mock(),
        Some("--serve") => return run_server(args.get(1).cloned().unwrap_or_default()),
        Some("--serve-replay") => return run_replay_server(),
        Some("--idle") => return idle(arg("--idle", 1000)),
        _ => {}
    }
    let (clients, rounds) = (arg("--clients", 64), arg("--rounds", 10));
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let (mut mock, mock_addr) = spawn(&exe, &["--mock"]);
    let (mut server, server_uri) = spawn(&exe, &["--serve", &format!("http://{mock_addr}/v1")]);
    let report = drive(&server_uri, clients, rounds, server.id(), mock.id());
    println!("{}", report.table());
    println!("{}", report.json);
    let _ = server.kill();
    let _ = mock.kill();
    let _ = server.wait();
    let _ = mock.wait();
}

/// Starts this program in a mode; returns it and the address it printed.
fn spawn(exe: &std::path::Path, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    (child, line.trim().to_owned())
}

/// The server process: the example's own chat code, pointed at the mock,
/// cache off (every chat must reach the model).
fn run_server(base_url: String) {
    let config = LlmConfig::new(vec![
        ConfigEntry::new("mock-model")
            .api_key("sk-bench")
            .base_url(base_url),
    ])
    .cache_seed(None);
    let model = chat::Model::config(config).unwrap_or_else(|e| panic!("{e}"));
    let server = chat::serve("127.0.0.1", 0, model).unwrap_or_else(|e| panic!("{e}"));
    println!("{}", server.uri());
    loop {
        std::thread::park();
    }
}

/// A server process on the replay model: every chat waits for its first message.
fn run_replay_server() {
    let config = agentio::io::websockets::ServerConfig::new("127.0.0.1", 0)
        .max_connections(20_000)
        .idle_timeout(Duration::from_secs(3600))
        .input_timeout(None);
    let server = chat::serve_with(config, chat::Model::Replay).unwrap_or_else(|e| panic!("{e}"));
    println!("{}", server.uri());
    loop {
        std::thread::park();
    }
}

/// Idle capacity: `n` connections that say nothing; the server's RSS and
/// threads before and after.
fn idle(n: usize) {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let (mut server, uri) = spawn(&exe, &["--serve-replay"]);
    let pid = server.id();
    let status = |key: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (rss0, threads0) = (status("VmRSS:"), status("Threads:"));
    let start = Instant::now();
    let mut open = Vec::with_capacity(n);
    for i in 0..n {
        if i % 1000 == 0 && i > 0 {
            eprintln!("{i} open after {:.1} s", start.elapsed().as_secs_f64());
        }
        match tungstenite::connect(format!("{uri}/ws")) {
            Ok((ws, _)) => open.push(ws),
            Err(e) => {
                eprintln!("connection {i} failed: {e}");
                break;
            }
        }
    }
    let took = start.elapsed();
    // Let every handler reach its input() wait.
    let deadline = Instant::now() + Duration::from_secs(30);
    while (status("Threads:") as usize) < threads0 as usize + open.len()
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (rss, threads) = (status("VmRSS:"), status("Threads:"));
    let per = (rss.saturating_sub(rss0)) as f64 / open.len().max(1) as f64;
    let report = json!({
        "idle_connections": open.len(), "connect_all_s": took.as_secs_f64(),
        "server_rss_mib": rss as f64 / 1024.0, "server_rss_kib_per_connection": per,
        "server_threads": threads, "server_threads_before": threads0,
        "server_cpu_s": usage(pid).0, "client_cpu_s": usage(std::process::id()).0,
    });
    println!("{report}");
    drop(open);
    let _ = server.kill();
    let _ = server.wait();
}

/// The mock process: answers a request whose last message is a tool result
/// with the poem, any other with the tool call; each SSE event in one write.
fn run_mock() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let _ = std::io::stdout().flush();
    let poem: Vec<Vec<u8>> = poem_events();
    let tool: Vec<Vec<u8>> = tool_events();
    let (poem, tool) = (std::sync::Arc::new(poem), std::sync::Arc::new(tool));
    for conn in listener.incoming().map_while(Result::ok) {
        let (poem, tool) = (poem.clone(), tool.clone());
        std::thread::spawn(move || mock_connection(conn, &poem, &tool));
    }
}

fn sse(data: &Value) -> Vec<u8> {
    format!("data: {data}\n\n").into_bytes()
}

fn chunk(delta: Value, finish: Value) -> Value {
    json!({"object": "chat.completion.chunk", "model": "mock-model",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn tool_events() -> Vec<Vec<u8>> {
    vec![
        sse(&chunk(json!({"role": "assistant"}), Value::Null)),
        sse(&chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "weather_forecast", "arguments": ""}}]}),
            Value::Null,
        )),
        sse(&chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": \"Paris\"}"}}]}),
            Value::Null,
        )),
        sse(&chunk(json!({}), json!("tool_calls"))),
        b"data: [DONE]\n\n".to_vec(),
    ]
}

fn poem_events() -> Vec<Vec<u8>> {
    let words = chat::poem("Paris");
    let mut events = vec![sse(&chunk(json!({"role": "assistant"}), Value::Null))];
    events.extend(
        words
            .iter()
            .map(|w| sse(&chunk(json!({"content": w}), Value::Null))),
    );
    events.push(sse(&chunk(json!({}), json!("stop"))));
    events.push(b"data: [DONE]\n\n".to_vec());
    events
}

fn mock_connection(conn: TcpStream, poem: &[Vec<u8>], tool: &[Vec<u8>]) {
    let _ = conn.set_nodelay(true);
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request: Value = serde_json::from_slice(&body).unwrap_or_default();
        let after_tool = request["messages"]
            .as_array()
            .and_then(|m| m.last())
            .is_some_and(|m| m["role"] == "tool");
        let events = if after_tool { poem } else { tool };
        // Chunked encoding keeps the connection open for the next call.
        let _ = out.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
        );
        for event in events {
            let mut frame = format!("{:x}\r\n", event.len()).into_bytes();
            frame.extend_from_slice(event);
            frame.extend_from_slice(b"\r\n");
            if out.write_all(&frame).is_err() {
                return;
            }
        }
        if out.write_all(b"0\r\n\r\n").is_err() {
            return;
        }
    }
}

#[derive(Default)]
struct Sample {
    connect: Duration,
    first_frame: Duration,
    first_token: Duration,
    done: Duration,
    frames: usize,
}

/// One chat as the notebook's client has it.
fn one_chat(uri: &str) -> Result<Sample, String> {
    let start = Instant::now();
    let (mut ws, _) = tungstenite::connect(format!("{uri}/ws")).map_err(|e| e.to_string())?;
    let mut sample = Sample {
        connect: start.elapsed(),
        ..Sample::default()
    };
    ws.send(Message::text(MESSAGE)).map_err(|e| e.to_string())?;
    loop {
        match ws.read() {
            Ok(Message::Text(text)) => {
                sample.frames += 1;
                if sample.frames == 1 {
                    sample.first_frame = start.elapsed();
                }
                if sample.first_token.is_zero() && text.as_str() == "Beneath " {
                    sample.first_token = start.elapsed();
                }
            }
            Ok(Message::Close(frame)) => {
                sample.done = start.elapsed();
                let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                return if code == 1000 && !sample.first_token.is_zero() {
                    Ok(sample)
                } else {
                    Err(format!("closed with {code} after {} frames", sample.frames))
                };
            }
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => {
                sample.done = start.elapsed();
                return Ok(sample);
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// CPU seconds (user + system) and peak RSS (KiB) of a process, from /proc.
fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the ')'; ticks are 1/100 s on Linux.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (cpu, hwm)
}

struct Report {
    json: Value,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn drive(uri: &str, clients: usize, rounds: usize, server: u32, mock: u32) -> Report {
    let (server_cpu0, _) = usage(server);
    let (mock_cpu0, _) = usage(mock);
    let start = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let uri = uri.to_owned();
            std::thread::spawn(move || (0..rounds).map(|_| one_chat(&uri)).collect::<Vec<_>>())
        })
        .collect();
    let results: Vec<Result<Sample, String>> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap_or_default())
        .collect();
    let wall = start.elapsed().as_secs_f64();
    let (server_cpu, server_rss) = usage(server);
    let (mock_cpu, _) = usage(mock);
    let ok: Vec<&Sample> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let ms = |f: fn(&Sample) -> Duration| {
        let mut v: Vec<f64> = ok.iter().map(|s| f(s).as_secs_f64() * 1000.0).collect();
        v.sort_by(f64::total_cmp);
        json!({"p50": percentile(&v, 0.5), "p95": percentile(&v, 0.95), "max": v.last().copied().unwrap_or(0.0)})
    };
    let frames: usize = ok.iter().map(|s| s.frames).sum();
    let chats = ok.len().max(1) as f64;
    Report {
        json: json!({
            "clients": clients, "rounds": rounds,
            "completed": ok.len(), "failed": failed.len(),
            "first_failure": failed.first(),
            "wall_s": wall,
            "chats_per_s": ok.len() as f64 / wall,
            "ws_messages_per_s": frames as f64 / wall,
            "connect_ms": ms(|s| s.connect),
            "first_frame_ms": ms(|s| s.first_frame),
            "first_token_ms": ms(|s| s.first_token),
            "chat_ms": ms(|s| s.done),
            "server_cpu_ms_per_chat": (server_cpu - server_cpu0) * 1000.0 / chats,
            "server_peak_rss_mib": server_rss as f64 / 1024.0,
            "mock_cpu_ms_per_chat": (mock_cpu - mock_cpu0) * 1000.0 / chats,
        }),
    }
}

impl Report {
    fn table(&self) -> String {
        let j = &self.json;
        let row = |name: &str, v: &Value| format!("{name:<28} {v}\n");
        let mut out = String::new();
        for key in [
            "clients",
            "rounds",
            "completed",
            "failed",
            "chats_per_s",
            "ws_messages_per_s",
            "connect_ms",
            "first_frame_ms",
            "first_token_ms",
            "chat_ms",
            "server_cpu_ms_per_chat",
            "server_peak_rss_mib",
            "mock_cpu_ms_per_chat",
        ] {
            out.push_str(&row(key, &j[key]));
        }
        out
    }
}
