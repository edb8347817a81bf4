//! The events a frontend protocol needs as a model streams (agentio's
//! own): where each reply starts and ends, and each tool call's argument
//! fragments. A stream gets them only when it asks
//! ([`IOStream::wants`](crate::io::IOStream::wants)); AutoGen's text and
//! AG2's events have no such thing.

use serde::{Deserialize, Serialize};

use crate::io::Uuid;

/// Content of an [`Event::ReplyStart`](crate::io::Event::ReplyStart): a
/// model's reply begins (before its first fragment of any kind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplyStartEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The reply's id, the same in its `tool_call_delta` and `reply_end`.
    pub message_id: String,
    /// The agent whose reply it is, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// The agent it is for, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
}

/// Content of an [`Event::ReplyEnd`](crate::io::Event::ReplyEnd): the
/// reply is complete (every fragment was sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplyEndEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The reply's id.
    pub message_id: String,
    /// The agent whose reply it is, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// Why the model stopped (`stop`, `tool_calls`, `length`), if it said.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// Content of an [`Event::ToolCallDelta`](crate::io::Event::ToolCallDelta):
/// a fragment of a tool call's arguments as the model writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCallDeltaEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The reply's id.
    pub message_id: String,
    /// The call's place among the reply's calls, from 0.
    pub index: usize,
    /// The call's id, as the `tool_call` event will give it.
    pub call_id: String,
    /// The tool's name (empty until the model has named it).
    pub name: String,
    /// This fragment of the arguments' JSON text (may be empty).
    pub arguments: String,
    /// The agent whose reply it is, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
}
