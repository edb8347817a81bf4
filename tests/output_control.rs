//! Output control over real websockets: silent chats send nothing (streamed
//! tokens included), filters by kind, by agent and by the handshake query,
//! and input requests pass every filter.

mod common;

use agentio::agentchat::ChatOptions;
use agentio::io::websockets::{ServerConfig, WebsocketServer};
use agentio::io::{Event, IOStream, IOWebsockets};
use common::notebook::{self, POEM};
use common::ws::{Client, connect, connect_with_protocol, send, until_close};

/// The notebook chat on the replay model; a first message starting with
/// "silent:" runs it silent.
fn notebook_server() -> WebsocketServer {
    IOWebsockets::run_server_in_thread(ServerConfig::new("127.0.0.1", 0), |ws: &IOWebsockets| {
        let message = ws.input("", false)?;
        let silent = message.starts_with("silent:");
        notebook::chat(ChatOptions::new(message).silent(silent)).map(|_| ())
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn events(frames: &[String]) -> Vec<Event> {
    frames
        .iter()
        .map(|f| Event::from_json(f).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect()
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::kind).collect()
}

fn chat(ws: &mut Client, message: &str) -> Vec<String> {
    send(ws, message);
    finish(ws)
}

/// Every frame until the server closes the chat normally.
fn finish(ws: &mut Client) -> Vec<String> {
    let (frames, code) = until_close(ws);
    assert_eq!(
        code,
        Some(tungstenite::protocol::frame::coding::CloseCode::Normal)
    );
    frames
}

#[test]
fn a_silent_chat_sends_nothing_while_another_connection_streams() {
    let server = notebook_server();
    let events_url = format!("{}/ws?format=events", server.uri());
    // Both chats run at once, each on its own connection.
    let mut silent_text = connect(server.uri());
    let mut loud_text = connect(server.uri());
    let mut silent_events = connect(&events_url);
    let mut loud_events =
        connect_with_protocol(&format!("{}/ws", server.uri()), "agentio.events.v1");
    send(&mut silent_text, "silent: weather in Paris?");
    send(&mut loud_text, "weather in Paris?");

    assert_eq!(finish(&mut silent_text).len(), 0, "no frame at all");
    let loud = finish(&mut loud_text);
    for token in POEM {
        assert!(
            loud.iter().any(|f| f == token),
            "{token:?} streamed: {loud:?}"
        );
    }

    let silent = events(&chat(&mut silent_events, "silent: weather in Paris?"));
    assert_eq!(
        kinds(&silent),
        ["input_request"],
        "only the question asked before the chat"
    );
    let loud = events(&chat(&mut loud_events, "weather in Paris?"));
    let streamed: Vec<&str> = loud
        .iter()
        .filter_map(|e| match e {
            Event::Stream(s) => Some(s.content.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, POEM);
}

#[test]
fn a_kind_filter_in_the_query_keeps_only_those_kinds() {
    let server = notebook_server();
    let mut ws = connect(&format!(
        "{}/ws?format=events&events=text%2Cinput_request",
        server.uri()
    ));
    let got = events(&chat(&mut ws, "weather in Paris?"));
    assert_eq!(got.first().map(Event::kind), Some("input_request"));
    assert!(
        got[1..].iter().all(|e| e.kind() == "text"),
        "{:?}",
        kinds(&got)
    );
    assert!(got.len() >= 3, "the user's message and the replies");

    // Dropping kinds instead, in text mode: no auto-reply notices, no tool internals.
    let mut ws = connect(&format!(
        "{}/ws?events=-using_auto_reply,-execute_function,-executed_function,-tool_call,-tool_response",
        server.uri()
    ));
    let frames = chat(&mut ws, "weather in Paris?");
    let text = frames.concat();
    assert!(!text.contains("USING AUTO REPLY"), "{text}");
    assert!(!text.contains("Suggested tool call"), "{text}");
    assert!(!text.contains("EXECUTING FUNCTION"), "{text}");
    assert!(text.contains("Sun over Paris. TERMINATE"), "{text}");
}

#[test]
fn an_agent_filter_keeps_only_that_agents_events_streamed_tokens_included() {
    let server = notebook_server();
    let mut ws = connect(&format!("{}/ws?format=events&agents=chatbot", server.uri()));
    let got = events(&chat(&mut ws, "weather in Paris?"));
    assert!(got.iter().all(|e| e.agent().is_none_or(|a| a == "chatbot")));
    let streamed: Vec<(&str, Option<&str>)> = got
        .iter()
        .filter_map(|e| match e {
            Event::Stream(s) => Some((s.content.as_str(), s.sender.as_deref())),
            _ => None,
        })
        .collect();
    assert_eq!(
        streamed,
        POEM.map(|t| (t, Some("chatbot"))),
        "every token, marked as the chatbot's"
    );
    assert!(
        got.iter()
            .any(|e| matches!(e, Event::Text(t) if t.sender == "chatbot")),
        "the chatbot's reply"
    );
    assert!(
        !got.iter()
            .any(|e| matches!(e, Event::Text(t) if t.sender == "user_proxy")),
        "not the user proxy's message"
    );
}

#[test]
fn input_requests_pass_every_filter_and_unknown_kinds_are_refused() {
    let server = IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", 0),
        |ws: &IOWebsockets| {
            agentio::ioprintln!("hidden")?;
            let answer = ws.input("May I?", false)?;
            agentio::ioprintln!("got {answer}")
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Text mode keeping only stream events: the prompt still arrives.
    let mut ws = connect(&format!("{}/ws?events=stream", server.uri()));
    assert_eq!(common::ws::text(&mut ws), "May I?");
    assert_eq!(chat(&mut ws, "yes"), Vec::<String>::new());
    // Events mode keeping only errors: the input request still arrives.
    let mut ws = connect(&format!("{}/ws?format=events&events=error", server.uri()));
    let request = Event::from_json(&common::ws::text(&mut ws));
    assert!(
        matches!(&request, Ok(Event::InputRequest(r)) if r.prompt == "May I?"),
        "{request:?}"
    );
    assert_eq!(chat(&mut ws, "yes"), Vec::<String>::new());

    let refused = tungstenite::connect(format!("{}/ws?events=txet", server.uri()));
    match refused {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default());
            assert!(body.contains("unknown event kind \"txet\""), "{body}");
            assert!(body.contains("input_request"), "lists the kinds: {body}");
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}
