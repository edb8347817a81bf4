//! The model layer: a blocking OpenAI-compatible client whose streamed
//! fragments go straight to the current thread's stream.
//!
//! - [`ModelClient`]: the trait every model implements; [`ChatRequest`] in,
//!   [`ChatResponse`] out.
//! - [`OpenAIClient`] (one endpoint) and [`OpenAIWrapper`] (AutoGen's config
//!   list: endpoints in order, retries).
//! - [`ReplayClient`]: a scripted model for tests and offline demos.
//! - [`LlmConfig`], [`ConfigEntry`], [`config_list_from_json`]: AutoGen's
//!   configuration.
//!
//! This layer knows nothing of agents.

mod cache;
mod chunks;
mod client;
mod config;
mod message;
mod openai;
mod replay;
mod retry;
mod sse;
mod tool_calls;
mod wrapper;

pub use cache::DiskCache;
pub use chunks::ChunkAssembler;
pub use client::{ChatRequest, ChatResponse, ModelClient, Usage};
pub use config::{
    ConfigEntry, ConfigFilter, LlmConfig, OPENAI_BASE_URL, config_list_from_json, filter_config,
    parse_config_list,
};
pub use message::{Message, Role};
pub use openai::OpenAIClient;
pub use replay::{REPLAY_MODEL, ReplayClient, ScriptedReply};
pub use sse::{SseEvent, SseReader};
pub use tool_calls::ToolCallAssembler;
pub use wrapper::OpenAIWrapper;
