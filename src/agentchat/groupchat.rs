//! `GroupChat`: who takes part in a group chat, its messages, and how the
//! next speaker is chosen, with AutoGen 0.2's semantics, prompts and texts.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::agentchat::ConversableAgent;
use crate::agentchat::chat::Turn;
use crate::io::{
    Event, Filter, Filtered, SelectSpeakerEvent, SelectSpeakerInvalidInputEvent,
    SelectSpeakerTryCountExceededEvent, SpeakerAttemptEvent,
};
use crate::llm::{ChatRequest, Message, ModelClient, Role};
use crate::{Error, Result};

/// AutoGen's `select_speaker_message_template`.
pub const SELECT_SPEAKER_MESSAGE_TEMPLATE: &str =
    "You are in a role play game. The following roles are available:
                {roles}.
                Read the following conversation.
                Then select the next role from {agentlist} to play. Only return the role.";

/// AutoGen's `select_speaker_prompt_template`.
pub const SELECT_SPEAKER_PROMPT_TEMPLATE: &str = "Read the above conversation. Then select the next role from {agentlist} to play. Only return the role.";

/// AutoGen's `select_speaker_auto_multiple_template`.
pub const SELECT_SPEAKER_AUTO_MULTIPLE_TEMPLATE: &str = "You provided more than one name in your text, please return just the name of the next speaker. To determine the speaker use these prioritised rules:
    1. If the context refers to themselves as a speaker e.g. \"As the...\" , choose that speaker's name
    2. If it refers to the \"next\" speaker name, choose that name
    3. Otherwise, choose the first provided speaker's name in the context
    The names are case-sensitive and should not be abbreviated or changed.
    Respond with ONLY the name of the speaker and DO NOT provide a reason.";

/// AutoGen's `select_speaker_auto_none_template`.
pub const SELECT_SPEAKER_AUTO_NONE_TEMPLATE: &str = "You didn't choose a speaker. As a reminder, to determine the speaker use these prioritised rules:
    1. If the context refers to themselves as a speaker e.g. \"As the...\" , choose that speaker's name
    2. If it refers to the \"next\" speaker name, choose that name
    3. Otherwise, choose the first provided speaker's name in the context
    The names are case-sensitive and should not be abbreviated or changed.
    The only names that are accepted are {agentlist}.
    Respond with ONLY the name of the speaker and DO NOT provide a reason.";

/// AutoGen's `GroupChat.DEFAULT_INTRO_MSG`.
pub const DEFAULT_INTRO_MSG: &str = "Hello everyone. We have assembled a great team today to answer questions and solve tasks. In attendance are:";

/// The two agents of AutoGen's speaker selection chat, as it shows them.
const CHECKING_AGENT: &str = "checking_agent";
const SELECTION_AGENT: &str = "speaker_selection_agent";

/// The prompt of manual speaker selection.
const MANUAL_PROMPT: &str =
    "Enter the number of the next speaker (enter nothing or `q` to use auto selection): ";

/// A function of the last speaker's name and the group chat that picks
/// the next speaker (AutoGen's custom `speaker_selection_method`).
pub type SelectSpeaker = Arc<dyn Fn(&str, &GroupChat) -> SpeakerChoice + Send + Sync>;

/// How a group chat picks its next speaker (AutoGen's
/// `speaker_selection_method`).
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum SpeakerSelection {
    /// The manager's model names the next speaker (the default), asked
    /// again when it names several or none.
    #[default]
    Auto,
    /// A human picks from a numbered list, through the stream.
    Manual,
    /// At random among the eligible agents.
    Random,
    /// In the order of the agents.
    RoundRobin,
    /// Your function decides.
    Custom(SelectSpeaker),
}

impl fmt::Debug for SpeakerSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpeakerSelection::Auto => "auto",
            SpeakerSelection::Manual => "manual",
            SpeakerSelection::Random => "random",
            SpeakerSelection::RoundRobin => "round_robin",
            SpeakerSelection::Custom(_) => "custom",
        })
    }
}

impl std::str::FromStr for SpeakerSelection {
    type Err = Error;

    /// `auto`, `manual`, `random` or `round_robin`, in any case.
    fn from_str(name: &str) -> Result<SpeakerSelection> {
        match name.to_ascii_lowercase().as_str() {
            "auto" => Ok(SpeakerSelection::Auto),
            "manual" => Ok(SpeakerSelection::Manual),
            "random" => Ok(SpeakerSelection::Random),
            "round_robin" => Ok(SpeakerSelection::RoundRobin),
            _ => Err(Error::Config(format!(
                "GroupChat speaker_selection_method is set to '{name}'. It should be one of \
                 ['auto', 'manual', 'random', 'round_robin'] (case insensitive). "
            ))),
        }
    }
}

/// What a custom speaker selection function returns.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SpeakerChoice {
    /// This agent speaks next (it must be in the group).
    Agent(String),
    /// Choose with this method this time (not `Custom`).
    Method(SpeakerSelection),
    /// Nobody: the chat ends.
    End,
}

/// Which agents may speak twice in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Repeat {
    All,
    Nobody,
    Only(Vec<String>),
}

/// A group chat: its agents (it owns them), its messages and its rules for
/// who speaks next. A [`GroupChatManager`](crate::agentchat::GroupChatManager)
/// runs it.
///
/// AutoGen's fields are builder methods: `max_round` (10),
/// `speaker_selection_method` (auto), `allow_repeat_speaker` (true),
/// allowed or disallowed speaker transitions, `send_introductions`
/// (false), `func_call_filter` (true), `max_retries_for_selecting_speaker`
/// (2), the `select_speaker_*` templates, `role_for_select_speaker_messages`
/// (system) and `select_speaker_auto_verbose` (false).
pub struct GroupChat {
    pub(crate) agents: Vec<ConversableAgent>,
    pub(crate) messages: Vec<Message>,
    pub(crate) max_round: usize,
    pub(crate) send_introductions: bool,
    speaker_selection_method: SpeakerSelection,
    allow_repeat_speaker: Option<Repeat>,
    /// Allowed next speakers by speaker, when set (`allowed` or the
    /// complement of `disallowed`).
    transitions: Option<Transitions>,
    func_call_filter: bool,
    max_retries_for_selecting_speaker: u32,
    select_speaker_message_template: String,
    select_speaker_prompt_template: Option<String>,
    select_speaker_auto_multiple_template: String,
    select_speaker_auto_none_template: String,
    role_for_select_speaker_messages: Role,
    select_speaker_auto_verbose: bool,
    random: u64,
}

#[derive(Debug, Clone)]
enum Transitions {
    Allowed(BTreeMap<String, Vec<String>>),
    Disallowed(BTreeMap<String, Vec<String>>),
}

impl fmt::Debug for GroupChat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupChat")
            .field("agents", &self.agent_names())
            .field("messages", &self.messages.len())
            .field("max_round", &self.max_round)
            .field("speaker_selection_method", &self.speaker_selection_method)
            .finish_non_exhaustive()
    }
}

impl GroupChat {
    /// A group chat of `agents` (at least two, each named once) with
    /// AutoGen's defaults.
    pub fn new(agents: impl IntoIterator<Item = ConversableAgent>) -> GroupChat {
        GroupChat {
            agents: agents.into_iter().collect(),
            messages: Vec::new(),
            max_round: 10,
            send_introductions: false,
            speaker_selection_method: SpeakerSelection::Auto,
            allow_repeat_speaker: None,
            transitions: None,
            func_call_filter: true,
            max_retries_for_selecting_speaker: 2,
            select_speaker_message_template: SELECT_SPEAKER_MESSAGE_TEMPLATE.to_owned(),
            select_speaker_prompt_template: Some(SELECT_SPEAKER_PROMPT_TEMPLATE.to_owned()),
            select_speaker_auto_multiple_template: SELECT_SPEAKER_AUTO_MULTIPLE_TEMPLATE.to_owned(),
            select_speaker_auto_none_template: SELECT_SPEAKER_AUTO_NONE_TEMPLATE.to_owned(),
            role_for_select_speaker_messages: Role::System,
            select_speaker_auto_verbose: false,
            random: seed(),
        }
    }

    /// The most messages the chat runs (the first included).
    pub fn max_round(mut self, rounds: usize) -> GroupChat {
        self.max_round = rounds;
        self
    }

    /// How the next speaker is chosen.
    pub fn speaker_selection_method(mut self, method: SpeakerSelection) -> GroupChat {
        self.speaker_selection_method = method;
        self
    }

    /// Picks the next speaker with `f(last_speaker, group_chat)`.
    pub fn speaker_selection_function(
        self,
        f: impl Fn(&str, &GroupChat) -> SpeakerChoice + Send + Sync + 'static,
    ) -> GroupChat {
        self.speaker_selection_method(SpeakerSelection::Custom(Arc::new(f)))
    }

    /// Whether an agent may speak twice in a row (true by default).
    pub fn allow_repeat_speaker(mut self, allow: bool) -> GroupChat {
        self.allow_repeat_speaker = Some(if allow { Repeat::All } else { Repeat::Nobody });
        self
    }

    /// Only these agents may speak twice in a row.
    pub fn allow_repeat_speakers<I, S>(mut self, agents: I) -> GroupChat
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allow_repeat_speaker =
            Some(Repeat::Only(agents.into_iter().map(Into::into).collect()));
        self
    }

    /// Who may speak after whom: each speaker's allowed next speakers
    /// (AutoGen's `allowed_or_disallowed_speaker_transitions` with
    /// `speaker_transitions_type="allowed"`). Excludes `allow_repeat_speaker`.
    pub fn allowed_speaker_transitions<I, S, T>(mut self, transitions: I) -> GroupChat
    where
        I: IntoIterator<Item = (S, Vec<T>)>,
        S: Into<String>,
        T: Into<String>,
    {
        self.transitions = Some(Transitions::Allowed(names(transitions)));
        self
    }

    /// Who may not speak after whom (`speaker_transitions_type="disallowed"`).
    pub fn disallowed_speaker_transitions<I, S, T>(mut self, transitions: I) -> GroupChat
    where
        I: IntoIterator<Item = (S, Vec<T>)>,
        S: Into<String>,
        T: Into<String>,
    {
        self.transitions = Some(Transitions::Disallowed(names(transitions)));
        self
    }

    /// Sends every agent AutoGen's introduction of the group first.
    pub fn send_introductions(mut self, send: bool) -> GroupChat {
        self.send_introductions = send;
        self
    }

    /// After a message calling tools, the next speaker is an agent that can
    /// run them (true by default).
    pub fn func_call_filter(mut self, filter: bool) -> GroupChat {
        self.func_call_filter = filter;
        self
    }

    /// How often the manager's model is asked again when it names several
    /// agents or none (2 by default).
    pub fn max_retries_for_selecting_speaker(mut self, retries: u32) -> GroupChat {
        self.max_retries_for_selecting_speaker = retries;
        self
    }

    /// The system message of auto selection; `{roles}` and `{agentlist}`
    /// are filled in.
    pub fn select_speaker_message_template(mut self, template: impl Into<String>) -> GroupChat {
        self.select_speaker_message_template = template.into();
        self
    }

    /// The last message of auto selection (`None`: none); `{agentlist}` is
    /// filled in.
    pub fn select_speaker_prompt_template(mut self, template: Option<String>) -> GroupChat {
        self.select_speaker_prompt_template = template.filter(|t| !t.is_empty());
        self
    }

    /// The follow-up when the model named several agents.
    pub fn select_speaker_auto_multiple_template(
        mut self,
        template: impl Into<String>,
    ) -> GroupChat {
        self.select_speaker_auto_multiple_template = template.into();
        self
    }

    /// The follow-up when the model named no agent.
    pub fn select_speaker_auto_none_template(mut self, template: impl Into<String>) -> GroupChat {
        self.select_speaker_auto_none_template = template.into();
        self
    }

    /// The role of auto selection's own messages (system by default).
    pub fn role_for_select_speaker_messages(mut self, role: Role) -> GroupChat {
        self.role_for_select_speaker_messages = role;
        self
    }

    /// Shows each auto selection attempt (`speaker_attempt_*` events).
    pub fn select_speaker_auto_verbose(mut self, verbose: bool) -> GroupChat {
        self.select_speaker_auto_verbose = verbose;
        self
    }

    /// Seeds random selection, so a run can be repeated.
    pub fn random_seed(mut self, seed: u64) -> GroupChat {
        self.random = seed | 1;
        self
    }

    /// The agents' names, in order.
    pub fn agent_names(&self) -> Vec<String> {
        self.agents.iter().map(|a| a.name.clone()).collect()
    }

    /// The agents.
    pub fn agents(&self) -> &[ConversableAgent] {
        &self.agents
    }

    /// The agent called `name`.
    pub fn agent_by_name(&self, name: &str) -> Option<&ConversableAgent> {
        self.agents.iter().find(|a| a.name == name)
    }

    /// The agent called `name`, to change.
    pub fn agent_by_name_mut(&mut self, name: &str) -> Option<&mut ConversableAgent> {
        self.agents.iter_mut().find(|a| a.name == name)
    }

    /// The group's messages, as the manager received them.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Forgets the messages.
    pub fn reset(&mut self) {
        self.messages.clear();
    }

    /// AutoGen's `_participant_roles`: `name: description` per agent.
    fn participant_roles(&self, agents: &[usize]) -> String {
        let roles: Vec<String> = agents
            .iter()
            .map(|&i| {
                let agent = &self.agents[i];
                format!("{}: {}", agent.name, agent.get_description())
                    .trim()
                    .to_owned()
            })
            .collect();
        roles.join("\n")
    }

    /// The agents' names as Python prints a list of them: `['a', 'b']`.
    fn agent_list(&self, agents: &[usize]) -> String {
        let names: Vec<String> = agents
            .iter()
            .map(|&i| python_repr(&self.agents[i].name))
            .collect();
        format!("[{}]", names.join(", "))
    }

    /// The introduction every agent gets with `send_introductions`.
    pub fn introductions_msg(&self) -> String {
        let all: Vec<usize> = (0..self.agents.len()).collect();
        format!("{DEFAULT_INTRO_MSG}\n\n{}", self.participant_roles(&all))
    }

    fn select_speaker_msg(&self, agents: &[usize]) -> String {
        self.select_speaker_message_template
            .replace("{roles}", &self.participant_roles(agents))
            .replace("{agentlist}", &self.agent_list(agents))
    }

    /// Checks the group before a chat: two agents at least, no name twice,
    /// transitions between agents of the group, and not both transitions
    /// and `allow_repeat_speaker`.
    pub(crate) fn validate(&self) -> Result<()> {
        let n = self.agents.len();
        if n < 2 {
            return Err(Error::Config(format!(
                "GroupChat is underpopulated with {n} agents. Please add more agents to the \
                 GroupChat or use direct communication instead."
            )));
        }
        let names = self.agent_names();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(Error::Config(format!(
                    "two agents of the group chat are called {name:?}"
                )));
            }
        }
        if let Some(transitions) = &self.transitions {
            if self.allow_repeat_speaker.is_some() {
                return Err(Error::Config(
                    "Don't provide both allowed_or_disallowed_speaker_transitions and \
                     allow_repeat_speaker in group chat. Please set one of them to None."
                        .to_owned(),
                ));
            }
            let (Transitions::Allowed(map) | Transitions::Disallowed(map)) = transitions;
            for (from, tos) in map {
                for name in std::iter::once(from).chain(tos) {
                    if !names.contains(name) {
                        return Err(Error::Config(format!(
                            "the speaker transitions name {name:?}, who is not in the group chat"
                        )));
                    }
                }
            }
        }
        if let Some(Repeat::Only(agents)) = &self.allow_repeat_speaker {
            if let Some(name) = agents.iter().find(|a| !names.contains(a)) {
                return Err(Error::Config(format!(
                    "allow_repeat_speaker names {name:?}, who is not in the group chat"
                )));
            }
        }
        Ok(())
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.name == name)
    }

    /// Who may speak after `last`: `None` when `last` may pass to nobody.
    fn allowed_after(&self, last: usize) -> Option<Vec<usize>> {
        let name = &self.agents[last].name;
        let all = 0..self.agents.len();
        match &self.transitions {
            None => {
                let repeat = match self.allow_repeat_speaker.as_ref().unwrap_or(&Repeat::All) {
                    Repeat::All => true,
                    Repeat::Nobody => false,
                    Repeat::Only(agents) => agents.contains(name),
                };
                Some(all.filter(|&i| i != last || repeat).collect())
            }
            Some(Transitions::Allowed(map)) => map.get(name).map(|tos| {
                all.filter(|&i| tos.contains(&self.agents[i].name))
                    .collect()
            }),
            Some(Transitions::Disallowed(map)) => {
                let banned = map.get(name);
                Some(
                    all.filter(|&i| banned.is_none_or(|b| !b.contains(&self.agents[i].name)))
                        .collect(),
                )
            }
        }
    }

    /// AutoGen's `next_agent`: the agent after `last` in the group's order
    /// that is among `agents`.
    fn next_agent(&self, last: usize, agents: &[usize]) -> usize {
        let n = self.agents.len();
        (1..=n)
            .map(|k| (last + k) % n)
            .find(|i| agents.contains(i))
            .unwrap_or((last + 1) % n)
    }

    /// AutoGen's `select_speaker`: the next speaker after `last`, or `None`
    /// when nobody is eligible (the chat ends). `selector` is the manager's
    /// model, for auto selection.
    pub(crate) fn select_speaker(
        &mut self,
        last: usize,
        selector: Option<&dyn ModelClient>,
        manager: &str,
        turn: &mut Turn,
    ) -> Result<Option<usize>> {
        let mut method = self.speaker_selection_method.clone();
        if let SpeakerSelection::Custom(f) = &method {
            let choice = f(&self.agents[last].name, self);
            method = match choice {
                SpeakerChoice::End => return Ok(None),
                SpeakerChoice::Agent(name) => {
                    return self.index(&name).map(Some).ok_or_else(|| {
                        Error::Config(format!(
                            "Custom speaker selection function returned an agent {name} not in the group chat."
                        ))
                    });
                }
                SpeakerChoice::Method(SpeakerSelection::Custom(_)) => {
                    return Err(Error::Config(
                        "a custom speaker selection function returned another one".to_owned(),
                    ));
                }
                SpeakerChoice::Method(method) => method,
            };
        }
        let all: Vec<usize> = (0..self.agents.len()).collect();
        let mut agents = all.clone();
        if self.func_call_filter {
            if let Some(calls) = self
                .messages
                .last()
                .map(|m| &m.tool_calls)
                .filter(|c| !c.is_empty())
            {
                let funcs: Vec<&str> = calls.iter().map(|c| c.function.name.as_str()).collect();
                let runs_all =
                    |a: &ConversableAgent| funcs.iter().all(|f| a.function_map.get(f).is_some());
                agents = all
                    .iter()
                    .copied()
                    .filter(|&i| runs_all(&self.agents[i]))
                    .collect();
                if agents.is_empty() {
                    agents = all
                        .iter()
                        .copied()
                        .filter(|&i| !self.agents[i].function_map.is_empty())
                        .collect();
                    if agents.is_empty() {
                        return Err(Error::Config(format!(
                            "No agent can execute the function {}. Please check the function_map of the agents.",
                            funcs.join(", ")
                        )));
                    }
                }
                if agents.len() == 1 {
                    return Ok(Some(agents[0]));
                }
            }
        }
        let Some(allowed) = self.allowed_after(last) else {
            return Ok(None); // a sink of the transition graph
        };
        let repeat_banned = matches!(&self.allow_repeat_speaker, Some(Repeat::Nobody))
            || matches!(&self.allow_repeat_speaker, Some(Repeat::Only(a)) if !a.contains(&self.agents[last].name));
        let eligible: Vec<usize> = agents
            .into_iter()
            .filter(|&i| !(repeat_banned && i == last) && allowed.contains(&i))
            .collect();
        if eligible.len() == 1 {
            return Ok(Some(eligible[0]));
        }
        // None eligible: AutoGen then considers every agent.
        let candidates = if eligible.is_empty() {
            all.clone()
        } else {
            eligible
        };
        Ok(Some(match method {
            SpeakerSelection::Manual => match self.manual_select_speaker(&candidates, turn)? {
                Some(agent) => agent,
                None => self.next_agent(last, &all),
            },
            SpeakerSelection::RoundRobin => self.next_agent(last, &candidates),
            SpeakerSelection::Random => candidates[self.next_random() as usize % candidates.len()],
            SpeakerSelection::Auto | SpeakerSelection::Custom(_) => match selector {
                Some(model) => self.auto_select_speaker(last, &candidates, model, manager, turn)?,
                None => self.next_agent(last, &candidates),
            },
        }))
    }

    /// AutoGen's `manual_select_speaker`: the numbered list, then at most
    /// two answers; nothing, `q`, or the end of input passes.
    fn manual_select_speaker(&self, agents: &[usize], turn: &mut Turn) -> Result<Option<usize>> {
        let names: Vec<String> = agents
            .iter()
            .map(|&i| self.agents[i].name.clone())
            .collect();
        turn.send(Event::SelectSpeaker(SelectSpeakerEvent::new(names.clone())))?;
        let mut try_count = 0;
        while try_count <= 3 {
            try_count += 1;
            if try_count >= 3 {
                turn.send(Event::SelectSpeakerTryCountExceeded(
                    SelectSpeakerTryCountExceededEvent::new(try_count, names),
                ))?;
                break;
            }
            let answer = match turn.stream.input(MANUAL_PROMPT, false) {
                Ok(answer) => answer,
                Err(Error::InputClosed) => String::new(),
                Err(e) => return Err(e),
            };
            turn.human_input.push(answer.clone());
            if answer.is_empty() || answer == "q" {
                break;
            }
            match answer.trim().parse::<usize>() {
                Ok(i) if (1..=agents.len()).contains(&i) => return Ok(Some(agents[i - 1])),
                _ => turn.send(Event::SelectSpeakerInvalidInput(
                    SelectSpeakerInvalidInputEvent::new(names.clone()),
                ))?,
            }
        }
        Ok(None)
    }

    /// AutoGen's `_auto_select_speaker`: the manager's model reads the
    /// group's messages and names the next speaker; asked again (up to
    /// `max_retries_for_selecting_speaker` times) when it names several
    /// agents or none; then the next agent in order.
    fn auto_select_speaker(
        &self,
        last: usize,
        agents: &[usize],
        model: &dyn ModelClient,
        manager: &str,
        turn: &mut Turn,
    ) -> Result<usize> {
        let mut messages = Vec::with_capacity(self.messages.len() + 2);
        messages.push(Message::system(self.select_speaker_msg(agents)));
        messages.extend(self.messages.iter().cloned());
        if let Some(last_message) = messages.last_mut().filter(|m| !m.tool_calls.is_empty()) {
            // A call without its results would be refused by the API.
            last_message.tool_calls.clear();
            last_message.content.get_or_insert_with(String::new);
        }
        let checking = |content: String| {
            let mut message = Message::user(content);
            message.role = self.role_for_select_speaker_messages;
            message.name = Some(CHECKING_AGENT.to_owned());
            message
        };
        let agent_list = self.agent_list(agents);
        let verbose = self.select_speaker_auto_verbose;
        // AutoGen runs the selection as a chat of its own, shown when verbose.
        let show = |turn: &Turn, text: &str, sender: &str, recipient: &str| {
            if verbose {
                turn.send(Event::text(text, sender, recipient))
            } else {
                Ok(())
            }
        };
        let start = match &self.select_speaker_prompt_template {
            Some(template) => checking(template.replace("{agentlist}", &agent_list)),
            None => self
                .messages
                .last()
                .cloned()
                .unwrap_or_else(|| checking(String::new())),
        };
        show(turn, start.text(), CHECKING_AGENT, SELECTION_AGENT)?;
        messages.push(start);
        let max_attempts = 1 + self.max_retries_for_selecting_speaker;
        // The selection is the manager's own business: nothing of it streams.
        let mute = Filtered::new(turn.stream.clone(), Filter::none());
        for attempt in 1..=max_attempts {
            let request =
                ChatRequest::new(messages.clone()).speaker(SELECTION_AGENT, CHECKING_AGENT);
            let reply = model.create_to(&request, &mute)?;
            turn.usage.record(manager, &reply);
            show(turn, reply.message.text(), SELECTION_AGENT, CHECKING_AGENT)?;
            let answer = reply.message.text().trim().to_owned();
            let mentions = self.mentioned_agents(&answer, agents);
            let attempts_left = max_attempts - attempt;
            let report = SpeakerAttemptEvent::new(mentions.clone(), attempt, attempts_left);
            let follow_up = match mentions.len() {
                1 => {
                    if verbose {
                        turn.send(Event::SpeakerAttemptSuccessful(report))?;
                    }
                    let name = mentions.keys().next().map_or("", String::as_str);
                    return Ok(self
                        .index(name)
                        .unwrap_or_else(|| self.next_agent(last, agents)));
                }
                0 => {
                    if verbose {
                        turn.send(Event::SpeakerAttemptFailedNoAgents(report))?;
                    }
                    &self.select_speaker_auto_none_template
                }
                _ => {
                    if verbose {
                        turn.send(Event::SpeakerAttemptFailedMultipleAgents(report))?;
                    }
                    &self.select_speaker_auto_multiple_template
                }
            };
            if attempts_left == 0 {
                break;
            }
            let follow_up = checking(follow_up.replace("{agentlist}", &agent_list));
            show(turn, follow_up.text(), CHECKING_AGENT, SELECTION_AGENT)?;
            messages.push(Message::assistant(reply.message.text()));
            messages.push(follow_up);
        }
        Ok(self.next_agent(last, agents))
    }

    /// AutoGen's `_mentioned_agents`: how often each of `agents` is named
    /// in `text`, as a word (case-sensitive), with `_` also written as a
    /// space or as `\_`.
    fn mentioned_agents(&self, text: &str, agents: &[usize]) -> BTreeMap<String, u64> {
        let mut mentions = BTreeMap::new();
        for &i in agents {
            let name = &self.agents[i].name;
            let count = mention_count(text, name);
            if count > 0 {
                mentions.insert(name.clone(), count);
            }
        }
        mentions
    }

    /// A number from the group's own generator (xorshift64*).
    fn next_random(&mut self) -> u64 {
        let mut x = self.random;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.random = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11
    }
}

/// How often `name` occurs in `text` as a word: between characters that
/// are not letters, digits or `_` (the text's ends count as such), in any
/// of AutoGen's three spellings; matches do not overlap.
fn mention_count(text: &str, name: &str) -> u64 {
    if name.is_empty() {
        return 0;
    }
    let spellings = [
        name.to_owned(),
        name.replace('_', " "),
        name.replace('_', "\\_"),
    ];
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut count = 0;
    let mut at = 0;
    while at < text.len() {
        let before_ok = text[..at].chars().next_back().is_none_or(|c| !is_word(c));
        let found = before_ok
            .then(|| {
                spellings.iter().find(|s| {
                    text[at..].starts_with(s.as_str())
                        && text[at + s.len()..]
                            .chars()
                            .next()
                            .is_none_or(|c| !is_word(c))
                })
            })
            .flatten();
        match found {
            Some(spelling) => {
                count += 1;
                at += spelling.len();
            }
            None => at += text[at..].chars().next().map_or(1, char::len_utf8),
        }
    }
    count
}

/// A Python string literal for `s`, as `repr` writes it.
fn python_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn names<I, S, T>(transitions: I) -> BTreeMap<String, Vec<String>>
where
    I: IntoIterator<Item = (S, Vec<T>)>,
    S: Into<String>,
    T: Into<String>,
{
    transitions
        .into_iter()
        .map(|(from, tos)| (from.into(), tos.into_iter().map(Into::into).collect()))
        .collect()
}

/// A seed for random selection that differs between group chats.
fn seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now()) | 1
}

#[cfg(test)]
mod tests {
    use super::{mention_count, python_repr};

    #[test]
    fn mentions_count_whole_words_in_autogens_spellings() {
        assert_eq!(mention_count("writer", "writer"), 1);
        assert_eq!(mention_count("The writer, then the writer.", "writer"), 2);
        assert_eq!(mention_count("ghostwriter writers", "writer"), 0);
        assert_eq!(mention_count("story writer", "story_writer"), 1);
        assert_eq!(mention_count("story\\_writer!", "story_writer"), 1);
        assert_eq!(mention_count("Writer", "writer"), 0);
        assert_eq!(mention_count("é writer é", "writer"), 1);
        assert_eq!(mention_count("", "writer"), 0);
    }

    #[test]
    fn names_are_listed_as_python_prints_them() {
        assert_eq!(python_repr("writer"), "'writer'");
        assert_eq!(python_repr("o'neil"), "\"o'neil\"");
        assert_eq!(python_repr("a\\b"), "'a\\\\b'");
    }
}
