//! A frontend protocol's encoding of a chat: the one interface AG-UI's
//! events and the AI SDK's UI message chunks are made through, so the
//! transports (server-sent events, websocket frames) carry any protocol
//! and the chat knows none.

use serde::Serialize;
use serde_json::Value;

use crate::io::Event;

/// Turns a chat's events into one frontend protocol's messages, for one run
/// (one request of the frontend): [`AguiEncoder`](crate::io::AguiEncoder)
/// for AG-UI, [`UiMessageEncoder`](crate::io::UiMessageEncoder) for the
/// Vercel AI SDK's UI message stream.
///
/// An encoder keeps what is open (a text part, a tool call, a step) so that
/// every start has its end, whichever way the run ends. Each method returns
/// the messages to send, in order; a transport frames each one (a `data:`
/// line, a websocket frame).
pub trait Encoder: Send {
    /// What opens the response (AG-UI's `RUN_STARTED`, the AI SDK's `start`).
    fn start(&mut self) -> Vec<Value>;

    /// What `event` means in the protocol (nothing for events it has no
    /// use for). Besides the chat's events, a transport passes the
    /// `tool_approval_response` events it answered itself, so the encoder
    /// knows a denied call from a run one.
    fn encode(&mut self, event: &Event) -> Vec<Value>;

    /// Ends the run because the chat waits for a human: `waiting` holds the
    /// [`Event::ToolApprovalRequest`]s or the [`Event::InputRequest`] that
    /// the frontend's next request answers (AG-UI's interrupt outcome, the
    /// AI SDK's `tool-approval-request`).
    fn interrupt(&mut self, waiting: &[Event]) -> Vec<Value>;

    /// Closes what is open and ends the run well.
    fn finish(&mut self) -> Vec<Value>;

    /// Closes what is open and ends the run with `message` as its error.
    fn fail(&mut self, message: &str) -> Vec<Value>;

    /// [`encode`](Encoder::encode), as each message's JSON text, appended
    /// to `out`: what a transport writes. The default serializes `encode`'s
    /// values; an encoder may write its most frequent messages (a streamed
    /// token's) without building them as values first.
    fn encode_text(&mut self, event: &Event, out: &mut Vec<String>) {
        out.extend(self.encode(event).iter().map(message_text));
    }
}

/// A protocol message's JSON text, written straight into a string (not
/// through `Display`'s formatter, which costs more per token).
pub(crate) fn message_text(message: &impl Serialize) -> String {
    // Messages always serialize: their keys are strings.
    serde_json::to_string(message).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::io::{
        AguiEncoder, FunctionCall, ReasoningEvent, ReplyEndEvent, ReplyStartEvent, StreamEvent,
        TextEvent, ToolCall, ToolCallDeltaEvent, ToolCallEvent, ToolResponse, ToolResponseEvent,
        UiMessageEncoder, Uuid,
    };

    fn stream(content: &str, sender: &str) -> Event {
        let mut event = StreamEvent::new(content);
        event.sender = Some(sender.into());
        Event::Stream(event)
    }

    /// Two replies by two agents, streamed tokens that need escaping,
    /// reasoning, a tool call streamed and run, a whole message.
    fn chat() -> Vec<Event> {
        let start = |id: &str, sender: &str| {
            Event::ReplyStart(ReplyStartEvent {
                uuid: Uuid::new_v4(),
                message_id: id.into(),
                sender: Some(sender.into()),
                recipient: Some("user_proxy".into()),
            })
        };
        let end = |id: &str, sender: &str| {
            Event::ReplyEnd(ReplyEndEvent {
                uuid: Uuid::new_v4(),
                message_id: id.into(),
                sender: Some(sender.into()),
                finish_reason: None,
            })
        };
        let mut reasoning = ReasoningEvent::new("thinking \"hard\"");
        reasoning.sender = Some("chatbot".into());
        let call = ToolCall::new("c1", FunctionCall::new("weather", r#"{"city":"Paris"}"#));
        vec![
            start("r1", "chatbot"),
            Event::Reasoning(reasoning),
            stream("Hello", "chatbot"),
            stream(", \"world\"\n\ttab é 🌦 \u{1}", "chatbot"),
            stream("", "chatbot"),
            Event::ToolCallDelta(ToolCallDeltaEvent {
                uuid: Uuid::new_v4(),
                message_id: "r1".into(),
                index: 0,
                call_id: "c1".into(),
                name: "weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
                sender: Some("chatbot".into()),
            }),
            end("r1", "chatbot"),
            Event::from(ToolCallEvent::new(vec![call], "chatbot", "user_proxy")),
            Event::from(ToolResponseEvent::new(
                vec![ToolResponse::new("c1", "Sunny")],
                "user_proxy",
                "chatbot",
            )),
            start("r2", "critic"),
            stream("Fine", "critic"),
            stream(" poem.", "critic"),
            end("r2", "critic"),
            Event::from(TextEvent::new("TERMINATE", "critic", "user_proxy")),
            stream("after the end of a reply", "critic"),
        ]
    }

    /// Ids made up by the encoder (random) named by their order instead.
    fn normalized(messages: Vec<Value>) -> Vec<Value> {
        let mut names: HashMap<String, String> = HashMap::new();
        let mut name = |value: &mut Value| {
            if let Some(id) = value.as_str().filter(|id| id.contains('-') || id.len() > 8) {
                let next = format!("id{}", names.len());
                *value = Value::from(names.entry(id.to_owned()).or_insert(next).clone());
            }
        };
        messages
            .into_iter()
            .map(|mut message| {
                for key in ["id", "messageId"] {
                    if let Some(id) = message.get_mut(key) {
                        name(id);
                    }
                }
                message
            })
            .collect()
    }

    /// What `encode_text` writes parses to what `encode` gives, event by
    /// event (the text form writes its hot messages by itself).
    fn text_is_the_values(mut values: impl Encoder, mut texts: impl Encoder) {
        let (mut by_value, mut by_text) = (Vec::new(), Vec::new());
        for event in chat() {
            let encoded = values.encode(&event);
            let mut written = Vec::new();
            texts.encode_text(&event, &mut written);
            assert_eq!(written.len(), encoded.len(), "after {event:?}");
            by_value.extend(encoded);
            for text in written {
                let value: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
                by_text.push(value);
            }
        }
        by_value.extend(values.finish());
        by_text.extend(texts.finish());
        assert!(by_value.len() > 10, "{by_value:?}");
        assert_eq!(normalized(by_text), normalized(by_value));
    }

    #[test]
    fn the_ai_sdk_text_form_is_its_values() {
        let encoder = || UiMessageEncoder::new().message_id("msg-1");
        text_is_the_values(encoder(), encoder());
    }

    #[test]
    fn the_agui_text_form_is_its_values() {
        let encoder = || AguiEncoder::new("thread-1", "run-1");
        text_is_the_values(encoder(), encoder());
    }
}
