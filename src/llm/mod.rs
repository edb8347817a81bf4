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

pub(crate) mod cache;
mod chunk;
pub(crate) mod chunks;
mod client;
mod config;
pub(crate) mod fragments;
mod message;
mod openai;
mod replay;
mod retry;
pub(crate) mod sse;
pub(crate) mod tool_calls;
mod wrapper;

pub use client::{ChatRequest, ChatResponse, ModelClient, Usage};
pub use config::{
    ConfigEntry, ConfigFilter, LlmConfig, OPENAI_BASE_URL, config_list_from_json, filter_config,
    parse_config_list,
};
pub use message::{Message, Role};
pub use openai::OpenAIClient;
pub use replay::{REPLAY_MODEL, ReplayClient, ScriptedReply};
pub use wrapper::OpenAIWrapper;
