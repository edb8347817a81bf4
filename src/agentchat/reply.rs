//! How an agent replies, in AutoGen's order: the termination and human-input
//! check, then tool calls, then its model, then the default auto reply.

use crate::Result;
use serde_json::Value;

use crate::agentchat::chat::{Outgoing, Turn};
use crate::agentchat::execute::execute;
use crate::agentchat::{ConversableAgent, HumanInputMode, Tool, ToolContext, parse_arguments};
use crate::io::approval::denied;
use crate::io::{
    Decision, Event, ExecuteFunctionEvent, ExecutedFunctionEvent,
    TerminationAndHumanReplyNoInputEvent, TerminationEvent, ToolApprovalRequestEvent, ToolResponse,
    UsingAutoReplyEvent, Uuid,
};
use crate::llm::{ChatRequest, Message};

const NO_HUMAN_INPUT: &str = "NO HUMAN INPUT RECEIVED.";
const USER_INTERRUPTED: &str = "USER INTERRUPTED";

/// What becomes of one tool call.
enum Step {
    /// Nothing runs; this is the answer (unknown tool, bad arguments).
    Answer(String),
    /// Run it with these arguments (the human's, when they edited them).
    Run(Tool, Value, Option<Value>),
    /// Denied: these arguments, and the text the model gets.
    Deny(Value, String),
}

/// A call's step, or the approval it waits for first.
enum Plan {
    Step(Step),
    /// Waits for answer `index` of the approval requests.
    Ask(Tool, Value, usize),
}

/// What the termination and human-input check decided.
enum Check {
    /// End the chat.
    Stop,
    /// Send the human's reply.
    Human(Outgoing),
    /// Go on to the automatic replies.
    Auto,
}

impl ConversableAgent {
    /// The reply to the last message from `sender`, or `None` to end the chat.
    pub(crate) fn generate_reply(
        &mut self,
        sender: &str,
        turn: &mut Turn,
    ) -> Result<Option<Outgoing>> {
        match self.check_termination_and_human_reply(sender, turn)? {
            Check::Stop => return Ok(None),
            Check::Human(reply) => return Ok(Some(reply)),
            Check::Auto => {}
        }
        if let Some(reply) = self.tool_calls_reply(sender, turn)? {
            return Ok(Some(reply));
        }
        if let Some(reply) = self.model_reply(sender, turn)? {
            return Ok(Some(reply));
        }
        Ok(Some(Outgoing::text(self.default_auto_reply.clone())))
    }

    /// AutoGen's `check_termination_and_human_reply`.
    // Not inlined (nor the tool step below): their locals would sit in
    // `generate_reply`'s frame, under every model call's deep stack.
    #[inline(never)]
    fn check_termination_and_human_reply(
        &mut self,
        sender: &str,
        turn: &mut Turn,
    ) -> Result<Check> {
        let is_termination = self
            .last_message(sender)
            .is_some_and(|m| (self.is_termination_msg)(m));
        let auto_replies = self.auto_replies.get(sender).copied().unwrap_or(0);
        let at_limit = auto_replies >= self.max_consecutive_auto_reply;
        let ask_or_stop = "Press enter or type 'exit' to stop the conversation: ";

        // (the human's reply or None when not asked, the reason to end if it is empty)
        let (asked, reason_if_empty): (Option<String>, Option<String>) = match self.human_input_mode
        {
            HumanInputMode::Always => {
                let prompt = format!(
                    "Replying as {}. Provide feedback to {sender}. Press enter to skip and use auto-reply, or type 'exit' to end the conversation: ",
                    self.name
                );
                (
                    Some(self.get_human_input(&prompt, turn)?),
                    is_termination.then(|| self.termination_met()),
                )
            }
            HumanInputMode::Never if at_limit => {
                return self.stop(
                    sender,
                    turn,
                    "Maximum number of consecutive auto-replies reached",
                );
            }
            HumanInputMode::Never if is_termination => {
                let reason = self.termination_met();
                return self.stop(sender, turn, &reason);
            }
            HumanInputMode::Terminate if at_limit => {
                let prompt = if is_termination {
                    format!("Please give feedback to {sender}. {ask_or_stop}")
                } else {
                    format!(
                        "Please give feedback to {sender}. Press enter to skip and use auto-reply, or type 'exit' to stop the conversation: "
                    )
                };
                let reason = if is_termination {
                    Some(self.termination_met())
                } else {
                    None
                };
                (Some(self.get_human_input(&prompt, turn)?), reason)
            }
            HumanInputMode::Terminate if is_termination => {
                let prompt = format!("Please give feedback to {sender}. {ask_or_stop}");
                (
                    Some(self.get_human_input(&prompt, turn)?),
                    Some(self.termination_met()),
                )
            }
            HumanInputMode::Never | HumanInputMode::Terminate => (None, None),
        };

        if let Some(reply) = asked {
            if reply.is_empty() {
                turn.send(Event::TerminationAndHumanReplyNoInput(
                    TerminationAndHumanReplyNoInputEvent {
                        uuid: Uuid::new_v4(),
                        no_human_input_msg: NO_HUMAN_INPUT.to_owned(),
                        sender: sender.to_owned(),
                        recipient: self.name.clone(),
                    },
                ))?;
                if let Some(reason) = reason_if_empty {
                    return self.stop(sender, turn, &reason);
                }
            } else if reply == "exit" {
                return self.stop(sender, turn, "User requested to end the conversation");
            } else {
                self.auto_replies.insert(sender.to_owned(), 0);
                return Ok(Check::Human(self.human_reply(sender, reply)));
            }
        }
        if self.max_consecutive_auto_reply == 0 {
            // AutoGen sends the (empty) human reply rather than auto-replying.
            self.auto_replies.insert(sender.to_owned(), 0);
            return Ok(Check::Human(self.human_reply(sender, String::new())));
        }
        self.auto_replies
            .insert(sender.to_owned(), auto_replies + 1);
        if self.human_input_mode != HumanInputMode::Never {
            turn.send(Event::UsingAutoReply(UsingAutoReplyEvent {
                uuid: Uuid::new_v4(),
                human_input_mode: self.human_input_mode.to_string(),
                sender: sender.to_owned(),
                recipient: self.name.clone(),
            }))?;
        }
        Ok(Check::Auto)
    }

    fn termination_met(&self) -> String {
        format!("Termination message condition on agent '{}' met", self.name)
    }

    fn stop(&mut self, sender: &str, turn: &mut Turn, reason: &str) -> Result<Check> {
        self.auto_replies.insert(sender.to_owned(), 0);
        turn.send(Event::Termination(TerminationEvent {
            uuid: Uuid::new_v4(),
            termination_reason: reason.to_owned(),
            sender: self.name.clone(),
            recipient: sender.to_owned(),
        }))?;
        Ok(Check::Stop)
    }

    /// A human's reply; tool calls it leaves unanswered are answered
    /// `"USER INTERRUPTED"`, as AutoGen does, so the history stays valid.
    fn human_reply(&self, sender: &str, reply: String) -> Outgoing {
        let mut outgoing = Outgoing::text(reply);
        if let Some(last) = self.last_message(sender) {
            outgoing.tool_responses = last
                .tool_calls
                .iter()
                .map(|call| ToolResponse {
                    tool_call_id: call.id.clone(),
                    role: "tool".to_owned(),
                    content: USER_INTERRUPTED.to_owned(),
                })
                .collect();
        }
        outgoing
    }

    /// Asks the human through the chat's stream. End of input counts as
    /// `exit`, so a piped stdin ends the chat cleanly.
    fn get_human_input(&self, prompt: &str, turn: &mut Turn) -> Result<String> {
        let reply = match turn.stream.input(prompt, false) {
            Ok(reply) => reply,
            Err(crate::Error::InputClosed) => "exit".to_owned(),
            Err(e) => return Err(e),
        };
        turn.human_input.push(reply.clone());
        Ok(reply)
    }

    /// AutoGen's `generate_tool_calls_reply`: answers every call of the last
    /// message, in order. Calls that need a human's approval are asked all
    /// at once, before any runs; a denied call is answered with the denial,
    /// an edited one runs with the human's arguments.
    #[inline(never)]
    fn tool_calls_reply(&mut self, sender: &str, turn: &mut Turn) -> Result<Option<Outgoing>> {
        let Some((calls, proposer)) = self
            .last_message(sender)
            .filter(|m| !m.tool_calls.is_empty())
            .map(|m| (m.tool_calls.clone(), m.name.clone()))
        else {
            return Ok(None);
        };
        // In a group chat the message names the agent that proposed the
        // calls; in two, it is the peer.
        let proposer = proposer.unwrap_or_else(|| sender.to_owned());
        let mut plans = Vec::with_capacity(calls.len());
        let mut requests = Vec::new();
        for call in &calls {
            let name = &call.function.name;
            let plan = match self.function_map.get(name).cloned() {
                None => Plan::Step(Step::Answer(format!("Error: Function {name} not found."))),
                Some(tool) => match parse_arguments(&call.function.arguments) {
                    Err(error_text) => Plan::Step(Step::Answer(error_text)),
                    Ok(arguments) if !tool.needs_approval_for(&arguments) => {
                        Plan::Step(Step::Run(tool, arguments, None))
                    }
                    Ok(arguments) => match self.remembered.get(name) {
                        Some(true) => Plan::Step(Step::Run(tool, arguments, None)),
                        Some(false) => Plan::Step(Step::Deny(arguments, denied(name, None, true))),
                        None => {
                            requests.push(ToolApprovalRequestEvent::new(
                                &call.id,
                                name,
                                arguments.clone(),
                                &proposer,
                                &self.name,
                            ));
                            Plan::Ask(tool, arguments, requests.len() - 1)
                        }
                    },
                },
            };
            plans.push(plan);
        }
        let answers = if requests.is_empty() {
            Vec::new()
        } else {
            turn.stream.ask_approval(&requests)?
        };
        for (request, answer) in requests.iter().zip(&answers) {
            if answer.remember {
                match answer.decision {
                    Decision::Approve => self.remembered.insert(request.name.clone(), true),
                    Decision::Deny { .. } => self.remembered.insert(request.name.clone(), false),
                    _ => None,
                };
            }
        }
        let mut responses = Vec::with_capacity(calls.len());
        for (call, plan) in calls.iter().zip(plans) {
            let name = &call.function.name;
            let step = match plan {
                Plan::Step(step) => step,
                Plan::Ask(tool, arguments, index) => {
                    match answers.get(index).map(|a| &a.decision) {
                        Some(Decision::Approve) => Step::Run(tool, arguments, None),
                        Some(Decision::Edit { arguments: edited }) => {
                            Step::Run(tool, edited.clone(), Some(edited.clone()))
                        }
                        Some(Decision::Deny { reason }) => {
                            Step::Deny(arguments, denied(name, reason.as_deref(), false))
                        }
                        // A stream that answered too few: nothing runs unapproved.
                        None => Step::Deny(arguments, denied(name, Some("no answer"), false)),
                    }
                }
            };
            let content = match step {
                Step::Answer(content) => content,
                Step::Deny(arguments, content) => {
                    turn.send(Event::ExecutedFunction(ExecutedFunctionEvent {
                        uuid: Uuid::new_v4(),
                        func_name: name.clone(),
                        call_id: Some(call.id.clone()),
                        arguments,
                        content: content.clone(),
                        recipient: self.name.clone(),
                        is_exec_success: false,
                    }))?;
                    content
                }
                Step::Run(tool, arguments, edited) => {
                    turn.send(Event::ExecuteFunction(ExecuteFunctionEvent {
                        uuid: Uuid::new_v4(),
                        func_name: name.clone(),
                        call_id: Some(call.id.clone()),
                        arguments: arguments.clone(),
                        recipient: self.name.clone(),
                    }))?;
                    let context = ToolContext::new(&call.id, name, &self.name, turn.stream.clone());
                    let run = execute(&tool, arguments, context, turn.stream.as_ref())?;
                    let content = match edited {
                        Some(edited) => format!(
                            "The user edited the arguments to {}.\n{}",
                            serde_json::to_string(&edited).unwrap_or_default(),
                            run.content
                        ),
                        None => run.content.clone(),
                    };
                    turn.send(Event::ExecutedFunction(ExecutedFunctionEvent {
                        uuid: Uuid::new_v4(),
                        func_name: name.clone(),
                        call_id: Some(call.id.clone()),
                        arguments: run.arguments.clone(),
                        content: content.clone(),
                        recipient: self.name.clone(),
                        is_exec_success: run.success,
                    }))?;
                    content
                }
            };
            responses.push(ToolResponse {
                tool_call_id: call.id.clone(),
                role: "tool".to_owned(),
                content,
            });
        }
        Ok(Some(Outgoing::tool_responses(responses)))
    }

    /// AutoGen's `generate_oai_reply`: the system message and the conversation
    /// with `sender` go to the model, with this agent's tools.
    fn model_reply(&mut self, sender: &str, turn: &mut Turn) -> Result<Option<Outgoing>> {
        let Some(model) = self.model.clone() else {
            return Ok(None);
        };
        let mut messages = Vec::with_capacity(self.chat_messages(sender).len() + 1);
        messages.push(Message::system(self.system_message.clone()));
        messages.extend(self.chat_messages(sender).iter().cloned());
        let request = ChatRequest::new(messages)
            .tools(self.llm_tools.schemas())
            .stream(self.stream)
            .speaker(&self.name, sender);
        let (reply, streamed) = turn.model_reply(&self.name, model.as_ref(), &request)?;
        let mut message = reply.message;
        message.name = None;
        Ok(Some(Outgoing {
            message,
            tool_responses: Vec::new(),
            streamed,
        }))
    }
}
