//! What a frontend's request asks, whatever its protocol: the conversation
//! it carries, its new question (none when it resumes a run that waited
//! for a human) and the human's answers to what that run waited for.

use std::collections::{HashMap, VecDeque};

use crate::io::Decision;
use crate::llm::Message;

/// One run's request, read from AG-UI's `RunAgentInput` or the AI SDK's
/// chat request.
#[derive(Debug, Default)]
pub(crate) struct RunRequest {
    /// The conversation before the question (all of it when resuming), in
    /// OpenAI's shape.
    pub history: Vec<Message>,
    /// The user's new message; `None` when the request resumes the chat
    /// from its history's last message.
    pub question: Option<String>,
    /// The human's answers to what the previous run waited for.
    pub answers: Answers,
    /// The id the response's message takes: the AI SDK's `messageId`, the
    /// assistant message a resumed run continues.
    pub message_id: Option<String>,
    /// The conversation's id (AG-UI's `threadId`, the AI SDK's chat `id`):
    /// where a chat waiting for this request's answers is parked.
    pub thread_id: Option<String>,
}

/// The human's answers a request brings: decisions on tool calls, by call
/// id, and answers to input requests, in order.
#[derive(Debug, Default)]
pub(crate) struct Answers {
    /// A decision for each call that waited for approval.
    pub approvals: HashMap<String, Decision>,
    /// Answers to the input requests, the first for the first asked.
    pub inputs: VecDeque<String>,
}
