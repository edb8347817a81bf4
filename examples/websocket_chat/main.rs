//! The AutoGen websocket notebook, in Rust: a chat page at `/` and the chat
//! over a websocket at `/ws`, on one port.
//!
//! ```sh
//! cargo run --example websocket_chat                 # offline, the replay model
//! cargo run --example websocket_chat -- --port 0     # any free port
//! OPENAI_API_KEY=sk-… cargo run --example websocket_chat
//! cargo run --example websocket_chat -- --tls-cert cert.pem --tls-key key.pem   # https + wss
//! ```
//!
//! Every chat asks the model afresh: replies are cached on disk
//! (`.cache/N`, shared by every connection and every run) only with
//! `--cache-seed N`.
//!
//! On SIGTERM or Ctrl-C it drains: `/healthz` answers 503, new clients get
//! 503, chats in progress may finish for `--drain-grace` seconds, the rest
//! are closed with 1001, and it exits 0. With `--listen-fd` it serves on the
//! socket systemd passed (socket activation, `LISTEN_FDS`).

mod chat;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use agentio::agentchat::HumanInputMode;
use agentio::io::websockets::ServerConfig;

fn usage() -> &'static str {
    "usage: websocket_chat [--host HOST] [--port PORT] [--tls-cert PEM --tls-key PEM]\n                      [--listen-fd] [--drain-grace SECS] [--trust-proxy IP]... [--replay-pace MS]\n                      [--cache-seed N] [--detach-grace SECS] [--approve-tools]\n                      [--human-input always|terminate|never]\n  \
     --host HOST         address to listen on (default 127.0.0.1)\n  \
     --port PORT         port to listen on, 0 for any free one (default 8000)\n  \
     --tls-cert PEM      certificate chain: serve https and wss (with --tls-key)\n  \
     --tls-key PEM       its private key\n  \
     --listen-fd         serve on the socket systemd passed (LISTEN_FDS)\n  \
     --drain-grace SECS  on SIGTERM, how long chats may finish (default 30)\n  \
     --trust-proxy IP    believe X-Forwarded-For from this proxy (repeatable)\n  \
     --replay-pace MS    the replay model waits this long before each chunk\n  \
     --cache-seed N      answer repeated requests from the disk cache .cache/N, for every\n\
     \x20                     connection and run (default: no cache, every chat asks the model)\n  \
     --detach-grace SECS how long a session's chat waits for its client to come back\n\
     \x20                     (/ws?session=ID; default 60)\n  \
     --approve-tools     every tool call waits for the human's approval\n  \
     --human-input MODE  when user_proxy asks the human: always (every reply, tool calls\n\
     \x20                     included), terminate, or never (the notebook's; default)"
}

struct Options {
    host: String,
    port: u16,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    listen_fd: bool,
    grace: Duration,
    proxies: Vec<std::net::IpAddr>,
    pace: Option<Duration>,
    cache_seed: Option<u64>,
    detach_grace: Duration,
    approve_tools: bool,
    human_input_mode: HumanInputMode,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut o = Options {
        host: "127.0.0.1".to_owned(),
        port: 8000,
        cert: None,
        key: None,
        listen_fd: false,
        grace: Duration::from_secs(30),
        proxies: Vec::new(),
        pace: None,
        cache_seed: None,
        detach_grace: Duration::from_secs(60),
        approve_tools: false,
        human_input_mode: HumanInputMode::Never,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--host" => o.host = value()?,
            "--port" => o.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--tls-cert" => o.cert = Some(value()?.into()),
            "--tls-key" => o.key = Some(value()?.into()),
            "--listen-fd" => o.listen_fd = true,
            "--approve-tools" => o.approve_tools = true,
            "--human-input" => {
                o.human_input_mode = match value()?.to_ascii_lowercase().as_str() {
                    "always" => HumanInputMode::Always,
                    "terminate" => HumanInputMode::Terminate,
                    "never" => HumanInputMode::Never,
                    other => {
                        return Err(format!(
                            "--human-input: {other:?} is not always, terminate or never"
                        ));
                    }
                }
            }
            "--drain-grace" => {
                o.grace = Duration::from_secs_f64(
                    value()?
                        .parse()
                        .map_err(|e| format!("--drain-grace: {e}"))?,
                )
            }
            "--replay-pace" => {
                o.pace = Some(Duration::from_millis(
                    value()?
                        .parse()
                        .map_err(|e| format!("--replay-pace: {e}"))?,
                ))
            }
            "--cache-seed" => {
                o.cache_seed = Some(value()?.parse().map_err(|e| format!("--cache-seed: {e}"))?)
            }
            "--detach-grace" => {
                o.detach_grace = Duration::from_secs_f64(
                    value()?
                        .parse()
                        .map_err(|e| format!("--detach-grace: {e}"))?,
                )
            }
            "--trust-proxy" => o.proxies.push(
                value()?
                    .parse()
                    .map_err(|e| format!("--trust-proxy: {e}"))?,
            ),
            _ => return Err(format!("bad argument {arg:?}")),
        }
    }
    if o.cert.is_some() != o.key.is_some() {
        return Err("--tls-cert and --tls-key go together".to_owned());
    }
    Ok(Some(o))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}\n{}", usage());
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(o: Options) -> Result<(), String> {
    // Ask for the signals before serving, so none is missed.
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .map_err(|e| format!("signals: {e}"))?;
    let model = match (
        chat::Model::from_env(o.cache_seed).map_err(|e| e.to_string())?,
        o.pace,
    ) {
        (chat::Model::Replay, Some(pace)) => chat::Model::ReplayPaced(pace),
        (model, _) => model,
    };
    let mut config = ServerConfig::new(&o.host, o.port)
        .trusted_proxies(o.proxies.clone())
        .detach_grace(o.detach_grace);
    if let (Some(cert), Some(key)) = (&o.cert, &o.key) {
        config = tls::with_tls(config, cert, key)?;
    }
    let setup = chat::Setup {
        model: model.clone(),
        approve_tools: o.approve_tools,
        human_input_mode: o.human_input_mode,
    };
    let server = if o.listen_fd {
        let listener = listenfd::ListenFd::from_env()
            .take_tcp_listener(0)
            .map_err(|e| format!("--listen-fd: {e}"))?
            .ok_or("--listen-fd: systemd passed no socket (LISTEN_FDS)")?;
        chat::serve_on(listener, config, setup)
    } else {
        chat::serve_with(config, setup)
    }
    .map_err(|e| e.to_string())?;
    println!("agentio websocket chat");
    println!("  {}", model.describe());
    if let chat::Model::Config(_) = model {
        match o.cache_seed {
            Some(seed) => println!("  cache:     .cache/{seed} (repeated requests are not sent)"),
            None => println!("  cache:     none (--cache-seed N to keep replies)"),
        }
    }
    if o.approve_tools {
        println!("  tools:     every call waits for your approval");
    }
    if o.human_input_mode != HumanInputMode::Never {
        println!("  human:     user_proxy asks you ({})", o.human_input_mode);
    }
    println!("  page:      {}", chat::page_url(&server));
    println!("  websocket: {}/ws", server.uri());
    println!("  AG-UI:     POST {}agui", chat::page_url(&server));
    println!(
        "  AI SDK:    POST {0}api/chat, or a websocket to {1}/api/chat",
        chat::page_url(&server),
        server.uri()
    );
    println!("  health:    {}healthz", chat::page_url(&server));
    println!("Serving until SIGTERM or Ctrl-C.");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    if let Some(signal) = signals.forever().next() {
        println!(
            "signal {signal}: draining for up to {:?} ({} chats running)",
            o.grace,
            server.chats()
        );
        let _ = std::io::stdout().flush();
    }
    let drained = server.drain(o.grace);
    println!(
        "drained: {} finished, {} closed with 1001",
        drained.finished, drained.cut
    );
    Ok(())
}
