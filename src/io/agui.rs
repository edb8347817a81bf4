//! AG-UI: a chat's events as AG-UI events (the protocol of `@ag-ui/client`,
//! CopilotKit and their framework integrations). An encoder over agentio's
//! events, knowing nothing of agents or transports: it turns each event
//! into the AG-UI events it means, keeping what is open (the step, the text
//! message, the reasoning, the tool calls) so that every start has its end.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Value, json};

use crate::io::encoder::message_text;
use crate::io::{Encoder, Event, EventKind, Uuid};

/// A streamed token's `TEXT_MESSAGE_CONTENT`, the most frequent event:
/// serialized from this, not built as a `Value` first.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TextContent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message_id: &'a str,
    delta: &'a str,
}

impl<'a> TextContent<'a> {
    fn new(message_id: &'a str, delta: &'a str) -> TextContent<'a> {
        TextContent {
            kind: "TEXT_MESSAGE_CONTENT",
            message_id,
            delta,
        }
    }
}

/// The kinds an AG-UI encoder needs besides the usual ones: a stream that
/// encodes AG-UI says yes to these in [`IOStream::wants`](crate::io::IOStream::wants).
pub const AGUI_KINDS: &[EventKind] = EventKind::ON_REQUEST;

/// Turns agentio's events into AG-UI events, for one run.
///
/// [`start`](AguiEncoder::start) gives `RUN_STARTED`; [`encode`](AguiEncoder::encode)
/// each event's AG-UI events (a text reply's `TEXT_MESSAGE_START` /
/// `CONTENT` / `END` under one `messageId`, its reasoning as `REASONING_*`,
/// tool calls as `TOOL_CALL_START` / `ARGS` / `END` with the arguments as
/// the model writes them, results as `TOOL_CALL_RESULT`, each agent's turn
/// a step named after it); [`finish`](AguiEncoder::finish) or
/// [`fail`](AguiEncoder::fail) close what is open and end the run.
///
/// ```
/// use agentio::io::{AguiEncoder, Encoder, Event};
///
/// let mut encoder = AguiEncoder::new("thread-1", "run-1").user("user_proxy");
/// let mut events = encoder.start();
/// events.extend(encoder.encode(&Event::text("Weather?", "user_proxy", "chatbot")));
/// events.extend(encoder.encode(&Event::text("Sunny.", "chatbot", "user_proxy")));
/// events.extend(encoder.finish());
/// let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
/// assert_eq!(types, [
///     "RUN_STARTED", "STEP_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
///     "TEXT_MESSAGE_END", "STEP_FINISHED", "RUN_FINISHED",
/// ]);
/// ```
#[derive(Debug)]
pub struct AguiEncoder {
    thread_id: String,
    run_id: String,
    /// The agent that speaks for the frontend's user: its messages came
    /// from the frontend, so they are not sent back.
    user: Option<String>,
    /// The run's question, which the chat shows as its first message: the
    /// frontend's own, so not sent back.
    question: Option<String>,
    /// The open step: the agent whose turn it is.
    step: Option<String>,
    /// The current reply's id (from `reply_start`).
    reply: Option<String>,
    /// The open text message.
    text: Option<String>,
    /// The open reasoning.
    reasoning: Option<String>,
    /// Tool calls started and not ended.
    open_calls: Vec<String>,
    /// Every tool call already sent, so the whole `tool_call` event does
    /// not send it again.
    sent_calls: BTreeSet<String>,
    finished: bool,
}

/// The interrupt id of the approval of call `call_id`: derived from the
/// call, so the run that resumes it can be served anywhere.
pub(crate) fn approval_interrupt_id(call_id: &str) -> String {
    format!("{APPROVAL_INTERRUPT}{call_id}")
}

/// What the id of an approval interrupt starts with (the call id follows).
pub(crate) const APPROVAL_INTERRUPT: &str = "approval-";

/// What the id of an input interrupt starts with.
pub(crate) const INPUT_INTERRUPT: &str = "input-";

/// The answer an approval interrupt expects: `{"approved": true}`, with
/// `editedArgs` to run the call with other arguments, or `{"approved":
/// false, "reason": …}`.
fn approval_schema() -> Value {
    json!({
        "type": "object", "required": ["approved"],
        "properties": {
            "approved": {"type": "boolean"},
            "editedArgs": {"type": "object"},
            "reason": {"type": "string"},
        },
    })
}

/// A fresh id starting with `prefix`.
pub(crate) fn id(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::new_v4().to_string().replace('-', ""))
}

impl AguiEncoder {
    /// An encoder for run `run_id` of thread `thread_id`.
    pub fn new(thread_id: impl Into<String>, run_id: impl Into<String>) -> AguiEncoder {
        AguiEncoder {
            thread_id: thread_id.into(),
            run_id: run_id.into(),
            user: None,
            question: None,
            step: None,
            reply: None,
            text: None,
            reasoning: None,
            open_calls: Vec::new(),
            sent_calls: BTreeSet::new(),
            finished: false,
        }
    }

    /// The agent that speaks for the frontend's user (`user_proxy`): its
    /// text messages are the frontend's own and are not sent back.
    pub fn user(mut self, agent: impl Into<String>) -> AguiEncoder {
        self.user = Some(agent.into());
        self
    }

    /// The run's question: the first text message with exactly this
    /// content is the frontend's own and is not sent back (whoever the
    /// agent that relays it).
    pub fn question(mut self, text: impl Into<String>) -> AguiEncoder {
        self.question = Some(text.into());
        self
    }

    fn end(&mut self, last: Value) -> Vec<Value> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        self.close_message(&mut out);
        self.step_to(None, &mut out);
        out.push(last);
        self.finished = true;
        out
    }

    /// Makes `agent`'s turn the open step (closing another's first).
    fn step_to(&mut self, agent: Option<&str>, out: &mut Vec<Value>) {
        if agent.is_some() && agent == self.step.as_deref() {
            return;
        }
        if agent.is_none() && self.step.is_none() {
            return;
        }
        if let Some(previous) = self.step.take() {
            self.close_message(out);
            out.push(json!({"type": "STEP_FINISHED", "stepName": previous}));
        }
        if let Some(agent) = agent {
            out.push(json!({"type": "STEP_STARTED", "stepName": agent}));
            self.step = Some(agent.to_owned());
        }
    }

    /// What a streamed token of `agent` goes into: its step, the text
    /// message (opened here when none is); returns the message's id.
    fn text_message(&mut self, agent: Option<&str>, out: &mut Vec<Value>) -> String {
        self.step_to(agent, out);
        self.close_reasoning(out);
        self.open_text(out)
    }

    fn open_text(&mut self, out: &mut Vec<Value>) -> String {
        if let Some(open) = &self.text {
            return open.clone();
        }
        let message_id = self.reply.clone().unwrap_or_else(|| id("msg"));
        out.push(
            json!({"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"}),
        );
        self.text = Some(message_id.clone());
        message_id
    }

    /// A message that did not stream: start, all of it, end.
    fn whole_text(&mut self, content: &str, out: &mut Vec<Value>) {
        self.close_message(out);
        let message_id = id("msg");
        out.push(
            json!({"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"}),
        );
        out.push(
            json!({"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": content}),
        );
        out.push(json!({"type": "TEXT_MESSAGE_END", "messageId": message_id}));
    }

    fn close_reasoning(&mut self, out: &mut Vec<Value>) {
        if let Some(message_id) = self.reasoning.take() {
            out.push(json!({"type": "REASONING_MESSAGE_END", "messageId": message_id}));
            out.push(json!({"type": "REASONING_END", "messageId": message_id}));
        }
    }

    /// Ends the open reasoning, text and tool calls.
    fn close_message(&mut self, out: &mut Vec<Value>) {
        self.close_reasoning(out);
        if let Some(message_id) = self.text.take() {
            out.push(json!({"type": "TEXT_MESSAGE_END", "messageId": message_id}));
        }
        for call in self.open_calls.drain(..) {
            out.push(json!({"type": "TOOL_CALL_END", "toolCallId": call}));
        }
    }
}

impl Encoder for AguiEncoder {
    /// `RUN_STARTED`.
    fn start(&mut self) -> Vec<Value> {
        vec![json!({"type": "RUN_STARTED", "threadId": self.thread_id, "runId": self.run_id})]
    }

    /// A streamed token's `TEXT_MESSAGE_CONTENT` goes straight to its
    /// text; the rest as [`encode`](AguiEncoder::encode) gives it.
    fn encode_text(&mut self, event: &Event, out: &mut Vec<String>) {
        match event {
            Event::Stream(e) if !e.content.is_empty() && !self.finished => {
                let mut opened = Vec::new();
                let message_id = self.text_message(e.sender.as_deref(), &mut opened);
                out.extend(opened.iter().map(message_text));
                out.push(message_text(&TextContent::new(&message_id, &e.content)));
            }
            _ => out.extend(self.encode(event).iter().map(message_text)),
        }
    }

    /// The AG-UI events `event` means (none for events AG-UI has no use for).
    fn encode(&mut self, event: &Event) -> Vec<Value> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        match event {
            Event::ReplyStart(e) => {
                self.step_to(e.sender.as_deref(), &mut out);
                self.reply = Some(e.message_id.clone());
            }
            Event::Reasoning(e) if !e.content.is_empty() => {
                self.step_to(e.sender.as_deref(), &mut out);
                let message_id = match &self.reasoning {
                    Some(open) => open.clone(),
                    None => {
                        let message_id = id("reasoning");
                        out.push(json!({"type": "REASONING_START", "messageId": message_id}));
                        out.push(json!({"type": "REASONING_MESSAGE_START", "messageId": message_id, "role": "reasoning"}));
                        self.reasoning = Some(message_id.clone());
                        message_id
                    }
                };
                out.push(json!({"type": "REASONING_MESSAGE_CONTENT", "messageId": message_id, "delta": e.content}));
            }
            Event::Stream(e) if !e.content.is_empty() => {
                let message_id = self.text_message(e.sender.as_deref(), &mut out);
                let content = serde_json::to_value(TextContent::new(&message_id, &e.content));
                out.extend(content.ok());
            }
            Event::ToolCallDelta(e) => {
                self.step_to(e.sender.as_deref(), &mut out);
                self.close_reasoning(&mut out);
                if self.sent_calls.insert(e.call_id.clone()) {
                    out.push(json!({
                        "type": "TOOL_CALL_START", "toolCallId": e.call_id,
                        "toolCallName": e.name, "parentMessageId": e.message_id,
                    }));
                    self.open_calls.push(e.call_id.clone());
                }
                if !e.arguments.is_empty() {
                    out.push(json!({"type": "TOOL_CALL_ARGS", "toolCallId": e.call_id, "delta": e.arguments}));
                }
            }
            Event::ReplyEnd(_) => {
                self.close_message(&mut out);
                self.reply = None;
            }
            Event::Text(e) => {
                if self.question.as_deref() == Some(e.content.as_str()) {
                    self.question = None; // once
                    return out;
                }
                if e.streamed
                    || self.user.as_deref() == Some(e.sender.as_str())
                    || e.content.is_empty()
                {
                    return out;
                }
                self.step_to(Some(&e.sender), &mut out);
                self.whole_text(&e.content, &mut out);
            }
            Event::ToolCall(e) => {
                self.step_to(Some(&e.sender), &mut out);
                if let Some(content) = e
                    .content
                    .as_deref()
                    .filter(|c| !c.is_empty() && !e.streamed)
                {
                    self.whole_text(content, &mut out);
                }
                let parent = self.reply.clone().unwrap_or_else(|| id("msg"));
                for call in &e.tool_calls {
                    if !self.sent_calls.insert(call.id.clone()) {
                        continue; // its fragments went out as the model wrote them
                    }
                    out.push(json!({
                        "type": "TOOL_CALL_START", "toolCallId": call.id,
                        "toolCallName": call.function.name, "parentMessageId": parent,
                    }));
                    if !call.function.arguments.is_empty() {
                        out.push(json!({"type": "TOOL_CALL_ARGS", "toolCallId": call.id, "delta": call.function.arguments}));
                    }
                    out.push(json!({"type": "TOOL_CALL_END", "toolCallId": call.id}));
                }
            }
            Event::ToolResponse(e) => {
                self.step_to(Some(&e.sender), &mut out);
                self.close_message(&mut out);
                for response in &e.tool_responses {
                    out.push(json!({
                        "type": "TOOL_CALL_RESULT", "messageId": id("result"),
                        "toolCallId": response.tool_call_id, "content": response.content, "role": "tool",
                    }));
                }
            }
            Event::GroupChatRunChat(e) => self.step_to(Some(&e.speaker), &mut out),
            _ => {}
        }
        out
    }

    /// `RUN_FINISHED` with the interrupt outcome: each approval an
    /// interrupt of reason `tool_call` naming its call, an input request
    /// one of reason `input_required` with its prompt. Interrupt ids come
    /// from the call (approvals) and the request, so a resumed run on any
    /// server can tell what each answer is for.
    fn interrupt(&mut self, waiting: &[Event]) -> Vec<Value> {
        let interrupts: Vec<Value> = waiting
            .iter()
            .filter_map(|event| match event {
                Event::ToolApprovalRequest(r) => Some(json!({
                    "id": approval_interrupt_id(&r.call_id), "reason": "tool_call",
                    "toolCallId": r.call_id,
                    "message": format!("Run {}({})?", r.name, r.arguments),
                    "responseSchema": approval_schema(),
                })),
                Event::InputRequest(r) => Some(json!({
                    "id": format!("{INPUT_INTERRUPT}{}", r.request_id), "reason": "input_required",
                    "message": r.prompt, "responseSchema": {"type": "string"},
                })),
                _ => None,
            })
            .collect();
        if interrupts.is_empty() {
            return self.finish();
        }
        self.end(json!({
            "type": "RUN_FINISHED", "threadId": self.thread_id, "runId": self.run_id,
            "outcome": {"type": "interrupt", "interrupts": interrupts},
        }))
    }

    /// Closes what is open and ends the run: `RUN_FINISHED`.
    fn finish(&mut self) -> Vec<Value> {
        self.end(json!({"type": "RUN_FINISHED", "threadId": self.thread_id, "runId": self.run_id}))
    }

    /// Closes what is open and ends the run with `RUN_ERROR`.
    fn fail(&mut self, message: &str) -> Vec<Value> {
        self.end(json!({"type": "RUN_ERROR", "message": message}))
    }
}
