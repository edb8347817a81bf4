//! The events of a group chat, shaped like AG2's: who speaks next, and how
//! the next speaker was chosen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::io::Uuid;

/// Content of an [`Event::GroupChatRunChat`](crate::io::Event::GroupChatRunChat):
/// the group chat's next speaker (AutoGen prints `Next speaker: writer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupChatRunChatEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The agent that speaks next.
    pub speaker: String,
    /// Whether the manager is silent (AG2's field; a silent manager sends none).
    #[serde(default)]
    pub silent: bool,
}

impl GroupChatRunChatEvent {
    /// `speaker` speaks next.
    pub fn new(speaker: impl Into<String>) -> GroupChatRunChatEvent {
        GroupChatRunChatEvent {
            uuid: Uuid::new_v4(),
            speaker: speaker.into(),
            silent: false,
        }
    }
}

/// Content of an [`Event::SelectSpeaker`](crate::io::Event::SelectSpeaker):
/// a human picks the next speaker from a numbered list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelectSpeakerEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The agents to choose from, numbered from 1 in this order.
    #[serde(default)]
    pub agents: Option<Vec<String>>,
}

impl SelectSpeakerEvent {
    /// Choose among `agents`.
    pub fn new(agents: Vec<String>) -> SelectSpeakerEvent {
        SelectSpeakerEvent {
            uuid: Uuid::new_v4(),
            agents: Some(agents),
        }
    }
}

/// Content of an [`Event::SelectSpeakerInvalidInput`](crate::io::Event::SelectSpeakerInvalidInput):
/// the human's answer was no number on the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelectSpeakerInvalidInputEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// The agents to choose from.
    #[serde(default)]
    pub agents: Option<Vec<String>>,
}

impl SelectSpeakerInvalidInputEvent {
    /// An invalid answer for a choice among `agents`.
    pub fn new(agents: Vec<String>) -> SelectSpeakerInvalidInputEvent {
        SelectSpeakerInvalidInputEvent {
            uuid: Uuid::new_v4(),
            agents: Some(agents),
        }
    }
}

/// Content of an [`Event::SelectSpeakerTryCountExceeded`](crate::io::Event::SelectSpeakerTryCountExceeded):
/// the human did not choose in time; the next speaker is chosen for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelectSpeakerTryCountExceededEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// How many times the human was asked (AutoGen counts one more than it asked).
    pub try_count: u32,
    /// The agents to choose from.
    #[serde(default)]
    pub agents: Option<Vec<String>>,
}

impl SelectSpeakerTryCountExceededEvent {
    /// Given up after `try_count` tries at choosing among `agents`.
    pub fn new(try_count: u32, agents: Vec<String>) -> SelectSpeakerTryCountExceededEvent {
        SelectSpeakerTryCountExceededEvent {
            uuid: Uuid::new_v4(),
            try_count,
            agents: Some(agents),
        }
    }
}

/// Content of the three `speaker_attempt_*` events: one attempt of the
/// manager's model at naming the next speaker (sent when the group chat's
/// `select_speaker_auto_verbose` is on, as AutoGen prints them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SpeakerAttemptEvent {
    /// Event id.
    #[serde(default)]
    pub uuid: Uuid,
    /// How often the model's answer names each agent it names.
    pub mentions: BTreeMap<String, u64>,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// Attempts still allowed after this one.
    pub attempts_left: u32,
    /// AG2's field: the attempts are shown.
    #[serde(default)]
    pub select_speaker_auto_verbose: bool,
}

impl SpeakerAttemptEvent {
    /// Attempt `attempt` (with `attempts_left` to go) found `mentions`.
    pub fn new(
        mentions: BTreeMap<String, u64>,
        attempt: u32,
        attempts_left: u32,
    ) -> SpeakerAttemptEvent {
        SpeakerAttemptEvent {
            uuid: Uuid::new_v4(),
            mentions,
            attempt,
            attempts_left,
            select_speaker_auto_verbose: true,
        }
    }
}
