//! What a session costs in threads: the one its connection came with. The
//! chat's thread reads its first client itself (no reader thread beside
//! it). Alone in its binary: it counts the process's threads.

mod common;

use agentio::io::websockets::ServerConfig;
use agentio::io::{IOStream, IOWebsockets, Uuid};
use common::eventually;
use common::ws::{connect, send, text, until_close};
use tungstenite::protocol::frame::coding::CloseCode;

/// The process's threads, as the kernel lists them.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| tasks.count())
        .unwrap_or_else(|e| panic!("/proc/self/task: {e}"))
}

/// The names of the process's threads, for a failure's message.
fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_session_waiting_for_its_client_holds_one_thread() {
    const SESSIONS: usize = 6;
    let server = IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", 0),
        |ws: &IOWebsockets| {
            let answer = ws.input("your name?", false)?;
            ws.print(&[&format!("hello {answer}")], " ", "\n", true)
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The server's own two: its accept loop, and the one that answers 503s.
    eventually("the server's threads to start", || {
        names().iter().any(|n| n.starts_with("agentio-ws-refu"))
    });
    let before = threads();
    let mut clients: Vec<_> = (0..SESSIONS)
        .map(|_| {
            let id = Uuid::new_v4().to_string().replace('-', "");
            let mut ws = connect(&format!("{}/ws?session={id}&format=events", server.uri()));
            // The input request: the chat waits in `input` now.
            let request = text(&mut ws);
            assert!(request.contains("input_request"), "{request}");
            ws
        })
        .collect();
    assert_eq!(
        threads() - before,
        SESSIONS,
        "one thread per session, its connection's: {:?}",
        names()
    );
    for ws in &mut clients {
        send(ws, "Ada");
        let (frames, code) = until_close(ws);
        assert_eq!(code, Some(CloseCode::Normal));
        assert!(frames.iter().any(|f| f.contains("hello Ada")), "{frames:?}");
    }
    eventually("the chats' threads to end", || threads() == before);
}
