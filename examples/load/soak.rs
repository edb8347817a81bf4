//! The soak: C clients chat for a while, a share of them misbehaving at
//! random, while the server's threads, descriptors and memory are sampled
//! every second. With `--check` it exits 1 if a well-behaved chat failed or
//! a resource grew past a small fixed bound.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::Message;
use tungstenite::stream::MaybeTlsStream;

/// The server's limits in soak mode (`--serve … --soak-limits`): short, so
/// misbehaving clients are dealt with within the run.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// See [`HANDSHAKE_TIMEOUT`].
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// See [`HANDSHAKE_TIMEOUT`].
pub const MAX_MESSAGE: usize = 64 * 1024;
/// See [`HANDSHAKE_TIMEOUT`]: a session whose client went at the very end
/// of the load waits this long for it, well inside the drain below.
pub const DETACH_GRACE: Duration = Duration::from_secs(5);

/// Growth allowed after warm-up: threads and descriptors back to their
/// level before the load (plus the HTTP pool to the mock), memory within 16 MiB.
const THREADS_SLACK: i64 = 2;
const FDS_SLACK: i64 = 64 + 4;
const RSS_SLACK_KIB: i64 = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Behaviour {
    Good,
    DropTcp,
    CloseMidStream,
    Cancel,
    StopReading,
    Oversize,
    Garbage,
    NeverHandshake,
    /// A session chat whose TCP connection is cut midway and resumed with
    /// `after=`: the frames joined must be those of a chat never cut.
    DropAndResume,
}

const MISBEHAVIOURS: [Behaviour; 8] = [
    Behaviour::DropTcp,
    Behaviour::CloseMidStream,
    Behaviour::Cancel,
    Behaviour::StopReading,
    Behaviour::Oversize,
    Behaviour::Garbage,
    Behaviour::NeverHandshake,
    Behaviour::DropAndResume,
];

/// A small xorshift generator: enough to pick behaviours.
struct Rng(u64);

impl Rng {
    fn new(salt: u64) -> Rng {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng((now ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn chance(&mut self, share: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < share
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    secs: f64,
    threads: i64,
    fds: i64,
    rss_kib: i64,
}

fn sample(pid: u32, start: Instant) -> Sample {
    let status = crate::proc_status(pid);
    let field = |key: &str| crate::status_field(&status, key) as i64;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as i64);
    Sample {
        secs: start.elapsed().as_secs_f64(),
        threads: field("Threads:"),
        fds,
        rss_kib: field("VmRSS:"),
    }
}

/// Each thread of process `pid`: its state and the kernel call it waits in.
fn thread_states(pid: u32) -> String {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return String::new();
    };
    tasks
        .flatten()
        .map(|task| {
            let path = task.path();
            let read = |file: &str| std::fs::read_to_string(path.join(file)).unwrap_or_default();
            let state = read("stat")
                .split(") ")
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .unwrap_or("?")
                .to_owned();
            format!(
                "  {} {state} {}",
                task.file_name().to_string_lossy(),
                read("wchan")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the soak against the server process `pid` at `uri`; returns whether
/// every check passed.
pub fn run(uri: &str, pid: u32, seconds: u64, clients: usize, share: f64) -> bool {
    let start = Instant::now();
    let before = sample(pid, start);
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let (stop, samples) = (stop.clone(), samples.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let s = sample(pid, start);
                samples.lock().unwrap_or_else(|p| p.into_inner()).push(s);
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let deadline = start + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|i| {
            let uri = uri.to_owned();
            std::thread::spawn(move || {
                let mut rng = Rng::new(i as u64 + 1);
                let mut outcomes = Vec::new();
                while Instant::now() < deadline {
                    let behaviour = if rng.chance(share) {
                        MISBEHAVIOURS[(rng.next() % MISBEHAVIOURS.len() as u64) as usize]
                    } else {
                        Behaviour::Good
                    };
                    outcomes.push((behaviour, act(&uri, behaviour)));
                }
                outcomes
            })
        })
        .collect();
    let outcomes: Vec<(Behaviour, Result<(), String>)> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap_or_default())
        .collect();
    let loaded = sample(pid, start);
    // Drain: every connection ends within the soak limits.
    let drain_deadline = Instant::now() + Duration::from_secs(15);
    let mut drained = sample(pid, start);
    while Instant::now() < drain_deadline
        && (drained.threads > before.threads + THREADS_SLACK
            || drained.fds > before.fds + FDS_SLACK)
    {
        std::thread::sleep(Duration::from_millis(200));
        drained = sample(pid, start);
    }
    if drained.threads > before.threads + THREADS_SLACK {
        // What the threads left over wait on, to tell a leak from a wait.
        eprintln!("server threads after the drain:\n{}", thread_states(pid));
    }
    stop.store(true, Ordering::SeqCst);
    let _ = sampler.join();
    let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(|p| p.into_inner()));

    // Warm-up is the first third of the run; growth is the last third's peak
    // over the middle third's, both under full load.
    let third = seconds as f64 / 3.0;
    let warm = samples
        .iter()
        .find(|s| s.secs >= third)
        .copied()
        .unwrap_or(before);
    let peak_between = |from: f64, to: f64| {
        samples
            .iter()
            .filter(|s| s.secs >= from && s.secs < to)
            .map(|s| s.rss_kib)
            .max()
            .unwrap_or(0)
    };
    let (middle_peak, late_peak) = (
        peak_between(third, 2.0 * third),
        peak_between(2.0 * third, seconds as f64),
    );
    let peak = |f: fn(&Sample) -> i64| samples.iter().map(f).max().unwrap_or(0);
    let mut per_behaviour = serde_json::Map::new();
    let mut good_failures = Vec::new();
    for behaviour in std::iter::once(Behaviour::Good).chain(MISBEHAVIOURS) {
        let mine: Vec<&Result<(), String>> = outcomes
            .iter()
            .filter(|(b, _)| *b == behaviour)
            .map(|(_, r)| r)
            .collect();
        let failed: Vec<&String> = mine.iter().filter_map(|r| r.as_ref().err()).collect();
        if behaviour == Behaviour::Good {
            good_failures = failed.iter().map(|s| (*s).clone()).collect();
        }
        per_behaviour.insert(
            format!("{behaviour:?}"),
            json!({"ended_as_expected": mine.len() - failed.len(), "unexpected": failed.len(),
                   "first_unexpected": failed.first()}),
        );
    }
    let rss_growth = late_peak - middle_peak;
    let checks = [
        (
            "every well-behaved chat completed",
            good_failures.is_empty(),
        ),
        (
            "threads back to their level before the load",
            drained.threads <= before.threads + THREADS_SLACK,
        ),
        (
            "descriptors back to their level before the load (+ the HTTP pool)",
            drained.fds <= before.fds + FDS_SLACK,
        ),
        (
            "memory grew less than 16 MiB after warm-up (last third's peak over the middle third's)",
            rss_growth < RSS_SLACK_KIB,
        ),
    ];
    let report = json!({
        "seconds": seconds, "clients": clients, "misbehaving_share": share,
        "chats": outcomes.len(),
        "behaviours": per_behaviour,
        "server": {
            "before_load": {"threads": before.threads, "fds": before.fds, "rss_mib": before.rss_kib as f64 / 1024.0},
            "after_warm_up": {"threads": warm.threads, "fds": warm.fds, "rss_mib": warm.rss_kib as f64 / 1024.0},
            "end_of_load": {"threads": loaded.threads, "fds": loaded.fds, "rss_mib": loaded.rss_kib as f64 / 1024.0},
            "after_drain": {"threads": drained.threads, "fds": drained.fds, "rss_mib": drained.rss_kib as f64 / 1024.0},
            "peak": {"threads": peak(|s| s.threads), "fds": peak(|s| s.fds), "rss_mib": peak(|s| s.rss_kib) as f64 / 1024.0},
            "rss_growth_after_warm_up_mib": rss_growth as f64 / 1024.0,
        },
        "checks": checks.iter().map(|(name, ok)| json!({"check": name, "ok": ok})).collect::<Vec<Value>>(),
    });
    for (name, ok) in checks {
        println!("{} {name}", if ok { "ok  " } else { "FAIL" });
    }
    if let Some(first) = good_failures.first() {
        println!("     first well-behaved failure: {first}");
    }
    println!("{report}");
    checks.iter().all(|(_, ok)| *ok)
}

fn connect(url: &str) -> Result<crate::Client, String> {
    let (mut ws, _) = tungstenite::connect(url).map_err(|e| e.to_string())?;
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    }
    Ok(ws)
}

/// Reads until the poem's first token (text mode) or first `stream` event.
fn until_first_token(ws: &mut crate::Client) -> Result<(), String> {
    loop {
        match ws.read().map_err(|e| e.to_string())? {
            Message::Text(t) if t.as_str().contains("\"type\":\"stream\"") => return Ok(()),
            Message::Text(t) if t.as_str() == crate::first_word() => return Ok(()),
            Message::Close(frame) => return Err(format!("closed early: {frame:?}")),
            _ => {}
        }
    }
}

/// Reads until the server closes; returns its close code.
fn until_close(ws: &mut crate::Client) -> Result<u16, String> {
    loop {
        match ws.read() {
            Ok(Message::Close(frame)) => return Ok(frame.map_or(1005, |f| u16::from(f.code))),
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Ok(1006);
            }
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ) =>
            {
                return Ok(1006);
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// A session chat never cut, as [`resume::comparable`] sees it: what every
/// cut and resumed one must equal (made once, by the first who needs it).
fn uncut(uri: &str) -> Result<String, String> {
    static UNCUT: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    UNCUT
        .get_or_init(|| {
            crate::resume::chat(uri, usize::MAX, None).map(|f| crate::resume::comparable(&f))
        })
        .clone()
}

fn act(uri: &str, behaviour: Behaviour) -> Result<(), String> {
    let url = format!("{uri}/ws");
    match behaviour {
        Behaviour::DropAndResume => {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let whole = uncut(uri)?;
            let frames = crate::resume::chat(uri, n, Some(3 + n % 150))?;
            if crate::resume::comparable(&frames) == whole {
                Ok(())
            } else {
                Err(format!(
                    "{} frames after the resume differ from the uncut chat",
                    frames.len()
                ))
            }
        }
        Behaviour::Good => crate::one_chat(uri, false).map(|_| ()),
        Behaviour::DropTcp => {
            let mut ws = connect(&url)?;
            ws.send(Message::text(crate::MESSAGE))
                .map_err(|e| e.to_string())?;
            until_first_token(&mut ws) // then dropped without a close
        }
        Behaviour::CloseMidStream => {
            let mut ws = connect(&url)?;
            ws.send(Message::text(crate::MESSAGE))
                .map_err(|e| e.to_string())?;
            until_first_token(&mut ws)?;
            let _ = ws.close(None);
            until_close(&mut ws).map(|_| ())
        }
        Behaviour::Cancel => {
            let mut ws = connect(&format!("{url}?format=events"))?;
            let answer = json!({"type": "input_response", "content": {"value": crate::MESSAGE}});
            ws.send(Message::text(answer.to_string()))
                .map_err(|e| e.to_string())?;
            until_first_token(&mut ws)?;
            ws.send(Message::text(r#"{"type":"cancel"}"#))
                .map_err(|e| e.to_string())?;
            // 1011: the chat stopped with Error::Cancelled; 1000: it had
            // already finished when the cancel arrived (a 200-token poem takes
            // a millisecond).
            match until_close(&mut ws)? {
                1011 | 1000 => Ok(()),
                code => Err(format!("a cancelled chat closed with {code}")),
            }
        }
        Behaviour::StopReading => {
            let mut ws = connect(&url)?;
            ws.send(Message::text(crate::MESSAGE))
                .map_err(|e| e.to_string())?;
            until_first_token(&mut ws)?;
            std::thread::sleep(WRITE_TIMEOUT + Duration::from_millis(500));
            Ok(())
        }
        Behaviour::Oversize => {
            let mut ws = connect(&url)?;
            let big = "x".repeat(MAX_MESSAGE + 1024);
            ws.send(Message::text(big)).map_err(|e| e.to_string())?;
            match until_close(&mut ws)? {
                1009 => Ok(()),
                code => Err(format!("an oversize message closed with {code}, not 1009")),
            }
        }
        Behaviour::Garbage => garbage(uri),
        Behaviour::NeverHandshake => {
            let mut tcp = TcpStream::connect(host(uri)).map_err(|e| e.to_string())?;
            let _ = tcp.set_read_timeout(Some(HANDSHAKE_TIMEOUT + Duration::from_secs(3)));
            let mut byte = [0u8; 1];
            match tcp.read(&mut byte) {
                Ok(_) => Ok(()), // closed (a 408 or nothing)
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(()),
                Err(e) => Err(format!("never dropped: {e}")),
            }
        }
    }
}

fn host(uri: &str) -> String {
    uri.trim_start_matches("ws://").to_owned()
}

/// A valid handshake, then bytes that are no websocket frame.
fn garbage(uri: &str) -> Result<(), String> {
    let mut tcp = TcpStream::connect(host(uri)).map_err(|e| e.to_string())?;
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        host(uri)
    );
    tcp.write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tcp.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return Err("no handshake response".to_owned()),
        }
    }
    // Reserved opcode 0xF, unmasked: a protocol error either way.
    tcp.write_all(&[0xFF, 0x7F, 1, 2, 3, 4, 5, 6, 7, 8])
        .map_err(|e| e.to_string())?;
    let mut rest = Vec::new();
    match tcp.read_to_end(&mut rest) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(()),
        Err(e) => Err(format!("garbage did not end the connection: {e}")),
    }
}
