//! The AI SDK's chat request (what `DefaultChatTransport` posts: `{id,
//! messages, trigger, messageId, …}` with the SDK's `UIMessage`s) as a
//! [`RunRequest`]: the conversation in OpenAI's shape, the new question,
//! and the approvals the frontend answered.

use serde::Deserialize;
use serde_json::Value;

use crate::io::approval::denied;
use crate::io::websockets::run_request::{Answers, RunRequest};
use crate::io::{Decision, FunctionCall, ToolCall};
use crate::llm::Message;

/// What the reader takes from the body: the rest (`id`, `trigger`,
/// `messageId`, the app's own fields) is the transport's.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatBody {
    messages: Vec<UiMessage>,
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UiMessage {
    role: String,
    #[serde(default)]
    parts: Vec<Value>,
}

/// Reads the body of an AI SDK chat request.
///
/// A last user message is the question, the messages before it the
/// history. A last assistant message whose tool calls were answered
/// (`approval-responded`) resumes the run: all messages are the history,
/// those calls are left without results (they are pending) and their
/// decisions are the answers.
pub(crate) fn parse_ui_request(body: &[u8]) -> Result<RunRequest, String> {
    let body: ChatBody = serde_json::from_slice(body)
        .map_err(|e| format!("the body is no AI SDK chat request: {e}"))?;
    let Some((last, before)) = body.messages.split_last() else {
        return Err("the chat request has no messages".to_owned());
    };
    let mut history = Vec::new();
    for message in before {
        history.extend(convert(message, None)?);
    }
    match last.role.as_str() {
        "user" => Ok(RunRequest {
            history,
            question: Some(text_of(&last.parts)),
            answers: Answers::default(),
            message_id: body.message_id,
            thread_id: body.id,
        }),
        "assistant" => {
            let mut answers = Answers::default();
            history.extend(convert(last, Some(&mut answers))?);
            if answers.approvals.is_empty() {
                return Err(
                    "the last message is the assistant's and answers no approval: nothing to run"
                        .to_owned(),
                );
            }
            Ok(RunRequest {
                history,
                question: None,
                answers,
                message_id: body.message_id,
                thread_id: body.id,
            })
        }
        role => Err(format!(
            "the last message is a {role} message: nothing to answer"
        )),
    }
}

/// The text parts of a message, joined.
fn text_of(parts: &[Value]) -> String {
    parts
        .iter()
        .filter(|p| p["type"] == "text")
        .filter_map(|p| p["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// One UI message in OpenAI's shape. An assistant message becomes, for
/// each of its steps, its text and tool calls, then the calls' results.
/// `resume` (for the last message of a resuming request) takes the
/// decisions of answered calls, which stay without results.
fn convert(message: &UiMessage, resume: Option<&mut Answers>) -> Result<Vec<Message>, String> {
    match message.role.as_str() {
        "user" => Ok(vec![Message::user(text_of(&message.parts))]),
        "system" => Ok(vec![Message::system(text_of(&message.parts))]),
        "assistant" => assistant(&message.parts, resume),
        role => Err(format!("a message has the unknown role {role:?}")),
    }
}

/// A step of an assistant message: its text, calls and their results.
#[derive(Default)]
struct Step {
    text: Vec<String>,
    calls: Vec<ToolCall>,
    results: Vec<Message>,
}

impl Step {
    fn flush(&mut self, out: &mut Vec<Message>) {
        let step = std::mem::take(self);
        let text = step.text.join("\n");
        if step.calls.is_empty() {
            if !text.is_empty() {
                out.push(Message::assistant(text));
            }
            return;
        }
        let mut message = Message::tool_calls(step.calls);
        message.content = Some(text).filter(|t| !t.is_empty());
        out.push(message);
        out.extend(step.results);
    }
}

fn assistant(parts: &[Value], mut resume: Option<&mut Answers>) -> Result<Vec<Message>, String> {
    let mut out = Vec::new();
    let mut step = Step::default();
    for part in parts {
        let kind = part["type"].as_str().unwrap_or("");
        let name = match kind {
            "step-start" => {
                step.flush(&mut out);
                continue;
            }
            "text" => {
                if let Some(text) = part["text"].as_str().filter(|t| !t.is_empty()) {
                    step.text.push(text.to_owned());
                }
                continue;
            }
            "dynamic-tool" => part["toolName"].as_str().unwrap_or(""),
            _ => match kind.strip_prefix("tool-") {
                Some(name) => name,
                None => continue, // reasoning, data, sources, files: not for the model
            },
        };
        let call_id = part["toolCallId"]
            .as_str()
            .ok_or_else(|| format!("a {kind} part has no toolCallId"))?;
        if name.is_empty() {
            return Err(format!("tool call {call_id} has no tool name"));
        }
        let result = match part["state"].as_str().unwrap_or("") {
            "output-available" => Some(match &part["output"] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            }),
            "output-error" => Some(part["errorText"].as_str().unwrap_or("").to_owned()),
            "output-denied" => {
                let reason = part["approval"]["reason"].as_str();
                Some(denied(name, reason, false))
            }
            state @ ("approval-responded" | "approval-requested") if resume.is_some() => {
                if state == "approval-responded" {
                    let decision = decision(call_id, &part["approval"])?;
                    if let Some(answers) = resume.as_deref_mut() {
                        answers.approvals.insert(call_id.to_owned(), decision);
                    }
                }
                None // pending: the resumed run runs or denies it
            }
            _ => continue, // never ran (still streaming, or never answered)
        };
        let arguments = match &part["input"] {
            Value::Null => "{}".to_owned(),
            Value::String(raw) => raw.clone(), // arguments that were no JSON
            input => input.to_string(),
        };
        step.calls
            .push(ToolCall::new(call_id, FunctionCall::new(name, arguments)));
        if let Some(result) = result {
            step.results.push(Message::tool(call_id, result));
        }
    }
    step.flush(&mut out);
    Ok(out)
}

/// The human's answer on call `call_id`: `{approved, reason}`.
fn decision(call_id: &str, approval: &Value) -> Result<Decision, String> {
    match approval["approved"].as_bool() {
        Some(true) => Ok(Decision::Approve),
        Some(false) => Ok(Decision::Deny {
            reason: approval["reason"].as_str().map(str::to_owned),
        }),
        None => Err(format!(
            "the approval of tool call {call_id} says neither approved nor denied"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Role;
    use serde_json::json;

    /// What `ai`'s DefaultChatTransport posted in one chat (captured by
    /// tests/ai_sdk/chat_bodies.mjs): the question, the answer to an
    /// approval, a next question.
    const CAPTURED: &str = include_str!("../../../tests/ai_sdk/chat_bodies.json");

    fn captured(n: usize) -> Vec<u8> {
        let bodies: Value = serde_json::from_str(CAPTURED).unwrap_or_default();
        bodies[n].to_string().into_bytes()
    }

    fn shape(history: &[Message]) -> Vec<(Role, String)> {
        history
            .iter()
            .map(|m| {
                let calls: Vec<&str> = m.tool_calls.iter().map(|c| c.id.as_str()).collect();
                let what = match (&m.tool_call_id, calls.is_empty()) {
                    (Some(id), _) => format!("{id}: {}", m.text()),
                    (None, false) => format!("{} {}", m.text(), calls.join(",")),
                    (None, true) => m.text().to_owned(),
                };
                (m.role, what.trim().to_owned())
            })
            .collect()
    }

    #[test]
    fn a_first_question_has_no_history() -> Result<(), String> {
        let request = parse_ui_request(&captured(0))?;
        assert_eq!(request.question.as_deref(), Some("Weather in Paris?"));
        assert!(request.history.is_empty());
        assert!(request.answers.approvals.is_empty());
        Ok(())
    }

    #[test]
    fn an_answered_approval_resumes_with_the_call_pending() -> Result<(), String> {
        let request = parse_ui_request(&captured(1))?;
        assert_eq!(request.question, None);
        assert_eq!(
            request.answers.approvals.get("call_1"),
            Some(&Decision::Deny {
                reason: Some("not today".into())
            })
        );
        assert_eq!(
            shape(&request.history),
            [
                (Role::User, "Weather in Paris?".into()),
                (Role::Assistant, "Let me check. call_1".into()),
            ]
        );
        assert_eq!(
            request.history[1].tool_calls[0].function,
            FunctionCall::new("weather_forecast", r#"{"city":"Paris"}"#)
        );
        assert!(request.question.is_none(), "a resume asks nothing new");
        Ok(())
    }

    #[test]
    fn a_later_question_carries_every_step_and_result() -> Result<(), String> {
        let request = parse_ui_request(&captured(2))?;
        assert_eq!(request.question.as_deref(), Some("Thanks!"));
        assert_eq!(
            shape(&request.history),
            [
                (Role::User, "Weather in Paris?".into()),
                (Role::Assistant, "Let me check. call_1".into()),
                (
                    Role::Tool,
                    "call_1: The user denied this call of weather_forecast: not today".into()
                ),
                (Role::Assistant, "call_2".into()),
                (Role::Tool, "call_2: Sunny in Rome.".into()),
                (Role::Assistant, "Rome is sunny.".into()),
            ]
        );
        Ok(())
    }

    #[test]
    fn an_approval_resumes_with_approve() -> Result<(), String> {
        let body = json!({"id": "c", "trigger": "submit-message", "messageId": "a1", "messages": [
            {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Go"}]},
            {"id": "a1", "role": "assistant", "parts": [
                {"type": "step-start"},
                {"type": "dynamic-tool", "toolName": "weather", "toolCallId": "c1",
                 "state": "approval-responded", "input": {"city": "Rome"},
                 "approval": {"id": "approval-c1", "approved": true}},
                {"type": "tool-weather", "toolCallId": "c2", "state": "approval-requested",
                 "input": {"city": "Oslo"}, "approval": {"id": "approval-c2"}},
            ]},
        ]});
        let request = parse_ui_request(body.to_string().as_bytes())?;
        assert_eq!(
            request.answers.approvals.get("c1"),
            Some(&Decision::Approve)
        );
        // c2 is unanswered: pending too, so the run asks again.
        assert_eq!(request.answers.approvals.len(), 1);
        assert_eq!(
            shape(&request.history),
            [(Role::User, "Go".into()), (Role::Assistant, "c1,c2".into())]
        );
        Ok(())
    }

    #[test]
    fn outputs_errors_and_calls_that_never_ran() -> Result<(), String> {
        let body = json!({"messages": [
            {"id": "s", "role": "system", "parts": [{"type": "text", "text": "Be brief."}]},
            {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]},
            {"id": "a1", "role": "assistant", "parts": [
                {"type": "reasoning", "text": "secret"},
                {"type": "tool-lookup", "toolCallId": "c1", "state": "output-available",
                 "input": {}, "output": {"rows": 2}},
                {"type": "tool-lookup", "toolCallId": "c2", "state": "output-error",
                 "input": "{bad", "errorText": "the arguments are not JSON"},
                {"type": "tool-lookup", "toolCallId": "c3", "state": "input-streaming"},
                {"type": "tool-lookup", "toolCallId": "c4", "state": "approval-requested", "input": {}},
                {"type": "data-speaker", "data": {"name": "chatbot"}},
            ]},
            {"id": "u2", "role": "user", "parts": [{"type": "text", "text": "Again"}]},
        ]});
        let request = parse_ui_request(body.to_string().as_bytes())?;
        assert_eq!(request.question.as_deref(), Some("Again"));
        assert_eq!(
            shape(&request.history),
            [
                (Role::System, "Be brief.".into()),
                (Role::User, "Hi\nthere".into()),
                (Role::Assistant, "c1,c2".into()),
                (Role::Tool, r#"c1: {"rows":2}"#.into()),
                (Role::Tool, "c2: the arguments are not JSON".into()),
            ]
        );
        assert_eq!(request.history[2].tool_calls[1].function.arguments, "{bad");
        Ok(())
    }

    #[test]
    fn malformed_bodies_are_clear_errors() {
        let error = |body: &str| parse_ui_request(body.as_bytes()).err().unwrap_or_default();
        assert!(error("not json").starts_with("the body is no AI SDK chat request"));
        assert!(error(r#"{"id": "c"}"#).contains("messages"));
        assert_eq!(
            error(r#"{"messages": []}"#),
            "the chat request has no messages"
        );
        assert!(
            error(r#"{"messages": [{"role": "robot", "parts": []}, {"role": "user"}]}"#)
                .contains("unknown role")
        );
        assert!(error(r#"{"messages": [{"role": "assistant", "parts": [{"type": "text", "text": "Hi"}]}]}"#)
            .contains("answers no approval"));
        assert!(error(r#"{"messages": [{"role": "assistant", "parts": [{"type": "tool-x", "state": "approval-responded"}]}]}"#)
            .contains("no toolCallId"));
        assert!(error(r#"{"messages": [{"role": "assistant", "parts": [{"type": "tool-x", "toolCallId": "c", "state": "approval-responded", "approval": {}}]}]}"#)
            .contains("neither approved nor denied"));
        assert!(
            error(r#"{"messages": [{"role": "user", "parts": "text"}]}"#)
                .starts_with("the body is no AI SDK chat request")
        );
    }
}
