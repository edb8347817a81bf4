//! Tool approval on the stream: the request a human answers before a tool
//! runs, the answer, and how both look as text.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::io::{IOStream, Uuid};
use crate::{Error, Result};

/// Content of an [`Event::ToolApprovalRequest`](crate::io::Event::ToolApprovalRequest):
/// a tool call that waits for a human's decision (agentio's).
///
/// In events mode a client answers with a `tool_approval_response` naming
/// `request_id`; in text it answers the prompt of [`prompt`](Self::prompt).
/// A request from [`run`](crate::agentchat::run) is answered with
/// [`approve`](Self::approve), [`deny`](Self::deny) or [`edit`](Self::edit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolApprovalRequestEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// What an answer names; fresh for every request.
    pub request_id: String,
    /// The model's id for the call.
    pub call_id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments the model gave, as JSON.
    pub arguments: Value,
    /// The agent whose model proposed the call.
    pub sender: String,
    /// The agent that would run it.
    pub recipient: String,
    /// How long the stream waits for the answer, in seconds (`None`: no limit).
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    /// Where a [`run`](crate::agentchat::run)'s answer goes.
    #[serde(skip)]
    pub(crate) reply: Reply,
}

/// Content of an [`Event::ToolApprovalResponse`](crate::io::Event::ToolApprovalResponse):
/// a human's decision on a [`ToolApprovalRequestEvent`].
///
/// In JSON the decision is flat: `{"request_id": "…", "decision": "approve"
/// | "deny" | "edit", "arguments": {…}, "reason": "…", "remember": false}`,
/// `arguments` only with `edit`, `reason` optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolApprovalResponseEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The request answered.
    pub request_id: String,
    /// What the human decided.
    #[serde(flatten)]
    pub decision: Decision,
    /// Apply an `approve` or `deny` to every later call of this tool in the
    /// chat, without asking.
    #[serde(default)]
    pub remember: bool,
}

/// A human's decision on a tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// Run the call as the model wrote it.
    Approve,
    /// Do not run it; the model is told, with the reason if there is one.
    Deny {
        /// Why, in the human's words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Run it with these arguments instead; the model is told they changed.
    Edit {
        /// The arguments to run with: a JSON object.
        arguments: Value,
    },
}

/// What the model is told of a denied call (of tool `name`, for
/// `reason`; `remembered` when the human denied every call of it).
pub(crate) fn denied(name: &str, reason: Option<&str>, remembered: bool) -> String {
    let every = if remembered {
        " (as for every call of it)"
    } else {
        ""
    };
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => format!("The user denied this call of {name}{every}: {reason}"),
        None => format!("The user denied this call of {name}{every}."),
    }
}

/// The way back to a [`run`](crate::agentchat::run)'s chat, inside the
/// requests it yields; empty elsewhere. Every reply compares equal: it is
/// no part of what the event says.
#[derive(Clone, Default)]
pub(crate) struct Reply(pub(crate) Option<crossbeam_channel::Sender<ToolApprovalResponseEvent>>);

impl PartialEq for Reply {
    fn eq(&self, _: &Reply) -> bool {
        true
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Reply" } else { "None" })
    }
}

impl ToolApprovalRequestEvent {
    /// A request to approve `name(arguments)` (call `call_id`), proposed by
    /// `sender`'s model for `recipient` to run, with a fresh `request_id`.
    pub fn new(
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: Value,
        sender: impl Into<String>,
        recipient: impl Into<String>,
    ) -> ToolApprovalRequestEvent {
        ToolApprovalRequestEvent {
            uuid: Uuid::new_v4(),
            request_id: Uuid::new_v4().to_string(),
            call_id: call_id.into(),
            name: name.into(),
            arguments,
            sender: sender.into(),
            recipient: recipient.into(),
            timeout_seconds: None,
            reply: Reply::default(),
        }
    }

    /// The text a human answers: the tool, its arguments, and the answers
    /// [`ToolApprovalResponseEvent::from_text`] understands.
    pub fn prompt(&self) -> String {
        format!(
            "{} wants {} to run {}({}). Approve? y = yes, a = always, n = no, never, \
             edit {{…}} = run with these arguments, or say why not: ",
            self.sender,
            self.recipient,
            self.name,
            compact(&self.arguments),
        )
    }

    /// Approves the call, as the model wrote it (a request from
    /// [`run`](crate::agentchat::run); [`Error::ChatEnded`] for any other,
    /// or once the chat is over).
    pub fn approve(&self) -> Result<()> {
        self.answer(Decision::Approve, false)
    }

    /// Denies the call; the model is told, with `reason` if there is one.
    pub fn deny(&self, reason: Option<&str>) -> Result<()> {
        let reason = reason.map(str::to_owned);
        self.answer(Decision::Deny { reason }, false)
    }

    /// Runs the call with `arguments` (a JSON object) instead.
    pub fn edit(&self, arguments: Value) -> Result<()> {
        self.answer(Decision::Edit { arguments }, false)
    }

    /// Answers with `decision`, remembered for later calls of this tool
    /// when `remember`.
    pub fn answer(&self, decision: Decision, remember: bool) -> Result<()> {
        let reply = self.reply.0.as_ref().ok_or(Error::ChatEnded)?;
        let response = ToolApprovalResponseEvent::new(&self.request_id, decision, remember);
        reply.send(response).map_err(|_| Error::ChatEnded)
    }
}

impl ToolApprovalResponseEvent {
    /// A decision on the request `request_id`.
    pub fn new(
        request_id: impl Into<String>,
        decision: Decision,
        remember: bool,
    ) -> ToolApprovalResponseEvent {
        ToolApprovalResponseEvent {
            uuid: Uuid::new_v4(),
            request_id: request_id.into(),
            decision,
            remember,
        }
    }

    /// A typed answer to request `request_id`'s [prompt](ToolApprovalRequestEvent::prompt),
    /// case and surrounding space ignored: `y` or `yes` approves, `a` or
    /// `always` approves and remembers, `never` denies and remembers,
    /// `edit {…}` runs with those arguments, `n`, `no` or an empty line
    /// denies, and anything else denies with the text as the reason.
    ///
    /// Nothing is approved by an empty line. An `edit` whose arguments are
    /// no JSON object is no answer: `Err` says why, to ask again.
    ///
    /// ```
    /// use agentio::io::{Decision, ToolApprovalResponseEvent as Response};
    ///
    /// assert_eq!(Response::from_text("r1", " Yes ")?.decision, Decision::Approve);
    /// assert!(Response::from_text("r1", "always")?.remember);
    /// assert_eq!(Response::from_text("r1", "")?.decision, Decision::Deny { reason: None });
    /// let why = Response::from_text("r1", "not that city")?;
    /// assert_eq!(why.decision, Decision::Deny { reason: Some("not that city".into()) });
    /// let edited = Response::from_text("r1", r#"edit {"city": "Berlin"}"#)?;
    /// assert_eq!(edited.decision, Decision::Edit { arguments: serde_json::json!({"city": "Berlin"}) });
    /// assert!(Response::from_text("r1", "edit Berlin").is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn from_text(
        request_id: &str,
        text: &str,
    ) -> std::result::Result<ToolApprovalResponseEvent, String> {
        let text = text.trim();
        let (decision, remember) = match text.to_lowercase().as_str() {
            "y" | "yes" => (Decision::Approve, false),
            "a" | "always" => (Decision::Approve, true),
            "never" => (Decision::Deny { reason: None }, true),
            "" | "n" | "no" => (Decision::Deny { reason: None }, false),
            lower
                if lower.starts_with("edit") && !lower[4..].starts_with(char::is_alphanumeric) =>
            {
                let arguments = edited_arguments(text[4..].trim())?;
                (Decision::Edit { arguments }, false)
            }
            _ => (
                Decision::Deny {
                    reason: Some(text.to_owned()),
                },
                false,
            ),
        };
        Ok(ToolApprovalResponseEvent::new(
            request_id, decision, remember,
        ))
    }

    /// Checks what a client sent: an edit's arguments must be a JSON object.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        match &self.decision {
            Decision::Edit { arguments } if !arguments.is_object() => Err(format!(
                "the edited arguments of request {} must be a JSON object",
                self.request_id
            )),
            _ => Ok(()),
        }
    }
}

/// An edit's arguments: a JSON object.
fn edited_arguments(text: &str) -> std::result::Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(arguments @ Value::Object(_)) => Ok(arguments),
        Ok(_) => Err(
            "edit needs the arguments as a JSON object, like edit {\"city\": \"Paris\"}".to_owned(),
        ),
        Err(e) => Err(format!("edit needs the arguments as a JSON object: {e}")),
    }
}

/// JSON on one line, as the prompt shows arguments.
fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The requests of one message being answered, in any order. An answer
/// that remembers its decision also answers the other pending requests of
/// the same tool.
#[derive(Debug)]
pub(crate) struct Pending {
    requests: Vec<ToolApprovalRequestEvent>,
    answers: Vec<Option<ToolApprovalResponseEvent>>,
}

impl Pending {
    pub fn new(requests: &[ToolApprovalRequestEvent]) -> Pending {
        Pending {
            requests: requests.to_vec(),
            answers: vec![None; requests.len()],
        }
    }

    /// The requests not answered yet.
    pub fn open(&self) -> impl Iterator<Item = &ToolApprovalRequestEvent> {
        self.requests
            .iter()
            .zip(&self.answers)
            .filter(|(_, answer)| answer.is_none())
            .map(|(request, _)| request)
    }

    /// Takes `answer`; returns the answers it settled (itself, and the
    /// requests a remembered decision answers too), or why it is no answer
    /// to any open request.
    pub fn take(
        &mut self,
        answer: ToolApprovalResponseEvent,
    ) -> std::result::Result<Vec<ToolApprovalResponseEvent>, String> {
        answer.validate()?;
        let Some(index) = self
            .requests
            .iter()
            .zip(&self.answers)
            .position(|(r, a)| r.request_id == answer.request_id && a.is_none())
        else {
            return Err(format!(
                "no tool approval request {:?} is waiting for an answer",
                answer.request_id
            ));
        };
        let mut settled = vec![answer.clone()];
        if answer.remember && !matches!(answer.decision, Decision::Edit { .. }) {
            let name = &self.requests[index].name;
            for (request, slot) in self.requests.iter().zip(self.answers.iter_mut()) {
                if slot.is_none()
                    && request.name == *name
                    && request.request_id != answer.request_id
                {
                    let same = ToolApprovalResponseEvent::new(
                        &request.request_id,
                        answer.decision.clone(),
                        true,
                    );
                    settled.push(same.clone());
                    *slot = Some(same);
                }
            }
        }
        self.answers[index] = Some(answer);
        Ok(settled)
    }

    /// Every answer, in the requests' order, once all are in.
    pub fn finish(self) -> Option<Vec<ToolApprovalResponseEvent>> {
        self.answers.into_iter().collect()
    }
}

/// The default [`IOStream::ask_approval`]: each request's
/// [prompt](ToolApprovalRequestEvent::prompt) through `input`, its answer read
/// by [`ToolApprovalResponseEvent::from_text`]; an `edit` that is no JSON
/// object is asked again (three times at most, then denied). The end of
/// input denies what is still open.
pub fn ask_approval_as_text<S: IOStream + ?Sized>(
    stream: &S,
    requests: &[ToolApprovalRequestEvent],
) -> Result<Vec<ToolApprovalResponseEvent>> {
    const ATTEMPTS: usize = 3;
    let mut pending = Pending::new(requests);
    loop {
        let Some(request) = pending.open().next().cloned() else {
            break;
        };
        let mut answer = None;
        for _ in 0..ATTEMPTS {
            let text = match stream.input(&request.prompt(), false) {
                Ok(text) => text,
                Err(Error::InputClosed) => String::new(),
                Err(e) => return Err(e),
            };
            match ToolApprovalResponseEvent::from_text(&request.request_id, &text) {
                Ok(a) => {
                    answer = Some(a);
                    break;
                }
                Err(why) => stream.print(&[&why], "", "\n", true)?,
            }
        }
        let answer = answer.unwrap_or_else(|| {
            let reason = Some("the edited arguments were not valid".to_owned());
            ToolApprovalResponseEvent::new(&request.request_id, Decision::Deny { reason }, false)
        });
        // The answer names an open request, and is valid: it is taken.
        let _ = pending.take(answer);
    }
    pending.finish().ok_or(Error::InputClosed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    type Outcome = std::result::Result<(), Box<dyn std::error::Error>>;

    fn request(name: &str) -> ToolApprovalRequestEvent {
        ToolApprovalRequestEvent::new("call", name, json!({"city": "Paris"}), "bot", "user")
    }

    fn answer(
        request: &ToolApprovalRequestEvent,
        decision: Decision,
        remember: bool,
    ) -> ToolApprovalResponseEvent {
        ToolApprovalResponseEvent::new(&request.request_id, decision, remember)
    }

    #[test]
    fn the_wire_form_is_flat() -> Outcome {
        let arguments = json!({"a": 1});
        let edit = ToolApprovalResponseEvent::new("r", Decision::Edit { arguments }, false);
        let value = serde_json::to_value(&edit)?;
        assert_eq!(value["decision"], "edit");
        assert_eq!(value["arguments"], json!({"a": 1}));
        assert_eq!(value["remember"], false);
        let read: ToolApprovalResponseEvent = serde_json::from_value(json!({
            "request_id": "r", "decision": "deny", "reason": "no"
        }))?;
        assert_eq!(
            read.decision,
            Decision::Deny {
                reason: Some("no".into())
            }
        );
        assert!(!read.remember);
        let approve: ToolApprovalResponseEvent = serde_json::from_value(json!({
            "request_id": "r", "decision": "approve", "remember": true, "arguments": {"ignored": 1}
        }))?;
        assert_eq!(approve.decision, Decision::Approve);
        for wrong in [
            json!({"request_id": "r", "decision": "maybe"}),
            json!({"request_id": "r", "decision": "edit"}),
            json!({"decision": "approve"}),
        ] {
            assert!(serde_json::from_value::<ToolApprovalResponseEvent>(wrong).is_err());
        }
        Ok(())
    }

    #[test]
    fn typed_answers() {
        let decision = |text: &str| {
            ToolApprovalResponseEvent::from_text("r", text).map(|a| (a.decision, a.remember))
        };
        let deny = |reason: Option<&str>| Decision::Deny {
            reason: reason.map(str::to_owned),
        };
        assert_eq!(decision("y"), Ok((Decision::Approve, false)));
        assert_eq!(decision("YES"), Ok((Decision::Approve, false)));
        assert_eq!(decision("a"), Ok((Decision::Approve, true)));
        assert_eq!(decision("Always"), Ok((Decision::Approve, true)));
        assert_eq!(decision("never"), Ok((deny(None), true)));
        assert_eq!(decision("n"), Ok((deny(None), false)));
        assert_eq!(decision("  "), Ok((deny(None), false)));
        assert_eq!(
            decision("yes please"),
            Ok((deny(Some("yes please")), false))
        );
        // "editor" is a word, not the edit command.
        assert_eq!(
            decision("editor says no"),
            Ok((deny(Some("editor says no")), false))
        );
        assert_eq!(
            decision("EDIT{\"city\":\"Rome\"}"),
            Ok((
                Decision::Edit {
                    arguments: json!({"city": "Rome"})
                },
                false
            ))
        );
        assert!(decision("edit [1]").is_err());
        assert!(decision("edit").is_err());
    }

    #[test]
    fn a_remembered_answer_settles_the_same_tool_only() -> Outcome {
        let (a1, b, a2) = (request("a"), request("b"), request("a"));
        let mut pending = Pending::new(&[a1.clone(), b.clone(), a2.clone()]);
        let settled = pending.take(answer(&a2, Decision::Approve, true))?;
        let ids: Vec<&str> = settled.iter().map(|s| s.request_id.as_str()).collect();
        assert_eq!(ids, [a2.request_id.as_str(), a1.request_id.as_str()]);
        let open: Vec<&str> = pending.open().map(|r| r.request_id.as_str()).collect();
        assert_eq!(open, [b.request_id.as_str()]);
        // Answered already, or never asked: no answer.
        assert!(pending.take(answer(&a1, Decision::Approve, false)).is_err());
        assert!(
            pending
                .take(answer(&request("a"), Decision::Approve, false))
                .is_err()
        );
        let bad_edit = answer(
            &b,
            Decision::Edit {
                arguments: json!(3),
            },
            false,
        );
        assert!(pending.take(bad_edit).is_err());
        assert_eq!(pending.open().count(), 1);
        pending.take(answer(&b, Decision::Deny { reason: None }, false))?;
        let answers = pending.finish().ok_or("all answered")?;
        assert_eq!(answers.len(), 3);
        assert_eq!(answers[1].decision, Decision::Deny { reason: None });
        assert_eq!(answers[0].request_id, a1.request_id);
        Ok(())
    }
}
