//! Assembling streamed tool-call fragments into whole calls.
//!
//! The rule survives every server quirk in `openai-wire.md`: slots are keyed by
//! `index` (the next free slot when it is missing); a fragment that brings a
//! non-empty id (or name) different from its slot's starts a new call (Ollama
//! sends index 0 for parallel calls); empty ids are ignored; the name is set
//! once; argument pieces are appended.

use serde_json::Value;

use crate::io::{FunctionCall, ToolCall, Uuid};

#[derive(Debug, Default)]
struct Slot {
    index: Option<i64>,
    id: String,
    /// The id a call gets when the server sends none, made when the slot is.
    fallback_id: String,
    name: String,
    arguments: String,
}

/// Collects tool-call fragments (`choices[].delta.tool_calls[]`) into calls.
#[derive(Debug, Default)]
pub struct ToolCallAssembler {
    slots: Vec<Slot>,
}

fn non_empty<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

impl ToolCallAssembler {
    /// An assembler with no calls yet.
    pub fn new() -> ToolCallAssembler {
        ToolCallAssembler::default()
    }

    /// Whether no fragment arrived.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Adds one fragment; returns the call it belongs to (its position).
    pub fn push(&mut self, fragment: &Value) -> usize {
        let index = fragment.get("index").and_then(Value::as_i64);
        let id = non_empty(fragment, "id");
        let function = fragment.get("function").unwrap_or(&Value::Null);
        let name = non_empty(function, "name");
        let arguments = match function.get("arguments") {
            Some(Value::String(piece)) => piece.clone(),
            // Some servers send the arguments as an object, whole.
            Some(object @ Value::Object(_)) => object.to_string(),
            _ => String::new(),
        };

        let position = match index {
            Some(i) => self.slots.iter().rposition(|s| s.index == Some(i)),
            None => self.slots.len().checked_sub(1),
        };
        let starts_new_call = |slot: &Slot| {
            let new_id = id.is_some_and(|id| !slot.id.is_empty() && id != slot.id);
            let new_name =
                id.is_none() && name.is_some_and(|name| !slot.name.is_empty() && name != slot.name);
            new_id || new_name
        };
        let position = match position {
            Some(p) if !starts_new_call(&self.slots[p]) => p,
            _ => {
                self.slots.push(Slot {
                    index,
                    fallback_id: format!("call_{}", Uuid::new_v4().to_string().replace('-', "")),
                    ..Slot::default()
                });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[position];
        if let (true, Some(id)) = (slot.id.is_empty(), id) {
            slot.id = id.to_owned();
        }
        if let (true, Some(name)) = (slot.name.is_empty(), name) {
            slot.name = name.to_owned();
        }
        slot.arguments.push_str(&arguments);
        position
    }

    /// The id (the server's, or the one the call will get) and the name,
    /// so far, of the call at `position`.
    pub fn call(&self, position: usize) -> Option<(&str, &str)> {
        let slot = self.slots.get(position)?;
        let id = if slot.id.is_empty() {
            &slot.fallback_id
        } else {
            &slot.id
        };
        Some((id, &slot.name))
    }

    /// The assembled calls, in `index` order when every call had one (a
    /// server may interleave the fragments of parallel calls), else in
    /// arrival order. A call without arguments gets `{}`; one without an id
    /// gets a generated `call_…` id, so its result can refer to it.
    pub fn finish(mut self) -> Vec<ToolCall> {
        if self.slots.iter().all(|s| s.index.is_some()) {
            self.slots.sort_by_key(|s| s.index); // stable: equal indexes keep their order
        }
        self.slots
            .into_iter()
            .map(|slot| ToolCall {
                id: if slot.id.is_empty() {
                    slot.fallback_id
                } else {
                    slot.id
                },
                kind: "function".to_owned(),
                function: FunctionCall {
                    name: slot.name,
                    arguments: if slot.arguments.trim().is_empty() {
                        "{}".to_owned()
                    } else {
                        slot.arguments
                    },
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assemble(fragments: &[Value]) -> Vec<(String, String, String)> {
        let mut assembler = ToolCallAssembler::new();
        for fragment in fragments {
            assembler.push(fragment);
        }
        assembler
            .finish()
            .into_iter()
            .map(|c| (c.id, c.function.name, c.function.arguments))
            .collect()
    }

    fn call(id: &str, name: &str, args: &str) -> (String, String, String) {
        (id.into(), name.into(), args.into())
    }

    #[test]
    fn openai_parallel_calls_by_index() {
        let got = assemble(&[
            json!({"index": 0, "id": "call_a", "type": "function", "function": {"name": "weather", "arguments": ""}}),
            json!({"index": 1, "id": "call_b", "type": "function", "function": {"name": "time", "arguments": ""}}),
            json!({"index": 0, "function": {"arguments": "{\"city\":"}}),
            json!({"index": 1, "function": {"arguments": "{}"}}),
            json!({"index": 0, "function": {"arguments": "\"Paris\"}"}}),
        ]);
        assert_eq!(
            got,
            [
                call("call_a", "weather", "{\"city\":\"Paris\"}"),
                call("call_b", "time", "{}")
            ]
        );
    }

    #[test]
    fn missing_index_and_empty_continuation_ids() {
        let got = assemble(&[
            json!({"id": "call_a", "function": {"name": "weather", "arguments": "{\"ci"}}),
            json!({"id": "", "function": {"arguments": "ty\":\"Oslo\"}"}}),
            json!({"id": "call_b", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}),
        ]);
        assert_eq!(
            got,
            [
                call("call_a", "weather", "{\"city\":\"Oslo\"}"),
                call("call_b", "weather", "{\"city\":\"Rome\"}")
            ]
        );
    }

    #[test]
    fn ollama_parallel_calls_all_at_index_zero() {
        let got = assemble(&[
            json!({"index": 0, "id": "call_1", "function": {"name": "weather", "arguments": {"city": "Paris"}}}),
            json!({"index": 0, "id": "call_2", "function": {"name": "weather", "arguments": {"city": "Lima"}}}),
        ]);
        assert_eq!(
            got,
            [
                call("call_1", "weather", "{\"city\":\"Paris\"}"),
                call("call_2", "weather", "{\"city\":\"Lima\"}")
            ]
        );
    }

    #[test]
    fn no_argument_tools_and_missing_ids() {
        let got = assemble(&[json!({"function": {"name": "now", "arguments": ""}})]);
        assert_eq!(got.len(), 1);
        assert!(
            got[0].0.starts_with("call_") && got[0].0.len() == 37,
            "{}",
            got[0].0
        );
        assert_eq!((got[0].1.as_str(), got[0].2.as_str()), ("now", "{}"));
    }
}
