//! Session chats that lose their connection and resume
//! (`--resume-through URI --chats N`): each chat opens a session, reads some
//! frames, has its TCP connection cut, and resumes with `after=`; the frames
//! joined must be those of the same chat never cut (events mode, compared
//! without their uuids and digits: the weather tool's answer holds the
//! time). A session stays open after its chat, waiting for the next
//! message, so a chat's end is its `termination` event. Through
//! a load balancer, this holds only if it routes a session to the instance
//! holding it. Prints one JSON object of counts.

use std::time::Duration;

use serde_json::json;
use tungstenite::Message;
use tungstenite::stream::MaybeTlsStream;

type Client = tungstenite::WebSocket<MaybeTlsStream<std::net::TcpStream>>;

/// A session id of 32 characters, from the clock and a counter (the load
/// tool has no random source of its own; uniqueness is all it needs).
fn session_id(n: usize) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:024x}{n:08x}")
}

fn connect(uri: &str) -> Result<Client, String> {
    let (mut ws, _) = tungstenite::connect(uri).map_err(|e| format!("connect {uri}: {e}"))?;
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        let _ = s.set_read_timeout(Some(Duration::from_secs(15)));
    }
    Ok(ws)
}

/// Reads events: `limit` of them, or (`None`) through the chat's
/// `termination` event.
fn read(ws: &mut Client, limit: Option<usize>) -> Result<Vec<String>, String> {
    let mut frames = Vec::new();
    while limit.is_none_or(|n| frames.len() < n) {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let ended = t.as_str().starts_with(r#"{"type":"termination""#);
                frames.push(t.as_str().to_owned());
                if ended && limit.is_none() {
                    // Done with the session (1000), not just away.
                    let _ = ws.close(Some(tungstenite::protocol::CloseFrame {
                        code: tungstenite::protocol::frame::coding::CloseCode::Normal,
                        reason: "".into(),
                    }));
                    return Ok(frames);
                }
            }
            Ok(Message::Close(frame)) => {
                let code = frame.map(|f| u16::from(f.code));
                return match (limit, code) {
                    (None, Some(1000)) => Ok(frames),
                    _ => Err(format!(
                        "closed with {code:?} after {} frames",
                        frames.len()
                    )),
                };
            }
            Ok(_) => {}
            Err(e) => return Err(format!("{e} after {} frames", frames.len())),
        }
    }
    Ok(frames)
}

/// One chat on a new session, cut after `cut` frames (none: never cut).
pub fn chat(uri: &str, n: usize, cut: Option<usize>) -> Result<Vec<String>, String> {
    let id = session_id(n);
    let mut ws = connect(&format!("{uri}/ws?format=events&session={id}"))?;
    ws.send(Message::text(crate::MESSAGE))
        .map_err(|e| format!("send: {e}"))?;
    let Some(cut) = cut else {
        return read(&mut ws, None);
    };
    let mut frames = read(&mut ws, Some(cut))?;
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    let mut again = connect(&format!(
        "{uri}/ws?format=events&session={id}&after={}",
        frames.len()
    ))?;
    frames.extend(read(&mut again, None)?);
    Ok(frames)
}

/// The frames as they compare across chats: without the ids fresh in
/// every chat (uuids, request ids) and digits.
pub fn comparable(frames: &[String]) -> String {
    frames
        .iter()
        .map(|f| match serde_json::from_str::<serde_json::Value>(f) {
            Ok(mut event) => {
                if let Some(content) = event.get_mut("content").and_then(|c| c.as_object_mut()) {
                    content.remove("uuid");
                    content.remove("request_id");
                }
                event.to_string()
            }
            Err(_) => f.clone(),
        })
        .collect::<String>()
        .replace(|c: char| c.is_ascii_digit(), "")
}

/// Runs `chats` cut chats (cut after 3, 13, 23, … frames) against `uri`,
/// each compared with one never cut; prints the counts.
pub fn run(uri: &str, chats: usize) {
    let (mut completed, mut lost_or_repeated, mut failures) = (0, 0, Vec::new());
    let whole = chat(uri, usize::MAX, None);
    let whole = match whole {
        Ok(frames) => frames,
        Err(e) => {
            println!(
                "{}",
                json!({"completed": 0, "failed": chats, "first_failures": [e]})
            );
            return;
        }
    };
    for n in 0..chats {
        let cut = 3 + (n * 10) % whole.len().saturating_sub(4).max(1);
        match chat(uri, n, Some(cut)) {
            Ok(frames) if comparable(&frames) == comparable(&whole) => completed += 1,
            Ok(frames) => {
                lost_or_repeated += 1;
                failures.push(format!(
                    "cut at {cut}: {} frames, the uncut chat has {}",
                    frames.len(),
                    whole.len()
                ));
            }
            Err(e) => failures.push(format!("cut at {cut}: {e}")),
        }
    }
    let failed = chats - completed - lost_or_repeated;
    failures.truncate(5);
    println!(
        "{}",
        json!({
            "completed": completed,
            "lost_or_repeated": lost_or_repeated,
            "failed": failed,
            "frames_per_chat": whole.len(),
            "first_failures": failures,
        })
    );
}
