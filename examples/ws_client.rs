//! A small blocking websocket client: connects in events mode, sends a
//! message, prints the chat as console text as it arrives, and answers input
//! requests from stdin.
//!
//! ```sh
//! cargo run --example websocket_chat -- --port 8000 &
//! cargo run --example ws_client -- ws://127.0.0.1:8000/ws "What's the weather in Rome?"
//! ```

use std::io::Write;
use std::process::ExitCode;

use agentio::io::{Event, IOConsole, IOStream};
use tungstenite::Message;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:8000/ws".to_owned());
    let message = args
        .next()
        .unwrap_or_else(|| "Check out the weather in Paris and write a poem about it.".to_owned());
    let url = if url.contains('?') {
        format!("{url}&format=events")
    } else {
        format!("{url}?format=events")
    };
    let (mut ws, _) = match tungstenite::connect(url.as_str()) {
        Ok(connected) => connected,
        Err(e) => {
            eprintln!("cannot connect to {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let console = IOConsole::new();
    let mut first = Some(message);
    loop {
        let frame = match ws.read() {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(frame)) => {
                let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                let _ = std::io::stdout().flush();
                return if code == 1000 {
                    ExitCode::SUCCESS
                } else {
                    eprintln!("\nclosed: {code}");
                    ExitCode::FAILURE
                };
            }
            Ok(_) => continue,
            Err(tungstenite::Error::ConnectionClosed) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("\nconnection failed: {e}");
                return ExitCode::FAILURE;
            }
        };
        let event = match Event::from_json(frame.as_str()) {
            Ok(event) => event,
            Err(_) => {
                print!("{}", frame.as_str());
                continue;
            }
        };
        let answer = match &event {
            Event::InputRequest(request) => match first.take() {
                Some(message) => message,
                None => console
                    .input(&request.prompt, request.password)
                    .unwrap_or_else(|_| "exit".to_owned()),
            },
            // The reply was already shown token by token: no second copy.
            Event::Text(text) if text.streamed => {
                println!();
                continue;
            }
            _ => {
                if console.send(&event).is_err() {
                    return ExitCode::FAILURE;
                }
                continue;
            }
        };
        let reply = Event::input_response(answer).to_json();
        if let Err(e) = ws.send(Message::text(reply)) {
            eprintln!("\nsend failed: {e}");
            return ExitCode::FAILURE;
        }
    }
}
