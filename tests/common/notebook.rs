//! The notebook chat, on the replay model (a `weather_forecast` tool call,
//! then a streamed reply ending in TERMINATE) or on the mock model server.

use std::sync::Arc;

use agentio::agentchat::{ChatOptions, ChatResult};
use agentio::llm::{ConfigEntry, LlmConfig, ModelClient, OpenAIWrapper, ReplayClient};
use serde_json::json;

/// The websocket example's chat code: the notebook's agents and tool, the
/// one copy every test uses. (`tests/browser.rs` loads the file again as its
/// own `chat`; the two copies never meet.)
#[path = "../../examples/websocket_chat/chat.rs"]
#[allow(clippy::duplicate_mod)]
pub mod example;

/// The streamed reply's tokens.
pub const POEM: [&str; 4] = ["Sun ", "over ", "Paris. ", "TERMINATE"];

/// Where the chatbot's replies come from.
pub enum Model<'a> {
    /// The replay model: the tool call, then [`POEM`].
    Replay,
    /// The mock OpenAI-compatible server at this base URL, streamed.
    Mock(&'a str),
}

/// Runs the chat on the current default stream, on the replay model.
pub fn chat(options: ChatOptions) -> agentio::Result<ChatResult> {
    chat_with(Model::Replay, options)
}

/// Runs the chat on the current default stream with the example's
/// notebook agents: `user_proxy` (never asks a human, stops at "TERMINATE")
/// and `chatbot` with `weather_forecast`.
pub fn chat_with(model: Model<'_>, options: ChatOptions) -> agentio::Result<ChatResult> {
    let client: Arc<dyn ModelClient> = match model {
        Model::Replay => Arc::new(
            ReplayClient::new()
                .tool_call("weather_forecast", json!({"city": "Paris"}))
                .text(POEM),
        ),
        Model::Mock(base_url) => Arc::new(OpenAIWrapper::new(
            LlmConfig::new(vec![ConfigEntry::new("mock-model").base_url(base_url)])
                .stream(true)
                .cache_seed(None),
        )?),
    };
    let (mut chatbot, mut user_proxy) = example::notebook_agents(client);
    user_proxy.initiate_chat(&mut chatbot, options)
}

/// The example's model for the mock OpenAI-compatible server at
/// `base_url` (streamed, no cache).
pub fn mock_model(base_url: &str) -> example::Model {
    let config = LlmConfig::new(vec![ConfigEntry::new("mock-model").base_url(base_url)]);
    example::Model::config(config.cache_seed(None)).unwrap_or_else(|e| panic!("the model: {e}"))
}

/// The notebook's two replies as the mock model serves them, the second
/// slowly: a tool call, then 200 words ("word0 " …) 5 ms apart, so a client
/// can leave mid-stream; then `extra` replies.
pub fn slow_replies(extra: Vec<crate::common::Reply>) -> Vec<crate::common::Reply> {
    let poem: Vec<String> = (0..200)
        .map(|i| crate::common::content_chunk(&format!("word{i} ")))
        .collect();
    let mut replies = vec![
        crate::common::streamed_tool_call("call_1", "weather_forecast", r#"{"city": "Paris"}"#),
        crate::common::Reply::Slow(poem, std::time::Duration::from_millis(5)),
    ];
    replies.extend(extra);
    replies
}
