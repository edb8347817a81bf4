//! The notebook chat on the replay model: a `weather_forecast` tool call,
//! then a streamed reply ending in TERMINATE.

use std::sync::Arc;

use agentio::agentchat::{
    ChatOptions, ChatResult, ConversableAgent, HumanInputMode, ParamType, Tool, UserProxyAgent,
    register_function,
};
use agentio::llm::ReplayClient;
use serde::Deserialize;
use serde_json::json;

/// The streamed reply's tokens.
pub const POEM: [&str; 4] = ["Sun ", "over ", "Paris. ", "TERMINATE"];

#[derive(Deserialize)]
struct City {
    city: String,
}

/// Runs the chat on the current default stream.
pub fn chat(options: ChatOptions) -> agentio::Result<ChatResult> {
    let model = ReplayClient::new()
        .tool_call("weather_forecast", json!({"city": "Paris"}))
        .text(POEM);
    let mut chatbot = ConversableAgent::new("chatbot")
        .model_client(Arc::new(model))
        .stream(true);
    let mut user_proxy = UserProxyAgent::new("user_proxy")
        .human_input_mode(HumanInputMode::Never)
        .is_termination_msg(|m| m.text().ends_with("TERMINATE"));
    let tool = Tool::new("weather_forecast", "Weather forecast for a city")
        .param("city", ParamType::String, "city")
        .function(|a: City| Ok::<_, String>(format!("Sunny in {}.", a.city)));
    register_function(tool, &mut chatbot, &mut user_proxy);
    user_proxy.initiate_chat(&mut chatbot, options)
}
