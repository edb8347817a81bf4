//! Slow consumers: a websocket client that stops reading mid-stream. The
//! server gives up on it after the write timeout, holds no more than a frame
//! for it meanwhile, ends its chat with an error and drops its model stream,
//! and other clients' chats are not slowed down.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use agentio::agentchat::ChatOptions;
use agentio::io::websockets::ServerConfig;
use agentio::io::{IOStream, IOWebsockets};
use agentio::{Error, io};
use common::notebook;
use common::ws::{connect, send, until_close};
use common::{MockServer, Reply, content_chunk};

/// This process's resident memory, KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_client_that_stops_reading_ends_its_chat_and_its_model_stream() {
    // 32 MiB of tokens, far more than the kernel's socket buffers hold.
    let token = "x".repeat(16 * 1024);
    let chunks: Vec<String> = (0..2048).map(|_| content_chunk(&token)).collect();
    let mock = MockServer::start(vec![Reply::Slow(chunks, Duration::from_micros(50))]);
    let base_url = mock.base_url();
    let (done, outcome) = mpsc::channel();
    let rss_before = rss_kib();
    let write_timeout = Duration::from_millis(300);
    let server = IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", 0).write_timeout(write_timeout),
        move |ws: &IOWebsockets| {
            let message = ws.input("", false)?;
            let options = ChatOptions::new(message).max_turns(1);
            let result = notebook::chat_with(notebook::Model::Mock(&base_url), options);
            let _ = done.send((result.as_ref().err().map(ToString::to_string), rss_kib()));
            result.map(|_| ())
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut stalled = connect(server.uri());
    send(&mut stalled, "Write a very long poem."); // and never read again

    let (error, rss_at_end) = outcome
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("the chat never ended: {e}"));
    let expected = Error::WriteTimeout(write_timeout).to_string();
    assert_eq!(error.as_deref(), Some(expected.as_str()));
    let grew = rss_at_end.saturating_sub(rss_before);
    assert!(
        grew < 12 * 1024,
        "the server held {grew} KiB for a client that read nothing"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !mock.client_left_early.load(Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        mock.client_left_early.load(Ordering::SeqCst),
        "the model stream was dropped"
    );
    let written = mock.slow_events_written.load(Ordering::SeqCst);
    assert!(written < 2048, "the model stream ran to its end: {written}");
    drop(stalled);
}

/// Median wall time of `n` notebook chats, one after another.
fn median_chat(uri: &str, n: usize) -> Duration {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            let mut ws = connect(uri);
            send(&mut ws, "Weather in Paris?");
            let (frames, _) = until_close(&mut ws);
            assert!(frames.iter().any(|f| f.contains("TERMINATE")));
            start.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

#[test]
fn a_stalled_client_does_not_slow_down_the_others() {
    let printed = Arc::new(AtomicUsize::new(0));
    let server = {
        let printed = printed.clone();
        IOWebsockets::run_server_in_thread(
            ServerConfig::new("127.0.0.1", 0).write_timeout(Duration::from_secs(60)),
            move |ws: &IOWebsockets| {
                let message = ws.input("", false)?;
                if message == "flood" {
                    let line = "y".repeat(64 * 1024);
                    loop {
                        io::get_default().print(&[&line], "", "\n", true)?;
                        printed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                notebook::chat(ChatOptions::new(message)).map(|_| ())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let alone = median_chat(server.uri(), 15);

    let mut stalled = connect(server.uri());
    send(&mut stalled, "flood"); // and never read again
    // Wait until its writes block: the count stops moving.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = (usize::MAX, Instant::now());
    while Instant::now() < deadline {
        let now = printed.load(Ordering::SeqCst);
        if now != last.0 {
            last = (now, Instant::now());
        } else if now > 0 && last.1.elapsed() > Duration::from_millis(300) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        last.1.elapsed() > Duration::from_millis(300),
        "the flooding writes never blocked"
    );

    let beside_it = median_chat(server.uri(), 15);
    println!("chat alone {alone:?}, beside a stalled client {beside_it:?}");
    // Not a speed test (BENCHMARKS.md has those): a chat held up by the
    // stalled one would wait for its 60 s write timeout; a busy machine
    // only makes chats a few times slower.
    assert!(
        beside_it < Duration::from_secs(10),
        "a stalled client held up the others: {alone:?} -> {beside_it:?}"
    );
    // The last chat's thread finishes its close handshake; then only the
    // stalled client is left.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.connections() > 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(server.connections(), 1, "only the stalled client is left");
    drop(stalled);
}
