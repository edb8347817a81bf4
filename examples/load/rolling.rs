//! Chats through a load balancer while instances behind it restart
//! (`--through URI --seconds N --clients C`): each chat must complete (1000)
//! or be cut at a drain's end (1001); a refused connection (503, or none)
//! is retried; nothing may hang. Prints one JSON object of counts.

use std::time::{Duration, Instant};

use serde_json::json;
use tungstenite::Message;
use tungstenite::stream::MaybeTlsStream;

/// How long a chat may be silent before it counts as hung.
const SILENCE: Duration = Duration::from_secs(15);

enum Outcome {
    Completed,
    Cut,
    Refused,
    Failed(String),
    Hung,
}

fn chat(uri: &str) -> Outcome {
    let mut ws = match tungstenite::connect(format!("{uri}/ws")) {
        Ok((ws, _)) => ws,
        Err(tungstenite::Error::Http(r)) if r.status() == 503 => return Outcome::Refused,
        // Nobody listening yet (the balancer starting) or the connection reset.
        Err(
            tungstenite::Error::Io(_)
            | tungstenite::Error::Url(tungstenite::error::UrlError::UnableToConnect(_)),
        ) => return Outcome::Refused,
        Err(e) => return Outcome::Failed(format!("connect: {e}")),
    };
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        let _ = s.set_read_timeout(Some(SILENCE));
    }
    if let Err(e) = ws.send(Message::text(crate::MESSAGE)) {
        return Outcome::Failed(format!("send: {e}"));
    }
    let mut text = String::new();
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => text.push_str(t.as_str()),
            Ok(Message::Close(frame)) => {
                return match frame.map(|f| u16::from(f.code)) {
                    Some(1000) if text.contains("TERMINATE") => Outcome::Completed,
                    Some(1001) => Outcome::Cut,
                    code => {
                        Outcome::Failed(format!("closed with {code:?} after {} bytes", text.len()))
                    }
                };
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Outcome::Hung;
            }
            Err(e) => return Outcome::Failed(format!("{e} after {} bytes", text.len())),
        }
    }
}

/// Runs `clients` loops of chats against `uri` for `seconds`; prints the counts.
pub fn run(uri: &str, seconds: u64, clients: usize) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let uri = uri.to_owned();
            std::thread::spawn(move || {
                let mut outcomes = Vec::new();
                while Instant::now() < deadline {
                    let outcome = chat(&uri);
                    if matches!(outcome, Outcome::Refused) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    outcomes.push(outcome);
                }
                outcomes
            })
        })
        .collect();
    let outcomes: Vec<Outcome> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap_or_default())
        .collect();
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let failures: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Failed(e) => Some(e),
            _ => None,
        })
        .take(5)
        .collect();
    println!(
        "{}",
        json!({
            "completed": count(|o| matches!(o, Outcome::Completed)),
            "cut_1001": count(|o| matches!(o, Outcome::Cut)),
            "refused_and_retried": count(|o| matches!(o, Outcome::Refused)),
            "failed": count(|o| matches!(o, Outcome::Failed(_))),
            "hung": count(|o| matches!(o, Outcome::Hung)),
            "first_failures": failures,
        })
    );
}
