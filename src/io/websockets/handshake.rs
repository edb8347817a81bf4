//! The HTTP side of a connection: reading the request head (bounded in size
//! and time), the websocket upgrade, plain answers (the page, 503, refusals).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};

/// The largest request head read (16 KiB).
const MAX_HEAD: usize = 16 << 10;

/// The most headers a request may have.
const MAX_HEADERS: usize = 64;

/// The subprotocol that selects events mode.
pub const EVENTS_PROTOCOL: &str = "agentio.events.v1";

/// The HTTP request that opened a connection, as the handshake hook and
/// `on_connect` see it.
///
/// Its `Debug` output leaves out what would let a reader of a log act as
/// the client: credential headers (`Authorization`, `Cookie`, API keys)
/// and the session id in the query.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    peer: Option<SocketAddr>,
    client: Option<IpAddr>,
}

/// Headers whose values are secrets, not shown by `Debug`.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
];

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let secret = SECRET_HEADERS.iter().any(|s| name.eq_ignore_ascii_case(s));
                (
                    name.as_str(),
                    if secret { "<redacted>" } else { value.as_str() },
                )
            })
            .collect();
        let query: Vec<String> = self
            .query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if percent_decode(key) == "session" => format!("{key}=<redacted>"),
                _ => pair.to_owned(),
            })
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &query.join("&"))
            .field("headers", &headers)
            .field("peer", &self.peer)
            .field("client", &self.client)
            .finish()
    }
}

impl Request {
    /// The method, e.g. `GET`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path, without the query, e.g. `/ws`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw query string (after `?`), empty when there is none.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// The value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key) == name).then(|| percent_decode(value))
        })
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The address of the TCP peer (a proxy's, behind one).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The client's address: the peer's, or, when the peer is one of the
    /// server's trusted proxies ([`ServerConfig::trusted_proxies`](super::ServerConfig::trusted_proxies)),
    /// the nearest address in `X-Forwarded-For` that is not a trusted proxy.
    /// A client cannot forge it: entries are only believed as far as the
    /// chain of trusted proxies reaches.
    pub fn client_addr(&self) -> Option<IpAddr> {
        self.client.or(self.peer.map(|p| p.ip()))
    }

    /// Works out [`client_addr`](Self::client_addr) given the trusted proxies.
    pub(crate) fn resolve_client(&mut self, trusted: &[IpAddr]) {
        let Some(peer) = self.peer.map(|p| p.ip()) else {
            return;
        };
        let is_trusted = |ip: &IpAddr| trusted.contains(&ip.to_canonical());
        if !is_trusted(&peer) {
            return;
        }
        // Right to left: each hop appended the address it got the request
        // from; stop at the first that is not a trusted proxy (or not an
        // address: nothing left of it can be believed).
        let entries: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("x-forwarded-for"))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = None;
        for entry in entries.iter().rev() {
            let Ok(ip) = entry.parse::<IpAddr>() else {
                break;
            };
            client = Some(ip);
            if !is_trusted(&ip) {
                break;
            }
        }
        self.client = client;
    }

    fn header_has(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Whether the client asked for events mode (subprotocol or `?format=events`).
    pub(crate) fn wants_events(&self) -> bool {
        self.header_has("sec-websocket-protocol", EVENTS_PROTOCOL)
            || self.query_param("format").as_deref() == Some("events")
    }

    /// The `Sec-WebSocket-Key` of a valid websocket upgrade, else why not.
    pub(crate) fn upgrade_key(&self) -> Result<&str, &'static str> {
        if !self.header_has("upgrade", "websocket") {
            return Err("not a websocket upgrade");
        }
        if self.method != "GET" {
            return Err("a websocket upgrade must be a GET");
        }
        if !self.header_has("connection", "upgrade") {
            return Err("missing Connection: Upgrade");
        }
        if self.header("sec-websocket-version") != Some("13") {
            return Err("unsupported Sec-WebSocket-Version (13 is required)");
        }
        self.header("sec-websocket-key")
            .filter(|k| !k.is_empty())
            .ok_or("missing Sec-WebSocket-Key")
    }
}

pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads the request head; returns it parsed, with any bytes read past it.
/// The caller has set the socket's read timeout (the handshake timeout).
pub(crate) fn read_request(
    stream: &mut impl Read,
    peer: Option<SocketAddr>,
) -> Result<(Request, Vec<u8>), String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(end)) => {
                let (Some(method), Some(target), Some(1 | 0)) =
                    (parsed.method, parsed.path, parsed.version)
                else {
                    return Err("malformed request line".to_owned());
                };
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let headers = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        let value = String::from_utf8_lossy(h.value).trim().to_owned();
                        (h.name.to_owned(), value)
                    })
                    .collect();
                let request = Request {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    query: query.to_owned(),
                    headers,
                    peer,
                    client: None,
                };
                return Ok((request, buf.split_off(end)));
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Err(format!("more than {MAX_HEADERS} headers"));
            }
            Err(httparse::Error::Version) => return Err("unsupported HTTP version".to_owned()),
            Err(e) => return Err(format!("malformed request head: {e}")),
        }
        if buf.len() > MAX_HEAD {
            return Err(format!("request head larger than {MAX_HEAD} bytes"));
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err("the client closed before its request ended".to_owned()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("reading the request failed: {e}")),
        }
    }
}

/// Writes a complete plain HTTP response and closes the exchange.
pub(crate) fn respond(stream: &mut impl Write, status: u16, content_type: &str, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        426 => "Upgrade Required",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    // Best effort: the client may already be gone.
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// Accepts the upgrade: the 101 response, echoing the events subprotocol
/// when the client offered it.
pub(crate) fn accept(stream: &mut impl Write, key: &str, request: &Request) -> std::io::Result<()> {
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let protocol = if request.header_has("sec-websocket-protocol", EVENTS_PROTOCOL) {
        format!("sec-websocket-protocol: {EVENTS_PROTOCOL}\r\n")
    } else {
        String::new()
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
         sec-websocket-accept: {accept}\r\n{protocol}\r\n"
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_decoded() {
        let request = Request {
            query: "format=events&name=Ada%20L&x=a+b&bad=%zz&flag".to_owned(),
            ..Request::default()
        };
        assert_eq!(request.query_param("format").as_deref(), Some("events"));
        assert_eq!(request.query_param("name").as_deref(), Some("Ada L"));
        assert_eq!(request.query_param("x").as_deref(), Some("a b"));
        assert_eq!(request.query_param("bad").as_deref(), Some("%zz"));
        assert_eq!(request.query_param("flag").as_deref(), Some(""));
        assert_eq!(request.query_param("missing"), None);
    }

    #[test]
    fn debug_leaves_out_credentials_and_the_session() {
        let request = Request {
            path: "/ws".to_owned(),
            query: "format=events&session=0123456789abcdef&after=3".to_owned(),
            headers: vec![
                ("Authorization".to_owned(), "Bearer s3cret".to_owned()),
                ("cookie".to_owned(), "sid=s3cret".to_owned()),
                ("User-Agent".to_owned(), "test".to_owned()),
            ],
            ..Request::default()
        };
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("0123456789"),
            "{shown}"
        );
        assert!(
            shown.contains("session=<redacted>") && shown.contains("after=3"),
            "{shown}"
        );
        assert!(
            shown.contains("User-Agent") && shown.contains("test"),
            "{shown}"
        );
        // The values themselves are all there for the code that needs them.
        assert_eq!(request.header("authorization"), Some("Bearer s3cret"));
        assert_eq!(
            request.query_param("session").as_deref(),
            Some("0123456789abcdef")
        );
    }

    fn behind(peer: &str, forwarded: &[&str], trusted: &[&str]) -> Option<String> {
        let mut request = Request {
            peer: Some(SocketAddr::new(
                peer.parse().unwrap_or_else(|e| panic!("{e}")),
                4000,
            )),
            headers: forwarded
                .iter()
                .map(|v| ("X-Forwarded-For".to_owned(), (*v).to_owned()))
                .collect(),
            ..Request::default()
        };
        let trusted: Vec<IpAddr> = trusted
            .iter()
            .map(|t| t.parse().unwrap_or_else(|e| panic!("{e}")))
            .collect();
        request.resolve_client(&trusted);
        request.client_addr().map(|ip| ip.to_string())
    }

    #[test]
    fn forwarded_addresses_are_believed_only_through_trusted_proxies() {
        let some = |s: &str| Some(s.to_owned());
        // No trusted proxy: the header is ignored, whoever sent it.
        assert_eq!(behind("10.0.0.2", &["203.0.113.7"], &[]), some("10.0.0.2"));
        // From a trusted proxy: the address it saw.
        assert_eq!(
            behind("10.0.0.2", &["203.0.113.7"], &["10.0.0.2"]),
            some("203.0.113.7")
        );
        // A client's forged entries left of the real one are not believed.
        assert_eq!(
            behind("10.0.0.2", &["1.1.1.1, 203.0.113.7"], &["10.0.0.2"]),
            some("203.0.113.7")
        );
        // Two trusted hops, across two headers.
        assert_eq!(
            behind(
                "10.0.0.2",
                &["203.0.113.7", "10.0.0.9"],
                &["10.0.0.2", "10.0.0.9"]
            ),
            some("203.0.113.7")
        );
        // Garbage stops the walk; nothing left of it is believed.
        assert_eq!(
            behind("10.0.0.2", &["203.0.113.7, junk"], &["10.0.0.2"]),
            some("10.0.0.2")
        );
        // IPv4-mapped IPv6 peers match IPv4 proxies.
        assert_eq!(
            behind("::ffff:10.0.0.2", &["2001:db8::1"], &["10.0.0.2"]),
            some("2001:db8::1")
        );
    }
}
