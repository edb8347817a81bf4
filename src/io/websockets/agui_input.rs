//! AG-UI's `RunAgentInput`: the conversation a run carries, its question,
//! and the answers to the interrupts of the run it resumes.

use serde::Deserialize;
use serde_json::Value;

use crate::io::agui::{APPROVAL_INTERRUPT, INPUT_INTERRUPT};
use crate::io::websockets::run_request::{Answers, RunRequest};
use crate::io::{AguiEncoder, Decision, FunctionCall, ToolCall};
use crate::llm::Message;

/// What the server takes from AG-UI's `RunAgentInput`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunAgentInput {
    pub thread_id: String,
    pub run_id: String,
    #[serde(default)]
    messages: Vec<InputMessage>,
    #[serde(default)]
    resume: Vec<ResumeEntry>,
}

/// One message of the conversation the frontend sends.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputMessage {
    role: String,
    #[serde(default)]
    content: Value,
    #[serde(default)]
    tool_calls: Vec<InputToolCall>,
    #[serde(default)]
    tool_call_id: Option<String>,
}

/// A tool call of an assistant message, as AG-UI writes it.
#[derive(Debug, Deserialize)]
struct InputToolCall {
    id: String,
    function: InputFunction,
}

#[derive(Debug, Deserialize)]
struct InputFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

/// An answer to one interrupt of the previous run.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResumeEntry {
    interrupt_id: String,
    status: String,
    #[serde(default)]
    payload: Value,
}

/// A message's text: a string, or its text parts joined.
fn text_of(content: &Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter(|p| p["type"] == "text")
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
}

impl RunAgentInput {
    /// Reads the request body.
    pub fn parse(body: &[u8]) -> Result<RunAgentInput, String> {
        serde_json::from_slice(body).map_err(|e| format!("the body is no AG-UI RunAgentInput: {e}"))
    }

    /// Reads the body and opens the run: its encoder (the run's ids; the
    /// question, which the frontend has, not sent back) and what it asks.
    pub fn open(body: &[u8]) -> Result<(AguiEncoder, RunRequest), String> {
        let input = RunAgentInput::parse(body)?;
        let run = input.request()?;
        let mut encoder = AguiEncoder::new(&input.thread_id, &input.run_id);
        if let Some(question) = &run.question {
            encoder = encoder.question(question.clone());
        }
        Ok((encoder, run))
    }

    /// What the run asks: with `resume`, the whole conversation continues
    /// with the answers; otherwise its last user message is the question
    /// and what comes before it the history.
    pub fn request(&self) -> Result<RunRequest, String> {
        let answers = self.answers()?;
        let messages = self.messages.iter().filter_map(to_message);
        if !self.resume.is_empty() {
            let request = RunRequest {
                history: messages.collect(),
                question: None,
                answers,
                message_id: None,
                thread_id: Some(self.thread_id.clone()),
            };
            if request.history.is_empty() {
                return Err("the RunAgentInput resumes a run but carries no conversation".into());
            }
            return Ok(request);
        }
        let Some(last) = self.messages.iter().rposition(|m| m.role == "user") else {
            return Err("the RunAgentInput has no user message to answer".into());
        };
        Ok(RunRequest {
            history: self.messages[..last]
                .iter()
                .filter_map(to_message)
                .collect(),
            question: Some(text_of(&self.messages[last].content).unwrap_or_default()),
            answers,
            message_id: None,
            thread_id: Some(self.thread_id.clone()),
        })
    }

    /// The resume entries, as decisions on calls and answers to input.
    fn answers(&self) -> Result<Answers, String> {
        let mut answers = Answers::default();
        for entry in &self.resume {
            let resolved = match entry.status.as_str() {
                "resolved" => true,
                "cancelled" => false,
                other => {
                    return Err(format!(
                        "resume entry {:?} has status {other:?}; AG-UI's are \"resolved\" and \"cancelled\"",
                        entry.interrupt_id
                    ));
                }
            };
            if let Some(call_id) = entry.interrupt_id.strip_prefix(APPROVAL_INTERRUPT) {
                answers
                    .approvals
                    .insert(call_id.to_owned(), decision(resolved, &entry.payload)?);
            } else if entry.interrupt_id.starts_with(INPUT_INTERRUPT) {
                // A cancelled question ends the conversation, as `exit` does.
                let answer = match (resolved, &entry.payload) {
                    (false, _) => "exit".to_owned(),
                    (true, Value::String(text)) => text.clone(),
                    (true, payload) => match ["text", "input", "answer"]
                        .iter()
                        .find_map(|key| payload[*key].as_str())
                    {
                        Some(text) => text.to_owned(),
                        None if payload.is_null() => String::new(),
                        None => {
                            return Err(format!(
                                "the answer to {:?} is no text: give the payload as a string",
                                entry.interrupt_id
                            ));
                        }
                    },
                };
                answers.inputs.push_back(answer);
            }
            // Else an answer to something this server never asked: AG-UI's
            // rule is to go on without it (an interrupt it leaves open is
            // asked again, never taken as answered).
        }
        Ok(answers)
    }
}

/// A tool-call interrupt's answer: `{"approved": true}`, with `editedArgs`
/// to run other arguments, `{"approved": false, "reason": …}`; a cancelled
/// interrupt denies the call.
fn decision(resolved: bool, payload: &Value) -> Result<Decision, String> {
    let reason = payload["reason"].as_str().map(str::to_owned);
    if !resolved {
        return Ok(Decision::Deny { reason });
    }
    match (payload["approved"].as_bool(), &payload["editedArgs"]) {
        (Some(false), _) => Ok(Decision::Deny { reason }),
        (Some(true), Value::Object(_)) => Ok(Decision::Edit {
            arguments: payload["editedArgs"].clone(),
        }),
        (Some(true), Value::Null) => Ok(Decision::Approve),
        (Some(true), _) => Err("editedArgs must be a JSON object of arguments".into()),
        (None, _) => Err(format!(
            "an approval's payload is {{\"approved\": true | false}}, not {payload}"
        )),
    }
}

/// A message in OpenAI's shape (user, assistant with its tool calls, tool
/// results; system and developer as system); `None` for what the model does
/// not read (reasoning, activity).
fn to_message(m: &InputMessage) -> Option<Message> {
    let text = text_of(&m.content);
    Some(match m.role.as_str() {
        "user" => Message::user(text.unwrap_or_default()),
        "system" | "developer" => Message::system(text.unwrap_or_default()),
        "tool" => Message::tool(m.tool_call_id.clone()?, text.unwrap_or_default()),
        "assistant" if m.tool_calls.is_empty() => Message::assistant(text.unwrap_or_default()),
        "assistant" => {
            let calls = m
                .tool_calls
                .iter()
                .map(|c| {
                    ToolCall::new(
                        &c.id,
                        FunctionCall::new(&c.function.name, &c.function.arguments),
                    )
                })
                .collect();
            let mut message = Message::tool_calls(calls);
            message.content = text.filter(|t| !t.is_empty());
            message
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: Value) -> Result<RunRequest, String> {
        RunAgentInput::parse(body.to_string().as_bytes())?.request()
    }

    #[test]
    fn the_last_user_message_is_the_question_and_the_rest_history() {
        let r = request(
            serde_json::json!({"threadId": "t", "runId": "r", "messages": [
                {"id": "1", "role": "user", "content": "Hi"},
                {"id": "2", "role": "assistant", "content": "Hello"},
                {"id": "3", "role": "user", "content": [{"type": "text", "text": "Weather?"}]},
            ]}),
        );
        let r = r.unwrap_or_default();
        assert_eq!(r.question.as_deref(), Some("Weather?"));
        assert_eq!(r.history.len(), 2);
    }

    #[test]
    fn a_resume_continues_the_whole_conversation_with_its_answers() {
        let r = request(
            serde_json::json!({"threadId": "t", "runId": "r2", "messages": [
                {"id": "1", "role": "user", "content": "Weather in Paris?"},
                {"id": "2", "role": "assistant", "toolCalls": [{"id": "call_1", "type": "function",
                    "function": {"name": "weather_forecast", "arguments": "{\"city\":\"Paris\"}"}}]},
            ], "resume": [
                {"interruptId": "approval-call_1", "status": "resolved",
                 "payload": {"approved": true, "editedArgs": {"city": "Lyon"}}},
                {"interruptId": "input-x", "status": "resolved", "payload": "go on"},
            ]}),
        );
        let r = r.unwrap_or_default();
        assert_eq!(r.question, None);
        assert_eq!(r.history.len(), 2);
        assert_eq!(
            r.answers.approvals.get("call_1"),
            Some(&Decision::Edit {
                arguments: serde_json::json!({"city": "Lyon"})
            })
        );
        assert_eq!(r.answers.inputs, ["go on"]);
    }

    #[test]
    fn cancelled_interrupts_deny_and_end() {
        let r = request(
            serde_json::json!({"threadId": "t", "runId": "r", "messages": [
            {"id": "1", "role": "user", "content": "Hi"}],
            "resume": [{"interruptId": "approval-c", "status": "cancelled"},
                       {"interruptId": "input-1", "status": "cancelled"}]}),
        )
        .unwrap_or_default();
        assert_eq!(
            r.answers.approvals.get("c"),
            Some(&Decision::Deny { reason: None })
        );
        assert_eq!(r.answers.inputs, ["exit"]);
    }

    #[test]
    fn answers_to_interrupts_never_raised_are_left_out() {
        let r = request(
            serde_json::json!({"threadId": "t", "runId": "r", "messages": [
            {"role": "user", "content": "x"}],
            "resume": [{"interruptId": "other", "status": "resolved", "payload": 1}]}),
        )
        .unwrap_or_default();
        assert!(r.answers.approvals.is_empty() && r.answers.inputs.is_empty());
        assert_eq!(r.question, None, "still a resume: the chat asks again");
    }

    #[test]
    fn bad_inputs_say_what_is_wrong() {
        let cases = [
            (
                serde_json::json!({"threadId": "t", "runId": "r", "messages": []}),
                "no user message",
            ),
            (
                serde_json::json!({"threadId": "t", "runId": "r", "messages": [], "resume": [
                    {"interruptId": "approval-c", "status": "resolved", "payload": {"approved": true}}]}),
                "carries no conversation",
            ),
            (
                serde_json::json!({"threadId": "t", "runId": "r", "messages": [{"role": "user", "content": "x"}],
                    "resume": [{"interruptId": "approval-c", "status": "done"}]}),
                "status \"done\"",
            ),
            (
                serde_json::json!({"threadId": "t", "runId": "r", "messages": [{"role": "user", "content": "x"}],
                    "resume": [{"interruptId": "approval-c", "status": "resolved", "payload": "yes"}]}),
                "approved",
            ),
            (serde_json::json!({"runId": "r"}), "no AG-UI RunAgentInput"),
        ];
        for (body, why) in cases {
            match request(body) {
                Ok(r) => panic!("accepted: {r:?}"),
                Err(e) => assert!(e.contains(why), "{e}"),
            }
        }
    }
}
