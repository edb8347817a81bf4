//! A chat on the console: you are the user proxy (human input ALWAYS), the
//! assistant answers with a real model when one is configured, else with the
//! built-in replay model. Works with stdin on a pipe: end of input ends the
//! chat cleanly.
//!
//! ```sh
//! cargo run --example cli_chat
//! echo "What's the weather in Oslo?" | cargo run --example cli_chat
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use agentio::agentchat::{
    ConversableAgent, HumanInputMode, ParamType, Tool, UserProxyAgent, register_function,
};
use agentio::io::{self, IOStream};
use agentio::llm::{ConfigEntry, LlmConfig, ReplayClient, config_list_from_json};
use serde::Deserialize;

#[derive(Deserialize)]
struct City {
    city: String,
}

fn assistant() -> agentio::Result<(ConversableAgent, &'static str)> {
    let agent = AssistantLike::new();
    if std::env::var_os("OAI_CONFIG_LIST").is_some() {
        let list = config_list_from_json("OAI_CONFIG_LIST", ".", None)?;
        return Ok((
            agent.llm_config(LlmConfig::new(list).stream(true)),
            "your OAI_CONFIG_LIST",
        ));
    }
    if let Some(entry) = ConfigEntry::from_env() {
        return Ok((
            agent.llm_config(LlmConfig::new(vec![entry]).stream(true)),
            "OPENAI_API_KEY",
        ));
    }
    let mut replay = ReplayClient::new()
        .tool_call("weather_forecast", serde_json::json!({"city": "Paris"}))
        .text([
            "It ",
            "is ",
            "sunny ",
            "in ",
            "Paris. ",
            "Anything ",
            "else?",
        ]);
    for _ in 0..20 {
        replay = replay.text([
            "(I am the offline replay model: ",
            "set OPENAI_API_KEY for a real one.) ",
            "TERMINATE",
        ]);
    }
    Ok((
        agent.model_client(Arc::new(replay)).stream(true),
        "the built-in replay model (offline)",
    ))
}

struct AssistantLike;

impl AssistantLike {
    #[allow(clippy::new_ret_no_self)]
    fn new() -> ConversableAgent {
        ConversableAgent::new("assistant")
            .human_input_mode(HumanInputMode::Never)
            .system_message(
                "You are a helpful assistant. Use your tools. Reply TERMINATE when done.",
            )
    }
}

fn main() -> ExitCode {
    let (mut assistant, source) = match assistant() {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut user = UserProxyAgent::new("user")
        .is_termination_msg(|m| m.text().trim_end().ends_with("TERMINATE"));
    let tool = Tool::new("weather_forecast", "Weather forecast for a city")
        .param("city", ParamType::String, "city")
        .function(|a: City| {
            Ok::<_, String>(format!("The weather forecast for {} is sunny.", a.city))
        });
    register_function(tool, &mut assistant, &mut user);

    let console = io::get_default();
    let _ = console.print(
        &[&format!(
            "agentio console chat, model: {source}. Type 'exit' to stop."
        )],
        "",
        "\n",
        true,
    );
    let first = match console.input("You: ", false) {
        Ok(text) if !text.trim().is_empty() && text != "exit" => text,
        Ok(_) | Err(agentio::Error::InputClosed) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match user.initiate_chat(&mut assistant, first) {
        Ok(result) => {
            let _ = console.print(&["\nSummary:", result.summary.trim()], " ", "\n", true);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nerror: {e}");
            ExitCode::FAILURE
        }
    }
}
