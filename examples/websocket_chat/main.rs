//! The AutoGen websocket notebook, in Rust: a chat page at `/` and the chat
//! over a websocket at `/ws`, on one port.
//!
//! ```sh
//! cargo run --example websocket_chat                 # offline, the replay model
//! cargo run --example websocket_chat -- --port 0     # any free port
//! OPENAI_API_KEY=sk-… cargo run --example websocket_chat
//! ```

mod chat;

use std::process::ExitCode;

fn usage() -> &'static str {
    "usage: websocket_chat [--host HOST] [--port PORT]\n  \
     --host HOST  address to listen on (default 127.0.0.1)\n  \
     --port PORT  port to listen on, 0 for any free one (default 8000)"
}

fn main() -> ExitCode {
    let (mut host, mut port) = ("127.0.0.1".to_owned(), 8000u16);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--host" | "--port" => args.next(),
            "-h" | "--help" => {
                println!("{}", usage());
                return ExitCode::SUCCESS;
            }
            _ => None,
        };
        match (arg.as_str(), value) {
            ("--host", Some(v)) => host = v,
            ("--port", Some(v)) if v.parse::<u16>().is_ok() => port = v.parse().unwrap_or(port),
            _ => {
                eprintln!("bad argument {arg:?}\n{}", usage());
                return ExitCode::from(2);
            }
        }
    }
    let model = match chat::Model::from_env() {
        Ok(model) => model,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = match chat::serve(&host, port, model.clone()) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("agentio websocket chat");
    println!("  {}", model.describe());
    println!("  page:      {}", chat::page_url(&server));
    println!("  websocket: {}/ws", server.uri());
    println!("Serving until you press Ctrl-C.");
    loop {
        std::thread::park();
    }
}
