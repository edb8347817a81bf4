//! Health checks and graceful drain for rolling restarts: 200 then 503 on
//! `/healthz`, new clients refused while draining, chats in progress finish
//! within the grace period, the rest get 1001.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use agentio::io::websockets::ServerConfig;
use agentio::io::{IOStream, IOWebsockets};
use common::ws::{connect, send, text, until_close};
use tungstenite::protocol::frame::coding::CloseCode;

/// A plain HTTP GET; returns the status code and body.
fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut response = String::new();
    let _ = tcp.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Each chat: say "started", wait for "finish", say "done".
fn chat(ws: &IOWebsockets) -> agentio::Result<()> {
    agentio::ioprintln!("started")?;
    let word = ws.input("", false)?;
    agentio::ioprintln!("done after {word}")
}

#[test]
fn health_is_200_then_503_while_draining_and_new_clients_are_refused() {
    let server = IOWebsockets::run_server_in_thread(ServerConfig::new("127.0.0.1", 0), chat)
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = server.local_addr();
    assert_eq!(get(addr, "/healthz"), (200, "ok\n".to_owned()));
    server.start_draining();
    assert!(server.is_draining());
    assert_eq!(get(addr, "/healthz"), (503, "draining\n".to_owned()));
    match tungstenite::connect(server.uri()) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("a new client during a drain: {other:?}"),
    }

    let quiet = IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", 0).health_path(None),
        chat,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(get(quiet.local_addr(), "/healthz").0, 404, "turned off");
}

#[test]
fn a_drain_lets_chats_finish_within_the_grace_and_closes_the_rest_with_1001() {
    let server = IOWebsockets::run_server_in_thread(ServerConfig::new("127.0.0.1", 0), chat)
        .unwrap_or_else(|e| panic!("{e}"));
    let (uri, addr) = (server.uri().to_owned(), server.local_addr());
    let mut finishing = connect(&uri);
    let mut lingering = connect(&uri);
    assert_eq!(text(&mut finishing), "started\n");
    assert_eq!(text(&mut lingering), "started\n");
    assert_eq!(server.chats(), 2);

    let grace = Duration::from_millis(800);
    let started = Instant::now();
    let drain = std::thread::spawn(move || server.drain(grace));
    // The load balancer sees the drain at once.
    let deadline = Instant::now() + Duration::from_secs(5);
    while get(addr, "/healthz").0 != 503 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(get(addr, "/healthz").0, 503);

    send(&mut finishing, "finish");
    assert_eq!(
        until_close(&mut finishing),
        (
            vec!["done after finish\n".to_owned()],
            Some(CloseCode::Normal)
        ),
        "a chat in progress finishes normally"
    );
    let (frames, code) = until_close(&mut lingering);
    assert_eq!((frames, code), (vec![], Some(CloseCode::Away)));
    let drained = drain.join().unwrap_or_else(|_| panic!("drain panicked"));
    assert_eq!(
        (drained.finished, drained.cut, drained.abandoned),
        (1, 1, 0),
        "{drained:?}"
    );
    let took = started.elapsed();
    assert!(
        took >= grace && took < grace + Duration::from_secs(3),
        "{took:?}"
    );
    assert!(TcpStream::connect(addr).is_err(), "the port is closed");
}
