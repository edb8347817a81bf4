//! A small blocking websocket client for tests (tungstenite's), with bounded reads.

use std::net::TcpStream;
use std::time::Duration;

use tungstenite::handshake::client::Request;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub type Client = WebSocket<MaybeTlsStream<TcpStream>>;

/// Connects to `url`, reads time out after 5 s.
pub fn connect(url: &str) -> Client {
    let (mut ws, _) = tungstenite::connect(url).unwrap_or_else(|e| panic!("connect {url}: {e}"));
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    }
    ws
}

/// A handshake request for `url` with one extra header.
pub fn request_with(url: &str, header: &'static str, value: &str) -> Request {
    use tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().unwrap_or_else(|e| panic!("{e}"));
    let value = value.parse().unwrap_or_else(|e| panic!("{e}"));
    request.headers_mut().insert(header, value);
    request
}

/// Connects offering a subprotocol.
pub fn connect_with_protocol(url: &str, protocol: &str) -> Client {
    let request = request_with(url, "sec-websocket-protocol", protocol);
    let (mut ws, response) = tungstenite::connect(request).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some(protocol)
    );
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    }
    ws
}

/// What a read gave: a text frame, or how the connection ended.
#[derive(Debug, PartialEq)]
pub enum Got {
    Text(String),
    Closed(Option<CloseCode>),
    Failed(String),
}

pub fn next(ws: &mut Client) -> Got {
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => return Got::Text(t.as_str().to_owned()),
            Ok(Message::Close(frame)) => return Got::Closed(frame.map(|f| f.code)),
            Ok(_) => continue,
            Err(tungstenite::Error::ConnectionClosed) => return Got::Closed(None),
            Err(e) => return Got::Failed(e.to_string()),
        }
    }
}

/// The next text frame, panicking on anything else.
pub fn text(ws: &mut Client) -> String {
    match next(ws) {
        Got::Text(t) => t,
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Reads until the connection closes; returns the text frames and the close code.
pub fn until_close(ws: &mut Client) -> (Vec<String>, Option<CloseCode>) {
    let mut frames = Vec::new();
    loop {
        match next(ws) {
            Got::Text(t) => frames.push(t),
            Got::Closed(code) => return (frames, code),
            Got::Failed(e) => panic!("read failed after {frames:?}: {e}"),
        }
    }
}

pub fn send(ws: &mut Client, text: &str) {
    ws.send(Message::text(text))
        .unwrap_or_else(|e| panic!("send: {e}"));
}

/// A chat busy without output for 800 ms, as while a long tool runs (it
/// only checks its stream, as a tool's wait does), then "done".
pub fn busy_without_output(ws: &agentio::io::IOWebsockets) -> agentio::Result<()> {
    use agentio::io::IOStream;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(800) {
        ws.check()?;
        std::thread::sleep(Duration::from_millis(20));
    }
    ws.print(&["done"], " ", "\n", true)
}

/// The pings the client got before a text frame holding `marker`.
pub fn pings_before(ws: &mut Client, marker: &str) -> usize {
    let mut pings = 0;
    loop {
        match ws.read() {
            Ok(Message::Ping(_)) => pings += 1,
            Ok(Message::Text(text)) if text.contains(marker) => return pings,
            Ok(_) => {}
            Err(e) => panic!("after {pings} pings: {e}"),
        }
    }
}
