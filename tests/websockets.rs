//! IOWebsockets over real sockets on 127.0.0.1: AutoGen's test_input_print in
//! text and events mode, isolation between clients, failures, abuse, limits,
//! disconnect and cancel.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use agentio::io::websockets::{Refusal, ServerConfig};
use agentio::io::{IOStream, IOWebsockets};
use agentio::{Error, Result};
use common::ws::{
    Got, busy_without_output, connect, connect_with_protocol, next, pings_before, request_with,
    send, text, until_close,
};
use serde_json::{Value, json};
use tungstenite::protocol::frame::coding::CloseCode;

fn local() -> ServerConfig {
    ServerConfig::new("127.0.0.1", 0)
}

/// AutoGen's `test_input_print` handler.
fn input_print(ws: &IOWebsockets) -> Result<()> {
    let first = ws.input("", false)?;
    assert_eq!(first, "Hello world!");
    agentio::ioprintln!("Hello, World!")?;
    agentio::ioprintln!("Over and out!")?;
    let answer = ws.input("May I?", false)?;
    agentio::ioprintln!("got {answer}")
}

#[test]
fn autogens_input_print_in_text_mode_frame_for_frame() {
    let server =
        IOWebsockets::run_server_in_thread(local(), input_print).unwrap_or_else(|e| panic!("{e}"));
    let mut ws = connect(server.uri());
    send(&mut ws, "Hello world!");
    assert_eq!(text(&mut ws), "Hello, World!\n");
    assert_eq!(text(&mut ws), "Over and out!\n");
    assert_eq!(
        text(&mut ws),
        "May I?",
        "the prompt is its own frame, no newline"
    );
    send(&mut ws, "Yes");
    assert_eq!(text(&mut ws), "got Yes\n");
    assert_eq!(until_close(&mut ws), (vec![], Some(CloseCode::Normal)));
}

#[test]
fn the_same_exchange_in_events_mode_by_subprotocol_and_by_query() {
    let server =
        IOWebsockets::run_server_in_thread(local(), input_print).unwrap_or_else(|e| panic!("{e}"));
    for mut ws in [
        connect_with_protocol(&format!("{}/ws", server.uri()), "agentio.events.v1"),
        connect(&format!("{}/ws?format=events", server.uri())),
    ] {
        let event = |ws: &mut common::ws::Client| -> Value {
            serde_json::from_str(&text(ws)).unwrap_or_else(|e| panic!("not JSON: {e}"))
        };
        let request = event(&mut ws);
        assert_eq!(request["type"], "input_request");
        assert_eq!(request["content"]["prompt"], "");
        send(
            &mut ws,
            r#"{"type":"input_response","content":{"value":"Hello world!"}}"#,
        );
        let print = event(&mut ws);
        assert_eq!(print["type"], "print");
        assert_eq!(print["content"]["objects"], json!(["Hello, World!"]));
        assert_eq!(print["content"]["end"], "\n");
        assert_eq!(
            event(&mut ws)["content"]["objects"],
            json!(["Over and out!"])
        );
        let request = event(&mut ws);
        assert_eq!(
            (
                request["type"].as_str(),
                request["content"]["prompt"].as_str()
            ),
            (Some("input_request"), Some("May I?"))
        );
        send(&mut ws, "Yes"); // a bare text frame answers too
        assert_eq!(event(&mut ws)["content"]["objects"], json!(["got Yes"]));
        assert_eq!(until_close(&mut ws).1, Some(CloseCode::Normal));
    }
}

#[test]
fn sixty_four_clients_each_get_only_their_own_output() {
    let server = IOWebsockets::run_server_in_thread(local(), |ws: &IOWebsockets| -> Result<()> {
        let name = ws.input("", false)?;
        for i in 0..50 {
            agentio::ioprintln!("{name} {i}")?;
            // A thread spawned by the handler keeps the client's stream.
            if i == 25 {
                let name = name.clone();
                agentio::io::spawn(move || agentio::ioprintln!("{name} from a thread"))
                    .join()
                    .unwrap_or(Err(Error::ConnectionClosed))?;
            }
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let uri = server.uri().to_owned();
    let clients: Vec<_> = (0..64)
        .map(|c| {
            let uri = uri.clone();
            std::thread::spawn(move || {
                let mut ws = connect(&uri);
                let name = format!("client{c}");
                send(&mut ws, &name);
                let (frames, code) = until_close(&mut ws);
                let mut expected: Vec<String> = (0..50).map(|i| format!("{name} {i}\n")).collect();
                expected.insert(26, format!("{name} from a thread\n"));
                (frames == expected, code)
            })
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().ok(), Some((true, Some(CloseCode::Normal))));
    }
}

#[test]
fn a_port_in_use_is_an_error_at_once_and_port_zero_reports_the_real_port() {
    let server = IOWebsockets::run_server_in_thread(local(), |_: &IOWebsockets| Ok::<_, Error>(()))
        .unwrap_or_else(|e| panic!("{e}"));
    let port = server.local_addr().port();
    assert_ne!(port, 0);
    assert_eq!(server.uri(), format!("ws://127.0.0.1:{port}"));
    let start = Instant::now();
    let second = IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", port),
        |_: &IOWebsockets| Ok::<_, Error>(()),
    );
    assert!(matches!(second, Err(Error::Bind { .. })), "{second:?}");
    assert!(start.elapsed() < Duration::from_secs(1));
}

/// The system call the server's accept thread is blocked in, from /proc.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn accept_thread_syscall() -> Option<u64> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim() != "agentio-ws-acce" {
                continue;
            }
            let syscall = std::fs::read_to_string(task.path().join("syscall")).unwrap_or_default();
            // "running" while on a CPU; a number once blocked.
            if let Some(Ok(number)) = syscall.split_whitespace().next().map(str::parse) {
                return Some(number);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

#[test]
fn a_listener_the_user_bound_serves_even_if_left_nonblocking_and_stops_cleanly() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port();
    // A nonblocking listener would make a naive accept loop spin.
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("{e}"));
    let server =
        IOWebsockets::run_server_on(listener, ServerConfig::new("ignored", 1), input_print)
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(server.uri(), format!("ws://127.0.0.1:{port}"));
    for _ in 0..2 {
        let mut ws = connect(server.uri());
        send(&mut ws, "Hello world!");
        assert_eq!(text(&mut ws), "Hello, World!\n");
        assert_eq!(text(&mut ws), "Over and out!\n");
        assert_eq!(text(&mut ws), "May I?");
        send(&mut ws, "Yes");
        assert_eq!(text(&mut ws), "got Yes\n");
        assert_eq!(until_close(&mut ws), (vec![], Some(CloseCode::Normal)));
    }
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    assert_eq!(
        accept_thread_syscall(),
        Some(288),
        "the accept thread blocks in accept4, it does not poll"
    );
    assert_eq!(server.stop(), 0);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the listener is closed once the server stops"
    );
}

#[test]
fn on_connect_errors_and_panics_reach_the_client_and_the_server_goes_on() {
    let server = IOWebsockets::run_server_in_thread(local(), |ws: &IOWebsockets| -> Result<()> {
        match ws.request().query_param("fail").as_deref() {
            Some("error") => Err(Error::Config("no model configured".into())),
            Some("panic") => panic!("handler bug"),
            _ => agentio::ioprintln!("fine"),
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let mut failing = connect(&format!("{}/ws?fail=error", server.uri()));
    let (frames, code) = until_close(&mut failing);
    assert_eq!(
        frames,
        ["Error: invalid model configuration: no model configured\n"]
    );
    assert_eq!(code, Some(CloseCode::Error));

    let mut panicking = connect(&format!("{}/ws?fail=panic&format=events", server.uri()));
    let (frames, code) = until_close(&mut panicking);
    let event: Value = serde_json::from_str(&frames[0]).unwrap_or_default();
    assert_eq!(event["type"], "error");
    assert_eq!(
        event["content"]["error"],
        "on_connect panicked: handler bug"
    );
    assert_eq!(code, Some(CloseCode::Error));

    let mut fine = connect(server.uri());
    assert_eq!(
        until_close(&mut fine),
        (vec!["fine\n".to_owned()], Some(CloseCode::Normal))
    );
}

#[test]
fn an_oversize_message_closes_with_1009_and_the_server_is_fine() {
    let server = IOWebsockets::run_server_in_thread(
        local().max_message_size(1024),
        |ws: &IOWebsockets| -> Result<()> {
            let got = ws.input("", false)?;
            agentio::ioprintln!("{} bytes", got.len())
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut big = connect(server.uri());
    send(&mut big, &"x".repeat(2000));
    assert_eq!(next(&mut big), Got::Closed(Some(CloseCode::Size)));
    let mut small = connect(server.uri());
    send(&mut small, "hi");
    assert_eq!(text(&mut small), "2 bytes\n");
}

/// The close code arrives even while the client is still sending the rest
/// of its oversize message (the server lingers, reading and dropping it,
/// instead of resetting the connection under the close frame).
#[test]
fn the_close_code_for_an_oversize_message_arrives_while_the_client_still_sends() {
    let server = IOWebsockets::run_server_in_thread(
        local().max_message_size(1024),
        |ws: &IOWebsockets| -> Result<()> { ws.input("", false).map(|_| ()) },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..5 {
        let mut big = connect(server.uri());
        // 4 MiB in one frame: far more than the socket buffers hold, so the
        // client is still writing when the server has seen enough.
        let sent = big.send(tungstenite::Message::binary(vec![b'x'; 4 << 20]));
        assert!(
            sent.is_ok(),
            "the server read what the client sent: {sent:?}"
        );
        assert_eq!(next(&mut big), Got::Closed(Some(CloseCode::Size)));
    }
}

/// Sends a raw masked text frame with these payload bytes.
fn raw_text_frame(stream: &mut TcpStream, payload: &[u8]) {
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    stream.write_all(&frame).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn an_invalid_utf8_text_frame_closes_with_1007() {
    let server = IOWebsockets::run_server_in_thread(local(), |ws: &IOWebsockets| -> Result<()> {
        ws.input("", false).map(|_| ())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let mut ws = connect(server.uri());
    match ws.get_mut() {
        tungstenite::stream::MaybeTlsStream::Plain(stream) => {
            raw_text_frame(stream, b"\xff\xfe bad")
        }
        _ => panic!("plain TCP expected"),
    }
    assert_eq!(next(&mut ws), Got::Closed(Some(CloseCode::Invalid)));
}

#[test]
fn a_silent_tcp_client_is_dropped_after_the_handshake_timeout() {
    let server = IOWebsockets::run_server_in_thread(
        local().handshake_timeout(Duration::from_millis(200)),
        |_: &IOWebsockets| Ok::<_, Error>(()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut silent = TcpStream::connect(server.local_addr()).unwrap_or_else(|e| panic!("{e}"));
    let _ = silent.set_read_timeout(Some(Duration::from_secs(5)));
    let start = Instant::now();
    let mut answer = Vec::new();
    let _ = silent.read_to_end(&mut answer);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "closed after {:?}",
        start.elapsed()
    );
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 400"));
    let deadline = Instant::now() + Duration::from_secs(3);
    while server.connections() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(server.connections(), 0, "its thread ended");
}

#[test]
fn past_max_connections_clients_get_503() {
    let (release, released) = mpsc::channel::<()>();
    let released = Arc::new(std::sync::Mutex::new(released));
    let server =
        IOWebsockets::run_server_in_thread(local().max_connections(2), move |_: &IOWebsockets| {
            let _ = released
                .lock()
                .map(|r| r.recv_timeout(Duration::from_secs(5)));
            Ok::<_, Error>(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let _a = connect(server.uri());
    let _b = connect(server.uri());
    let third = tungstenite::connect(server.uri());
    match third {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
    let _ = release.send(());
    let _ = release.send(());
}

#[test]
fn the_handshake_hook_refuses_a_bad_origin() {
    let config = local().handshake_hook(|request| match request.header("origin") {
        Some("https://evil.example") => Err(Refusal::new(403, "origin not allowed")),
        _ => Ok(()),
    });
    let server = IOWebsockets::run_server_in_thread(config, |_: &IOWebsockets| {
        agentio::ioprintln!("welcome")
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let request = request_with(server.uri(), "origin", "https://evil.example");
    match tungstenite::connect(request) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    let mut ok = connect(server.uri());
    assert_eq!(text(&mut ok), "welcome\n");
}

#[test]
fn the_client_address_behind_a_trusted_proxy_reaches_the_hook_and_on_connect() {
    let (seen, hook_saw) = mpsc::channel();
    let config = local()
        .trusted_proxies(["127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))])
        .handshake_hook(move |request| {
            let _ = seen.send(request.client_addr());
            Ok(())
        });
    let server = IOWebsockets::run_server_in_thread(config, |ws: &IOWebsockets| {
        let client = ws.request().client_addr();
        agentio::ioprintln!("{client:?}")
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let request = request_with(server.uri(), "x-forwarded-for", "1.1.1.1, 198.51.100.4");
    let (mut ws, _) = tungstenite::connect(request).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text(&mut ws), "Some(198.51.100.4)\n");
    assert_eq!(
        hook_saw.recv_timeout(Duration::from_secs(5)).ok().flatten(),
        "198.51.100.4".parse().ok()
    );
}

#[test]
fn a_plain_get_gets_the_page_on_the_same_port() {
    let server =
        IOWebsockets::run_server_in_thread(local().page("<h1>chat</h1>"), |_: &IOWebsockets| {
            Ok::<_, Error>(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let mut http = TcpStream::connect(server.local_addr()).unwrap_or_else(|e| panic!("{e}"));
    let _ = http.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = http.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = String::new();
    let _ = http.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.contains("text/html") && answer.ends_with("<h1>chat</h1>"));
}

/// A handler that prints forever, counting what it printed before failing.
fn producer(
    printed: Arc<AtomicUsize>,
    done: mpsc::Sender<String>,
) -> impl Fn(&IOWebsockets) -> Result<()> {
    move |_ws: &IOWebsockets| {
        let done = done.clone();
        loop {
            if let Err(e) = agentio::ioprintln!("token") {
                let _ = done.send(e.to_string());
                return Err(e);
            }
            printed.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[test]
fn a_disconnect_stops_a_printing_producer_within_a_few_messages() {
    let printed = Arc::new(AtomicUsize::new(0));
    let (done, stopped) = mpsc::channel();
    let server = IOWebsockets::run_server_in_thread(local(), producer(printed.clone(), done))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ws = connect(server.uri());
    for _ in 0..5 {
        assert_eq!(text(&mut ws), "token\n");
    }
    drop(ws); // drops TCP without a close handshake
    let at_drop = printed.load(Ordering::SeqCst);
    let error = stopped.recv_timeout(Duration::from_secs(5));
    assert!(error.is_ok(), "the producer never stopped");
    let after = printed.load(Ordering::SeqCst) - at_drop;
    assert!(after < 50, "printed {after} more after the client left");
}

#[test]
fn a_client_that_closes_mid_stream_gets_the_closing_handshake_and_the_producer_stops() {
    let printed = Arc::new(AtomicUsize::new(0));
    let (done, stopped) = mpsc::channel();
    let server = IOWebsockets::run_server_in_thread(local(), producer(printed, done))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ws = connect(server.uri());
    for _ in 0..3 {
        assert_eq!(text(&mut ws), "token\n");
    }
    ws.close(None).unwrap_or_else(|e| panic!("{e}"));
    let mut echoed = false;
    loop {
        match ws.read() {
            Ok(tungstenite::Message::Close(_)) => echoed = true,
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("the server did not complete the closing handshake: {e}"),
        }
    }
    assert!(echoed, "the server echoed the close");
    let error = stopped.recv_timeout(Duration::from_secs(5));
    assert!(error.is_ok(), "the producer never stopped");
}

#[test]
fn a_cancel_stops_a_printing_producer_with_a_distinct_error() {
    let printed = Arc::new(AtomicUsize::new(0));
    let (done, stopped) = mpsc::channel();
    let server = IOWebsockets::run_server_in_thread(local(), producer(printed, done))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ws = connect(&format!("{}/?format=events", server.uri()));
    let _ = text(&mut ws);
    send(&mut ws, r#"{"type":"cancel"}"#);
    let error = stopped.recv_timeout(Duration::from_secs(5));
    assert_eq!(
        error.ok().as_deref(),
        Some("the websocket client cancelled the work")
    );
    let (_, code) = until_close(&mut ws);
    assert_eq!(code, Some(CloseCode::Error));
}

#[test]
fn bad_json_in_events_mode_gets_an_error_event_and_the_connection_goes_on() {
    let server = IOWebsockets::run_server_in_thread(local(), |ws: &IOWebsockets| -> Result<()> {
        let answer = ws.input("name?", false)?;
        ws.print(&["hello", &answer], " ", "\n", true)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let mut ws = connect(&format!("{}/ws?format=events", server.uri()));
    let _ = text(&mut ws); // input_request
    send(&mut ws, r#"{"type":"shout","content":{}}"#);
    send(&mut ws, r#"[1,2,3]"#);
    send(
        &mut ws,
        r#"{"type":"input_response","content":{"value":"Ada"}}"#,
    );
    let frames: Vec<Value> = until_close(&mut ws)
        .0
        .iter()
        .filter_map(|f| serde_json::from_str(f).ok())
        .collect();
    let kinds: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
    assert_eq!(kinds, ["error", "error", "print"]);
    assert_eq!(frames[2]["content"]["objects"], json!(["hello", "Ada"]));
}

#[test]
fn a_client_that_stops_answering_pings_is_gone_after_the_idle_timeout() {
    let (done, ended) = mpsc::channel();
    let config = local()
        .idle_timeout(Duration::from_millis(300))
        .input_timeout(Some(Duration::from_secs(30)));
    let server = IOWebsockets::run_server_in_thread(config, move |ws: &IOWebsockets| {
        let result = ws.input("", false);
        let _ = done.send(result.map_err(|e| e.to_string()));
        Ok::<_, Error>(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let _silent = connect(server.uri()); // never reads, so never answers a ping
    let start = Instant::now();
    let result = ended.recv_timeout(Duration::from_secs(5));
    assert_eq!(
        result.ok(),
        Some(Err(
            "the websocket client has gone; stop the work for it".to_owned()
        ))
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );

    // A client that reads (and so answers pings) may think for longer.
    let (done, answered) = mpsc::channel();
    let config = local().idle_timeout(Duration::from_millis(200));
    let server = IOWebsockets::run_server_in_thread(config, move |ws: &IOWebsockets| {
        let _ = done.send(ws.input("", false).map_err(|e| e.to_string()));
        Ok::<_, Error>(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let mut thinking = connect(server.uri());
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = thinking.get_mut() {
        let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
    }
    let until = Instant::now() + Duration::from_millis(700);
    while Instant::now() < until {
        let _ = thinking.read(); // answers pings; times out otherwise
    }
    send(&mut thinking, "late but alive");
    assert_eq!(
        answered.recv_timeout(Duration::from_secs(5)).ok(),
        Some(Ok("late but alive".to_owned()))
    );
}

#[test]
fn a_chat_busy_without_output_keeps_its_client_pinged() {
    // As while a long tool runs: the chat only checks its stream. Proxies
    // drop connections that stay quiet; the client gets pings.
    let config = local().idle_timeout(Duration::from_millis(200));
    let server = IOWebsockets::run_server_in_thread(config, busy_without_output)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ws = connect(&format!("{}/ws", server.uri()));
    let pings = pings_before(&mut ws, "done");
    assert!(
        pings >= 2,
        "{pings} pings in 800 ms at 200 ms of idle timeout"
    );
}
