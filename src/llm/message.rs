//! Chat messages in OpenAI's shape.

use serde::{Deserialize, Serialize};

use crate::io::ToolCall;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The other side of the conversation.
    User,
    /// The model (or the agent it speaks for).
    Assistant,
    /// A tool's result.
    Tool,
}

impl Role {
    /// The role as OpenAI spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One message of a chat, as OpenAI's chat completions API reads and writes it.
///
/// ```
/// use agentio::llm::Message;
///
/// let json = serde_json::to_string(&Message::user("Hi").with_name("user_proxy"))?;
/// assert_eq!(json, r#"{"role":"user","content":"Hi","name":"user_proxy"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// The text; `None` (JSON `null`) for a message that only calls tools.
    #[serde(default)]
    pub content: Option<String>,
    /// The author's name (AutoGen sets the agent's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls the model asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a [`Role::Tool`] message: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    fn new(role: Role, content: Option<String>) -> Message {
        Message {
            role,
            content,
            name: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Message {
        Message::new(Role::System, Some(content.into()))
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Message {
        Message::new(Role::User, Some(content.into()))
    }

    /// An assistant message with text.
    pub fn assistant(content: impl Into<String>) -> Message {
        Message::new(Role::Assistant, Some(content.into()))
    }

    /// An assistant message that calls tools (content `null`, as OpenAI sends it).
    pub fn tool_calls(calls: Vec<ToolCall>) -> Message {
        let mut message = Message::new(Role::Assistant, None);
        message.tool_calls = calls;
        message
    }

    /// A tool's result for the call `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<String>) -> Message {
        let mut message = Message::new(Role::Tool, Some(content.into()));
        message.tool_call_id = Some(tool_call_id.into());
        message
    }

    /// The same message with an author name.
    pub fn with_name(mut self, name: impl Into<String>) -> Message {
        self.name = Some(name.into());
        self
    }

    /// The text, or `""` when there is none.
    pub fn text(&self) -> &str {
        self.content.as_deref().unwrap_or("")
    }
}
