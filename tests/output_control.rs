//! Output control over real websockets: silent chats send nothing (streamed
//! tokens included), filters by kind, by agent and by the handshake query,
//! input requests pass every filter, and only the chosen agents' replies
//! stream their tokens.

mod common;

use agentio::agentchat::{ChatOptions, Streaming};
use agentio::io::websockets::{ServerConfig, WebsocketServer};
use agentio::io::{Event, IOStream, IOWebsockets};
use common::notebook::{self, POEM};
use common::ws::{Client, connect, connect_with_protocol, send, until_close};
use common::{MockServer, Reply, streamed_text, streamed_tool_call};

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
    events.iter().map(|e| e.kind().as_str()).collect()
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
    assert_eq!(
        got.first().map(Event::kind),
        Some(agentio::io::EventKind::InputRequest)
    );
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
            assert!(body.starts_with("invalid event filter"), "{body}");
            assert!(!body.contains("model"), "not about models: {body}");
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}

/// The notebook chat against the mock model (real SSE, the tool-call turn
/// starting with AG2's role chunk and its empty content), streaming as asked.
fn mock_notebook_server(mock: &common::MockServer, streaming: Streaming) -> WebsocketServer {
    let base_url = mock.base_url();
    IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", 0),
        move |ws: &IOWebsockets| {
            let message = ws.input("", false)?;
            let options = ChatOptions::new(message).streaming(streaming.clone());
            notebook::chat_with(notebook::Model::Mock(&base_url), options).map(|_| ())
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn notebook_replies() -> Vec<Reply> {
    vec![
        streamed_tool_call("call_1", "weather_forecast", r#"{"city": "Paris"}"#),
        streamed_text(&POEM),
    ]
}

#[test]
fn streaming_only_the_answering_agent_the_tool_call_turn_streams_nothing() {
    let mock = MockServer::start(notebook_replies());
    let server = mock_notebook_server(&mock, Streaming::agents(["chatbot"]));
    let mut ws = connect(&format!("{}/ws?format=events", server.uri()));
    let got = events(&chat(&mut ws, "Weather in Paris?"));
    let tool_response = got
        .iter()
        .position(|e| e.kind() == "tool_response")
        .unwrap_or_else(|| panic!("{:?}", kinds(&got)));
    assert!(
        !got[..tool_response].iter().any(|e| e.kind() == "stream"),
        "no stream event, not even an empty one, before the tool ran: {:?}",
        kinds(&got)
    );
    let streamed: Vec<&str> = got
        .iter()
        .filter_map(|e| match e {
            Event::Stream(s) => Some(s.content.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, POEM, "the poem, token by token");
    let answer = got.iter().rev().find_map(|e| match e {
        Event::Text(t) if t.sender == "chatbot" => Some(t),
        _ => None,
    });
    assert!(answer.is_some_and(|t| t.streamed), "{answer:?}");
}

#[test]
fn replies_kept_whole_arrive_as_one_text_event_marked_not_streamed() {
    for streaming in [Streaming::None, Streaming::agents(["someone else"])] {
        let mock = MockServer::start(notebook_replies());
        let server = mock_notebook_server(&mock, streaming.clone());
        let mut ws = connect(&format!("{}/ws?format=events", server.uri()));
        let got = events(&chat(&mut ws, "Weather in Paris?"));
        assert!(
            !got.iter().any(|e| e.kind() == "stream"),
            "{streaming:?}: {:?}",
            kinds(&got)
        );
        let answer = got.iter().rev().find_map(|e| match e {
            Event::Text(t) if t.sender == "chatbot" => Some(t),
            _ => None,
        });
        assert!(
            answer.is_some_and(|t| !t.streamed && t.content == POEM.concat()),
            "{streaming:?}: {answer:?}"
        );
    }
}

/// In text mode a filter keeps what the same filter keeps in events mode,
/// rendered as text (it once rendered events as prints and filtered them
/// again as `print`, so `?events=text` or `?events=-print` sent nothing).
#[test]
fn text_mode_keeps_what_events_mode_keeps_rendered_as_text() {
    let server = notebook_server();
    for query in [
        "events=text",
        "events=-print",
        "events=text,stream,tool_call",
        "agents=chatbot",
    ] {
        let mut text_ws = connect(&format!("{}/ws?{query}", server.uri()));
        let text: String = chat(&mut text_ws, "Weather in Paris?").concat();
        let mut events_ws = connect(&format!("{}/ws?format=events&{query}", server.uri()));
        let kept = events(&chat(&mut events_ws, "Weather in Paris?"));
        let rendered: String = kept.iter().map(Event::to_string).collect();
        assert!(!kept.is_empty(), "{query}: events mode kept nothing");
        assert!(!text.is_empty(), "{query}: text mode sent nothing");
        // The weather tool's answer holds the time: compare without digits.
        let digitless = |s: &str| s.replace(|c: char| c.is_ascii_digit(), "");
        assert_eq!(digitless(&text), digitless(&rendered), "{query}");
    }
}
