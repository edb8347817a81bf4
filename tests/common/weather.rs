//! The weather tool that asks approval, and the mock model's replies that
//! call it: shared by the approval tests (agents, websockets).

use std::sync::{Arc, Mutex};

use agentio::agentchat::{ParamType, Tool};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{
    Must, Reply, finish_chunk, role_chunk, streamed_text, streamed_tool_call, tool_chunk,
    usage_chunk,
};

#[derive(Deserialize)]
pub struct City {
    pub city: String,
}

/// The cities the tool ran for.
pub type Ran = Arc<Mutex<Vec<String>>>;

pub fn cities(ran: &Ran) -> Vec<String> {
    ran.lock().must("the record").clone()
}

/// The weather tool, asking approval for every call, noting where it ran.
pub fn weather(ran: &Ran) -> Tool {
    let ran = ran.clone();
    Tool::new("weather_forecast", "Weather forecast for a city")
        .param("city", ParamType::String, "city")
        .needs_approval()
        .function(move |args: City| {
            ran.lock().must("the record").push(args.city.clone());
            Ok::<_, String>(format!("Sunny in {}.", args.city))
        })
}

/// One call for Paris, id `call_1`.
pub fn paris_call() -> Reply {
    streamed_tool_call("call_1", "weather_forecast", r#"{"city": "Paris"}"#)
}

/// The reply after the tools: "Done. TERMINATE".
pub fn done() -> Reply {
    streamed_text(&["Done. ", "TERMINATE"])
}

/// Two calls in one message: Paris (`call_a`) and Rome (`call_b`).
pub fn parallel_calls() -> Reply {
    let call = |index: u64, id: &str, city: &str| {
        tool_chunk(json!({"index": index, "id": id, "type": "function",
            "function": {"name": "weather_forecast", "arguments": json!({"city": city}).to_string()}}))
    };
    Reply::Sse(vec![
        role_chunk(),
        call(0, "call_a", "Paris"),
        call(1, "call_b", "Rome"),
        finish_chunk("tool_calls"),
        usage_chunk(20, 10),
    ])
}

/// The `tool` messages of the model's request `n`.
pub fn tools_in(requests: &[crate::common::Request], n: usize) -> Vec<Value> {
    requests
        .get(n)
        .and_then(|r| r.body["messages"].as_array())
        .map(|m| m.iter().filter(|m| m["role"] == "tool").cloned().collect())
        .unwrap_or_default()
}
