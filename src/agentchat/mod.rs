//! The agent layer: conversable agents whose every output is an event on the
//! current thread's stream.
//!
//! - [`ConversableAgent`] (and AutoGen's presets [`UserProxyAgent`],
//!   [`AssistantAgent`]): replies in AutoGen's order — termination and human
//!   input check, tool calls, model, default reply.
//! - [`ConversableAgent::initiate_chat`]: a two-agent chat, returning a
//!   [`ChatResult`].
//! - [`run`]: the chat on a background thread, its events over a channel.
//! - [`GroupChat`] and [`GroupChatManager`]: several agents in one chat,
//!   the next speaker chosen by the manager's model, by a human, in turn,
//!   at random or by your function.
//! - [`Tool`], [`Toolbox`], [`register_function`]: Rust functions a model can
//!   call, with their JSON schema and AutoGen's error texts for bad calls;
//!   an [`Approval`] policy per tool, a time limit, and a [`ToolContext`]
//!   with what the connection knows and the model never sees.

mod agent;
mod chat;
mod context;
mod execute;
mod groupchat;
mod manager;
mod options;
mod reply;
mod result;
mod run;
mod tools;

pub use agent::{
    ASSISTANT_SYSTEM_MESSAGE, AssistantAgent, ConversableAgent, DEFAULT_MAX_CONSECUTIVE_AUTO_REPLY,
    DEFAULT_SYSTEM_MESSAGE, HumanInputMode, TerminationCheck, UserProxyAgent, register_function,
};
pub use context::ToolContext;
pub use groupchat::{
    DEFAULT_INTRO_MSG, GroupChat, SELECT_SPEAKER_AUTO_MULTIPLE_TEMPLATE,
    SELECT_SPEAKER_AUTO_NONE_TEMPLATE, SELECT_SPEAKER_MESSAGE_TEMPLATE,
    SELECT_SPEAKER_PROMPT_TEMPLATE, SelectSpeaker, SpeakerChoice, SpeakerSelection,
};
pub use manager::GroupChatManager;
pub use options::{ChatOptions, Streaming, Summariser, SummaryMethod};
pub use result::{ChatCost, ChatResult};
pub use run::{Events, RunResponse, run};
pub use tools::{
    Approval, ApprovalCheck, DEFAULT_TOOL_TIME_LIMIT, ParamType, Tool, ToolRun, Toolbox,
    parse_arguments,
};
