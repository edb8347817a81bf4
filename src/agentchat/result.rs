//! What a chat produced: its history, summary, cost and human input; and
//! the log of model calls its cost is summed from.

use std::collections::BTreeMap;

use crate::io::{Event, ModelUsage, ModelUsageSummary, UsageSummaryEvent};
use crate::llm::{ChatResponse, Message, Usage};

/// Tokens and cost of a chat, as AutoGen's `ChatResult.cost` reports them.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ChatCost {
    /// Every completion, cached ones included.
    pub usage_including_cached_inference: ModelUsageSummary,
    /// Completions that were not answered from the cache.
    pub usage_excluding_cached_inference: ModelUsageSummary,
}

impl ChatCost {
    /// The cost as a `usage_summary` event (mode both), which prints as
    /// AutoGen's `print_usage_summary()`: send it to a stream to show it.
    pub fn usage_summary(&self) -> Event {
        Event::UsageSummary(UsageSummaryEvent::new(
            self.usage_excluding_cached_inference.clone(),
            self.usage_including_cached_inference.clone(),
        ))
    }
}

/// What a finished chat produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChatResult {
    /// The conversation, as the initiating agent saw it, in OpenAI's shape.
    pub chat_history: Vec<Message>,
    /// The summary (by default the last message without `"TERMINATE"`).
    pub summary: String,
    /// Tokens and cost of both agents' model calls during the chat.
    pub cost: ChatCost,
    /// Every reply a human typed, in order.
    pub human_input: Vec<String>,
    /// The same cost, per agent whose model was called (a group chat's
    /// manager included, for choosing speakers).
    pub cost_by_agent: BTreeMap<String, ChatCost>,
}

/// One model call of a chat, as its cost counts it.
#[derive(Debug, Clone)]
struct ModelCall {
    agent: String,
    model: String,
    usage: Usage,
    cost: f64,
    cached: bool,
}

/// Every model call of a chat, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct UsageLog(Vec<ModelCall>);

impl UsageLog {
    /// Notes the tokens and cost of `agent`'s model call.
    pub fn record(&mut self, agent: &str, reply: &ChatResponse) {
        self.0.push(ModelCall {
            agent: agent.to_owned(),
            model: reply.model.clone(),
            usage: reply.usage,
            cost: reply.cost,
            cached: reply.cached,
        });
    }

    /// The chat's cost, with and without cached completions.
    pub fn cost(&self) -> ChatCost {
        ChatCost {
            usage_including_cached_inference: self.summary(true),
            usage_excluding_cached_inference: self.summary(false),
        }
    }

    /// The cost of each agent's model calls.
    pub fn cost_by_agent(&self) -> BTreeMap<String, ChatCost> {
        let mut agents: BTreeMap<String, UsageLog> = BTreeMap::new();
        for call in &self.0 {
            agents
                .entry(call.agent.clone())
                .or_default()
                .0
                .push(call.clone());
        }
        agents
            .into_iter()
            .map(|(agent, log)| (agent, log.cost()))
            .collect()
    }

    /// Usage per model, in the order models were first used.
    fn summary(&self, include_cached: bool) -> ModelUsageSummary {
        let mut usages: Vec<ModelUsage> = Vec::new();
        for call in self.0.iter().filter(|c| include_cached || !c.cached) {
            let index = match usages.iter().position(|u| u.model == call.model) {
                Some(i) => i,
                None => {
                    usages.push(ModelUsage::new(call.model.clone(), 0, 0, 0, 0.0));
                    usages.len() - 1
                }
            };
            let entry = &mut usages[index];
            entry.prompt_tokens += call.usage.prompt_tokens;
            entry.completion_tokens += call.usage.completion_tokens;
            entry.total_tokens += call.usage.total_tokens;
            entry.cost += call.cost;
        }
        ModelUsageSummary::new(usages)
    }
}
