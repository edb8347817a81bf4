//! A frontend protocol's encoding of a chat: the one interface AG-UI's
//! events and the AI SDK's UI message chunks are made through, so the
//! transports (server-sent events, websocket frames) carry any protocol
//! and the chat knows none.

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
}

/// A protocol message's JSON text, written straight into a string (not
/// through `Display`'s formatter, which costs more per token).
pub(crate) fn message_text(message: &Value) -> String {
    // A `Value` always serializes: its keys are strings.
    serde_json::to_string(message).unwrap_or_default()
}
