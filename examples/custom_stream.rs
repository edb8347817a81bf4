//! Streams of your own: the notebook chat (on the offline replay model)
//! shown on the console while its transcript goes to a JSON Lines file, one
//! event per line, the same JSON a websocket client gets in events mode.
//!
//! ```sh
//! cargo run --example custom_stream -- --out transcript.jsonl
//! cargo run --example custom_stream -- --out transcript.jsonl "Weather in Rome?"
//! ```
//!
//! The console is the primary stream of a [`Tee`]: it shows the chat and
//! would answer input; the file is a secondary, so a full disk costs the
//! transcript, not the chat.

#[path = "websocket_chat/chat.rs"]
#[allow(dead_code)] // the chat example's own server code is not used here
mod chat;

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use agentio::agentchat::ChatResult;
use agentio::io::{self, IOConsole, IOStream, JsonLines, Tee};

/// Runs the chat on `screen`, its transcript written to `out`; returns the
/// chat's result and what went wrong with the transcript, if anything.
pub fn run(
    out: &Path,
    screen: Arc<dyn IOStream>,
    message: &str,
) -> agentio::Result<(ChatResult, Option<String>)> {
    let file = File::create(out)?;
    let tee = Arc::new(Tee::new(screen).with(Arc::new(JsonLines::new(BufWriter::new(file)))));
    let result = io::with_default(tee.clone(), || {
        chat::notebook_chat(message.to_owned(), &chat::Model::Replay)
    })?;
    let transcript_error = tee.errors().into_iter().next().map(|(_, e)| e);
    Ok((result, transcript_error))
}

fn main() -> ExitCode {
    let usage = "usage: custom_stream --out PATH [MESSAGE]";
    let mut args = std::env::args().skip(1);
    let (mut out, mut message) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = args.next(),
            "-h" | "--help" => {
                println!("{usage}");
                return ExitCode::SUCCESS;
            }
            _ if message.is_none() && !arg.starts_with("--") => message = Some(arg),
            _ => {
                eprintln!("bad argument {arg:?}\n{usage}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(out) = out else {
        eprintln!("--out PATH is required\n{usage}");
        return ExitCode::from(2);
    };
    let message = message
        .unwrap_or_else(|| "Check out the weather in Paris and write a poem about it.".to_owned());
    match run(Path::new(&out), Arc::new(IOConsole::new()), &message) {
        Ok((_, None)) => {
            eprintln!("transcript: {out}");
            ExitCode::SUCCESS
        }
        Ok((_, Some(error))) => {
            eprintln!("the chat finished, but the transcript failed: {error}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
