//! A group chat: a writer, a critic and the user proxy (which runs the
//! weather tool) write a weather poem together, offline on replay models by
//! default, on the console or, with `--serve`, on the websocket chat page,
//! which shows who speaks.
//!
//! ```sh
//! cargo run --example group_chat                                  # auto selection, console
//! cargo run --example group_chat -- --speaker-selection manual    # you pick the speakers
//! cargo run --example group_chat -- --serve --port 8001           # on http://127.0.0.1:8001/
//! ```
//!
//! With `OAI_CONFIG_LIST` or `OPENAI_API_KEY` set, every agent (and the
//! manager, for auto selection) uses that model instead.

#[path = "websocket_chat/chat.rs"]
#[allow(dead_code)] // the chat example's notebook agents are not used here
mod chat;

use std::process::ExitCode;
use std::sync::Arc;

use agentio::agentchat::{
    ConversableAgent, GroupChat, GroupChatManager, HumanInputMode, SpeakerSelection,
    UserProxyAgent, register_function,
};
use agentio::io::websockets::ServerConfig;
use agentio::io::{IOStream, IOWebsockets};
use agentio::llm::{ModelClient, ReplayClient};

const USAGE: &str = "usage: group_chat [--speaker-selection auto|round_robin|random|manual]\n                  [--serve [--host HOST] [--port PORT]] [--message TEXT]";

const MESSAGE: &str = "Write a short poem about the weather in Paris, then have it criticised.";

/// Where the agents' replies come from.
#[derive(Clone)]
enum Models {
    /// One configured model for everyone.
    Real(chat::Model),
    /// The built-in scripts.
    Replay,
}

impl Models {
    fn writer(&self, message: &str) -> Arc<dyn ModelClient> {
        match self {
            Models::Real(model) => model.client(message),
            Models::Replay => {
                let city = city_of(message);
                // The weather first, then 40 words of the notebook's poem.
                let mut script = ReplayClient::new()
                    .tool_call("weather_forecast", serde_json::json!({ "city": city }))
                    .text(chat::poem(&city).into_iter().take(40));
                for _ in 0..20 {
                    script = script.text(["(The replay writer has nothing more to say.)"]);
                }
                Arc::new(script)
            }
        }
    }

    fn critic(&self, message: &str) -> Arc<dyn ModelClient> {
        match self {
            Models::Real(model) => model.client(message),
            Models::Replay => Arc::new(ReplayClient::new().text([
                "Vivid ",
                "and ",
                "sunny; ",
                "the ",
                "rhythm ",
                "could ",
                "be ",
                "tighter. ",
                "TERMINATE",
            ])),
        }
    }

    /// The manager's model, for auto selection: it is asked only once the
    /// writer has written (before, the transitions leave one choice).
    fn manager(&self, message: &str) -> Arc<dyn ModelClient> {
        match self {
            Models::Real(model) => model.client(message),
            Models::Replay => {
                let mut script = ReplayClient::new();
                for name in ["writer", "writer", "critic"]
                    .into_iter()
                    .chain(["user_proxy"; 20])
                {
                    script = script.text([name]);
                }
                Arc::new(script)
            }
        }
    }
}

/// The city named after "in" (Paris when none is).
fn city_of(message: &str) -> String {
    message
        .split_whitespace()
        .skip_while(|w| !w.eq_ignore_ascii_case("in"))
        .nth(1)
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_owned())
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "Paris".to_owned())
}

/// The group: `user_proxy` (runs the tool, asks you only to pick speakers
/// in manual selection), `writer` (calls the tool, writes), `critic`.
fn manager(models: &Models, selection: &SpeakerSelection, message: &str) -> GroupChatManager {
    let mut user_proxy = UserProxyAgent::new("user_proxy")
        .human_input_mode(HumanInputMode::Never)
        .description("Runs the weather tool for the others.");
    let mut writer = ConversableAgent::new("writer")
        .human_input_mode(HumanInputMode::Never)
        .system_message("You write short poems. Look up the weather with weather_forecast first.")
        .description("Writes poems; looks up the weather first.")
        .model_client(models.writer(message))
        .stream(true);
    let critic = ConversableAgent::new("critic")
        .human_input_mode(HumanInputMode::Never)
        .system_message("You criticise poems in one sentence, then say TERMINATE.")
        .description("Criticises the poem, then ends the chat.")
        .model_client(models.critic(message))
        .stream(true);
    register_function(chat::weather_forecast(), &mut writer, &mut user_proxy);
    // The user proxy hands over to the writer, the writer to either, the
    // critic back to the writer.
    let group = GroupChat::new([user_proxy, writer, critic])
        .max_round(8)
        .speaker_selection_method(selection.clone())
        .allowed_speaker_transitions([
            ("user_proxy", vec!["writer"]),
            ("writer", vec!["user_proxy", "critic"]),
            ("critic", vec!["writer"]),
        ]);
    GroupChatManager::new(group)
        .model_client(models.manager(message))
        .is_termination_msg(|m| m.text().trim_end().ends_with("TERMINATE"))
}

struct Options {
    selection: SpeakerSelection,
    serve: bool,
    host: String,
    port: u16,
    message: String,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        selection: SpeakerSelection::Auto,
        serve: false,
        host: "127.0.0.1".to_owned(),
        port: 8001,
        message: MESSAGE.to_owned(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--speaker-selection" => {
                o.selection = value()?
                    .parse()
                    .map_err(|e: agentio::Error| e.to_string())?;
            }
            "--serve" => o.serve = true,
            "--host" => o.host = value()?,
            "--port" => o.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--message" => o.message = value()?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let models = match chat::Model::from_env(None) {
        Ok(chat::Model::Replay) => Models::Replay,
        Ok(model) => Models::Real(model),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = if options.serve {
        serve(&options, models)
    } else {
        manager(&models, &options.selection, &options.message)
            .initiate_chat("user_proxy", options.message.as_str())
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Serves the chat page; each connection's first message starts a group chat.
fn serve(options: &Options, models: Models) -> Result<(), String> {
    let selection = options.selection.clone();
    let config = ServerConfig::new(&options.host, options.port).page(chat::PAGE);
    let server = IOWebsockets::run_server_in_thread(config, move |ws: &IOWebsockets| {
        let message = ws.input("", false)?;
        manager(&models, &selection, &message)
            .initiate_chat("user_proxy", message)
            .map(|_| ())
    })
    .map_err(|e| e.to_string())?;
    println!("agentio group chat");
    println!("  page:      {}", chat::page_url(&server));
    println!("  websocket: {}/ws", server.uri());
    println!("Serving until Ctrl-C.");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
