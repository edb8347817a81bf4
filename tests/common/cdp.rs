//! Headless Chromium driven over the DevTools protocol with tungstenite:
//! [`open_url`] starts a browser on a page, [`Cdp`] evaluates in it, waits
//! with bounded polls, and keeps the page's errors.
//!
//! Not in `common/mod.rs`: it needs the test binary's `external` module
//! (Chromium's path), so a binary that uses it declares both:
//! `#[path = "common/external.rs"] mod external;` and
//! `#[path = "common/cdp.rs"] mod cdp;`.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// A DevTools connection to one page.
pub struct Cdp {
    ws: WebSocket<MaybeTlsStream<std::net::TcpStream>>,
    next_id: u64,
    session: Option<String>,
    /// Exceptions and `console.error`s the page reported, as DevTools
    /// described them; read with [`Cdp::page_errors`].
    errors: Vec<String>,
}

impl Cdp {
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.command(method, params)
            .unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    /// The result of a command, or the error DevTools answered.
    pub fn command(&mut self, method: &str, params: Value) -> Result<Value, Value> {
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
            self.note(&reply);
        }
    }

    /// Keeps an event that reports a page error; drops the rest.
    fn note(&mut self, event: &Value) {
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Runtime.exceptionThrown") => {
                let details = &params["exceptionDetails"];
                let described = details["exception"]["description"]
                    .as_str()
                    .or(details["text"].as_str())
                    .unwrap_or("an exception");
                self.errors.push(described.to_owned());
            }
            Some("Runtime.consoleAPICalled")
                if matches!(params["type"].as_str(), Some("error" | "assert")) =>
            {
                let args: Vec<String> = params["args"]
                    .as_array()
                    .map(|args| {
                        args.iter()
                            .map(|a| match a["value"].as_str() {
                                Some(text) => text.to_owned(),
                                None => a["description"].as_str().unwrap_or("?").to_owned(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                self.errors
                    .push(format!("console.error: {}", args.join(" ")));
            }
            _ => {}
        }
    }

    /// The exceptions and console errors the page reported so far (up to
    /// the last command's answer).
    pub fn page_errors(&mut self) -> Vec<String> {
        // A round trip first, so events sent before it are in.
        self.call("Runtime.evaluate", json!({"expression": "0"}));
        self.errors.clone()
    }

    /// The value of `expression` in the page; panics if it throws.
    pub fn eval(&mut self, expression: &str) -> Value {
        self.try_eval(expression)
            .unwrap_or_else(|exception| panic!("{expression}: {exception}"))
    }

    /// The value of `expression` in the page, or the exception it threw
    /// (or why DevTools could not evaluate it: a page being replaced).
    pub fn try_eval(&mut self, expression: &str) -> Result<Value, Value> {
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
    pub fn wait_for(&mut self, what: &str, expression: &str) {
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

/// A running headless Chromium; dropped, it is killed and its profile
/// removed.
pub struct Browser {
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
pub fn launch() -> (Browser, String) {
    // A profile of its own per browser: the trials run at once.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = std::env::temp_dir().join(format!("agentio-chromium-{}-{n}", std::process::id()));
    let chromium = crate::external::CHROMIUM.path();
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

/// The browser and a DevTools session on the page at `url`.
pub fn open_url(url: &str) -> (Browser, Cdp) {
    let (browser, devtools) = launch();
    let (ws, _) = tungstenite::connect(devtools.as_str()).unwrap_or_else(|e| panic!("{e}"));
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    }
    let mut cdp = Cdp {
        ws,
        next_id: 0,
        session: None,
        errors: Vec::new(),
    };
    // A blank page first, so the page's errors are reported from its start.
    let target = cdp.call("Target.createTarget", json!({"url": "about:blank"}));
    let attached = cdp.call(
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
    );
    cdp.session = attached["sessionId"].as_str().map(str::to_owned);
    cdp.call("Runtime.enable", json!({}));
    cdp.call("Page.navigate", json!({"url": url}));
    (browser, cdp)
}
