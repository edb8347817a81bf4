//! Load generator for the websocket chat: C concurrent clients for R rounds
//! against the `websocket_chat` server code and against a minimal baseline
//! server doing the same HTTP calls and frames, with a mock OpenAI-compatible
//! server, each in its own process, measured from `/proc`.
//!
//! ```sh
//! cargo run --release --example load -- --clients 64 --rounds 20
//! cargo run --release --example load -- --clients 1024 --rounds 2 --backlog 4096
//! cargo run --release --example load -- --idle 10000   # needs `ulimit -n` above 10,100
//! cargo run --release --example load -- --burst 1024 --backlog 128   # then 4096
//! cargo run --release --example load -- --soak 600 --clients 32 --misbehave 0.3 --check
//! ```
//!
//! `--protocol agui|ai-sdk`: agentio's side of the run chats over that
//! frontend protocol's HTTP stream (`POST /agui`, `POST /api/chat`); the
//! baseline's stays websocket text, the same work.
//!
//! `--through URI --seconds N --clients C`: chats against a running server
//! or load balancer (the rolling-restart test drives it), counting chats that
//! completed, were cut with 1001, were refused and retried, failed or hung.
//!
//! `--resume-through URI --chats N`: session chats whose connection is cut
//! midway and resumed with `after=`: the frames joined must be the uncut
//! chat's (the HAProxy test drives it through the balancer).
//!
//! `--soak SECONDS`: clients chat for that long, `--misbehave` of them (a
//! share, 0 to 1) misbehaving at random (drop TCP mid-stream, close
//! mid-stream, cancel, stop reading, oversize message, garbage frame, never
//! handshake, a session cut midway and resumed); the server's threads,
//! descriptors and RSS are sampled every second. `--check` exits 1 if a well-behaved chat failed or a resource grew.
//!
//! Workload (the seed notebook): a client connects and sends one message; the
//! server's agents make two streamed model calls to the mock (a
//! `weather_forecast` tool call, then a 200-word poem one word per chunk
//! ending in TERMINATE); the client reads until the chat closes.
//!
//! `--backlog N` makes every listener (agentio's, the baseline's, the mock's)
//! with a listen backlog of N through socket2 (std's `bind` uses 128); the
//! default is std's.

#[path = "../websocket_chat/chat.rs"]
#[allow(dead_code)] // the example's main uses the rest
mod chat;

mod baseline;
mod mock;
mod resume;
mod rolling;
mod soak;
mod sse;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentio::io::websockets::ServerConfig;
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
    let text = |i: usize| args.get(i).cloned().unwrap_or_default();
    let backlog = arg("--backlog", 128) as i32;
    match args.first().map(String::as_str) {
        Some("--mock") => return mock::run(backlog),
        Some("--serve") => {
            return run_server(text(1), backlog, args.iter().any(|a| a == "--soak-limits"));
        }
        Some("--soak") => return run_soak(&args),
        Some("--through") => {
            return rolling::run(&text(1), arg("--seconds", 10) as u64, arg("--clients", 8));
        }
        Some("--resume-through") => return resume::run(&text(1), arg("--chats", 20)),
        Some("--serve-baseline") => return baseline::run(text(1), text(2), backlog),
        Some("--serve-replay") => return run_replay_server(backlog),
        Some("--idle") => return idle(arg("--idle", 1000)),
        Some("--burst") => return burst(arg("--burst", 1024), backlog),
        _ => {}
    }
    let (clients, rounds) = (arg("--clients", 64), arg("--rounds", 10));
    let backlog = backlog.to_string();
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let (mut mock, mock_addr) = spawn(&exe, &["--mock", "--backlog", &backlog]);
    let base_url = format!("http://{mock_addr}/v1");
    let (mut server, server_uri) = spawn(&exe, &["--serve", &base_url, "--backlog", &backlog]);
    // One chat first: it warms up, and its frames are what the baseline sends.
    let (_, frames) = one_chat(&server_uri, true).unwrap_or_else(|e| panic!("first chat: {e}"));
    let frames_path =
        std::env::temp_dir().join(format!("agentio-load-{}.json", std::process::id()));
    std::fs::write(&frames_path, json!(frames).to_string()).unwrap_or_else(|e| panic!("{e}"));
    let path = frames_path.to_string_lossy().into_owned();
    let (mut base, base_uri) = spawn(
        &exe,
        &["--serve-baseline", &base_url, &path, "--backlog", &backlog],
    );
    if let Err(e) = one_chat(&base_uri, false) {
        panic!("first baseline chat: {e}");
    }
    // `--protocol agui|ai-sdk`: agentio's chats over that protocol's HTTP
    // stream; the baseline's stay websocket text, the same work.
    let protocol = args
        .iter()
        .position(|a| a == "--protocol")
        .and_then(|i| args.get(i + 1))
        .map(|name| sse::Protocol::parse(name).unwrap_or_else(|| panic!("--protocol {name}?")));
    let word = first_word();
    let agentio = match protocol {
        Some(protocol) => drive(
            &server_uri,
            clients,
            rounds,
            server.id(),
            mock.id(),
            move |uri| sse::one_chat(uri, protocol, &word),
        ),
        None => drive(
            &server_uri,
            clients,
            rounds,
            server.id(),
            mock.id(),
            websocket_chat,
        ),
    };
    let baseline = drive(
        &base_uri,
        clients,
        rounds,
        base.id(),
        mock.id(),
        websocket_chat,
    );
    let ratio = agentio.json["server_cpu_ms_per_chat"]
        .as_f64()
        .unwrap_or(0.0)
        / baseline.json["server_cpu_ms_per_chat"]
            .as_f64()
            .unwrap_or(f64::NAN);
    println!("{}", Report::table(&agentio, &baseline));
    println!("{:<28} {ratio:.2}", "cpu_ratio (agentio/baseline)");
    println!(
        "{}",
        json!({"agentio": agentio.json, "baseline": baseline.json, "cpu_ratio": ratio})
    );
    for child in [&mut server, &mut base, &mut mock] {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_file(&frames_path);
}

/// `--soak SECONDS [--clients C] [--misbehave SHARE] [--check]`.
fn run_soak(args: &[String]) {
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let seconds = value("--soak").and_then(|v| v.parse().ok()).unwrap_or(30);
    let clients = value("--clients")
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let share: f64 = value("--misbehave")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.3);
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let (mut mock, mock_addr) = spawn(&exe, &["--mock", "--backlog", "1024"]);
    let base_url = format!("http://{mock_addr}/v1");
    let (mut server, uri) = spawn(
        &exe,
        &["--serve", &base_url, "--backlog", "1024", "--soak-limits"],
    );
    if let Err(e) = one_chat(&uri, false) {
        panic!("first chat: {e}");
    }
    let passed = soak::run(&uri, server.id(), seconds, clients, share);
    for child in [&mut server, &mut mock] {
        let _ = child.kill();
        let _ = child.wait();
    }
    if args.iter().any(|a| a == "--check") && !passed {
        std::process::exit(1);
    }
}

/// A websocket client as tungstenite makes it.
type Client = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>;

/// The poem's first token, as the client sees it.
fn first_word() -> String {
    chat::poem("Paris").swap_remove(0)
}

/// A listener on a free loopback port with this listen backlog.
pub fn listen(backlog: i32) -> TcpListener {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap_or_else(|e| panic!("{e}"));
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
    socket
        .bind(&addr.into())
        .and_then(|()| socket.listen(backlog))
        .unwrap_or_else(|e| panic!("listen: {e}"));
    socket.into()
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
/// cache off (every chat must reach the model), connection limit raised to
/// 10,000 so the benchmark measures capacity, not the default limit.
fn run_server(base_url: String, backlog: i32, soak_limits: bool) {
    let config = LlmConfig::new(vec![
        ConfigEntry::new("mock-model")
            .api_key("sk-bench")
            .base_url(base_url),
    ])
    .cache_seed(None);
    let model = chat::Model::config(config).unwrap_or_else(|e| panic!("{e}"));
    let mut limits = ServerConfig::default().max_connections(10_000);
    if soak_limits {
        limits = limits
            .handshake_timeout(soak::HANDSHAKE_TIMEOUT)
            .write_timeout(soak::WRITE_TIMEOUT)
            .max_message_size(soak::MAX_MESSAGE)
            .detach_grace(soak::DETACH_GRACE);
    }
    let server = chat::serve_on(listen(backlog), limits, model).unwrap_or_else(|e| panic!("{e}"));
    println!("{}", server.uri());
    loop {
        std::thread::park();
    }
}

/// A server process on the replay model: every chat waits for its first message.
fn run_replay_server(backlog: i32) {
    let config = ServerConfig::new("127.0.0.1", 0)
        .max_connections(20_000)
        .idle_timeout(Duration::from_secs(3600))
        .input_timeout(None);
    let server = chat::serve_on(listen(backlog), config, chat::Model::Replay)
        .unwrap_or_else(|e| panic!("{e}"));
    println!("{}", server.uri());
    loop {
        std::thread::park();
    }
}

/// A burst: `n` clients connect at the same instant (a barrier) to a server
/// whose listener has this backlog; connect+handshake times.
fn burst(n: usize, backlog: i32) {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let (mut server, uri) = spawn(&exe, &["--serve-replay", "--backlog", &backlog.to_string()]);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let workers: Vec<_> = (0..n)
        .map(|_| {
            let (uri, barrier) = (uri.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                let ws = tungstenite::connect(format!("{uri}/ws"));
                (start.elapsed(), ws.map(|(ws, _)| ws).ok())
            })
        })
        .collect();
    let results: Vec<(Duration, Option<Client>)> =
        workers.into_iter().filter_map(|w| w.join().ok()).collect();
    let mut ms: Vec<f64> = results
        .iter()
        .filter(|(_, ws)| ws.is_some())
        .map(|(t, _)| t.as_secs_f64() * 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    let over_1s = ms.iter().filter(|t| **t >= 1000.0).count();
    println!(
        "{}",
        json!({"clients": n, "backlog": backlog, "connected": ms.len(),
               "connect_ms": {"p50": percentile(&ms, 0.5), "p95": percentile(&ms, 0.95),
                              "p99": percentile(&ms, 0.99), "max": ms.last()},
               "waited_on_a_syn_retransmit": over_1s})
    );
    drop(results);
    let _ = server.kill();
    let _ = server.wait();
}

/// Idle capacity: `n` connections that say nothing; the server's RSS and
/// threads before and after.
fn idle(n: usize) {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let (mut server, uri) = spawn(&exe, &["--serve-replay", "--backlog", "1024"]);
    let pid = server.id();
    let status = |key: &str| status_field(&proc_status(pid), key);
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

#[derive(Default)]
struct Sample {
    connect: Duration,
    first_frame: Duration,
    first_token: Duration,
    done: Duration,
    frames: usize,
}

/// One chat as the notebook's client has it; with `keep`, its text frames.
fn one_chat(uri: &str, keep: bool) -> Result<(Sample, Vec<String>), String> {
    let first_word = first_word();
    let start = Instant::now();
    let (mut ws, _) = tungstenite::connect(format!("{uri}/ws")).map_err(|e| e.to_string())?;
    let mut sample = Sample {
        connect: start.elapsed(),
        ..Sample::default()
    };
    let mut kept = Vec::new();
    ws.send(Message::text(MESSAGE)).map_err(|e| e.to_string())?;
    loop {
        match ws.read() {
            Ok(Message::Text(text)) => {
                sample.frames += 1;
                if sample.frames == 1 {
                    sample.first_frame = start.elapsed();
                }
                if sample.first_token.is_zero() && text.as_str() == first_word {
                    sample.first_token = start.elapsed();
                }
                if keep {
                    kept.push(text.as_str().to_owned());
                }
            }
            Ok(Message::Close(frame)) => {
                sample.done = start.elapsed();
                let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                return if code == 1000 && !sample.first_token.is_zero() {
                    Ok((sample, kept))
                } else {
                    Err(format!("closed with {code} after {} frames", sample.frames))
                };
            }
            Ok(_) => {}
            Err(e) => return Err(format!("{e} after {} frames", sample.frames)),
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
    (cpu, status_field(&proc_status(pid), "VmHWM:"))
}

/// `/proc/PID/status` of a process (empty if it is gone).
fn proc_status(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default()
}

/// A number from `/proc/PID/status`, e.g. `VmRSS:` (KiB) or `Threads:`.
fn status_field(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
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

/// One websocket chat, its frames not kept.
fn websocket_chat(uri: &str) -> Result<Sample, String> {
    one_chat(uri, false).map(|(sample, _)| sample)
}

/// `clients` threads, `rounds` chats each, made by `chat`.
fn drive(
    uri: &str,
    clients: usize,
    rounds: usize,
    server: u32,
    mock: u32,
    chat: impl Fn(&str) -> Result<Sample, String> + Clone + Send + 'static,
) -> Report {
    let (server_cpu0, _) = usage(server);
    let (client_cpu0, _) = usage(std::process::id());
    let (mock_cpu0, _) = usage(mock);
    let start = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (uri, chat) = (uri.to_owned(), chat.clone());
            std::thread::spawn(move || (0..rounds).map(|_| chat(&uri)).collect::<Vec<_>>())
        })
        .collect();
    let results: Vec<Result<Sample, String>> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap_or_default())
        .collect();
    let wall = start.elapsed().as_secs_f64();
    let (server_cpu, server_rss) = usage(server);
    let (mock_cpu, _) = usage(mock);
    let (client_cpu, _) = usage(std::process::id());
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
            "clients_cpu_ms_per_chat": (client_cpu - client_cpu0) * 1000.0 / chats,
            // Busy share of the machine's cores: near 1 means saturated, so
            // latencies include run-queue waits.
            "machine_busy": (server_cpu - server_cpu0 + mock_cpu - mock_cpu0 + client_cpu - client_cpu0)
                / wall / std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64),
        }),
    }
}

impl Report {
    /// Both runs side by side, one row per measure.
    fn table(agentio: &Report, baseline: &Report) -> String {
        let mut out = format!("{:<24} {:<44} {}\n", "", "agentio", "baseline");
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
            "clients_cpu_ms_per_chat",
            "machine_busy",
        ] {
            let cell = |r: &Report| match &r.json[key] {
                Value::Number(n) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap_or(0.0)),
                Value::Object(o) => o
                    .iter()
                    .map(|(k, v)| format!("{k} {:.1}", v.as_f64().unwrap_or(0.0)))
                    .collect::<Vec<_>>()
                    .join("  "),
                other => other.to_string(),
            };
            out.push_str(&format!(
                "{key:<24} {:<44} {}\n",
                cell(agentio),
                cell(baseline)
            ));
        }
        out
    }
}
