//! The seed notebook's chat, served: each websocket connection reads the
//! first message and runs `user_proxy` ↔ `chatbot` (with `weather_forecast`)
//! on that connection's stream. Shared by `main.rs`, `load`, `custom_stream`
//! and the end-to-end test.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use agentio::agentchat::{
    ChatOptions, ChatResult, ConversableAgent, HumanInputMode, ParamType, Tool, UserProxyAgent,
    register_function,
};
use agentio::io::websockets::{ServerConfig, WebsocketServer};
use agentio::io::{IOStream, IOWebsockets};
use agentio::llm::{
    ConfigEntry, LlmConfig, Message, ModelClient, OpenAIWrapper, ReplayClient, Role,
    config_list_from_json,
};
use serde::Deserialize;

/// The chat page, served at `/` on the websocket's port.
pub const PAGE: &str = include_str!("page.html");

/// Where the chatbot's replies come from.
#[derive(Debug, Clone)]
pub enum Model {
    /// A real OpenAI-compatible endpoint (or several, tried in order), one
    /// client shared by every chat, so connections are reused.
    Config(Arc<OpenAIWrapper>),
    /// The built-in replay model: a tool call, then a streamed poem.
    Replay,
    /// The replay model at a model's pace: this long before each chunk.
    ReplayPaced(std::time::Duration),
}

impl Model {
    /// `OAI_CONFIG_LIST` (a path or JSON, AutoGen's semantics) if set, else
    /// `OPENAI_API_KEY` (+ `OPENAI_BASE_URL`, `OPENAI_MODEL`), else replay.
    ///
    /// Replies are kept in AutoGen's disk cache (`.cache/{seed}`) only with a
    /// `cache_seed`: a cache keyed on the request alone would answer a second
    /// user's first question with the first user's reply (and a fresh server
    /// with an old one), which is why the notebook gives every connection a
    /// fresh temporary cache.
    pub fn from_env(cache_seed: Option<u64>) -> agentio::Result<Model> {
        let list = if std::env::var_os("OAI_CONFIG_LIST").is_some() {
            config_list_from_json("OAI_CONFIG_LIST", ".", None)?
        } else {
            match ConfigEntry::from_env() {
                Some(entry) => vec![entry],
                None => return Ok(Model::Replay),
            }
        };
        Model::config(LlmConfig::new(list).cache_seed(cache_seed))
    }

    /// A model from a configuration; streaming is turned on.
    pub fn config(config: LlmConfig) -> agentio::Result<Model> {
        Ok(Model::Config(Arc::new(OpenAIWrapper::new(
            config.stream(true),
        )?)))
    }

    /// One line saying which model answers.
    pub fn describe(&self) -> String {
        match self {
            Model::Config(client) => {
                let models: Vec<&str> = client
                    .config()
                    .config_list
                    .iter()
                    .map(|e| e.model.as_str())
                    .collect();
                format!("model: {} (from your configuration)", models.join(", "))
            }
            Model::Replay | Model::ReplayPaced(_) => {
                "model: the built-in replay model (offline; set OAI_CONFIG_LIST or \
                 OPENAI_API_KEY to use a real one)"
                    .to_owned()
            }
        }
    }

    /// The client for a chat whose first message is `message` (the replay
    /// model's script depends on it).
    pub fn client(&self, message: &str) -> Arc<dyn ModelClient> {
        self.client_after(message, 0)
    }

    /// [`client`](Self::client) for a chat in which the model has already
    /// given `replied` replies since `message`.
    pub fn client_after(&self, message: &str, replied: usize) -> Arc<dyn ModelClient> {
        match self {
            Model::Config(client) => client.clone(),
            Model::Replay => Arc::new(replay_model(message).skip(replied)),
            Model::ReplayPaced(pace) => Arc::new(replay_model(message).skip(replied).pace(*pace)),
        }
    }
}

#[derive(Deserialize)]
struct City {
    city: String,
}

/// The notebook's tool, the one every example and test uses.
pub fn weather_forecast() -> Tool {
    Tool::new("weather_forecast", "Weather forecast for a city")
        .param("city", ParamType::String, "city")
        .function(|args: City| {
            Ok::<_, String>(format!(
                "The weather forecast for {} at {} is sunny.",
                args.city,
                now_utc()
            ))
        })
}

/// The offline replay model's script for a chat whose first message is
/// `message`, the one every example uses: a `weather_forecast` call for the
/// city named after "in" (Paris when none is), a 200-word poem about it, one
/// word per chunk, ending in TERMINATE; then, for a human who goes on
/// chatting (`cli_chat`), a note that this is the replay model.
pub fn replay_model(message: &str) -> ReplayClient {
    let city = message
        .split_whitespace()
        .skip_while(|w| !w.eq_ignore_ascii_case("in"))
        .nth(1)
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_owned())
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "Paris".to_owned());
    let mut replay = ReplayClient::new()
        .tool_call("weather_forecast", serde_json::json!({ "city": city }))
        .text(poem(&city));
    for _ in 0..20 {
        replay = replay.text([
            "(I am the offline replay model: ",
            "set OPENAI_API_KEY for a real one.) ",
            "TERMINATE",
        ]);
    }
    replay
}

const VERSE: &str = "Beneath the {city} sky so bright and clear, the sunlight dances on the \
    streets, golden rays on rooftops near, no hint of cloud or hint of rain. Cafes hum along \
    the boulevard, flowers bloom in every square, the city wears its sunny guard, warm and \
    gentle is the air.";

/// 199 words of verse and "TERMINATE", as stream chunks.
pub fn poem(city: &str) -> Vec<String> {
    let verse = VERSE.replace("{city}", city);
    let words: Vec<&str> = verse.split_whitespace().collect();
    let mut chunks: Vec<String> = words
        .iter()
        .cycle()
        .take(199)
        .enumerate()
        .map(|(i, w)| {
            if (i + 1) % 8 == 0 {
                format!("{w}\n")
            } else {
                format!("{w} ")
            }
        })
        .collect();
    chunks.push("\nTERMINATE".to_owned());
    chunks
}

/// The date and time in UTC, like Python's `datetime.now()` prints it.
fn now_utc() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (days, secs) = ((since.as_secs() / 86_400) as i64, since.as_secs() % 86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:06}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        since.subsec_micros()
    )
}

/// A served chat: its model, and what its human decides.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Where the chatbot's replies come from.
    pub model: Model,
    /// Every tool call waits for the human's approval (`--approve-tools`).
    pub approve_tools: bool,
    /// When `user_proxy` asks the human (`--human-input`; the notebook's is
    /// NEVER). With ALWAYS the human may answer every reply, tool calls
    /// included: the seed's question.
    pub human_input_mode: HumanInputMode,
}

impl From<Model> for Setup {
    /// The notebook's chat on `model`.
    fn from(model: Model) -> Setup {
        Setup {
            model,
            approve_tools: false,
            human_input_mode: HumanInputMode::Never,
        }
    }
}

impl Setup {
    /// The two agents, `(chatbot, user_proxy)`, for a chat whose first
    /// message is `message`.
    pub fn agents(&self, message: &str) -> (ConversableAgent, ConversableAgent) {
        self.agents_on(self.model.client(message))
    }

    /// The two agents for a chat that resumes `history`: the replay model
    /// goes on from where its script was at the last question.
    pub fn resumed_agents(&self, history: &[Message]) -> (ConversableAgent, ConversableAgent) {
        let question = history.iter().rposition(|m| m.role == Role::User);
        let message = question.map(|i| history[i].text()).unwrap_or_default();
        let replied = history[question.map_or(0, |i| i + 1)..]
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .count();
        self.agents_on(self.model.client_after(message, replied))
    }

    fn agents_on(&self, client: Arc<dyn ModelClient>) -> (ConversableAgent, ConversableAgent) {
        let tool = if self.approve_tools {
            weather_forecast().needs_approval()
        } else {
            weather_forecast()
        };
        let (chatbot, user_proxy) = notebook_agents_with(client, tool);
        (chatbot, user_proxy.human_input_mode(self.human_input_mode))
    }
}

/// One connection's chat: the notebook's `on_connect`. A session
/// (`?session=ID`) keeps the conversation instead: each next message
/// continues it with its history (AutoGen's `clear_history=False`), until
/// the client is gone for good.
pub fn on_connect(ws: &IOWebsockets, setup: &Setup) -> agentio::Result<()> {
    let history = ws.history();
    if ws.resumes() {
        // The frontend answers what its last run waited for (an approval,
        // an input): the chat goes on from the conversation it sent.
        let (mut chatbot, mut user_proxy) = setup.resumed_agents(&history);
        chatbot.load_history("user_proxy", history.clone());
        user_proxy.load_history("chatbot", history);
        return user_proxy
            .initiate_chat(&mut chatbot, ChatOptions::resume())
            .map(|_| ());
    }
    let message = ws.input("", false)?;
    let (mut chatbot, mut user_proxy) = setup.agents(&message);
    if !history.is_empty() {
        // A frontend that sends the whole conversation (AG-UI): the
        // chatbot's model reads it as it was; the chat goes on from there.
        chatbot.load_history("user_proxy", history.clone());
        user_proxy.load_history("chatbot", history);
        let options = ChatOptions::new(message).clear_history(false);
        return user_proxy.initiate_chat(&mut chatbot, options).map(|_| ());
    }
    if !ws.is_session() {
        return user_proxy.initiate_chat(&mut chatbot, message).map(|_| ());
    }
    let mut options = ChatOptions::new(message);
    loop {
        user_proxy.initiate_chat(&mut chatbot, options)?;
        let next = match ws.input("", false) {
            Ok(next) => next,
            // Nobody came back within the grace, or nobody asked more.
            Err(agentio::Error::ConnectionClosed | agentio::Error::InputTimeout(_)) => {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        options = ChatOptions::new(next).clear_history(false);
    }
}

/// The notebook's `chatbot` system message.
pub const CHATBOT_SYSTEM_MESSAGE: &str = "Complete a task given to you and reply TERMINATE when \
    the task is done. If asked about the weather, use tool 'weather_forecast(city)' to get the \
    weather forecast for a city.";

/// The notebook's `user_proxy` system message.
pub const USER_PROXY_SYSTEM_MESSAGE: &str = "A proxy for the user.";

/// The notebook's `max_consecutive_auto_reply` for `user_proxy`.
pub const MAX_CONSECUTIVE_AUTO_REPLY: usize = 10;

/// The notebook's termination test: the content, without trailing white
/// space, ends with "TERMINATE".
pub fn is_termination_msg(message: &Message) -> bool {
    message.text().trim_end().ends_with("TERMINATE")
}

/// The notebook's two agents, `(chatbot, user_proxy)`: `chatbot` answers
/// with `client`, streamed, and may call `weather_forecast`; `user_proxy`
/// runs it, never asks a human and stops at "TERMINATE" or after
/// [`MAX_CONSECUTIVE_AUTO_REPLY`] auto replies.
#[allow(
    dead_code,
    reason = "used by the tests and the other examples, not by main"
)]
pub fn notebook_agents(client: Arc<dyn ModelClient>) -> (ConversableAgent, ConversableAgent) {
    notebook_agents_with(client, weather_forecast())
}

/// [`notebook_agents`] with `tool` in place of the plain `weather_forecast`
/// (one that needs approval, say).
pub fn notebook_agents_with(
    client: Arc<dyn ModelClient>,
    tool: Tool,
) -> (ConversableAgent, ConversableAgent) {
    let mut chatbot = ConversableAgent::new("chatbot")
        .system_message(CHATBOT_SYSTEM_MESSAGE)
        .model_client(client)
        .stream(true);
    let mut user_proxy = UserProxyAgent::new("user_proxy")
        .system_message(USER_PROXY_SYSTEM_MESSAGE)
        .is_termination_msg(is_termination_msg)
        .human_input_mode(HumanInputMode::Never)
        .max_consecutive_auto_reply(MAX_CONSECUTIVE_AUTO_REPLY);
    register_function(tool, &mut chatbot, &mut user_proxy);
    (chatbot, user_proxy)
}

/// The notebook's chat on the current default stream: `user_proxy` asks,
/// `chatbot` answers with the `weather_forecast` tool, its reply streamed.
#[allow(
    dead_code,
    reason = "used by the tests and the other examples, not by main"
)]
pub fn notebook_chat(message: String, model: &Model) -> agentio::Result<ChatResult> {
    let (mut chatbot, mut user_proxy) = Setup::from(model.clone()).agents(&message);
    user_proxy.initiate_chat(&mut chatbot, message)
}

/// Serves the page at `/` and the chat at `/ws` (any path works for
/// websocket clients) on `host:port`.
#[allow(dead_code, reason = "used by the end-to-end tests, not by main")]
pub fn serve(host: &str, port: u16, setup: impl Into<Setup>) -> agentio::Result<WebsocketServer> {
    serve_with(ServerConfig::new(host, port), setup)
}

/// [`serve`] with your own limits.
pub fn serve_with(
    config: ServerConfig,
    setup: impl Into<Setup>,
) -> agentio::Result<WebsocketServer> {
    let setup = setup.into();
    IOWebsockets::run_server_in_thread(config.page(PAGE), move |ws: &IOWebsockets| {
        on_connect(ws, &setup)
    })
}

/// [`serve_with`] on a listener the caller bound (e.g. with a larger backlog).
pub fn serve_on(
    listener: std::net::TcpListener,
    config: ServerConfig,
    setup: impl Into<Setup>,
) -> agentio::Result<WebsocketServer> {
    let setup = setup.into();
    IOWebsockets::run_server_on(listener, config.page(PAGE), move |ws: &IOWebsockets| {
        on_connect(ws, &setup)
    })
}

/// The page's URL.
pub fn page_url(server: &WebsocketServer) -> String {
    // ws → http, wss → https
    format!("{}/", server.uri().replacen("ws", "http", 1))
}
