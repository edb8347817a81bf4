//! A chat on the console: you are the user proxy (human input ALWAYS), the
//! assistant answers with a real model when one is configured, else with the
//! built-in replay model. Works with stdin on a pipe: end of input ends the
//! chat cleanly. Replies are not cached: every chat asks the model.
//!
//! ```sh
//! cargo run --example cli_chat
//! echo "What's the weather in Oslo?" | cargo run --example cli_chat
//! ```

#[path = "websocket_chat/chat.rs"]
#[allow(dead_code)] // the chat example's server code is not used here
mod chat;

use std::process::ExitCode;

use agentio::agentchat::{ConversableAgent, HumanInputMode, UserProxyAgent, register_function};
use agentio::io::{self, IOStream};

/// The assistant, on `model` (offline, the replay script for `first`).
fn assistant(model: &chat::Model, first: &str) -> ConversableAgent {
    ConversableAgent::new("assistant")
        .human_input_mode(HumanInputMode::Never)
        .system_message("You are a helpful assistant. Use your tools. Reply TERMINATE when done.")
        .model_client(model.client(first))
        .stream(true)
}

fn main() -> ExitCode {
    let model = match chat::Model::from_env(None) {
        Ok(model) => model,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let console = io::get_default();
    let _ = console.print(
        &[&format!(
            "agentio console chat, {}. Type 'exit' to stop.",
            model.describe()
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
    let mut assistant = assistant(&model, &first);
    let mut user = UserProxyAgent::new("user").is_termination_msg(chat::is_termination_msg);
    register_function(chat::weather_forecast(), &mut assistant, &mut user);
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
