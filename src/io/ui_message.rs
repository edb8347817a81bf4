//! The Vercel AI SDK's UI message stream: a chat's events as the `ai`
//! package's `UIMessageChunk`s (what `useChat` and `readUIMessageStream`
//! read). An encoder over agentio's events, knowing nothing of agents or
//! transports: the whole run is one assistant message, each model reply a
//! step of it (with the outputs of the reply's tool calls, as the SDK's
//! `streamText` makes a step of one model call and its tools).

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{Value, json};

use crate::io::agui::{approval_interrupt_id, id};
use crate::io::encoder::message_text;
use crate::io::{Decision, Encoder, Event};

/// A streamed token's `text-delta`, the most frequent chunk: serialized
/// from this, not built as a `Value` first.
#[derive(Serialize)]
struct TextDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    delta: &'a str,
}

impl<'a> TextDelta<'a> {
    fn new(id: &'a str, delta: &'a str) -> TextDelta<'a> {
        TextDelta {
            kind: "text-delta",
            id,
            delta,
        }
    }
}

/// Turns agentio's events into the AI SDK's UI message chunks, for one run.
///
/// [`start`](UiMessageEncoder::start) gives `start`; [`encode`](UiMessageEncoder::encode)
/// each event's chunks (a step per model reply, its text as `text-*`, its
/// reasoning as `reasoning-*`, tool calls as `tool-input-*` with the
/// arguments parsed, results as `tool-output-available`, a denied call as
/// `tool-output-denied`); [`interrupt`](UiMessageEncoder::interrupt) asks
/// for approvals with `tool-approval-request`; [`finish`](UiMessageEncoder::finish)
/// or [`fail`](UiMessageEncoder::fail) close what is open and end the
/// message.
///
/// ```
/// use agentio::io::{Encoder, Event, UiMessageEncoder};
///
/// let mut encoder = UiMessageEncoder::new().message_id("msg-1").user("user_proxy");
/// let mut chunks = encoder.start();
/// chunks.extend(encoder.encode(&Event::text("Weather?", "user_proxy", "chatbot")));
/// chunks.extend(encoder.encode(&Event::text("Sunny.", "chatbot", "user_proxy")));
/// chunks.extend(encoder.finish());
/// let types: Vec<&str> = chunks.iter().filter_map(|c| c["type"].as_str()).collect();
/// assert_eq!(types, [
///     "start", "start-step", "text-start", "text-delta", "text-end", "finish-step", "finish",
/// ]);
/// assert_eq!(chunks[0]["messageId"], "msg-1");
/// ```
#[derive(Debug)]
pub struct UiMessageEncoder {
    message_id: Option<String>,
    /// The agent that speaks for the frontend's user: its messages came
    /// from the frontend, so they are not sent back.
    user: Option<String>,
    /// The run's question: the frontend's own, so not sent back.
    question: Option<String>,
    /// A step is open.
    step: bool,
    /// The open step's reply has begun but its whole message (`text` or
    /// `tool_call`) has not come yet: that message belongs to this step.
    awaiting: bool,
    /// The current reply's id (from `reply_start`).
    reply: Option<String>,
    /// The open text part's id.
    text: Option<String>,
    /// The open reasoning part's id.
    reasoning: Option<String>,
    /// Calls whose input streams and is not yet available.
    open_calls: Vec<OpenCall>,
    /// Calls whose input was given (available or in error).
    sent_calls: BTreeSet<String>,
    /// Calls whose arguments were no JSON: their result is an error.
    invalid_calls: BTreeSet<String>,
    /// Approval requests seen, request id to call id.
    approvals: HashMap<String, String>,
    /// Calls the human denied.
    denied: BTreeSet<String>,
    /// A group chat's next speaker, shown when its step opens.
    speaker: Option<String>,
    started: bool,
    finished: bool,
}

/// A tool call whose arguments are streaming.
#[derive(Debug)]
struct OpenCall {
    id: String,
    name: String,
    arguments: String,
    /// `tool-input-start` went out (not before the model named the tool).
    started: bool,
}

impl Default for UiMessageEncoder {
    fn default() -> UiMessageEncoder {
        UiMessageEncoder::new()
    }
}

impl UiMessageEncoder {
    /// An encoder whose message gets a fresh id.
    pub fn new() -> UiMessageEncoder {
        UiMessageEncoder {
            message_id: None,
            user: None,
            question: None,
            step: false,
            awaiting: false,
            reply: None,
            text: None,
            reasoning: None,
            open_calls: Vec::new(),
            sent_calls: BTreeSet::new(),
            invalid_calls: BTreeSet::new(),
            approvals: HashMap::new(),
            denied: BTreeSet::new(),
            speaker: None,
            started: false,
            finished: false,
        }
    }

    /// The assistant message's id, sent in `start` (a run that resumes
    /// after an approval gives the id of the message it continues).
    pub fn message_id(mut self, id: impl Into<String>) -> UiMessageEncoder {
        self.message_id = Some(id.into());
        self
    }

    /// The agent that speaks for the frontend's user (`user_proxy`): its
    /// text messages are the frontend's own and are not sent back.
    pub fn user(mut self, agent: impl Into<String>) -> UiMessageEncoder {
        self.user = Some(agent.into());
        self
    }

    /// The run's question: the first text message with exactly this
    /// content is the frontend's own and is not sent back (whoever the
    /// agent that relays it).
    pub fn question(mut self, text: impl Into<String>) -> UiMessageEncoder {
        self.question = Some(text.into());
        self
    }

    /// Closes what is open, the step, then `last`; nothing after.
    fn end(&mut self, middle: Vec<Value>, last: Vec<Value>) -> Vec<Value> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        self.close_parts(&mut out);
        self.close_calls(&mut out);
        out.extend(middle);
        if self.step {
            out.push(json!({"type": "finish-step"}));
            self.step = false;
        }
        out.extend(last);
        self.finished = true;
        out
    }

    /// Closes the open step, if any, and opens the next.
    fn new_step(&mut self, out: &mut Vec<Value>) {
        self.close_parts(out);
        self.close_calls(out);
        if self.step {
            out.push(json!({"type": "finish-step"}));
        }
        out.push(json!({"type": "start-step"}));
        self.step = true;
        if let Some(speaker) = self.speaker.take() {
            out.push(json!({"type": "data-speaker", "data": {"name": speaker}}));
        }
    }

    /// The step of a reply's fragments: the open one while its reply has
    /// not ended in a message, else a new one (a stream without
    /// `reply_start`).
    fn fragment_step(&mut self, out: &mut Vec<Value>) {
        if !self.step || !self.awaiting {
            self.new_step(out);
            self.awaiting = true;
        }
    }

    /// The step of a reply's whole message: the one its fragments opened,
    /// else a new one (a reply that did not stream).
    fn message_step(&mut self, out: &mut Vec<Value>) {
        if !(self.step && self.awaiting) {
            self.new_step(out);
        }
        self.awaiting = false;
    }

    /// What a streamed token goes into: the step, the text part (opened
    /// here when none is); returns the part's id.
    fn text_part(&mut self, out: &mut Vec<Value>) -> String {
        self.fragment_step(out);
        self.close_reasoning(out);
        match &self.text {
            Some(open) => open.clone(),
            None => {
                let part = self.reply.clone().unwrap_or_else(|| id("text"));
                out.push(json!({"type": "text-start", "id": part}));
                self.text = Some(part.clone());
                part
            }
        }
    }

    fn close_reasoning(&mut self, out: &mut Vec<Value>) {
        if let Some(part) = self.reasoning.take() {
            out.push(json!({"type": "reasoning-end", "id": part}));
        }
    }

    fn close_text(&mut self, out: &mut Vec<Value>) {
        if let Some(part) = self.text.take() {
            out.push(json!({"type": "text-end", "id": part}));
        }
    }

    fn close_parts(&mut self, out: &mut Vec<Value>) {
        self.close_reasoning(out);
        self.close_text(out);
    }

    /// Gives the input of calls still streaming, as far as it came.
    fn close_calls(&mut self, out: &mut Vec<Value>) {
        for call in std::mem::take(&mut self.open_calls) {
            if call.started {
                self.input(&call.id, &call.name, &call.arguments, out);
            }
        }
    }

    /// A call's whole input: `tool-input-available` with the arguments
    /// parsed, or `tool-input-error` for arguments that are no JSON.
    fn input(&mut self, call_id: &str, name: &str, arguments: &str, out: &mut Vec<Value>) {
        self.sent_calls.insert(call_id.to_owned());
        let parsed = if arguments.trim().is_empty() {
            Ok(json!({})) // a tool without parameters
        } else {
            serde_json::from_str::<Value>(arguments)
        };
        match parsed {
            Ok(input) => out.push(json!({
                "type": "tool-input-available", "toolCallId": call_id, "toolName": name, "input": input,
            })),
            Err(e) => {
                self.invalid_calls.insert(call_id.to_owned());
                out.push(json!({
                    "type": "tool-input-error", "toolCallId": call_id, "toolName": name,
                    "input": arguments, "errorText": format!("the arguments are not JSON: {e}"),
                }));
            }
        }
    }

    /// A text that did not stream: start, all of it, end.
    fn whole_text(&mut self, content: &str, out: &mut Vec<Value>) {
        self.close_parts(out);
        let part = id("text");
        out.push(json!({"type": "text-start", "id": part}));
        out.push(json!({"type": "text-delta", "id": part, "delta": content}));
        out.push(json!({"type": "text-end", "id": part}));
    }

    /// A fragment of call `call_id`'s arguments; the call starts once
    /// the tool is named.
    fn call_delta(&mut self, call_id: &str, name: &str, arguments: &str, out: &mut Vec<Value>) {
        if self.sent_calls.contains(call_id) {
            return;
        }
        let position = match self.open_calls.iter().position(|c| c.id == call_id) {
            Some(position) => position,
            None => {
                self.open_calls.push(OpenCall {
                    id: call_id.to_owned(),
                    name: String::new(),
                    arguments: String::new(),
                    started: false,
                });
                self.open_calls.len() - 1
            }
        };
        let call = &mut self.open_calls[position];
        call.arguments.push_str(arguments);
        if call.name.is_empty() {
            call.name = name.to_owned();
        }
        if call.started {
            if !arguments.is_empty() {
                out.push(json!({"type": "tool-input-delta", "toolCallId": call_id, "inputTextDelta": arguments}));
            }
        } else if !call.name.is_empty() {
            call.started = true;
            out.push(
                json!({"type": "tool-input-start", "toolCallId": call_id, "toolName": call.name}),
            );
            if !call.arguments.is_empty() {
                out.push(json!({"type": "tool-input-delta", "toolCallId": call_id, "inputTextDelta": call.arguments}));
            }
        }
    }

    /// A call's result: its output, its error (arguments that were no
    /// JSON), or its denial.
    fn output(&self, call_id: &str, content: &str) -> Value {
        if self.denied.contains(call_id) {
            json!({"type": "tool-output-denied", "toolCallId": call_id})
        } else if self.invalid_calls.contains(call_id) {
            json!({"type": "tool-output-error", "toolCallId": call_id, "errorText": content})
        } else {
            json!({"type": "tool-output-available", "toolCallId": call_id, "output": content})
        }
    }
}

impl Encoder for UiMessageEncoder {
    /// `start`, with the message's id.
    fn start(&mut self) -> Vec<Value> {
        if self.started || self.finished {
            return Vec::new();
        }
        self.started = true;
        let message_id = self.message_id.get_or_insert_with(|| id("msg"));
        vec![json!({"type": "start", "messageId": message_id})]
    }

    /// A streamed token's `text-delta` goes straight to its text; the rest
    /// as [`encode`](UiMessageEncoder::encode) gives it.
    fn encode_text(&mut self, event: &Event, out: &mut Vec<String>) {
        match event {
            Event::Stream(e) if !e.content.is_empty() && !self.finished => {
                let mut opened = Vec::new();
                let part = self.text_part(&mut opened);
                out.extend(opened.iter().map(message_text));
                out.push(message_text(&TextDelta::new(&part, &e.content)));
            }
            _ => out.extend(self.encode(event).iter().map(message_text)),
        }
    }

    /// The chunks `event` means (none for events the stream has no use for).
    fn encode(&mut self, event: &Event) -> Vec<Value> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        match event {
            Event::ReplyStart(e) => {
                self.new_step(&mut out);
                self.awaiting = true;
                self.reply = Some(e.message_id.clone());
            }
            Event::Reasoning(e) if !e.content.is_empty() => {
                self.fragment_step(&mut out);
                self.close_text(&mut out);
                let part = match &self.reasoning {
                    Some(open) => open.clone(),
                    None => {
                        let part = id("reasoning");
                        out.push(json!({"type": "reasoning-start", "id": part}));
                        self.reasoning = Some(part.clone());
                        part
                    }
                };
                out.push(json!({"type": "reasoning-delta", "id": part, "delta": e.content}));
            }
            Event::Stream(e) if !e.content.is_empty() => {
                let part = self.text_part(&mut out);
                let delta = serde_json::to_value(TextDelta::new(&part, &e.content));
                out.extend(delta.ok());
            }
            Event::ToolCallDelta(e) => {
                self.fragment_step(&mut out);
                self.close_parts(&mut out);
                self.call_delta(&e.call_id, &e.name, &e.arguments, &mut out);
            }
            Event::ReplyEnd(_) => {
                self.close_parts(&mut out);
                self.reply = None;
            }
            Event::Text(e) => {
                if self.question.as_deref() == Some(e.content.as_str()) {
                    self.question = None; // once
                    return out;
                }
                if self.user.as_deref() == Some(e.sender.as_str()) || e.content.is_empty() {
                    return out;
                }
                if e.streamed {
                    self.awaiting = false; // its fragments went out
                    return out;
                }
                self.message_step(&mut out);
                self.whole_text(&e.content, &mut out);
            }
            Event::ToolCall(e) => {
                self.message_step(&mut out);
                if let Some(content) = e
                    .content
                    .as_deref()
                    .filter(|c| !c.is_empty() && !e.streamed)
                {
                    self.whole_text(content, &mut out);
                }
                self.close_parts(&mut out);
                for call in &e.tool_calls {
                    if self.sent_calls.contains(&call.id) {
                        continue;
                    }
                    // The whole event's arguments are the ones that run.
                    self.open_calls.retain(|c| c.id != call.id);
                    self.input(
                        &call.id,
                        &call.function.name,
                        &call.function.arguments,
                        &mut out,
                    );
                }
            }
            Event::ToolResponse(e) => {
                // In the step of the reply that made the calls (no step
                // at all for calls of a run this one resumes, as the SDK).
                self.close_parts(&mut out);
                for response in &e.tool_responses {
                    out.push(self.output(&response.tool_call_id, &response.content));
                }
            }
            Event::ToolApprovalRequest(r) => {
                self.approvals
                    .insert(r.request_id.clone(), r.call_id.clone());
            }
            Event::ToolApprovalResponse(r) => {
                if let (Some(call), Decision::Deny { .. }) =
                    (self.approvals.get(&r.request_id), &r.decision)
                {
                    self.denied.insert(call.clone());
                }
            }
            Event::GroupChatRunChat(e) => self.speaker = Some(e.speaker.clone()),
            _ => {}
        }
        out
    }

    /// Ends the message because the chat waits for a human: a
    /// `tool-approval-request` for each approval (its id derived from the
    /// call, so a later request can be matched on any server), a
    /// `data-input-request` part for an input request, then `finish`
    /// (`tool-calls` for approvals, as the SDK's `streamText` ends such a
    /// step; `other` for input).
    fn interrupt(&mut self, waiting: &[Event]) -> Vec<Value> {
        let mut asks = Vec::new();
        let mut approvals = false;
        for event in waiting {
            match event {
                Event::ToolApprovalRequest(r) => {
                    self.approvals
                        .insert(r.request_id.clone(), r.call_id.clone());
                    if !self.sent_calls.contains(&r.call_id) {
                        // The SDK approves calls it has: give this one.
                        self.open_calls.retain(|c| c.id != r.call_id);
                        let arguments = r.arguments.to_string();
                        self.input(&r.call_id, &r.name, &arguments, &mut asks);
                    }
                    asks.push(json!({
                        "type": "tool-approval-request",
                        "approvalId": approval_interrupt_id(&r.call_id), "toolCallId": r.call_id,
                    }));
                    approvals = true;
                }
                Event::InputRequest(r) => asks.push(json!({
                    "type": "data-input-request", "id": r.request_id,
                    "data": {"requestId": r.request_id, "prompt": r.prompt, "password": r.password},
                })),
                _ => {}
            }
        }
        if asks.is_empty() {
            return self.finish();
        }
        let reason = if approvals { "tool-calls" } else { "other" };
        self.end(
            asks,
            vec![json!({"type": "finish", "finishReason": reason})],
        )
    }

    /// Closes what is open and ends the message: `finish-step`, `finish`.
    fn finish(&mut self) -> Vec<Value> {
        self.end(
            Vec::new(),
            vec![json!({"type": "finish", "finishReason": "stop"})],
        )
    }

    /// Closes what is open, then `error` with `message`, `finish-step` and
    /// `finish` of reason `error`, as the SDK's `streamText` ends a failed
    /// run.
    fn fail(&mut self, message: &str) -> Vec<Value> {
        self.end(
            vec![json!({"type": "error", "errorText": message})],
            vec![json!({"type": "finish", "finishReason": "error"})],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{
        FunctionCall, InputRequestEvent, ReplyEndEvent, ReplyStartEvent, StreamEvent,
        ToolApprovalRequestEvent, ToolApprovalResponseEvent, ToolCall, ToolCallDeltaEvent,
        ToolCallEvent, ToolResponse, ToolResponseEvent, Uuid,
    };

    fn types(chunks: &[Value]) -> Vec<&str> {
        chunks.iter().filter_map(|c| c["type"].as_str()).collect()
    }

    fn reply_start(id: &str) -> Event {
        Event::ReplyStart(ReplyStartEvent {
            uuid: Uuid::new_v4(),
            message_id: id.into(),
            sender: Some("chatbot".into()),
            recipient: Some("user_proxy".into()),
        })
    }

    fn reply_end(id: &str) -> Event {
        Event::ReplyEnd(ReplyEndEvent {
            uuid: Uuid::new_v4(),
            message_id: id.into(),
            sender: Some("chatbot".into()),
            finish_reason: None,
        })
    }

    fn delta(call: &str, name: &str, arguments: &str) -> Event {
        Event::ToolCallDelta(ToolCallDeltaEvent {
            uuid: Uuid::new_v4(),
            message_id: "m1".into(),
            index: 0,
            call_id: call.into(),
            name: name.into(),
            arguments: arguments.into(),
            sender: Some("chatbot".into()),
        })
    }

    fn call(id: &str, arguments: &str) -> Event {
        let call = ToolCall::new(id, FunctionCall::new("weather", arguments));
        Event::from(ToolCallEvent::new(vec![call], "chatbot", "user_proxy"))
    }

    fn response(id: &str, content: &str) -> Event {
        Event::from(ToolResponseEvent::new(
            vec![ToolResponse::new(id, content)],
            "user_proxy",
            "chatbot",
        ))
    }

    fn run(encoder: &mut UiMessageEncoder, events: &[Event]) -> Vec<Value> {
        let mut chunks = encoder.start();
        for event in events {
            chunks.extend(encoder.encode(event));
        }
        chunks
    }

    #[test]
    fn a_streamed_call_and_its_output_share_the_replys_step() {
        let mut encoder = UiMessageEncoder::new().user("user_proxy");
        let mut streamed = Event::text("Sunny.", "chatbot", "user_proxy");
        if let Event::Text(t) = &mut streamed {
            t.streamed = true;
        }
        let mut chunks = run(
            &mut encoder,
            &[
                Event::text("Weather?", "user_proxy", "chatbot"),
                reply_start("m1"),
                delta("c1", "weather", ""),
                delta("c1", "", r#"{"city":"#),
                delta("c1", "", r#""Paris"}"#),
                reply_end("m1"),
                call("c1", r#"{"city":"Paris"}"#),
                response("c1", "sunny"),
                reply_start("m2"),
                Event::Stream(StreamEvent::new("Sunny.")),
                reply_end("m2"),
                streamed,
            ],
        );
        chunks.extend(encoder.finish());
        assert_eq!(
            types(&chunks),
            [
                "start",
                "start-step",
                "tool-input-start",
                "tool-input-delta",
                "tool-input-delta",
                "tool-input-available",
                "tool-output-available",
                "finish-step",
                "start-step",
                "text-start",
                "text-delta",
                "text-end",
                "finish-step",
                "finish",
            ]
        );
        assert_eq!(chunks[5]["input"], json!({"city": "Paris"}));
        assert_eq!(chunks[6]["output"], "sunny");
        assert_eq!(chunks[9]["id"], "m2");
        assert_eq!(chunks[13]["finishReason"], "stop");
    }

    #[test]
    fn a_denied_call_is_output_denied() {
        let mut encoder = UiMessageEncoder::new();
        let request =
            ToolApprovalRequestEvent::new("c1", "weather", json!({}), "chatbot", "user_proxy");
        let answer = ToolApprovalResponseEvent::new(
            request.request_id.clone(),
            Decision::Deny { reason: None },
            false,
        );
        let chunks = run(
            &mut encoder,
            &[
                call("c1", "{}"),
                Event::ToolApprovalRequest(request),
                Event::ToolApprovalResponse(answer),
                response("c1", "The user denied this call of weather."),
            ],
        );
        assert_eq!(
            chunks.last(),
            Some(&json!({"type": "tool-output-denied", "toolCallId": "c1"}))
        );
    }

    #[test]
    fn an_interrupt_closes_what_is_open_and_asks() {
        let mut encoder = UiMessageEncoder::new();
        let mut chunks = run(
            &mut encoder,
            &[
                reply_start("m1"),
                Event::Stream(StreamEvent::new("Let me see.")),
            ],
        );
        let request = ToolApprovalRequestEvent::new(
            "c9",
            "weather",
            json!({"city": "Rome"}),
            "chatbot",
            "user_proxy",
        );
        chunks.extend(encoder.interrupt(&[Event::ToolApprovalRequest(request)]));
        assert_eq!(
            types(&chunks),
            [
                "start",
                "start-step",
                "text-start",
                "text-delta",
                "text-end",
                "tool-input-available",
                "tool-approval-request",
                "finish-step",
                "finish",
            ]
        );
        assert_eq!(chunks[5]["input"], json!({"city": "Rome"}));
        assert_eq!(chunks[6]["approvalId"], approval_interrupt_id("c9"));
        assert_eq!(chunks[6]["toolCallId"], "c9");
        assert_eq!(chunks[8]["finishReason"], "tool-calls");
    }

    #[test]
    fn an_input_request_is_a_data_part() {
        let mut encoder = UiMessageEncoder::new();
        let mut chunks = run(&mut encoder, &[Event::text("Name?", "chatbot", "user")]);
        let request = InputRequestEvent::new("Your name: ", false);
        let request_id = request.request_id.clone();
        chunks.extend(encoder.interrupt(&[Event::InputRequest(request)]));
        let ask = &chunks[chunks.len() - 3];
        assert_eq!(ask["type"], "data-input-request");
        assert_eq!(
            ask["data"],
            json!({"requestId": request_id, "prompt": "Your name: ", "password": false})
        );
        assert_eq!(
            types(&chunks[chunks.len() - 2..]),
            ["finish-step", "finish"]
        );
    }

    #[test]
    fn nothing_is_sent_after_the_end() {
        let mut encoder = UiMessageEncoder::new();
        let mut chunks = run(&mut encoder, &[reply_start("m1")]);
        chunks.extend(encoder.fail("the model is gone"));
        assert_eq!(
            types(&chunks),
            ["start", "start-step", "error", "finish-step", "finish"]
        );
        assert_eq!(chunks[2]["errorText"], "the model is gone");
        assert_eq!(chunks[4]["finishReason"], "error");
        assert!(
            encoder
                .encode(&Event::text("late", "chatbot", "user"))
                .is_empty()
        );
        assert!(encoder.finish().is_empty());
        assert!(encoder.fail("again").is_empty());
        assert!(encoder.interrupt(&[]).is_empty());
        assert!(encoder.start().is_empty());
    }

    #[test]
    fn arguments_that_are_no_json_are_an_input_error() {
        let mut encoder = UiMessageEncoder::new();
        let chunks = run(
            &mut encoder,
            &[
                call("c1", "{city: Paris"),
                response("c1", "Error: bad arguments"),
            ],
        );
        assert_eq!(
            types(&chunks),
            [
                "start",
                "start-step",
                "tool-input-error",
                "tool-output-error"
            ]
        );
        assert_eq!(chunks[2]["input"], "{city: Paris");
        assert_eq!(chunks[2]["toolName"], "weather");
        assert_eq!(chunks[3]["errorText"], "Error: bad arguments");
    }

    #[test]
    fn each_reply_that_did_not_stream_is_a_step() {
        let mut encoder = UiMessageEncoder::new().question("Write a poem.");
        let chunks = run(
            &mut encoder,
            &[
                Event::text("Write a poem.", "user_proxy", "chat_manager"),
                Event::GroupChatRunChat(crate::io::GroupChatRunChatEvent::new("writer")),
                Event::text("Roses are red.", "writer", "chat_manager"),
                Event::text("TERMINATE", "critic", "chat_manager"),
            ],
        );
        assert_eq!(
            types(&chunks),
            [
                "start",
                "start-step",
                "data-speaker",
                "text-start",
                "text-delta",
                "text-end",
                "finish-step",
                "start-step",
                "text-start",
                "text-delta",
                "text-end",
            ]
        );
        assert_eq!(chunks[2]["data"], json!({"name": "writer"}));
    }
}
