//! Sessions over real sockets: a chat that outlives its connection. Resume
//! after a dropped TCP connection with no frame lost or repeated (both
//! modes), joins, 409 / 410 / 400, `missed_events`, the detach grace, input
//! while away, and `on_disconnect=cancel`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentio::agentchat::{ChatOptions, HumanInputMode};
use agentio::io::websockets::{ServerConfig, WebsocketServer};
use agentio::io::{Event, IOStream, IOWebsockets, Uuid};
use agentio::llm::ReplayClient;
use common::eventually;
use common::notebook::example::notebook_agents;
use common::ws::{
    Client, Got, busy_without_output, connect, next, pings_before, send, text, until_close,
};
use serde_json::Value;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;

/// Words of the streamed reply: enough frames to cut the stream anywhere.
const WORDS: usize = 40;

fn reply() -> Vec<String> {
    let mut words: Vec<String> = (0..WORDS).map(|i| format!("word{i} ")).collect();
    words.push("TERMINATE".into());
    words
}

/// A server whose chat reads one message, then streams a reply of
/// [`WORDS`] words, a few milliseconds apart, so a client can leave midway.
/// A first message starting with "ask:" makes the user proxy ask a human
/// before it replies.
fn server(config: ServerConfig) -> WebsocketServer {
    IOWebsockets::run_server_in_thread(config, |ws: &IOWebsockets| {
        let message = ws.input("", false)?;
        let model = ReplayClient::new()
            .text(reply())
            .pace(Duration::from_millis(3));
        let (mut chatbot, mut user_proxy) = notebook_agents(Arc::new(model));
        if message.starts_with("ask:") {
            user_proxy = user_proxy.human_input_mode(HumanInputMode::Always);
        }
        user_proxy
            .initiate_chat(&mut chatbot, ChatOptions::new(message))
            .map(|_| ())
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A grace long enough for a test's reconnects, short enough that a
/// session kept for a client owed its end is soon forgotten.
fn config() -> ServerConfig {
    ServerConfig::new("127.0.0.1", 0).detach_grace(Duration::from_secs(2))
}

/// A fresh session id, 32 characters.
fn new_id() -> String {
    Uuid::new_v4().to_string().replace('-', "")
}

fn url(server: &WebsocketServer, query: &str) -> String {
    format!("{}/ws?{query}", server.uri())
}

/// Cuts the client's TCP connection: no close frame, as a network would.
fn drop_tcp(mut ws: Client) {
    if let MaybeTlsStream::Plain(socket) = ws.get_mut() {
        let _ = socket.shutdown(std::net::Shutdown::Both);
    }
}

/// The next `n` text frames.
fn take(ws: &mut Client, n: usize) -> Vec<String> {
    (0..n).map(|_| text(ws)).collect()
}

/// A frame as it compares across runs: events without their fresh ids
/// (uuids, request ids), and no digits (the weather tool's answer holds the time).
fn comparable(frame: &str) -> String {
    let frame = match serde_json::from_str::<Value>(frame) {
        Ok(mut value) => {
            if let Some(content) = value.get_mut("content").and_then(Value::as_object_mut) {
                content.remove("uuid");
                content.remove("request_id");
            }
            value.to_string()
        }
        Err(_) => frame.to_owned(),
    };
    frame.replace(|c: char| c.is_ascii_digit(), "")
}

fn comparable_all(frames: &[String]) -> Vec<String> {
    frames.iter().map(|f| comparable(f)).collect()
}

/// The whole chat on one connection of a new session: the transcript cut
/// runs must reproduce.
fn uncut(server: &WebsocketServer, mode: &str) -> Vec<String> {
    let mut ws = connect(&url(server, &format!("session={}{mode}", new_id())));
    let mut frames = Vec::new();
    if !mode.is_empty() {
        frames.push(text(&mut ws)); // the input request
    }
    send(&mut ws, "Weather in Paris?");
    let (rest, code) = until_close(&mut ws);
    assert_eq!(code, Some(CloseCode::Normal));
    frames.extend(rest);
    frames
}

#[test]
fn a_resume_after_a_dropped_connection_loses_and_repeats_no_frame() {
    let server = server(config());
    for mode in ["", "&format=events"] {
        let whole = uncut(&server, mode);
        assert!(whole.len() > WORDS, "{mode}: {} frames", whole.len());
        for cut in [3, WORDS / 2, whole.len() - 2] {
            let id = new_id();
            let mut first = connect(&url(&server, &format!("session={id}{mode}")));
            let mut got = Vec::new();
            if !mode.is_empty() {
                got.push(text(&mut first));
            }
            send(&mut first, "Weather in Paris?");
            got.extend(take(&mut first, cut - got.len()));
            drop_tcp(first);
            let after = got.len();
            let mut second = connect(&url(&server, &format!("session={id}&after={after}{mode}")));
            let (rest, code) = until_close(&mut second);
            got.extend(rest);
            assert_eq!(code, Some(CloseCode::Normal), "{mode} cut at {cut}");
            assert_eq!(
                comparable_all(&got),
                comparable_all(&whole),
                "{mode} cut at {cut}"
            );
        }
    }
    eventually("sessions forgotten", || server.sessions() == 0);
}

#[test]
fn several_resumes_in_a_row_still_lose_nothing() {
    let server = server(config());
    let whole = uncut(&server, "");
    let id = new_id();
    let mut ws = connect(&url(&server, &format!("session={id}")));
    send(&mut ws, "Weather in Paris?");
    let mut got = take(&mut ws, 2);
    for _ in 0..4 {
        drop_tcp(ws);
        ws = connect(&url(&server, &format!("session={id}&after={}", got.len())));
        got.extend(take(&mut ws, 5));
    }
    let (rest, code) = until_close(&mut ws);
    got.extend(rest);
    assert_eq!(code, Some(CloseCode::Normal));
    assert_eq!(comparable_all(&got), comparable_all(&whole));
}

#[test]
fn a_second_client_joins_and_sees_everything_and_either_may_answer() {
    let server = server(config());
    let id = new_id();
    let events = "&format=events";
    let mut first = connect(&url(&server, &format!("session={id}{events}")));
    let request = text(&mut first);
    assert!(request.contains("input_request"), "{request}");
    // The second client gets the kept frames (the request), then live ones.
    let mut second = connect(&url(&server, &format!("session={id}{events}")));
    assert_eq!(text(&mut second), request);
    // Both answer; the first answer wins, the other is dropped: it must not
    // answer the next request either.
    send(
        &mut second,
        r#"{"type":"input_response","content":{"value":"ask: Weather?"}}"#,
    );
    send(
        &mut first,
        r#"{"type":"input_response","content":{"value":"ask: late"}}"#,
    );
    // Both see the answer taken, then the chat.
    let mut taken = String::new();
    for ws in [&mut first, &mut second] {
        taken = text(ws);
        assert!(taken.contains("input_response"), "{taken}");
    }
    let loser = if taken.contains("ask: late") {
        "ask: Weather?"
    } else {
        "ask: late"
    };
    // The user proxy now asks a human; the first client answers "exit".
    for ws in [&mut first, &mut second] {
        loop {
            let frame = text(ws);
            if frame.contains("\"input_request\"") {
                break;
            }
        }
    }
    send(&mut first, "exit");
    let (a, code_a) = until_close(&mut first);
    let (b, code_b) = until_close(&mut second);
    assert_eq!(
        (code_a, code_b),
        (Some(CloseCode::Normal), Some(CloseCode::Normal))
    );
    assert_eq!(a, b, "both clients see the same frames");
    assert!(a.iter().any(|f| f.contains("\"value\":\"exit\"")), "{a:?}");
    assert!(
        !a.iter()
            .any(|f| f.contains("input_response") && f.contains(loser)),
        "the late answer answered nothing: {a:?}"
    );
}

#[test]
fn an_input_request_made_while_away_is_answered_on_return() {
    let server = server(config());
    for mode in ["", "&format=events"] {
        let id = new_id();
        let mut ws = connect(&url(&server, &format!("session={id}{mode}")));
        if !mode.is_empty() {
            assert!(text(&mut ws).contains("input_request"));
        }
        send(&mut ws, "ask: Weather?");
        // Gone at once: the chat asks its human while nobody is there.
        drop_tcp(ws);
        let mut back = connect(&url(&server, &format!("session={id}&after=0{mode}")));
        // Everything kept, the question waiting for an answer included.
        let mut got: Vec<String> = Vec::new();
        while !got
            .last()
            .is_some_and(|f| f.contains("Replying as user_proxy"))
        {
            got.push(text(&mut back));
        }
        send(&mut back, "exit");
        let (_, code) = until_close(&mut back);
        assert_eq!(code, Some(CloseCode::Normal), "{mode}");
    }
}

#[test]
fn refusals_say_why_without_repeating_the_id() {
    let server = server(config());
    let status = |query: &str| match tungstenite::connect(url(&server, query)) {
        Err(tungstenite::Error::Http(response)) => {
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned();
            (response.status().as_u16(), body)
        }
        Ok(_) => (101, String::new()),
        Err(e) => panic!("{query}: {e}"),
    };
    // Not an id: 400, and the id is not echoed.
    let (code, body) = status("session=short-but-secret");
    assert_eq!(code, 400);
    assert!(!body.contains("short-but-secret"), "{body}");
    assert_eq!(status("session=abc%2Bdefghijklmnopqrstuvwxyz").0, 400);
    let id = new_id();
    assert_eq!(status(&format!("session={id}&after=x")).0, 400);
    assert_eq!(status(&format!("session={id}&on_disconnect=maybe")).0, 400);
    // A resume of a session that never was: 410, start over.
    assert_eq!(status(&format!("session={id}&after=3")).0, 410);
    // A live session resumed in another mode or with another filter: 409.
    let mut live = connect(&url(&server, &format!("session={id}")));
    assert_eq!(
        status(&format!("session={id}&after=0&format=events")).0,
        409
    );
    assert_eq!(status(&format!("session={id}&after=0&events=text")).0, 409);
    // Claiming more frames than were sent: 400.
    assert_eq!(status(&format!("session={id}&after=999")).0, 400);
    send(&mut live, "Weather?");
    let (_, code) = until_close(&mut live);
    assert_eq!(code, Some(CloseCode::Normal));
}

#[test]
fn evicted_frames_are_missed_events_in_events_mode_and_410_in_text_mode() {
    // About 200 bytes kept: a handful of frames.
    let server = server(config().session_replay_bytes(200));
    let events_id = new_id();
    let text_id = new_id();
    let mut e = connect(&url(&server, &format!("session={events_id}&format=events")));
    let mut t = connect(&url(&server, &format!("session={text_id}")));
    let _request = text(&mut e);
    send(&mut e, "Weather?");
    send(&mut t, "Weather?");
    let _ = take(&mut e, 20);
    let _ = take(&mut t, 20);
    drop_tcp(e);
    drop_tcp(t);
    let mut back = connect(&url(
        &server,
        &format!("session={events_id}&after=1&format=events"),
    ));
    let first = Event::from_json(&text(&mut back)).unwrap_or_else(|e| panic!("{e}"));
    match first {
        Event::MissedEvents(missed) => assert!(missed.count > 0, "{missed:?}"),
        other => panic!("expected missed_events first, got {other:?}"),
    }
    let (rest, code) = until_close(&mut back);
    assert_eq!(code, Some(CloseCode::Normal));
    assert!(
        rest.last().is_some_and(|f| f.contains("termination")),
        "{rest:?}"
    );
    match tungstenite::connect(url(&server, &format!("session={text_id}&after=1"))) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 410),
        other => panic!("expected 410, got {:?}", other.map(|_| ())),
    }
}

/// The grace over, the model's stream is dropped: no tokens for nobody.
#[test]
fn when_the_grace_ends_the_model_stream_is_dropped() {
    use common::notebook::example;
    use common::{MockServer, notebook};
    let mock = MockServer::start(notebook::slow_replies(vec![]));
    let model = notebook::mock_model(&mock.base_url());
    let server = IOWebsockets::run_server_in_thread(
        config().detach_grace(Duration::from_millis(100)),
        move |ws: &IOWebsockets| example::on_connect(ws, &model.clone().into()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut ws = connect(&url(&server, &format!("session={}", new_id())));
    send(&mut ws, "Weather in Paris?");
    // Into the poem (200 words, 5 ms apart), then gone.
    while !text(&mut ws).contains("word3") {}
    drop_tcp(ws);
    eventually("the chat to stop", || server.chats() == 0);
    eventually("the model stream to be dropped", || {
        mock.client_left_early
            .load(std::sync::atomic::Ordering::SeqCst)
    });
    eventually("the session to be forgotten", || server.sessions() == 0);
}

#[test]
fn when_the_grace_ends_the_chat_stops_and_the_session_is_forgotten() {
    let server = server(config().detach_grace(Duration::from_millis(100)));
    let id = new_id();
    let mut ws = connect(&url(&server, &format!("session={id}")));
    send(&mut ws, "Weather in Paris?");
    let got = take(&mut ws, 4);
    drop_tcp(ws);
    // Stopped well before its ~120 ms of tokens would have ended it... or
    // at least forgotten once the grace is over.
    eventually("the chat to stop", || server.chats() == 0);
    eventually("the session to be forgotten", || server.sessions() == 0);
    match tungstenite::connect(url(&server, &format!("session={id}&after={}", got.len()))) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 410),
        other => panic!("expected 410, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn on_disconnect_cancel_stops_the_chat_at_once() {
    let model = Arc::new(
        ReplayClient::new()
            .text((0..2000).map(|i| format!("w{i} ")))
            .pace(Duration::from_millis(2)),
    );
    let calls = model.clone();
    let server = IOWebsockets::run_server_in_thread(config(), move |ws: &IOWebsockets| {
        let message = ws.input("", false)?;
        let (mut chatbot, mut user_proxy) = notebook_agents(calls.clone());
        user_proxy
            .initiate_chat(&mut chatbot, ChatOptions::new(message))
            .map(|_| ())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let id = new_id();
    let mut ws = connect(&url(&server, &format!("session={id}&on_disconnect=cancel")));
    send(&mut ws, "Weather?");
    let _ = take(&mut ws, 5);
    let started = Instant::now();
    drop_tcp(ws);
    eventually("the chat to stop", || server.chats() == 0);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "2,000 tokens 2 ms apart would take 4 s: {:?}",
        started.elapsed()
    );
    eventually("the session to be forgotten", || server.sessions() == 0);
}

#[test]
fn a_cancel_stops_a_session_whatever_its_policy() {
    let server = server(config());
    let id = new_id();
    let mut ws = connect(&url(&server, &format!("session={id}&format=events")));
    let _ = text(&mut ws);
    send(&mut ws, "Weather?");
    let _ = take(&mut ws, 3);
    send(&mut ws, r#"{"type":"cancel"}"#);
    loop {
        match next(&mut ws) {
            Got::Text(_) => continue,
            Got::Closed(code) => {
                assert_eq!(code, Some(CloseCode::Error));
                break;
            }
            Got::Failed(e) => panic!("{e}"),
        }
    }
    eventually("the session to be forgotten", || server.sessions() == 0);
}

#[test]
fn without_session_a_connection_is_one_chat_as_before() {
    let server = server(config());
    let mut ws = connect(server.uri());
    send(&mut ws, "Weather?");
    let (frames, code) = until_close(&mut ws);
    assert_eq!(code, Some(CloseCode::Normal));
    assert!(frames.len() > WORDS);
    assert_eq!(server.sessions(), 0);
    // The stream trait is what on_connect sees in both cases.
    fn is_stream<T: IOStream>() {}
    is_stream::<IOWebsockets>();
}

/// The example's chat keeps a session's conversation: the second message
/// continues it, and the model sees the first turn.
#[test]
fn a_session_is_a_conversation_the_model_remembers() {
    use common::notebook::example;
    use common::{MockServer, streamed_text};
    let mock = MockServer::start(vec![
        streamed_text(&["Sunny in Paris. ", "TERMINATE"]),
        streamed_text(&["Rain tomorrow. ", "TERMINATE"]),
    ]);
    let model = common::notebook::mock_model(&mock.base_url());
    let server = IOWebsockets::run_server_in_thread(config(), move |ws: &IOWebsockets| {
        example::on_connect(ws, &model.clone().into())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let id = new_id();
    let mut ws = connect(&url(&server, &format!("session={id}")));
    send(&mut ws, "Weather in Paris?");
    let mut frames: Vec<String> = Vec::new();
    while !frames.concat().contains("Sunny in Paris. TERMINATE\n\n---") {
        frames.push(text(&mut ws));
    }
    send(&mut ws, "And tomorrow?");
    while !frames.concat().contains("Rain tomorrow. TERMINATE\n\n---") {
        frames.push(text(&mut ws));
    }
    let first = mock.request().unwrap_or_else(|| panic!("no first request"));
    let second = mock
        .request()
        .unwrap_or_else(|| panic!("no second request"));
    let contents = |r: &common::Request| -> Vec<String> {
        r.body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["content"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(contents(&first).contains(&"Weather in Paris?".to_owned()));
    let remembered = contents(&second);
    for said in [
        "Weather in Paris?",
        "Sunny in Paris. TERMINATE",
        "And tomorrow?",
    ] {
        assert!(
            remembered.iter().any(|c| c == said),
            "{said}: {remembered:?}"
        );
    }
    drop_tcp(ws);
}

/// A client that closes with 1000 is done: its session does not wait the
/// grace for it. One that closes with 1001 (a page reload) may resume.
#[test]
fn a_normal_close_ends_the_wait_and_going_away_does_not() {
    use tungstenite::protocol::CloseFrame;
    // A grace far longer than the test's waits: only the close can end it.
    let server_with_long_grace = || server(config().detach_grace(Duration::from_secs(60)));
    let server = server_with_long_grace();
    let close = |mut ws: Client, code: CloseCode| {
        let _ = ws.close(Some(CloseFrame {
            code,
            reason: "".into(),
        }));
        while let Got::Text(_) = next(&mut ws) {}
    };
    let away = new_id();
    let mut ws = connect(&url(&server, &format!("session={away}")));
    send(&mut ws, "Weather?");
    let got = take(&mut ws, 3);
    close(ws, CloseCode::Away);
    let mut back = connect(&url(
        &server,
        &format!("session={away}&after={}", got.len()),
    ));
    let (_, code) = until_close(&mut back);
    assert_eq!(code, Some(CloseCode::Normal), "resumed after a 1001");

    let server = server_with_long_grace();

    let done = new_id();
    let mut ws = connect(&url(&server, &format!("session={done}")));
    send(&mut ws, "Weather?");
    let _ = take(&mut ws, 3);
    close(ws, CloseCode::Normal);
    eventually("the chat to stop", || server.chats() == 0);
    eventually("the session to be forgotten", || server.sessions() == 0);
}

mod any_cuts {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::Config;
    use tungstenite::protocol::CloseFrame;

    /// Real chats over real sockets: few cases by default (each is a chat
    /// of ~60 frames).
    fn config() -> Config {
        common::proptest_config(16)
    }

    proptest! {
        #![proptest_config(config())]

        /// For any cut points, each a dropped TCP connection or a close
        /// with 1001, the frames a client gets across its connections,
        /// joined, are the transcript of the same chat with no cut.
        #[test]
        fn the_frames_across_any_cuts_are_the_uncut_transcript(
            cuts in prop::collection::vec((1usize..48, any::<bool>()), 1..5)
        ) {
            let server = server(super::config());
            let whole = uncut(&server, "");
            let mut cuts: Vec<(usize, bool)> =
                cuts.into_iter().filter(|(at, _)| *at < whole.len()).collect();
            cuts.sort();
            cuts.dedup_by_key(|(at, _)| *at);
            let id = new_id();
            let mut ws = connect(&url(&server, &format!("session={id}")));
            send(&mut ws, "Weather in Paris?");
            let mut got = Vec::new();
            for (at, drop) in cuts {
                while got.len() < at {
                    got.push(text(&mut ws));
                }
                if drop {
                    drop_tcp(ws);
                } else {
                    let _ = ws.close(Some(CloseFrame { code: CloseCode::Away, reason: "".into() }));
                    while let Got::Text(_) = next(&mut ws) {}
                }
                ws = connect(&url(&server, &format!("session={id}&after={}", got.len())));
            }
            let (rest, code) = until_close(&mut ws);
            got.extend(rest);
            prop_assert_eq!(code, Some(CloseCode::Normal));
            prop_assert_eq!(comparable_all(&got), comparable_all(&whole));
        }
    }
}

/// A client that stops reading never slows the chat or the other clients:
/// its frames wait (bounded) or it is detached, and the chat goes on.
#[test]
fn a_client_that_stops_reading_does_not_slow_the_others() {
    // 100 tokens of 64 KiB: far more than the socket buffers of a client
    // that reads nothing; a write timeout far longer than the test.
    let config = config().write_timeout(Duration::from_secs(60));
    let server = IOWebsockets::run_server_in_thread(config, |ws: &IOWebsockets| {
        let message = ws.input("", false)?;
        let token = "x".repeat(64 << 10);
        let mut tokens: Vec<String> = (0..100).map(|_| token.clone()).collect();
        tokens.push(" TERMINATE".into());
        let (mut chatbot, mut user_proxy) =
            notebook_agents(Arc::new(ReplayClient::new().text(tokens)));
        user_proxy
            .initiate_chat(&mut chatbot, ChatOptions::new(message))
            .map(|_| ())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let id = new_id();
    let mut stalled = connect(&url(&server, &format!("session={id}")));
    let mut reader = connect(&url(&server, &format!("session={id}")));
    send(&mut stalled, "Weather?"); // and never reads again
    // Each read of the other client waits at most 5 s: a chat held up by
    // the stalled client for its 60 s write timeout would fail here.
    let (frames, code) = until_close(&mut reader);
    assert_eq!(code, Some(CloseCode::Normal));
    assert!(
        frames.iter().any(|f| f.contains("TERMINATE")),
        "{} frames",
        frames.len()
    );
    drop(stalled);
}

/// Chats for nobody are bounded: past `max_detached_sessions`, a session
/// whose client goes is stopped at once and forgotten; the others wait.
#[test]
fn past_the_most_detached_sessions_a_session_stops_at_once() {
    let config = config()
        .detach_grace(Duration::from_secs(30))
        .max_detached_sessions(1);
    let server = IOWebsockets::run_server_in_thread(config, |ws: &IOWebsockets| {
        let message = ws.input("", false)?;
        // 40 words 50 ms apart: both chats outlast the test's cuts.
        let model = ReplayClient::new()
            .text(reply())
            .pace(Duration::from_millis(50));
        let (mut chatbot, mut user_proxy) = notebook_agents(Arc::new(model));
        user_proxy
            .initiate_chat(&mut chatbot, ChatOptions::new(message))
            .map(|_| ())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let ids = [new_id(), new_id()];
    for id in &ids {
        let mut ws = connect(&url(&server, &format!("session={id}")));
        send(&mut ws, "Weather?");
        let _ = take(&mut ws, 3);
        drop_tcp(ws);
    }
    eventually("one of the two chats to stop", || server.chats() == 1);
    let mut outcomes: Vec<String> = ids
        .iter()
        .map(
            |id| match tungstenite::connect(url(&server, &format!("session={id}&after=3"))) {
                Ok((mut ws, _)) => format!("{:?}", until_close(&mut ws).1),
                Err(tungstenite::Error::Http(response)) => response.status().to_string(),
                Err(e) => e.to_string(),
            },
        )
        .collect();
    outcomes.sort();
    assert_eq!(outcomes, ["410 Gone", "Some(Normal)"]);
}

#[test]
fn a_first_client_silent_past_the_idle_timeout_is_let_go() {
    // It never answers the pings (it reads nothing): given up after the
    // idle timeout, then the grace passes and the chat, waiting for its
    // message, stops. A server that kept it would wait forever.
    let config = config()
        .idle_timeout(Duration::from_millis(300))
        .detach_grace(Duration::from_millis(300));
    let server = server(config);
    let silent = connect(&url(&server, &format!("session={}", new_id())));
    eventually("the chat to start", || server.chats() == 1);
    eventually("the silent client's chat to stop", || server.chats() == 0);
    drop(silent);
}

#[test]
fn a_first_client_that_answers_pings_stays_past_the_idle_timeout() {
    let server = server(config().idle_timeout(Duration::from_millis(300)));
    let mut ws = connect(&url(&server, &format!("session={}", new_id())));
    // Four pings, half an idle timeout apart: twice the timeout of quiet
    // (tungstenite answers each as it reads it).
    let mut pings = 0;
    while pings < 4 {
        match ws.read() {
            Ok(tungstenite::Message::Ping(_)) => pings += 1,
            Ok(other) => panic!("expected pings while the chat waits, got {other:?}"),
            Err(e) => panic!("let go after {pings} pings: {e}"),
        }
    }
    send(&mut ws, "Weather in Paris?");
    let (frames, code) = until_close(&mut ws);
    assert_eq!(code, Some(CloseCode::Normal));
    assert!(frames.iter().any(|f| f.contains("TERMINATE")), "{frames:?}");
}

#[test]
fn a_chat_busy_without_output_keeps_its_first_client_pinged() {
    // As while a long tool runs: the chat only checks its stream. Proxies
    // drop connections that stay quiet; the first client gets pings.
    let config = config().idle_timeout(Duration::from_millis(200));
    let server = IOWebsockets::run_server_in_thread(config, busy_without_output)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ws = connect(&url(&server, &format!("session={}", new_id())));
    let pings = pings_before(&mut ws, "done");
    assert!(
        pings >= 2,
        "{pings} pings in 800 ms at 200 ms of idle timeout"
    );
}
