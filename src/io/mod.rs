//! The stream layer: where every line, token and input request goes.
//!
//! - [`IOStream`]: the trait a stream implements (`print`, `input`, `send`).
//! - The default stream: [`get_default`], [`set_default`], [`with_default`],
//!   [`set_global_default`], and [`spawn`] / [`inherit`] for threads that keep
//!   their parent's stream.
//! - Streams: [`IOConsole`] (stdout/stdin), [`IOBuffer`] (in memory),
//!   [`IOWebsockets`] (one websocket client, with its server) and
//!   [`JsonLines`] (a transcript, one event per line).
//! - Adapters: [`Filtered`] (pass events by kind and agent, see [`Filter`])
//!   and [`Tee`] (one chat to several streams).
//! - [`Event`]: the structured things a stream carries, with AG2's JSON shape
//!   and AutoGen 0.2's console text.
//!
//! This layer knows nothing of agents or models.

pub(crate) mod agui;
pub(crate) mod approval;
mod buffer;
mod console;
mod default;
mod encoder;
mod event;
mod filter;
mod group;
mod json_lines;
mod macros;
mod render;
mod reply;
mod stream;
mod tee;
mod ui_message;
mod uuid;
pub mod websockets;
pub(crate) mod workers;

pub use agui::{AGUI_KINDS, AguiEncoder};
pub(crate) use approval::Pending;
pub use approval::{
    Decision, ToolApprovalRequestEvent, ToolApprovalResponseEvent, ask_approval_as_text,
};
pub use buffer::IOBuffer;
pub use console::{DEFAULT_MAX_INPUT_LEN, IOConsole};
pub use default::{
    DefaultGuard, get_default, get_global_default, inherit, set_default, set_global_default, spawn,
    with_default,
};
pub use encoder::Encoder;
pub use event::{
    ErrorEvent, Event, EventKind, ExecuteFunctionEvent, ExecutedFunctionEvent, FunctionCall,
    InputRequestEvent, InputResponseEvent, MissedEventsEvent, ModelUsage, ModelUsageSummary,
    PrintEvent, ReasoningEvent, RunCompletionEvent, StreamEvent,
    TerminationAndHumanReplyNoInputEvent, TerminationEvent, TextEvent, ToolCall, ToolCallEvent,
    ToolProgressEvent, ToolResponse, ToolResponseEvent, UnknownEventKind, UsageMode,
    UsageSummaryEvent, UsingAutoReplyEvent,
};
pub use filter::{Filter, Filtered};
pub use group::{
    GroupChatRunChatEvent, SelectSpeakerEvent, SelectSpeakerInvalidInputEvent,
    SelectSpeakerTryCountExceededEvent, SpeakerAttemptEvent,
};
pub use json_lines::JsonLines;
pub use render::{Color, TextPart};
pub use reply::{ReplyEndEvent, ReplyStartEvent, ToolCallDeltaEvent};
pub use stream::{IOStream, joined, send_as_text};
pub use tee::Tee;
pub use ui_message::UiMessageEncoder;
pub use uuid::{ParseUuidError, Uuid};
pub use websockets::IOWebsockets;
