//! A small group chat for the encoders' tests: `user_proxy` asks, `writer`
//! answers streamed ("Roses are red."), `critic` ends it ("TERMINATE"),
//! speakers in turn.

use std::sync::Arc;

use agentio::agentchat::{
    ConversableAgent, GroupChat, GroupChatManager, HumanInputMode, SpeakerSelection,
};
use agentio::io::{self, IOStream};
use agentio::llm::ReplayClient;

/// Runs the group chat on `stream`.
pub fn write_a_poem(stream: Arc<dyn IOStream>) -> agentio::Result<()> {
    let say = |text: &str| Arc::new(ReplayClient::new().text([text.to_owned()]));
    let writer = ConversableAgent::new("writer")
        .human_input_mode(HumanInputMode::Never)
        .stream(true)
        .model_client(say("Roses are red."));
    let critic = ConversableAgent::new("critic")
        .human_input_mode(HumanInputMode::Never)
        .model_client(say("TERMINATE"));
    let user = ConversableAgent::new("user_proxy").human_input_mode(HumanInputMode::Never);
    let group = GroupChat::new([user, writer, critic])
        .max_round(4)
        .speaker_selection_method(SpeakerSelection::RoundRobin);
    let mut manager = GroupChatManager::new(group);
    io::with_default(stream, || {
        manager.initiate_chat("user_proxy", "Write a poem.")
    })
    .map(|_| ())
}
