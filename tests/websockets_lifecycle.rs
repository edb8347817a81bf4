//! Server lifecycle, measured process-wide (threads in /proc/self/task,
//! descriptors in /proc/self/fd), so this binary holds one test only.

mod common;

use std::time::{Duration, Instant};

use agentio::Result;
use agentio::io::websockets::ServerConfig;
use agentio::io::{IOStream, IOWebsockets};
use common::ws::{Got, connect, next, send, text};
use tungstenite::protocol::frame::coding::CloseCode;

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Waits (bounded) until `f` holds.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn shutdown_and_churn_leave_no_thread_or_descriptor_behind() {
    let threads_before = count("/proc/self/task");

    // 1. Stop with three clients: one blocked in input(), one in a loop of
    //    prints, one whose handler ignores every error for a while.
    let config = ServerConfig::new("127.0.0.1", 0).shutdown_grace(Duration::from_millis(500));
    let server = IOWebsockets::run_server_in_thread(config, |ws: &IOWebsockets| -> Result<()> {
        match ws.request().path() {
            "/input" => {
                agentio::ioprintln!("waiting")?;
                ws.input("", false).map(|_| ())
            }
            _ => loop {
                agentio::ioprintln!("tick")?;
                std::thread::sleep(Duration::from_millis(2));
            },
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let mut blocked = connect(&format!("{}/input", server.uri()));
    assert_eq!(text(&mut blocked), "waiting\n");
    let mut ticking = connect(&format!("{}/tick", server.uri()));
    assert_eq!(text(&mut ticking), "tick\n");
    assert_eq!(server.connections(), 2);
    let start = Instant::now();
    let abandoned = server.stop();
    let took = start.elapsed();
    assert_eq!(abandoned, 0);
    assert!(took < Duration::from_millis(1500), "stop took {took:?}");
    // Both clients were told the server is going away (1001).
    for ws in [&mut blocked, &mut ticking] {
        let code = loop {
            match next(ws) {
                Got::Text(_) => continue,
                Got::Closed(code) => break code,
                Got::Failed(e) => panic!("{e}"),
            }
        };
        assert_eq!(code, Some(CloseCode::Away));
    }
    drop((blocked, ticking));
    eventually("the server's threads to end", || {
        count("/proc/self/task") <= threads_before
    });

    // 2. 1,000 connect/disconnect cycles: no thread or descriptor growth.
    let server = IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", 0),
        |ws: &IOWebsockets| {
            let got = ws.input("", false)?;
            ws.print(&[&got], "", "", true)
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let warm = connect(server.uri());
    drop(warm);
    eventually("the warm-up connection to end", || {
        server.connections() == 0
    });
    let (threads, fds) = (count("/proc/self/task"), count("/proc/self/fd"));
    for i in 0..1000 {
        let mut ws = connect(server.uri());
        if i % 2 == 0 {
            send(&mut ws, "x");
            assert_eq!(text(&mut ws), "x");
            let _ = ws.close(None);
            let _ = ws.flush();
        } // odd ones just drop the TCP connection
    }
    eventually("every connection to end", || server.connections() == 0);
    eventually("threads back to the baseline", || {
        count("/proc/self/task") <= threads
    });
    eventually("descriptors back to the baseline", || {
        count("/proc/self/fd") <= fds
    });
    // 3. A live connection costs the server one descriptor (the registry
    //    shares the socket instead of duplicating it): 2 per pair here.
    drop(server);
    let fds = count("/proc/self/fd");
    let server = IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", 0),
        |ws: &IOWebsockets| -> Result<()> {
            let first = ws.input("", false)?;
            ws.print(&[&first], "", "", true)?;
            ws.input("", false).map(|_| ()) // stays connected
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let held: Vec<_> = (0..50)
        .map(|_| {
            let mut ws = connect(server.uri());
            send(&mut ws, "x");
            assert_eq!(text(&mut ws), "x");
            ws
        })
        .collect();
    assert_eq!(server.connections(), 50);
    let grown = count("/proc/self/fd").saturating_sub(fds);
    assert!(
        grown <= 2 * held.len() + 4,
        "{grown} descriptors for {} connections",
        held.len()
    );
    drop(held);
    eventually("held connections to end", || server.connections() == 0);
    drop(server);
    eventually("no server thread left", || {
        count("/proc/self/task") <= threads_before
    });
}
