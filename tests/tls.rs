//! wss: the server behind an acceptor that speaks TLS (rustls, a test
//! dependency only), with a self-signed certificate made here; the notebook
//! chat and the health check over TLS, and the URI says `wss://`.

mod common;

#[path = "../examples/websocket_chat/tls.rs"]
#[allow(dead_code)] // with_tls reads PEM files; tests/deploy.rs runs that
mod example_tls;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use agentio::agentchat::ChatOptions;
use agentio::io::websockets::{ServerConfig, WebsocketServer};
use agentio::io::{IOStream, IOWebsockets};
use common::notebook::{self, POEM};
use common::tls::{Tls, connect, tls};
use tungstenite::Message;

fn serve(tls: &Tls) -> WebsocketServer {
    // The websocket_chat example's own acceptor.
    let server_config =
        ServerConfig::new("127.0.0.1", 0).acceptor(example_tls::acceptor(tls.server.clone()));
    IOWebsockets::run_server_in_thread(server_config, |ws: &IOWebsockets| {
        let message = ws.input("", false)?;
        notebook::chat(ChatOptions::new(message)).map(|_| ())
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_chat_over_wss_with_the_uri_saying_wss() {
    let tls = tls();
    let server = serve(&tls);
    let port = server.local_addr().port();
    assert_eq!(server.uri(), format!("wss://127.0.0.1:{port}"));

    let stream = connect(&tls, server.local_addr());
    let (mut ws, _) = tungstenite::client(format!("{}/ws", server.uri()), stream)
        .unwrap_or_else(|e| panic!("{e}"));
    ws.send(Message::text("Weather in Paris?"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut frames = Vec::new();
    let code = loop {
        match ws.read() {
            Ok(Message::Text(t)) => frames.push(t.as_str().to_owned()),
            Ok(Message::Close(frame)) => break frame.map(|f| u16::from(f.code)),
            Ok(_) => {}
            Err(e) => panic!("{e} after {frames:?}"),
        }
    };
    assert_eq!(code, Some(1000));
    for token in POEM {
        assert!(frames.iter().any(|f| f == token), "{token:?} in {frames:?}");
    }
}

#[test]
fn health_checks_answer_over_https_and_plain_tcp_gets_nothing() {
    let tls = tls();
    let server = serve(&tls);
    let mut stream = connect(&tls, server.local_addr());
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with("ok\n"), "{response}");

    // Plain HTTP to the TLS port: the TLS handshake fails, the connection
    // is dropped, and the server goes on serving.
    let mut plain = TcpStream::connect(server.local_addr()).unwrap_or_else(|e| panic!("{e}"));
    let _ = plain.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(
        !String::from_utf8_lossy(&got).contains("200 OK"),
        "no plaintext answer"
    );
    let again = connect(&tls, server.local_addr());
    let (mut ws, _) = tungstenite::client(format!("{}/ws", server.uri()), again)
        .unwrap_or_else(|e| panic!("{e}"));
    ws.send(Message::text("Weather in Paris?"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(ws.read().is_ok());
}
