//! `GroupChatManager`: runs a group chat, round by round (AutoGen 0.2's
//! `run_chat`): every message goes to every agent, the next speaker is
//! chosen, and it speaks to the manager.

use std::sync::Arc;

use crate::agentchat::chat::{Outgoing, Turn, show};
use crate::agentchat::result::UsageLog;
use crate::agentchat::{ChatOptions, ChatResult, ConversableAgent, GroupChat, HumanInputMode};
use crate::io::{self, Event, Filter, Filtered, GroupChatRunChatEvent, IOStream};
use crate::llm::{LlmConfig, Message, ModelClient, Role};
use crate::{Error, Result};

/// The agent that runs a [`GroupChat`] (AutoGen's `GroupChatManager`):
/// called `chat_manager`, system message "Group chat manager.", human
/// input NEVER. Its model, if it has one, picks speakers in auto selection.
///
/// The group owns its agents, so a chat starts from the manager, naming
/// the agent that speaks first (AutoGen: `user_proxy.initiate_chat(manager, …)`).
///
/// ```
/// use agentio::agentchat::{ConversableAgent, GroupChat, GroupChatManager, HumanInputMode, SpeakerSelection};
/// use agentio::io::{self, IOBuffer};
/// use agentio::llm::ReplayClient;
/// use std::sync::Arc;
///
/// let writer = ConversableAgent::new("writer")
///     .human_input_mode(HumanInputMode::Never)
///     .model_client(Arc::new(ReplayClient::new().text(["A poem."])));
/// let critic = ConversableAgent::new("critic")
///     .human_input_mode(HumanInputMode::Never)
///     .model_client(Arc::new(ReplayClient::new().text(["TERMINATE"])));
/// let user = ConversableAgent::new("user").human_input_mode(HumanInputMode::Never);
/// let group = GroupChat::new([user, writer, critic])
///     .speaker_selection_method(SpeakerSelection::RoundRobin);
/// let mut manager = GroupChatManager::new(group);
/// let buffer = Arc::new(IOBuffer::new());
/// let result = io::with_default(buffer.clone(), || manager.initiate_chat("user", "Write a poem."))?;
/// assert!(buffer.text().contains("\nNext speaker: writer\n"));
/// assert_eq!(result.chat_history.last().map(|m| m.text()), Some("TERMINATE"));
/// # Ok::<(), agentio::Error>(())
/// ```
pub struct GroupChatManager {
    agent: ConversableAgent,
    groupchat: GroupChat,
    silent: bool,
    last_speaker: Option<String>,
}

impl std::fmt::Debug for GroupChatManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupChatManager")
            .field("name", &self.agent.name)
            .field("groupchat", &self.groupchat)
            .finish_non_exhaustive()
    }
}

impl GroupChatManager {
    /// A manager of `groupchat`, with AutoGen's defaults and no model
    /// (auto selection then takes the next agent in order).
    pub fn new(groupchat: GroupChat) -> GroupChatManager {
        GroupChatManager {
            agent: ConversableAgent::new("chat_manager")
                .system_message("Group chat manager.")
                .human_input_mode(HumanInputMode::Never)
                .max_consecutive_auto_reply(usize::MAX),
            groupchat,
            silent: false,
            last_speaker: None,
        }
    }

    /// Renames the manager (`chat_manager` by default).
    pub fn name(mut self, name: impl Into<String>) -> GroupChatManager {
        self.agent.name = name.into();
        self
    }

    /// The model that picks speakers in auto selection.
    pub fn llm_config(mut self, config: LlmConfig) -> GroupChatManager {
        self.agent = self.agent.llm_config(config);
        self
    }

    /// The model that picks speakers, as a client.
    pub fn model_client(mut self, model: Arc<dyn ModelClient>) -> GroupChatManager {
        self.agent = self.agent.model_client(model);
        self
    }

    /// When a message ends the chat (by default: it is exactly `TERMINATE`).
    pub fn is_termination_msg(
        mut self,
        check: impl Fn(&Message) -> bool + Send + Sync + 'static,
    ) -> GroupChatManager {
        self.agent = self.agent.is_termination_msg(check);
        self
    }

    /// Shows neither the next speaker nor the speakers' messages.
    pub fn silent(mut self, silent: bool) -> GroupChatManager {
        self.silent = silent;
        self
    }

    /// The manager's name.
    pub fn get_name(&self) -> &str {
        &self.agent.name
    }

    /// The group chat.
    pub fn groupchat(&self) -> &GroupChat {
        &self.groupchat
    }

    /// The group chat, to change (its agents, say, between chats).
    pub fn groupchat_mut(&mut self) -> &mut GroupChat {
        &mut self.groupchat
    }

    /// The agent that spoke last.
    pub fn last_speaker(&self) -> Option<&str> {
        self.last_speaker.as_deref()
    }

    /// Runs the group chat on this thread's stream: `initiator` (an agent
    /// of the group) sends the first message to the manager, then for at
    /// most `max_round` messages the manager passes each message to every
    /// other agent, picks the next speaker (announced as `Next speaker: …`)
    /// and lets it reply, until a termination message, a speaker with no
    /// reply, or nobody eligible.
    ///
    /// The result's history is the initiator's view of the chat.
    pub fn initiate_chat(
        &mut self,
        initiator: &str,
        options: impl Into<ChatOptions>,
    ) -> Result<ChatResult> {
        let options = options.into();
        self.groupchat.validate()?;
        let manager = self.agent.name.clone();
        let Some(first) = self
            .groupchat
            .agents
            .iter()
            .position(|a| a.name == initiator)
        else {
            return Err(Error::Config(format!(
                "{initiator:?} is not an agent of the group chat ({})",
                self.groupchat.agent_names().join(", ")
            )));
        };
        if self.groupchat.agents.iter().any(|a| a.name == manager) {
            return Err(Error::Config(format!(
                "an agent of the group chat has the manager's name, {manager:?}"
            )));
        }
        let out = io::get_default();
        let stream: Arc<dyn IOStream> = if options.silent {
            Arc::new(Filtered::new(out, Filter::none()))
        } else {
            out
        };
        let mut turn = Turn {
            stream,
            streaming: options.streaming.clone(),
            human_input: Vec::new(),
            usage: UsageLog::default(),
        };
        if options.clear_history {
            self.groupchat.reset();
        }
        for agent in &mut self.groupchat.agents {
            agent.prepare_chat(&manager, options.clear_history);
        }
        let Some(first_message) = options.message.clone() else {
            return Err(Error::Config(
                "a group chat cannot resume (ChatOptions::resume); start it with a message".into(),
            ));
        };
        let message = Outgoing::text(first_message);
        self.groupchat.agents[first].append(&manager, &message, true, initiator);
        show(&message, initiator, &manager, &turn)?;
        if self.groupchat.send_introductions {
            let intro = Outgoing::text(self.groupchat.introductions_msg());
            for agent in &mut self.groupchat.agents {
                agent.append(&manager, &intro, false, &manager);
            }
        }
        self.run_chat(first, message, &mut turn)?;
        let history = self.groupchat.agents[first]
            .chat_messages(&manager)
            .to_vec();
        let summary = history
            .last()
            .map(|m| m.text().replace("TERMINATE", ""))
            .unwrap_or_default();
        Ok(ChatResult {
            chat_history: history,
            summary,
            cost: turn.usage.cost(),
            cost_by_agent: turn.usage.cost_by_agent(),
            human_input: turn.human_input,
        })
    }

    /// AutoGen's `run_chat`.
    fn run_chat(
        &mut self,
        mut speaker: usize,
        mut message: Outgoing,
        turn: &mut Turn,
    ) -> Result<()> {
        let manager = self.agent.name.clone();
        let selector = self.agent.model.clone();
        for round in 0..self.groupchat.max_round {
            let name = self.groupchat.agents[speaker].name.clone();
            self.last_speaker = Some(name.clone());
            // Every agent sees who said it, tool calls included.
            message.message.name = Some(name.clone());
            self.groupchat.append(&message);
            for (i, agent) in self.groupchat.agents.iter_mut().enumerate() {
                if i != speaker {
                    agent.append(&manager, &message, false, &name);
                }
            }
            if (self.agent.is_termination_msg)(&message.message)
                || round + 1 == self.groupchat.max_round
            {
                break;
            }
            let Some(next) =
                self.groupchat
                    .select_speaker(speaker, selector.as_deref(), &manager, turn)?
            else {
                break; // nobody may speak
            };
            speaker = next;
            let next_name = self.groupchat.agents[speaker].name.clone();
            if !self.silent {
                turn.send(Event::GroupChatRunChat(GroupChatRunChatEvent::new(
                    &next_name,
                )))?;
            }
            let Some(reply) = self.groupchat.agents[speaker].generate_reply(&manager, turn)? else {
                break;
            };
            self.groupchat.agents[speaker].append(&manager, &reply, true, &next_name);
            if !self.silent {
                show(&reply, &next_name, &manager, turn)?;
            }
            message = reply;
        }
        Ok(())
    }
}

impl GroupChat {
    /// AutoGen's `GroupChat.append`: the message as the manager received
    /// it, with its speaker's name; tool results as `tool` messages.
    fn append(&mut self, message: &Outgoing) {
        for response in &message.tool_responses {
            self.messages
                .push(Message::tool(&response.tool_call_id, &response.content));
        }
        if message.message.role == Role::Tool && !message.tool_responses.is_empty() {
            return;
        }
        let mut m = message.message.clone();
        m.role = if m.tool_calls.is_empty() {
            Role::User
        } else {
            Role::Assistant
        };
        self.messages.push(m);
    }
}
