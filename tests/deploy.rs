//! The websocket_chat example as operators run it: over TLS from PEM files,
//! and drained by SIGTERM (health 503, new clients refused, the chat in
//! progress finishes, exit 0), and on a socket systemd-socket-activate passes
//! (reported as ignored without it, unless AGENTIO_REQUIRE_SYSTEMD is set;
//! see tests/common/external.rs).

mod common;
#[path = "common/external.rs"]
mod external;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::process::{Running, example_bin};
use common::tls::{connect, get_status, tls};
use tungstenite::Message;

fn main() {
    external::run(vec![
        trial!(the_example_serves_wss_from_pem_files_and_drains_on_sigterm),
        trial!(
            the_example_serves_on_a_socket_systemd_passes,
            external::SYSTEMD_SOCKET_ACTIVATE
        ),
    ]);
}

fn the_example_serves_wss_from_pem_files_and_drains_on_sigterm() {
    let tls = tls();
    let dir = std::env::temp_dir().join(format!("agentio-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &tls.cert_pem).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&key, &tls.key_pem).unwrap_or_else(|e| panic!("{e}"));
    let mut app = Running::start(
        "websocket_chat",
        &[
            "--port",
            "0",
            "--tls-cert",
            &cert.to_string_lossy(),
            "--tls-key",
            &key.to_string_lossy(),
            "--drain-grace",
            "20",
        ],
    );
    let page = app.line_after("page:");
    let uri = app.line_after("websocket:");
    assert!(page.starts_with("https://127.0.0.1:"), "{page}");
    assert!(uri.starts_with("wss://127.0.0.1:"), "{uri}");
    let addr: SocketAddr = uri
        .trim_start_matches("wss://")
        .trim_end_matches("/ws")
        .parse()
        .unwrap_or_else(|e| panic!("{uri}: {e}"));
    assert_eq!(get_status(&tls, addr, "/healthz"), 200);
    assert_eq!(get_status(&tls, addr, "/"), 200, "the page over https");

    // A client connects, then the operator sends SIGTERM before it asks.
    let (mut ws, _) =
        tungstenite::client(uri.as_str(), connect(&tls, addr)).unwrap_or_else(|e| panic!("{e}"));
    app.signal("TERM");
    app.line_after("signal");
    let deadline = Instant::now() + Duration::from_secs(10);
    while get_status(&tls, addr, "/healthz") != 503 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(get_status(&tls, addr, "/healthz"), 503, "draining");
    match tungstenite::client(uri.as_str(), connect(&tls, addr)) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => {
            assert_eq!(r.status(), 503)
        }
        other => panic!("a new client while draining: {:?}", other.map(|_| ())),
    }

    // The chat in progress still runs to its end.
    ws.send(Message::text("Weather in Paris?"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut text = String::new();
    let code = loop {
        match ws.read() {
            Ok(Message::Text(t)) => text.push_str(t.as_str()),
            Ok(Message::Close(frame)) => break frame.map(|f| u16::from(f.code)),
            Ok(_) => {}
            Err(e) => panic!("{e} after {text:?}"),
        }
    };
    assert_eq!(code, Some(1000));
    assert!(text.contains("TERMINATE"), "{text}");
    assert_eq!(app.line_after("drained:"), "1 finished, 0 closed with 1001");
    let status = app.child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn the_example_serves_on_a_socket_systemd_passes() {
    // systemd-socket-activate binds, and starts the example with the socket
    // as fd 3 (LISTEN_FDS=1) when the first client connects.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let address = format!("127.0.0.1:{port}");
    let app = Running::command(
        std::process::Command::new(external::SYSTEMD_SOCKET_ACTIVATE.path())
            .args(["--listen", &address])
            .arg(example_bin("websocket_chat"))
            .args(["--listen-fd", "--port", "1"]),
    );
    let uri = format!("ws://{address}/ws");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ws = loop {
        match tungstenite::connect(&uri) {
            Ok((ws, _)) => break ws,
            Err(e) if Instant::now() > deadline => panic!("{uri}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    assert_eq!(
        app.line_after("websocket:"),
        uri,
        "the passed socket, not --port 1"
    );
    ws.send(Message::text("Weather in Paris?"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut text = String::new();
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => text.push_str(t.as_str()),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    assert!(text.contains("TERMINATE"), "{text}");
}
