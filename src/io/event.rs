//! The structured things a stream carries, shaped like AG2's events.
//!
//! Every event serialises to `{"type": "<snake_case>", "content": {"uuid": "…", …}}`
//! with AG2's field names, and reads back from the same JSON (unknown fields are
//! ignored, a missing `uuid` gets a fresh one). How each renders as console text
//! lives in `render.rs`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::io::{
    GroupChatRunChatEvent, ReplyEndEvent, ReplyStartEvent, SelectSpeakerEvent,
    SelectSpeakerInvalidInputEvent, SelectSpeakerTryCountExceededEvent, SpeakerAttemptEvent,
    ToolApprovalRequestEvent, ToolApprovalResponseEvent, ToolCallDeltaEvent, Uuid,
};

/// One thing an agent conversation shows its user.
///
/// Streams that only handle text get each event rendered as AutoGen 0.2's
/// console output ([`Event::text_parts`], or [`Display`](std::fmt::Display) for
/// the whole text); streams that want structure serialise it to JSON.
///
/// ```
/// use agentio::io::Event;
///
/// let event = Event::text("Check out the weather in Paris.", "user_proxy", "chatbot");
/// assert_eq!(
///     event.to_string(),
///     format!("user_proxy (to chatbot):\n\nCheck out the weather in Paris.\n\n{}\n", "-".repeat(80))
/// );
/// let json = serde_json::to_value(&event)?;
/// assert_eq!(json["type"], "text");
/// assert_eq!(json["content"]["sender"], "user_proxy");
/// assert_eq!(serde_json::from_value::<Event>(json)?, event);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "content", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A `print` call: `objects` joined by `sep`, then `end`.
    Print(PrintEvent),
    /// One fragment of a streamed model reply.
    Stream(StreamEvent),
    /// A model's reasoning, beside its reply (agentio's; not in text mode).
    Reasoning(ReasoningEvent),
    /// A message with text content from one agent to another.
    Text(TextEvent),
    /// A message suggesting tool calls.
    ToolCall(ToolCallEvent),
    /// A message carrying the results of tool calls.
    ToolResponse(ToolResponseEvent),
    /// An agent replies automatically (no human input).
    UsingAutoReply(UsingAutoReplyEvent),
    /// A human was asked for input at a termination point and gave none.
    TerminationAndHumanReplyNoInput(TerminationAndHumanReplyNoInputEvent),
    /// The conversation ended.
    Termination(TerminationEvent),
    /// A tool (function) is about to run.
    ExecuteFunction(ExecuteFunctionEvent),
    /// A tool (function) has run.
    ExecutedFunction(ExecutedFunctionEvent),
    /// Tokens and cost per model.
    UsageSummary(UsageSummaryEvent),
    /// The conversation waits for human input.
    InputRequest(InputRequestEvent),
    /// A human's answer to an [`InputRequest`](Event::InputRequest).
    InputResponse(InputResponseEvent),
    /// Something went wrong.
    Error(ErrorEvent),
    /// A run finished: its summary, history, cost and last speaker.
    RunCompletion(RunCompletionEvent),
    /// A resuming client cannot have some frames of its session: they were
    /// evicted from the replay buffer (agentio's; the count it missed).
    MissedEvents(MissedEventsEvent),
    /// A tool call waits for a human's approval (agentio's).
    ToolApprovalRequest(ToolApprovalRequestEvent),
    /// A human's decision on a tool call (agentio's).
    ToolApprovalResponse(ToolApprovalResponseEvent),
    /// A running tool says how far it got (agentio's).
    ToolProgress(ToolProgressEvent),
    /// A group chat's next speaker.
    GroupChatRunChat(GroupChatRunChatEvent),
    /// A human is asked to pick a group chat's next speaker.
    SelectSpeaker(SelectSpeakerEvent),
    /// The human's pick was no number on the list.
    SelectSpeakerInvalidInput(SelectSpeakerInvalidInputEvent),
    /// The human did not pick in time; the speaker is chosen for them.
    SelectSpeakerTryCountExceeded(SelectSpeakerTryCountExceededEvent),
    /// The manager's model named exactly one next speaker.
    SpeakerAttemptSuccessful(SpeakerAttemptEvent),
    /// The manager's model named several agents.
    SpeakerAttemptFailedMultipleAgents(SpeakerAttemptEvent),
    /// The manager's model named no agent.
    SpeakerAttemptFailedNoAgents(SpeakerAttemptEvent),
    /// A model's reply begins (agentio's; only for streams that ask).
    ReplyStart(ReplyStartEvent),
    /// A model's reply is complete (agentio's; only for streams that ask).
    ReplyEnd(ReplyEndEvent),
    /// A fragment of a tool call's arguments (agentio's; only for streams
    /// that ask).
    ToolCallDelta(ToolCallDeltaEvent),
}

/// Content of an [`Event::Print`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PrintEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The printed objects, already converted to text.
    pub objects: Vec<String>,
    /// The separator between objects.
    #[serde(default = "space")]
    pub sep: String,
    /// The text after the last object.
    #[serde(default = "newline")]
    pub end: String,
}

impl PrintEvent {
    /// A `print` of `objects`, separated by a space and followed by a newline
    /// (Python's defaults; set `sep` and `end` to change them).
    pub fn new<I, S>(objects: I) -> PrintEvent
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PrintEvent {
            uuid: Uuid::new_v4(),
            objects: objects.into_iter().map(Into::into).collect(),
            sep: space(),
            end: newline(),
        }
    }
}

fn space() -> String {
    " ".to_owned()
}

fn newline() -> String {
    "\n".to_owned()
}

/// Content of an [`Event::Stream`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StreamEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The fragment, exactly as the model sent it.
    pub content: String,
    /// The agent whose reply this is, when known (agentio's addition, so a
    /// UI or a [`Filter`](crate::io::Filter) can tell who is talking; AG2 has
    /// no such field and ignores it). Absent from the JSON when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// On a reply's first fragment only, the agent the reply is for, so a
    /// console can print the reply's header once, before its tokens
    /// (agentio's addition, like `sender`; absent from the JSON elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
}

impl StreamEvent {
    /// A fragment of a reply whose agent is not named (set `sender`, and
    /// `recipient` on a reply's first fragment, to name them).
    pub fn new(content: impl Into<String>) -> StreamEvent {
        StreamEvent {
            uuid: Uuid::new_v4(),
            content: content.into(),
            sender: None,
            recipient: None,
        }
    }
}

/// Content of an [`Event::Reasoning`]: a fragment of a model's reasoning
/// (`reasoning_content` in the stream), which is not part of its reply and
/// is never sent back to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReasoningEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The fragment, or the whole reasoning of a reply that did not stream.
    pub content: String,
    /// The agent whose reply it is, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
}

impl ReasoningEvent {
    /// Reasoning `content` of an unknown agent.
    pub fn new(content: impl Into<String>) -> ReasoningEvent {
        ReasoningEvent {
            uuid: Uuid::new_v4(),
            content: content.into(),
            sender: None,
        }
    }
}

/// Content of an [`Event::Text`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The message text.
    pub content: String,
    /// Name of the agent that sent the message.
    pub sender: String,
    /// Name of the agent the message is for.
    pub recipient: String,
    /// True when the content already reached the stream as [`Event::Stream`]
    /// fragments, so a UI can finalise the streamed text instead of showing it twice.
    /// Absent from the JSON when false (AG2's shape).
    #[serde(default, skip_serializing_if = "is_false")]
    pub streamed: bool,
}

impl TextEvent {
    /// A message from `sender` to `recipient`, not streamed.
    pub fn new(
        content: impl Into<String>,
        sender: impl Into<String>,
        recipient: impl Into<String>,
    ) -> TextEvent {
        TextEvent {
            uuid: Uuid::new_v4(),
            content: content.into(),
            sender: sender.into(),
            recipient: recipient.into(),
            streamed: false,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One tool call a model asked for, in OpenAI's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCall {
    /// The call's id; tool responses refer to it.
    #[serde(default)]
    pub id: String,
    /// Always `"function"`.
    #[serde(rename = "type", default = "function")]
    pub kind: String,
    /// The function to call.
    pub function: FunctionCall,
}

impl ToolCall {
    /// A call of `function` with the id `id`, of kind `"function"`.
    pub fn new(id: impl Into<String>, function: FunctionCall) -> ToolCall {
        ToolCall {
            id: id.into(),
            kind: "function".to_owned(),
            function,
        }
    }
}

fn function() -> String {
    "function".to_owned()
}

/// The function part of a [`ToolCall`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionCall {
    /// The tool's name.
    #[serde(default)]
    pub name: String,
    /// The arguments as the model wrote them: JSON text, possibly invalid.
    #[serde(default)]
    pub arguments: String,
}

impl FunctionCall {
    /// A call of the tool `name` with `arguments`, JSON text as the model wrote it.
    pub fn new(name: impl Into<String>, arguments: impl Into<String>) -> FunctionCall {
        FunctionCall {
            name: name.into(),
            arguments: arguments.into(),
        }
    }
}

/// Content of an [`Event::ToolCall`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCallEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// Text that came with the calls, if any.
    #[serde(default)]
    pub content: Option<String>,
    /// Name of the agent that suggests the calls.
    pub sender: String,
    /// Name of the agent asked to run them.
    pub recipient: String,
    /// The message role, `"assistant"`.
    #[serde(default = "assistant")]
    pub role: String,
    /// The calls, in order.
    pub tool_calls: Vec<ToolCall>,
    /// True when `content` already reached the stream as [`Event::Stream`]
    /// fragments, as for [`TextEvent::streamed`] (agentio's; absent when false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub streamed: bool,
}

impl ToolCallEvent {
    /// `sender` suggests `tool_calls` to `recipient`, with no text
    /// (`content` is `None`) and the role `"assistant"`.
    ///
    /// ```
    /// use agentio::io::{Event, FunctionCall, ToolCall, ToolCallEvent};
    ///
    /// let call = ToolCall::new("call_1", FunctionCall::new("weather", r#"{"city": "Paris"}"#));
    /// let mut event = ToolCallEvent::new(vec![call], "chatbot", "user_proxy");
    /// event.content = Some("Let me check.".into());
    /// let json = serde_json::to_value(Event::from(event))?;
    /// assert_eq!(json["type"], "tool_call");
    /// assert_eq!(json["content"]["content"], "Let me check.");
    /// assert_eq!(json["content"]["role"], "assistant");
    /// assert_eq!(json["content"]["tool_calls"][0]["type"], "function");
    /// assert_eq!(json["content"]["tool_calls"][0]["function"]["name"], "weather");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn new(
        tool_calls: Vec<ToolCall>,
        sender: impl Into<String>,
        recipient: impl Into<String>,
    ) -> ToolCallEvent {
        ToolCallEvent {
            uuid: Uuid::new_v4(),
            content: None,
            sender: sender.into(),
            recipient: recipient.into(),
            role: assistant(),
            tool_calls,
            streamed: false,
        }
    }
}

fn assistant() -> String {
    "assistant".to_owned()
}

/// One tool's result inside an [`Event::ToolResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolResponse {
    /// The id of the [`ToolCall`] this answers.
    pub tool_call_id: String,
    /// The message role, `"tool"`.
    #[serde(default = "tool")]
    pub role: String,
    /// The result as text (non-string results are JSON).
    pub content: String,
}

impl ToolResponse {
    /// The result `content` of the call `tool_call_id`, with the role `"tool"`.
    pub fn new(tool_call_id: impl Into<String>, content: impl Into<String>) -> ToolResponse {
        ToolResponse {
            tool_call_id: tool_call_id.into(),
            role: tool(),
            content: content.into(),
        }
    }
}

fn tool() -> String {
    "tool".to_owned()
}

/// Content of an [`Event::ToolResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolResponseEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// All results' content joined, as AG2 sends it.
    #[serde(default)]
    pub content: String,
    /// Name of the agent that ran the tools.
    pub sender: String,
    /// Name of the agent that asked for them.
    pub recipient: String,
    /// The message role, `"tool"`.
    #[serde(default = "tool")]
    pub role: String,
    /// One result per call.
    pub tool_responses: Vec<ToolResponse>,
}

impl ToolResponseEvent {
    /// `sender` answers `recipient`'s calls with `tool_responses`, with the
    /// role `"tool"` and, as `content`, the responses' content joined by a
    /// blank line, as AG2 sends it.
    pub fn new(
        tool_responses: Vec<ToolResponse>,
        sender: impl Into<String>,
        recipient: impl Into<String>,
    ) -> ToolResponseEvent {
        ToolResponseEvent {
            uuid: Uuid::new_v4(),
            content: tool_responses
                .iter()
                .map(|r| r.content.as_str())
                .collect::<Vec<_>>()
                .join("\n\n"),
            sender: sender.into(),
            recipient: recipient.into(),
            role: tool(),
            tool_responses,
        }
    }
}

/// Content of an [`Event::UsingAutoReply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsingAutoReplyEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The replying agent's human input mode (`ALWAYS`, `TERMINATE` or `NEVER`).
    pub human_input_mode: String,
    /// The agent whose message is being answered.
    pub sender: String,
    /// The agent that answers.
    pub recipient: String,
}

impl UsingAutoReplyEvent {
    /// `recipient`, in `human_input_mode`, answers `sender` automatically.
    pub fn new(
        human_input_mode: impl Into<String>,
        sender: impl Into<String>,
        recipient: impl Into<String>,
    ) -> UsingAutoReplyEvent {
        UsingAutoReplyEvent {
            uuid: Uuid::new_v4(),
            human_input_mode: human_input_mode.into(),
            sender: sender.into(),
            recipient: recipient.into(),
        }
    }
}

/// Content of an [`Event::TerminationAndHumanReplyNoInput`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TerminationAndHumanReplyNoInputEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The notice, `"NO HUMAN INPUT RECEIVED."`.
    pub no_human_input_msg: String,
    /// The agent whose message was being answered.
    pub sender: String,
    /// The agent that asked for input.
    pub recipient: String,
}

impl TerminationAndHumanReplyNoInputEvent {
    /// `recipient` asked for input to answer `sender` and got none;
    /// `no_human_input_msg` is the notice shown.
    pub fn new(
        no_human_input_msg: impl Into<String>,
        sender: impl Into<String>,
        recipient: impl Into<String>,
    ) -> TerminationAndHumanReplyNoInputEvent {
        TerminationAndHumanReplyNoInputEvent {
            uuid: Uuid::new_v4(),
            no_human_input_msg: no_human_input_msg.into(),
            sender: sender.into(),
            recipient: recipient.into(),
        }
    }
}

/// Content of an [`Event::Termination`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TerminationEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// Why the conversation ended, e.g. `"Termination message condition on agent 'user_proxy' met"`.
    pub termination_reason: String,
    /// The agent that ended it.
    pub sender: String,
    /// Its counterpart.
    pub recipient: String,
}

impl TerminationEvent {
    /// `sender` ended the conversation with `recipient` for `termination_reason`.
    pub fn new(
        termination_reason: impl Into<String>,
        sender: impl Into<String>,
        recipient: impl Into<String>,
    ) -> TerminationEvent {
        TerminationEvent {
            uuid: Uuid::new_v4(),
            termination_reason: termination_reason.into(),
            sender: sender.into(),
            recipient: recipient.into(),
        }
    }
}

/// Content of an [`Event::ExecuteFunction`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExecuteFunctionEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The tool's name.
    pub func_name: String,
    /// The id of the call being run.
    #[serde(default)]
    pub call_id: Option<String>,
    /// The parsed arguments (a JSON object).
    #[serde(default)]
    pub arguments: Value,
    /// The agent that runs the tool.
    pub recipient: String,
}

impl ExecuteFunctionEvent {
    /// `recipient` is about to run the tool `func_name`, with no call id and
    /// `null` arguments (set `call_id` and `arguments` to give them).
    pub fn new(func_name: impl Into<String>, recipient: impl Into<String>) -> ExecuteFunctionEvent {
        ExecuteFunctionEvent {
            uuid: Uuid::new_v4(),
            func_name: func_name.into(),
            call_id: None,
            arguments: Value::Null,
            recipient: recipient.into(),
        }
    }
}

/// Content of an [`Event::ExecutedFunction`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExecutedFunctionEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The tool's name.
    pub func_name: String,
    /// The id of the call that ran.
    #[serde(default)]
    pub call_id: Option<String>,
    /// The parsed arguments (a JSON object).
    #[serde(default)]
    pub arguments: Value,
    /// The result, or the error text the model will see.
    pub content: String,
    /// The agent that ran the tool.
    pub recipient: String,
    /// Whether the tool succeeded.
    pub is_exec_success: bool,
}

impl ExecutedFunctionEvent {
    /// `recipient` ran the tool `func_name`, which returned `content` and
    /// succeeded if `is_exec_success`; no call id and `null` arguments (set
    /// `call_id` and `arguments` to give them).
    pub fn new(
        func_name: impl Into<String>,
        content: impl Into<String>,
        recipient: impl Into<String>,
        is_exec_success: bool,
    ) -> ExecutedFunctionEvent {
        ExecutedFunctionEvent {
            uuid: Uuid::new_v4(),
            func_name: func_name.into(),
            call_id: None,
            arguments: Value::Null,
            content: content.into(),
            recipient: recipient.into(),
            is_exec_success,
        }
    }
}

/// Tokens and cost of one model, inside a [`ModelUsageSummary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelUsage {
    /// The model's name.
    pub model: String,
    /// Tokens sent.
    pub prompt_tokens: u64,
    /// Tokens received.
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
    /// Cost in dollars.
    pub cost: f64,
}

impl ModelUsage {
    /// The tokens and cost (in dollars) of `model`.
    pub fn new(
        model: impl Into<String>,
        prompt_tokens: u64,
        completion_tokens: u64,
        total_tokens: u64,
        cost: f64,
    ) -> ModelUsage {
        ModelUsage {
            model: model.into(),
            prompt_tokens,
            completion_tokens,
            total_tokens,
            cost,
        }
    }
}

/// Usage per model plus the total cost; `usages` is `None` before any call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelUsageSummary {
    /// One entry per model, or `None` when nothing was called yet.
    pub usages: Option<Vec<ModelUsage>>,
    /// The sum of the entries' cost, or `None` when nothing was called yet.
    pub total_cost: Option<f64>,
}

impl ModelUsageSummary {
    /// The summary of `usages`, whose `total_cost` is the sum of their cost.
    /// The summary before any call is [`ModelUsageSummary::default`].
    pub fn new(usages: Vec<ModelUsage>) -> ModelUsageSummary {
        // From +0.0: an empty f64 sum is -0.0, which would print as such.
        let total_cost = usages.iter().fold(0.0, |sum, u| sum + u.cost);
        ModelUsageSummary {
            usages: Some(usages),
            total_cost: Some(total_cost),
        }
    }
}

/// Which usage an [`Event::UsageSummary`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageMode {
    /// Actual (cache misses only) and total.
    #[default]
    Both,
    /// Total, cached completions included.
    Total,
    /// Actual, cached completions excluded.
    Actual,
}

/// Content of an [`Event::UsageSummary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsageSummaryEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// Usage excluding cached completions.
    pub actual: ModelUsageSummary,
    /// Usage including cached completions.
    pub total: ModelUsageSummary,
    /// Which of the two to show.
    #[serde(default)]
    pub mode: UsageMode,
}

impl UsageSummaryEvent {
    /// The `actual` (cached completions excluded) and `total` usage, shown in
    /// mode [`UsageMode::Both`].
    pub fn new(actual: ModelUsageSummary, total: ModelUsageSummary) -> UsageSummaryEvent {
        UsageSummaryEvent {
            uuid: Uuid::new_v4(),
            actual,
            total,
            mode: UsageMode::Both,
        }
    }
}

/// Content of an [`Event::InputRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputRequestEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The prompt to show.
    #[serde(default)]
    pub prompt: String,
    /// Whether the answer should be hidden as it is typed.
    #[serde(default)]
    pub password: bool,
    /// What an answer may name (agentio's): an answer naming another
    /// request is refused, never taken for a later prompt.
    #[serde(default)]
    pub request_id: String,
    /// How long the stream waits for the answer, in seconds (agentio's;
    /// `None`: no limit).
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
}

impl InputRequestEvent {
    /// A request for input that shows `prompt` and hides the answer if
    /// `password`, with a fresh `request_id` and no timeout.
    pub fn new(prompt: impl Into<String>, password: bool) -> InputRequestEvent {
        InputRequestEvent {
            uuid: Uuid::new_v4(),
            prompt: prompt.into(),
            password,
            request_id: Uuid::new_v4().to_string(),
            timeout_seconds: None,
        }
    }
}

/// Content of an [`Event::InputResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputResponseEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// What the human typed.
    pub value: String,
    /// The request answered (agentio's; `None`: whichever is open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl InputResponseEvent {
    /// A human's answer, `value`, to whichever request is open.
    pub fn new(value: impl Into<String>) -> InputResponseEvent {
        InputResponseEvent {
            uuid: Uuid::new_v4(),
            value: value.into(),
            request_id: None,
        }
    }
}

/// Content of an [`Event::ToolProgress`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolProgressEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The model's id for the call that is running.
    pub call_id: String,
    /// The tool's name.
    pub name: String,
    /// What the tool reports.
    pub message: String,
    /// The agent running the tool.
    pub recipient: String,
}

impl ToolProgressEvent {
    /// `message` from tool `name`, running call `call_id` for `recipient`.
    pub fn new(
        call_id: impl Into<String>,
        name: impl Into<String>,
        message: impl Into<String>,
        recipient: impl Into<String>,
    ) -> ToolProgressEvent {
        ToolProgressEvent {
            uuid: Uuid::new_v4(),
            call_id: call_id.into(),
            name: name.into(),
            message: message.into(),
            recipient: recipient.into(),
        }
    }
}

/// Content of an [`Event::Error`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// What went wrong.
    pub error: String,
}

impl ErrorEvent {
    /// A report of `error`.
    pub fn new(error: impl Into<String>) -> ErrorEvent {
        ErrorEvent {
            uuid: Uuid::new_v4(),
            error: error.into(),
        }
    }
}

/// Content of an [`Event::RunCompletion`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunCompletionEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The chat's summary.
    pub summary: String,
    /// The messages of the chat, in OpenAI's message shape.
    #[serde(default)]
    pub history: Vec<Value>,
    /// The chat's cost, as AG2 reports it.
    #[serde(default)]
    pub cost: Value,
    /// The agent that spoke last, if any.
    #[serde(default)]
    pub last_speaker: Option<String>,
}

impl RunCompletionEvent {
    /// A finished run with `summary`, an empty history, a `null` cost and no
    /// last speaker (set `history`, `cost` and `last_speaker` to give them).
    pub fn new(summary: impl Into<String>) -> RunCompletionEvent {
        RunCompletionEvent {
            uuid: Uuid::new_v4(),
            summary: summary.into(),
            history: Vec::new(),
            cost: Value::Null,
            last_speaker: None,
        }
    }
}

/// Content of an [`Event::MissedEvents`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MissedEventsEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// How many frames the client will not get.
    pub count: u64,
}

impl MissedEventsEvent {
    /// `count` frames missed.
    pub fn new(count: u64) -> MissedEventsEvent {
        MissedEventsEvent {
            uuid: Uuid::new_v4(),
            count,
        }
    }
}

macro_rules! event_kinds {
    ($($variant:ident($content:ident $(, $shared:ident)?) => $name:literal),* $(,)?) => {
        /// The kind of an [`Event`]: its `type` in JSON (`"text"`, `"stream"`, …).
        ///
        /// Filters are sets of kinds; parsing a kind's name
        /// ([`str::parse`]) is the only step that can fail.
        ///
        /// ```
        /// use agentio::io::{Event, EventKind};
        ///
        /// assert_eq!(Event::text("hi", "a", "b").kind(), EventKind::Text);
        /// assert_eq!("tool_call".parse::<EventKind>()?, EventKind::ToolCall);
        /// assert_eq!(EventKind::UsingAutoReply.as_str(), "using_auto_reply");
        /// assert!("txet".parse::<EventKind>().is_err());
        /// # Ok::<(), agentio::io::UnknownEventKind>(())
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventKind {
            $(
                #[doc = concat!("`", $name, "`: see [`Event::", stringify!($variant), "`].")]
                $variant,
            )*
        }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),*];

            /// The kind's name, as in an event's JSON `type`.
            pub const fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name,)* }
            }
        }

        impl std::str::FromStr for EventKind {
            type Err = UnknownEventKind;

            fn from_str(name: &str) -> Result<EventKind, UnknownEventKind> {
                match name {
                    $($name => Ok(EventKind::$variant),)*
                    _ => Err(UnknownEventKind(name.to_owned())),
                }
            }
        }

        impl Event {
            /// The event's id.
            pub fn uuid(&self) -> Uuid {
                match self { $(Event::$variant(e) => e.uuid,)* }
            }

            /// The event's kind, its `type` in JSON.
            pub const fn kind(&self) -> EventKind {
                match self { $(Event::$variant(_) => EventKind::$variant,)* }
            }
        }
        $(event_from!($variant, $content $(, $shared)?);)*
    };
}

/// `From` a content type, for the kinds whose content no other kind has
/// (`shared` kinds are made by name).
macro_rules! event_from {
    ($variant:ident, $content:ident) => {
        impl From<$content> for Event {
            fn from(content: $content) -> Event {
                Event::$variant(content)
            }
        }
    };
    ($variant:ident, $content:ident, shared) => {};
}

impl EventKind {
    /// The kinds a stream gets only when it asks for them
    /// ([`IOStream::wants`](crate::io::IOStream::wants)): what frontend
    /// protocols need as a model streams, which AutoGen's text and AG2's
    /// events do not have.
    pub const ON_REQUEST: &'static [EventKind] = &[
        EventKind::ReplyStart,
        EventKind::ReplyEnd,
        EventKind::ToolCallDelta,
    ];

    /// Whether this kind is sent only to streams that ask for it.
    pub fn is_on_request(self) -> bool {
        EventKind::ON_REQUEST.contains(&self)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind compares equal to its name: `event.kind() == "text"`.
impl PartialEq<str> for EventKind {
    fn eq(&self, name: &str) -> bool {
        self.as_str() == name
    }
}

impl PartialEq<&str> for EventKind {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

/// A name that is no [`EventKind`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEventKind(pub String);

impl std::fmt::Display for UnknownEventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown event kind {:?}; the kinds are ", self.0)?;
        for (i, kind) in EventKind::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(kind.as_str())?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownEventKind {}

event_kinds! {
    Print(PrintEvent) => "print",
    Stream(StreamEvent) => "stream",
    Reasoning(ReasoningEvent) => "reasoning",
    Text(TextEvent) => "text",
    ToolCall(ToolCallEvent) => "tool_call",
    ToolResponse(ToolResponseEvent) => "tool_response",
    UsingAutoReply(UsingAutoReplyEvent) => "using_auto_reply",
    TerminationAndHumanReplyNoInput(TerminationAndHumanReplyNoInputEvent) => "termination_and_human_reply_no_input",
    Termination(TerminationEvent) => "termination",
    ExecuteFunction(ExecuteFunctionEvent) => "execute_function",
    ExecutedFunction(ExecutedFunctionEvent) => "executed_function",
    UsageSummary(UsageSummaryEvent) => "usage_summary",
    InputRequest(InputRequestEvent) => "input_request",
    InputResponse(InputResponseEvent) => "input_response",
    Error(ErrorEvent) => "error",
    RunCompletion(RunCompletionEvent) => "run_completion",
    MissedEvents(MissedEventsEvent) => "missed_events",
    ToolApprovalRequest(ToolApprovalRequestEvent) => "tool_approval_request",
    ToolApprovalResponse(ToolApprovalResponseEvent) => "tool_approval_response",
    ToolProgress(ToolProgressEvent) => "tool_progress",
    GroupChatRunChat(GroupChatRunChatEvent) => "group_chat_run_chat",
    SelectSpeaker(SelectSpeakerEvent) => "select_speaker",
    SelectSpeakerInvalidInput(SelectSpeakerInvalidInputEvent) => "select_speaker_invalid_input",
    SelectSpeakerTryCountExceeded(SelectSpeakerTryCountExceededEvent) => "select_speaker_try_count_exceeded",
    SpeakerAttemptSuccessful(SpeakerAttemptEvent, shared) => "speaker_attempt_successful",
    SpeakerAttemptFailedMultipleAgents(SpeakerAttemptEvent, shared) => "speaker_attempt_failed_multiple_agents",
    SpeakerAttemptFailedNoAgents(SpeakerAttemptEvent, shared) => "speaker_attempt_failed_no_agents",
    ReplyStart(ReplyStartEvent) => "reply_start",
    ReplyEnd(ReplyEndEvent) => "reply_end",
    ToolCallDelta(ToolCallDeltaEvent) => "tool_call_delta",
}

/// Constructors for the common events, each with a fresh [`Uuid`]; every
/// event's content type also has its own `new` (e.g. [`ToolCallEvent::new`]),
/// whose result converts into an [`Event`] with [`From`].
impl Event {
    /// A `print` of `objects` joined by `sep`, then `end`.
    pub fn print<I, S>(objects: I, sep: &str, end: &str) -> Event
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut print = PrintEvent::new(objects);
        print.sep = sep.to_owned();
        print.end = end.to_owned();
        Event::Print(print)
    }

    /// One streamed fragment of a model reply.
    pub fn stream(content: impl Into<String>) -> Event {
        Event::Stream(StreamEvent::new(content))
    }

    /// The agent an event belongs to: who sent a message or streams a reply,
    /// who runs a tool, replies automatically or ends the chat. `None` for
    /// events of no agent (print, errors, usage, input) and for a stream
    /// fragment whose agent is not known.
    pub fn agent(&self) -> Option<&str> {
        match self {
            Event::Stream(e) => e.sender.as_deref(),
            Event::Reasoning(e) => e.sender.as_deref(),
            Event::Text(e) => Some(&e.sender),
            Event::ToolCall(e) => Some(&e.sender),
            Event::ToolResponse(e) => Some(&e.sender),
            Event::Termination(e) => Some(&e.sender),
            Event::UsingAutoReply(e) => Some(&e.recipient),
            Event::TerminationAndHumanReplyNoInput(e) => Some(&e.recipient),
            Event::ExecuteFunction(e) => Some(&e.recipient),
            Event::ExecutedFunction(e) => Some(&e.recipient),
            Event::ToolApprovalRequest(e) => Some(&e.recipient),
            Event::ToolProgress(e) => Some(&e.recipient),
            Event::GroupChatRunChat(e) => Some(&e.speaker),
            Event::ReplyStart(e) => e.sender.as_deref(),
            Event::ReplyEnd(e) => e.sender.as_deref(),
            Event::ToolCallDelta(e) => e.sender.as_deref(),
            Event::ToolApprovalResponse(_)
            | Event::SelectSpeaker(_)
            | Event::SelectSpeakerInvalidInput(_)
            | Event::SelectSpeakerTryCountExceeded(_)
            | Event::SpeakerAttemptSuccessful(_)
            | Event::SpeakerAttemptFailedMultipleAgents(_)
            | Event::SpeakerAttemptFailedNoAgents(_)
            | Event::Print(_)
            | Event::UsageSummary(_)
            | Event::InputRequest(_)
            | Event::InputResponse(_)
            | Event::Error(_)
            | Event::RunCompletion(_)
            | Event::MissedEvents(_) => None,
        }
    }

    /// A text message from `sender` to `recipient`.
    pub fn text(
        content: impl Into<String>,
        sender: impl Into<String>,
        recipient: impl Into<String>,
    ) -> Event {
        Event::Text(TextEvent::new(content, sender, recipient))
    }

    /// A request for human input.
    pub fn input_request(prompt: impl Into<String>, password: bool) -> Event {
        Event::InputRequest(InputRequestEvent::new(prompt, password))
    }

    /// A human's answer to an input request.
    pub fn input_response(value: impl Into<String>) -> Event {
        Event::InputResponse(InputResponseEvent::new(value))
    }

    /// An error report.
    pub fn error(error: impl Into<String>) -> Event {
        Event::Error(ErrorEvent::new(error))
    }

    /// The event as one line of JSON.
    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail: every map key is a string
        // and every number is finite or written as null by serde_json.
        serde_json::to_string(self).unwrap_or_else(|e| {
            serde_json::json!({"type": "error", "content": {"error": format!("cannot serialise event: {e}")}})
                .to_string()
        })
    }

    /// Reads an event from its JSON.
    pub fn from_json(json: &str) -> crate::Result<Event> {
        Ok(serde_json::from_str(json)?)
    }
}
