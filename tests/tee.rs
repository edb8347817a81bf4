//! Tee: one chat to several streams. Both sinks get the same events in the
//! same order; a failing secondary (a file on a full disk) does not stop the
//! chat; a failing primary (a websocket whose client left) does.

mod common;

use std::fs::OpenOptions;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use agentio::Error;
use agentio::agentchat::ChatOptions;
use agentio::io::websockets::ServerConfig;
use agentio::io::{self, Event, IOBuffer, IOStream, IOWebsockets, JsonLines, Tee};
use common::MockServer;
use common::notebook::{self, POEM};
use common::ws::{connect, send, text};

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("agentio-tee-{}-{name}", std::process::id()))
}

#[test]
fn every_sink_gets_the_same_events_in_the_same_order() -> agentio::Result<()> {
    let (screen, copy) = (Arc::new(IOBuffer::new()), Arc::new(IOBuffer::new()));
    let path = temp_path("transcript.jsonl");
    let file = std::fs::File::create(&path)?;
    let tee = Arc::new(
        Tee::new(screen.clone())
            .with(copy.clone())
            .with(Arc::new(JsonLines::new(file))),
    );
    io::with_default(tee.clone(), || {
        notebook::chat(ChatOptions::new("Weather in Paris?"))
    })?;
    assert!(tee.errors().is_empty(), "{:?}", tee.errors());
    let shown = screen.events();
    assert!(shown.len() > POEM.len() + 3, "the whole chat: {shown:?}");
    assert_eq!(copy.events(), shown);
    let transcript: Vec<Event> = std::fs::read_to_string(&path)?
        .lines()
        .map(Event::from_json)
        .collect::<agentio::Result<_>>()?;
    assert_eq!(
        transcript, shown,
        "the file holds the same events, by uuid too"
    );
    let _ = std::fs::remove_file(&path);
    Ok(())
}

#[test]
fn a_file_sink_that_fails_does_not_stop_the_chat() -> agentio::Result<()> {
    // /dev/full: every write fails with ENOSPC, as on a full disk.
    let full = OpenOptions::new().write(true).open("/dev/full")?;
    let screen = Arc::new(IOBuffer::new());
    let tee = Arc::new(Tee::new(screen.clone()).with(Arc::new(JsonLines::new(full))));
    let result = io::with_default(tee.clone(), || {
        notebook::chat(ChatOptions::new("Weather in Paris?"))
    })?;
    assert!(
        result.summary.contains("Sun over Paris."),
        "{}",
        result.summary
    );
    let streamed: Vec<String> = screen
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Stream(s) => Some(s.content),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, POEM, "the primary got everything");
    let errors = tee.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, 0);
    assert!(errors[0].1.contains("No space left"), "{errors:?}");
    Ok(())
}

#[test]
fn input_goes_to_the_primary_and_secondaries_see_the_question_and_answer() -> agentio::Result<()> {
    let screen = Arc::new(IOBuffer::new().with_inputs(["Ada", "secret"]));
    let copy = Arc::new(IOBuffer::new());
    let tee = Tee::new(screen.clone()).with(copy.clone());
    assert_eq!(tee.input("Name? ", false)?, "Ada");
    assert_eq!(tee.input("Password: ", true)?, "secret");
    assert_eq!(screen.prompts(), ["Name? ", "Password: "]);
    let seen: Vec<String> = copy.events().iter().map(Event::to_json).collect();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(seen[0].contains(r#""prompt":"Name? ""#) && seen[1].contains(r#""value":"Ada""#));
    assert!(
        seen[3].contains(r#""value":"""#) && !seen.concat().contains("secret"),
        "a password is never copied: {seen:?}"
    );
    Ok(())
}

#[test]
fn a_websocket_primary_that_fails_stops_the_chat_and_its_model_stream() {
    let mock = MockServer::start(notebook::slow_replies(vec![]));
    let base_url = mock.base_url();
    let transcript = Arc::new(IOBuffer::new());
    let (done, outcome) = mpsc::channel();
    let server = {
        let transcript = transcript.clone();
        IOWebsockets::run_server_in_thread(
            ServerConfig::new("127.0.0.1", 0),
            move |ws: &IOWebsockets| {
                let message = ws.input("", false)?;
                let tee = Tee::new(io::get_default()).with(transcript.clone());
                let result = io::with_default(Arc::new(tee), || {
                    notebook::chat_with(notebook::Model::Mock(&base_url), message.into())
                });
                let _ = done.send(result.as_ref().err().map(ToString::to_string));
                result.map(|_| ())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let mut ws = connect(server.uri());
    send(&mut ws, "Weather in Paris?");
    let mut seen = 0;
    while seen < 3 {
        if text(&mut ws).starts_with("word") {
            seen += 1;
        }
    }
    drop(ws);
    let error = outcome
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("the chat did not end: {e}"));
    let closed = Error::ConnectionClosed.to_string();
    assert_eq!(error.as_deref(), Some(closed.as_str()));
    let copied = transcript
        .events()
        .iter()
        .filter(|e| matches!(e, Event::Stream(_)))
        .count();
    assert!(
        (3..200).contains(&copied),
        "the secondary got the tokens until the end: {copied}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !mock.client_left_early.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        mock.client_left_early.load(Ordering::SeqCst),
        "the model stream was dropped"
    );
}
