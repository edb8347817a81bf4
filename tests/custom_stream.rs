//! `examples/custom_stream`: the transcript file holds one event per line,
//! and its `stream` contents concatenate to the final reply.

#[path = "../examples/custom_stream.rs"]
#[allow(dead_code)] // its main is not called here
mod custom_stream;

use std::sync::Arc;

use agentio::io::{Event, IOBuffer};

#[test]
fn the_transcript_is_one_event_per_line_and_its_tokens_make_the_reply() -> agentio::Result<()> {
    let out = std::env::temp_dir().join(format!("agentio-transcript-{}.jsonl", std::process::id()));
    let screen = Arc::new(IOBuffer::new());
    let (result, transcript_error) = custom_stream::run(
        &out,
        screen.clone(),
        "Check out the weather in Rome and write a poem about it.",
    )?;
    assert_eq!(transcript_error, None);
    let text = std::fs::read_to_string(&out)?;
    let _ = std::fs::remove_file(&out);
    let events: Vec<Event> = text
        .lines()
        .map(Event::from_json)
        .collect::<agentio::Result<_>>()?;
    assert_eq!(
        events,
        screen.events(),
        "the file holds what the screen got"
    );
    let streamed: String = events
        .iter()
        .filter_map(|e| match e {
            Event::Stream(s) => Some(s.content.as_str()),
            _ => None,
        })
        .collect();
    let reply = result
        .chat_history
        .iter()
        .rev()
        .find(|m| m.name.as_deref() != Some("user_proxy") && !m.text().is_empty())
        .map(|m| m.text().to_owned())
        .unwrap_or_default();
    assert!(streamed.contains("Beneath the Rome sky"), "{streamed}");
    assert_eq!(streamed, reply, "the tokens are the final reply");
    assert!(
        events.iter().any(|e| e.kind() == "tool_call")
            && events.iter().any(|e| e.kind() == "tool_response"),
        "the whole chat, not only the tokens"
    );
    Ok(())
}
