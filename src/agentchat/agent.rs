//! `ConversableAgent` and AutoGen's presets: who an agent is and what it knows.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::agentchat::{Tool, Toolbox};
use crate::io::IOStream;
use crate::llm::{ChatRequest, ChatResponse, LlmConfig, Message, ModelClient, OpenAIWrapper};
use crate::{Error, Result};

/// When an agent asks a human before replying (AutoGen's `human_input_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HumanInputMode {
    /// Ask before every reply.
    Always,
    /// Ask on a termination message, or when the auto-reply limit is reached.
    Terminate,
    /// Never ask: stop on a termination message or at the auto-reply limit.
    Never,
}

impl HumanInputMode {
    /// AutoGen's spelling: `"ALWAYS"`, `"TERMINATE"`, `"NEVER"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HumanInputMode::Always => "ALWAYS",
            HumanInputMode::Terminate => "TERMINATE",
            HumanInputMode::Never => "NEVER",
        }
    }
}

impl fmt::Display for HumanInputMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A test of whether a received message ends the conversation.
pub type TerminationCheck = Arc<dyn Fn(&Message) -> bool + Send + Sync>;

/// AutoGen's default `max_consecutive_auto_reply`.
pub const DEFAULT_MAX_CONSECUTIVE_AUTO_REPLY: usize = 100;

/// AutoGen's `ConversableAgent` default system message.
pub const DEFAULT_SYSTEM_MESSAGE: &str = "You are a helpful AI Assistant.";

/// AutoGen's `AssistantAgent.DEFAULT_SYSTEM_MESSAGE`.
pub const ASSISTANT_SYSTEM_MESSAGE: &str = r#"You are a helpful AI assistant.
Solve tasks using your coding and language skills.
In the following cases, suggest python code (in a python coding block) or shell script (in a sh coding block) for the user to execute.
    1. When you need to collect info, use the code to output the info you need, for example, browse or search the web, download/read a file, print the content of a webpage or a file, get the current date/time, check the operating system. After sufficient info is printed and the task is ready to be solved based on your language skill, you can solve the task by yourself.
    2. When you need to perform some task with code, use the code to perform the task and output the result. Finish the task smartly.
Solve the task step by step if you need to. If a plan is not provided, explain your plan first. Be clear which step uses code, and which step uses your language skill.
When using code, you must indicate the script type in the code block. The user cannot provide any other feedback or perform any other action beyond executing the code you suggest. The user can't modify your code. So do not suggest incomplete code which requires users to modify. Don't use a code block if it's not intended to be executed by the user.
If you want the user to save the code in a file before executing it, put # filename: <filename> inside the code block as the first line. Don't include multiple code blocks in one response. Do not ask users to copy and paste the result. Instead, use 'print' function to verify the result when needed. Check the execution result returned by the user.
If the result indicates there is an error, fix the error and output the code again. Suggest the full code instead of partial code or code changes. If the error can't be fixed or if the task is not solved even after the code is executed successfully, analyze the problem, revisit your assumption, collect additional info you need, and think of a different approach to try.
When you find an answer, verify the answer carefully. Include verifiable evidence in your response if possible.
Reply "TERMINATE" in the end when everything is done.
    "#;

/// An agent that converses: it receives messages and replies with a human's
/// input, a tool's result, its model's answer or its default reply, in
/// AutoGen's order. Everything it shows goes to the current default stream as
/// [`Event`](crate::io::Event)s.
///
/// ```
/// use agentio::agentchat::{ConversableAgent, HumanInputMode};
/// use agentio::io::{self, IOBuffer};
/// use agentio::llm::ReplayClient;
/// use std::sync::Arc;
///
/// let mut assistant = ConversableAgent::new("assistant")
///     .model_client(Arc::new(ReplayClient::new().text(["Hello! TERMINATE"])));
/// let mut user = ConversableAgent::new("user")
///     .human_input_mode(HumanInputMode::Never)
///     .is_termination_msg(|m| m.text().ends_with("TERMINATE"));
/// let buffer = Arc::new(IOBuffer::new());
/// let result = io::with_default(buffer.clone(), || user.initiate_chat(&mut assistant, "Hi"))?;
/// assert_eq!(result.summary, "Hello! ");
/// assert!(buffer.text().starts_with("user (to assistant):\n\nHi\n"));
/// # Ok::<(), agentio::Error>(())
/// ```
pub struct ConversableAgent {
    pub(crate) name: String,
    pub(crate) system_message: String,
    pub(crate) description: String,
    pub(crate) model: Option<Arc<dyn ModelClient>>,
    pub(crate) stream: bool,
    pub(crate) human_input_mode: HumanInputMode,
    pub(crate) max_consecutive_auto_reply: usize,
    pub(crate) is_termination_msg: TerminationCheck,
    pub(crate) default_auto_reply: String,
    /// Tools this agent's model may call (their schemas go in its requests).
    pub(crate) llm_tools: Toolbox,
    /// Tools this agent runs when a message asks for them.
    pub(crate) function_map: Toolbox,
    /// The conversation with each peer, by the peer's name, in OpenAI's shape.
    pub(crate) chat_messages: BTreeMap<String, Vec<Message>>,
    /// Consecutive automatic replies to each peer.
    pub(crate) auto_replies: BTreeMap<String, usize>,
    /// Approval decisions a human asked to remember, by tool: allow (true)
    /// or deny every later call without asking.
    pub(crate) remembered: BTreeMap<String, bool>,
}

impl fmt::Debug for ConversableAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConversableAgent")
            .field("name", &self.name)
            .field("human_input_mode", &self.human_input_mode)
            .field("has_model", &self.model.is_some())
            .field("llm_tools", &self.llm_tools)
            .field("function_map", &self.function_map)
            .finish_non_exhaustive()
    }
}

/// A model client for a configuration that cannot work; it says why on use.
struct Misconfigured(String);

impl ModelClient for Misconfigured {
    fn create_to(&self, _: &ChatRequest, _: &dyn IOStream) -> Result<ChatResponse> {
        Err(Error::Config(self.0.clone()))
    }
}

impl ConversableAgent {
    /// An agent with AutoGen's `ConversableAgent` defaults: no model, human
    /// input mode TERMINATE, 100 consecutive auto replies, terminated by a
    /// message that is exactly `"TERMINATE"`, empty default reply.
    pub fn new(name: impl Into<String>) -> ConversableAgent {
        ConversableAgent {
            name: name.into(),
            system_message: DEFAULT_SYSTEM_MESSAGE.to_owned(),
            description: String::new(),
            model: None,
            stream: false,
            human_input_mode: HumanInputMode::Terminate,
            max_consecutive_auto_reply: DEFAULT_MAX_CONSECUTIVE_AUTO_REPLY,
            is_termination_msg: Arc::new(|m: &Message| m.content.as_deref() == Some("TERMINATE")),
            default_auto_reply: String::new(),
            llm_tools: Toolbox::new(),
            function_map: Toolbox::new(),
            chat_messages: BTreeMap::new(),
            auto_replies: BTreeMap::new(),
            remembered: BTreeMap::new(),
        }
    }

    /// Sets the system message sent first in every model request.
    pub fn system_message(mut self, message: impl Into<String>) -> ConversableAgent {
        self.system_message = message.into();
        self
    }

    /// Sets the description other agents may read.
    pub fn description(mut self, description: impl Into<String>) -> ConversableAgent {
        self.description = description.into();
        self
    }

    /// Gives the agent a model from an AutoGen-style `llm_config` (its
    /// `stream` setting included). A config that cannot work (an empty config
    /// list) makes every reply fail with that error.
    pub fn llm_config(mut self, config: LlmConfig) -> ConversableAgent {
        self.stream = config.stream;
        self.model = Some(match OpenAIWrapper::new(config) {
            Ok(wrapper) => Arc::new(wrapper),
            Err(e) => Arc::new(Misconfigured(e.to_string())),
        });
        self
    }

    /// Gives the agent any model (a [`ReplayClient`](crate::llm::ReplayClient),
    /// your own [`ModelClient`], …).
    pub fn model_client(mut self, model: Arc<dyn ModelClient>) -> ConversableAgent {
        self.model = Some(model);
        self
    }

    /// Streams the model's replies to the chat's stream as they come.
    pub fn stream(mut self, stream: bool) -> ConversableAgent {
        self.stream = stream;
        self
    }

    /// Sets when a human is asked.
    pub fn human_input_mode(mut self, mode: HumanInputMode) -> ConversableAgent {
        self.human_input_mode = mode;
        self
    }

    /// Sets how many automatic replies in a row the agent gives a peer.
    pub fn max_consecutive_auto_reply(mut self, replies: usize) -> ConversableAgent {
        self.max_consecutive_auto_reply = replies;
        self
    }

    /// Sets the test for a message that ends the conversation.
    pub fn is_termination_msg(
        mut self,
        check: impl Fn(&Message) -> bool + Send + Sync + 'static,
    ) -> ConversableAgent {
        self.is_termination_msg = Arc::new(check);
        self
    }

    /// Sets the reply given when nothing else replies.
    pub fn default_auto_reply(mut self, reply: impl Into<String>) -> ConversableAgent {
        self.default_auto_reply = reply.into();
        self
    }

    /// Lets this agent's model call `tool` (its schema goes in requests).
    pub fn register_for_llm(&mut self, tool: Tool) {
        self.llm_tools.insert(tool);
    }

    /// Lets this agent run `tool` when a message calls it.
    pub fn register_for_execution(&mut self, tool: Tool) {
        self.function_map.insert(tool);
    }

    /// Forgets the approval decisions a human asked to remember ("always",
    /// "never"): the next call of every tool that needs approval is asked
    /// again. They last as long as the agent otherwise, over its chats.
    pub fn forget_approvals(&mut self) {
        self.remembered.clear();
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The agent's description.
    pub fn get_description(&self) -> &str {
        &self.description
    }

    /// The agent's human input mode.
    pub fn get_human_input_mode(&self) -> HumanInputMode {
        self.human_input_mode
    }

    /// The conversation with the agent called `peer`, in OpenAI's shape.
    pub fn chat_messages(&self, peer: &str) -> &[Message] {
        self.chat_messages.get(peer).map_or(&[], Vec::as_slice)
    }

    /// Replaces the conversation with `peer` by `messages`, in OpenAI's
    /// shape as this agent's model should see them: a conversation the
    /// frontend sent (an AG-UI run's earlier messages) continues with
    /// [`ChatOptions::clear_history(false)`](crate::agentchat::ChatOptions::clear_history).
    pub fn load_history(&mut self, peer: &str, messages: Vec<Message>) {
        self.chat_messages.insert(peer.to_owned(), messages);
    }

    /// The last message of the conversation with `peer`.
    pub fn last_message(&self, peer: &str) -> Option<&Message> {
        self.chat_messages.get(peer).and_then(|m| m.last())
    }
}

/// Registers `tool` with AutoGen's `register_function` semantics: `caller`'s
/// model sees its schema, `executor` runs it.
pub fn register_function(
    tool: Tool,
    caller: &mut ConversableAgent,
    executor: &mut ConversableAgent,
) {
    caller.register_for_llm(tool.clone());
    executor.register_for_execution(tool);
}

/// AutoGen's `UserProxyAgent`: a human's stand-in, no model, human input
/// ALWAYS (its presets; the result is a [`ConversableAgent`]).
#[derive(Debug)]
pub struct UserProxyAgent;

impl UserProxyAgent {
    /// A user proxy called `name` with AutoGen's defaults.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(name: impl Into<String>) -> ConversableAgent {
        ConversableAgent::new(name)
            .human_input_mode(HumanInputMode::Always)
            .system_message("")
            .description(
                "A user that can run Python code or input command line commands at a Linux terminal and report back the execution results.",
            )
    }
}

/// AutoGen's `AssistantAgent`: human input NEVER and AutoGen's assistant
/// system message (its presets; the result is a [`ConversableAgent`]).
#[derive(Debug)]
pub struct AssistantAgent;

impl AssistantAgent {
    /// An assistant called `name` with AutoGen's defaults; give it a model.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(name: impl Into<String>) -> ConversableAgent {
        ConversableAgent::new(name)
            .human_input_mode(HumanInputMode::Never)
            .system_message(ASSISTANT_SYSTEM_MESSAGE)
            .description(
                "A helpful and general-purpose AI assistant that has strong problem-solving skills.",
            )
    }
}
