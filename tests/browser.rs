//! The chat page in a real browser: headless Chromium, driven over the
//! DevTools protocol, loads the websocket example's page, sends a message,
//! and the test reads what the page shows.
//!
//! Reported as ignored when Chromium is not installed, unless
//! `AGENTIO_REQUIRE_BROWSER` is set, as `.ci/run` does after installing it
//! (see tests/common/external.rs).

#[path = "../examples/websocket_chat/chat.rs"]
#[allow(dead_code)] // main.rs uses the rest
mod chat;
mod common;
#[path = "common/external.rs"]
mod external;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

fn main() {
    external::run(vec![
        trial!(
            the_page_shows_the_tool_call_and_the_streamed_poem_once,
            external::CHROMIUM
        ),
        trial!(
            a_reload_mid_chat_shows_the_conversation_once_then_the_rest,
            external::CHROMIUM
        ),
        trial!(
            a_cut_connection_resumes_by_itself_and_new_chat_starts_over,
            external::CHROMIUM
        ),
    ]);
}

/// A DevTools connection to one page.
struct Cdp {
    ws: WebSocket<MaybeTlsStream<std::net::TcpStream>>,
    next_id: u64,
    session: Option<String>,
}

impl Cdp {
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.command(method, params)
            .unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    /// The result of a command, or the error DevTools answered.
    fn command(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session {
            command["sessionId"] = json!(session);
        }
        self.ws
            .send(Message::text(command.to_string()))
            .unwrap_or_else(|e| panic!("send {method}: {e}"));
        loop {
            let frame = self
                .ws
                .read()
                .unwrap_or_else(|e| panic!("read {method}: {e}"));
            let Message::Text(text) = frame else { continue };
            let reply: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
            if reply["id"] == id {
                return match reply.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(reply["result"].clone()),
                };
            }
        }
    }

    /// The value of `expression` in the page; panics if it throws.
    fn eval(&mut self, expression: &str) -> Value {
        self.try_eval(expression)
            .unwrap_or_else(|exception| panic!("{expression}: {exception}"))
    }

    /// The value of `expression` in the page, or the exception it threw
    /// (or why DevTools could not evaluate it: a page being replaced).
    fn try_eval(&mut self, expression: &str) -> Result<Value, Value> {
        let result = self.command(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        )?;
        match result.get("exceptionDetails") {
            Some(exception) => Err(exception.clone()),
            None => Ok(result["result"]["value"].clone()),
        }
    }

    /// Evaluates `expression` until it is true, at most 20 s. It may throw
    /// meanwhile (a page still loading has no body yet).
    fn wait_for(&mut self, what: &str, expression: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let last = self.try_eval(expression);
            if last == Ok(json!(true)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} ({last:?}); page: {}",
                self.eval("document.body?.innerText")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

struct Browser {
    child: Child,
    profile: std::path::PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Starts headless Chromium; returns it and its DevTools websocket URL.
fn launch() -> (Browser, String) {
    // A profile of its own per browser: the trials run at once.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = std::env::temp_dir().join(format!("agentio-chromium-{}-{n}", std::process::id()));
    let chromium = external::CHROMIUM.path();
    let mut child = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let browser = Browser { child, profile };
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("Chromium did not report its DevTools address"));
    (browser, url)
}

/// The browser and a DevTools session on the example's page, served with
/// `setup` (or a plain model).
fn open_page(
    setup: impl Into<chat::Setup>,
) -> (agentio::io::websockets::WebsocketServer, Browser, Cdp) {
    let server = chat::serve("127.0.0.1", 0, setup).unwrap_or_else(|e| panic!("{e}"));
    let url = chat::page_url(&server);
    let (browser, cdp) = open_url(&url);
    (server, browser, cdp)
}

/// The browser and a DevTools session on the page at `url`.
fn open_url(url: &str) -> (Browser, Cdp) {
    let (browser, devtools) = launch();
    let (ws, _) = tungstenite::connect(devtools.as_str()).unwrap_or_else(|e| panic!("{e}"));
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    }
    let mut cdp = Cdp {
        ws,
        next_id: 0,
        session: None,
    };
    let target = cdp.call("Target.createTarget", json!({"url": url}));
    let attached = cdp.call(
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
    );
    cdp.session = attached["sessionId"].as_str().map(str::to_owned);
    (browser, cdp)
}

/// Saves the page, 900 × 1100 CSS pixels, as a PNG at `path`.
fn screenshot(cdp: &mut Cdp, path: &std::path::Path) {
    use base64::Engine;
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 900, "height": 1100, "deviceScaleFactor": 1, "mobile": false}),
    );
    let shot = cdp.call("Page.captureScreenshot", json!({"format": "png"}));
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the screenshot is not base64: {e}"));
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// True once the streamed poem has more than 20 words on the page.
const POEM_STREAMING: &str = "[...document.querySelectorAll('.streaming .body')].some(n => n.textContent.split(' ').length > 20)";

/// Waits for the page to ask, then asks for the notebook's weather poem.
fn ask_for_the_poem(cdp: &mut Cdp) {
    cdp.wait_for(
        "the page to ask for input",
        "document.getElementById('reply') && !document.getElementById('reply').disabled",
    );
    cdp.eval(
        "document.getElementById('reply').value = 'Check out the weather in Paris and write a poem about it.'; \
         document.getElementById('composer').requestSubmit(); true",
    );
}

/// What the page shows of the notebook chat: tool calls, tool results, and
/// the bodies holding TERMINATE (the streamed poem).
fn shown(cdp: &mut Cdp) -> (Value, Value, Vec<Value>) {
    let tool_calls = cdp.eval("[...document.querySelectorAll('.msg.tool')].filter(n => n.innerText.includes('calls weather_forecast')).length");
    let results = cdp.eval("[...document.querySelectorAll('.msg.tool')].filter(n => n.innerText.includes('is sunny')).length");
    let poems = cdp.eval("[...document.querySelectorAll('.msg .body')].filter(n => n.textContent.includes('TERMINATE')).map(n => n.textContent)");
    (
        tool_calls,
        results,
        poems.as_array().cloned().unwrap_or_default(),
    )
}

fn the_page_shows_the_tool_call_and_the_streamed_poem_once() {
    let (_server, _browser, mut cdp) = open_page(chat::Model::Replay);
    ask_for_the_poem(&mut cdp);
    cdp.wait_for(
        "the chat to end",
        "document.body.innerText.includes('chat ended')",
    );

    let (tool_calls, results, poems) = shown(&mut cdp);
    assert_eq!(tool_calls, json!(1), "the tool call is shown as such");
    assert_eq!(results, json!(1), "the tool result is shown");
    assert_eq!(poems.len(), 1, "the streamed poem is shown once: {poems:?}");
    let poem = poems[0].as_str().unwrap_or("");
    assert!(poem.starts_with("Beneath the Paris sky"), "{poem}");
    assert_eq!(poem.split_whitespace().count(), 200);
    // The README's picture of the page: `AGENTIO_SCREENSHOT=docs/page.png
    // cargo test --test browser` makes it again.
    if let Some(path) = std::env::var_os("AGENTIO_SCREENSHOT") {
        screenshot(&mut cdp, std::path::Path::new(&path));
    }
    let streaming_left = cdp.eval("document.querySelectorAll('.streaming').length");
    assert_eq!(
        streaming_left,
        json!(0),
        "the streamed bubble was finalised"
    );
}

/// The page keeps its conversation as a session: reloaded while the poem
/// streams, it shows the whole conversation once (the question, the tool
/// call, the poem so far), then the rest of the stream, and the poem whole.
fn a_reload_mid_chat_shows_the_conversation_once_then_the_rest() {
    // 200 words 10 ms apart: two seconds of streaming to reload in.
    let model = chat::Model::ReplayPaced(Duration::from_millis(10));
    let (_server, _browser, mut cdp) = open_page(model);
    ask_for_the_poem(&mut cdp);
    cdp.wait_for("the poem to start streaming", POEM_STREAMING);
    cdp.call("Page.reload", json!({}));
    cdp.wait_for(
        "the chat to end after the reload",
        "document.body.innerText.includes('chat ended')",
    );
    let (tool_calls, results, poems) = shown(&mut cdp);
    assert_eq!(tool_calls, json!(1), "the tool call once, after the reload");
    assert_eq!(results, json!(1), "the tool result once");
    assert_eq!(poems.len(), 1, "the poem once: {poems:?}");
    let poem = poems[0].as_str().unwrap_or("");
    assert!(poem.starts_with("Beneath the Paris sky"), "{poem}");
    assert_eq!(
        poem.split_whitespace().count(),
        200,
        "the whole poem: {poem}"
    );
    let questions = cdp.eval("[...document.querySelectorAll('.msg .body')].filter(n => n.textContent.startsWith('Check out the weather in Paris')).length");
    assert_eq!(questions, json!(1), "the question once");
}

/// A TCP relay to the server that the test can cut, as a network would:
/// every connection through it is shut down at once, without a close frame.
struct Relay {
    port: u16,
    live: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Relay {
    fn to(server: std::net::SocketAddr) -> Relay {
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let live = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (kept, count) = (live.clone(), accepted.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Ok(upstream) = TcpStream::connect(server) else {
                    continue;
                };
                let pipes = [
                    (client.try_clone(), upstream.try_clone()),
                    (upstream.try_clone(), client.try_clone()),
                ];
                if let Ok(mut open) = kept.lock() {
                    open.extend([client, upstream]);
                }
                for pipe in pipes {
                    if let (Ok(mut from), Ok(mut to)) = pipe {
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut from, &mut to);
                            let _ = to.shutdown(std::net::Shutdown::Both);
                        });
                    }
                }
            }
        });
        Relay {
            port,
            live,
            accepted,
        }
    }

    /// Cuts every connection through the relay.
    fn cut(&self) {
        if let Ok(mut open) = self.live.lock() {
            for socket in open.drain(..) {
                let _ = socket.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

/// The page's own recovery: a connection cut mid-poem (no close frame)
/// resumes by itself with `after`, and the poem arrives whole, once; then
/// "New chat" starts a new session on a clean page.
fn a_cut_connection_resumes_by_itself_and_new_chat_starts_over() {
    let model = chat::Model::ReplayPaced(Duration::from_millis(10));
    let server = chat::serve("127.0.0.1", 0, model).unwrap_or_else(|e| panic!("{e}"));
    let relay = Relay::to(server.local_addr());
    let (_browser, mut cdp) = open_url(&format!("http://127.0.0.1:{}/", relay.port));
    ask_for_the_poem(&mut cdp);
    let first_session = cdp.eval("localStorage.getItem('agentio-session')");
    cdp.wait_for("the poem to start streaming", POEM_STREAMING);
    let before_cut = relay.accepted.load(std::sync::atomic::Ordering::SeqCst);
    relay.cut();
    cdp.wait_for(
        "the chat to end after the cut",
        "document.body.innerText.includes('chat ended')",
    );
    let (tool_calls, results, poems) = shown(&mut cdp);
    assert_eq!((tool_calls, results), (json!(1), json!(1)), "once each");
    assert_eq!(poems.len(), 1, "the poem once: {poems:?}");
    let poem = poems[0].as_str().unwrap_or("");
    assert_eq!(
        poem.split_whitespace().count(),
        200,
        "the whole poem: {poem}"
    );

    assert!(
        relay.accepted.load(std::sync::atomic::Ordering::SeqCst) > before_cut,
        "the page connected again by itself"
    );

    cdp.eval("document.getElementById('new').click(); true");
    cdp.wait_for(
        "a clean page asking for the first message",
        "document.querySelectorAll('.msg').length === 0 && !document.getElementById('reply').disabled",
    );
    let second_session = cdp.eval("localStorage.getItem('agentio-session')");
    assert_ne!(first_session, second_session, "a new session");
    assert!(
        second_session.as_str().is_some_and(|id| id.len() >= 22),
        "{second_session}"
    );
}
