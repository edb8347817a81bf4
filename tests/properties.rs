//! Property tests of every parser, 10,000 generated cases per property:
//! SSE under arbitrary splits and arbitrary bytes, tool-call assembly under
//! any fragmentation, every event kind through JSON, config text, and
//! arbitrary JSON from a websocket client.
//!
//! The seed is fixed so CI is reproducible; explore further with
//! `PROPTEST_SEED=random PROPTEST_CASES=200000 cargo test --release --test properties`
//! (or any number as the seed).

mod common;

use std::io::Read;

use agentio::Error;
use agentio::io::{
    ErrorEvent, Event, ExecuteFunctionEvent, ExecutedFunctionEvent, FunctionCall,
    InputRequestEvent, InputResponseEvent, ModelUsage, ModelUsageSummary, PrintEvent,
    RunCompletionEvent, TerminationAndHumanReplyNoInputEvent, TerminationEvent, TextEvent,
    ToolCall, ToolCallEvent, ToolResponse, ToolResponseEvent, UsageMode, UsageSummaryEvent,
    UsingAutoReplyEvent, Uuid,
};
use agentio::llm::parse_config_list;
use agentio::unversioned::{SseEvent, SseReader, ToolCallAssembler};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};

fn config() -> Config {
    common::proptest_config(10_000)
}

/// Any text, control characters and every plane included.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter)
}

/// A reader that hands out its bytes in pieces of the given sizes.
struct Pieces {
    bytes: Vec<u8>,
    sizes: Vec<usize>,
    at: usize,
    turn: usize,
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self
            .sizes
            .get(self.turn % self.sizes.len().max(1))
            .copied()
            .unwrap_or(1);
        self.turn += 1;
        let n = size.max(1).min(buf.len()).min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn read_all(reader: Pieces, limit: usize) -> (Vec<SseEvent>, Option<Error>) {
    let mut reader = SseReader::new(reader, limit);
    let mut events = Vec::new();
    // Each call consumes at least a line, so this bound is never the reason to stop.
    for _ in 0..100_000 {
        match reader.next_event() {
            Ok(Some(event)) => events.push(event),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
    panic!("the reader neither ended nor failed");
}

/// A line's content: anything but CR and LF.
fn line() -> impl Strategy<Value = String> {
    text().prop_map(|t| t.replace(['\r', '\n'], ""))
}

/// (event name, data lines, a comment before it?)
fn sse_event() -> impl Strategy<Value = (String, Vec<String>, Option<String>)> {
    (
        line().prop_map(|l| l.replace(':', "")),
        prop::collection::vec(line(), 1..4),
        prop::option::of(line()),
    )
}

proptest! {
    #![proptest_config(config())]

    /// Any valid stream, split anywhere (inside UTF-8 characters, between
    /// `\r` and `\n`), yields exactly the events written.
    #[test]
    fn sse_events_survive_any_split(
        events in prop::collection::vec(sse_event(), 0..6),
        ending in prop::sample::select(vec!["\n", "\r\n", "\r"]),
        sizes in prop::collection::vec(1usize..9, 1..8),
    ) {
        let mut bytes = String::new();
        let mut expected = Vec::new();
        for (name, data, comment) in &events {
            if let Some(comment) = comment {
                bytes += &format!(":{comment}{ending}");
            }
            if !name.trim().is_empty() {
                bytes += &format!("event: {name}{ending}");
            }
            for line in data {
                bytes += &format!("data: {line}{ending}");
            }
            bytes += ending;
            expected.push(SseEvent {
                event: if name.trim().is_empty() { String::new() } else { name.clone() },
                data: data.join("\n"),
            });
        }
        let whole = read_all(Pieces { bytes: bytes.clone().into_bytes(), sizes: vec![usize::MAX], at: 0, turn: 0 }, 1 << 20);
        let split = read_all(Pieces { bytes: bytes.into_bytes(), sizes, at: 0, turn: 0 }, 1 << 20);
        prop_assert!(whole.1.is_none() && split.1.is_none());
        prop_assert_eq!(&whole.0, &expected);
        prop_assert_eq!(&split.0, &expected);
    }

    /// Arbitrary bytes, arbitrarily split, end in events and then a clean end
    /// or a clear error; never a panic or a hang.
    #[test]
    fn sse_arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        sizes in prop::collection::vec(1usize..17, 1..6),
        limit in 1usize..64,
    ) {
        let (events, error) = read_all(Pieces { bytes: bytes.clone(), sizes, at: 0, turn: 0 }, limit);
        if let Some(error) = error {
            prop_assert!(error.to_string().contains("event"), "{error}");
        }
        prop_assert!(events.iter().all(|e| e.data.len() <= bytes.len()));
    }

    /// Any fragmentation of a set of calls assembles into the same calls:
    /// with `index` (fragments of different calls interleaved) or without
    /// (one call after another), continuation fragments with or without an
    /// empty `id`.
    #[test]
    fn tool_calls_assemble_from_any_fragmentation(
        calls in prop::collection::vec((line(), line(), prop::collection::vec(line(), 1..5)), 1..4),
        with_index in any::<bool>(),
        empty_ids in any::<bool>(),
        order in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
    ) {
        // Distinct, non-empty ids and names.
        let calls: Vec<(String, String, Vec<String>)> = calls
            .into_iter()
            .enumerate()
            .map(|(i, (id, name, args))| (format!("call_{i}_{id}"), format!("f{i}_{name}"), args))
            .collect();
        let mut queues: Vec<Vec<Value>> = calls
            .iter()
            .enumerate()
            .map(|(i, (id, name, args))| {
                args.iter()
                    .enumerate()
                    .map(|(j, piece)| {
                        let mut fragment = if j == 0 {
                            json!({"id": id, "type": "function", "function": {"name": name, "arguments": piece}})
                        } else if empty_ids {
                            json!({"id": "", "function": {"arguments": piece}})
                        } else {
                            json!({"function": {"arguments": piece}})
                        };
                        if with_index {
                            fragment["index"] = json!(i);
                        }
                        fragment
                    })
                    .rev()
                    .collect()
            })
            .collect();
        let mut assembler = ToolCallAssembler::new();
        let mut choices = order.into_iter();
        loop {
            let open: Vec<usize> = (0..queues.len()).filter(|&q| !queues[q].is_empty()).collect();
            let Some(&first) = open.first() else { break };
            // Interleave only when the index says which call a fragment is for.
            let pick = match choices.next() {
                Some(choice) if with_index => open[choice.index(open.len())],
                _ => first,
            };
            if let Some(fragment) = queues[pick].pop() {
                assembler.push(&fragment);
            }
        }
        let assembled: Vec<(String, String, String)> = assembler
            .finish()
            .into_iter()
            .map(|c| (c.id, c.function.name, c.function.arguments))
            .collect();
        let expected: Vec<(String, String, String)> = calls
            .into_iter()
            .map(|(id, name, args)| {
                let args = args.concat();
                (id, name, if args.trim().is_empty() { "{}".to_owned() } else { args })
            })
            .collect();
        prop_assert_eq!(assembled, expected);
    }

    /// Every event kind, with any field values, round-trips through JSON.
    #[test]
    fn every_event_round_trips_through_json(event in any_event()) {
        let json = event.to_json();
        let back = Event::from_json(&json);
        prop_assert_eq!(back.ok(), Some(event), "{}", json);
    }

    /// Any text as a config list gives entries or an error naming its
    /// source; never a panic.
    #[test]
    fn config_text_never_panics_and_errors_name_the_source(text in prop_oneof![
        text(),
        json_value().prop_map(|v| v.to_string()),
        prop::collection::vec(json_value(), 0..4).prop_map(|v| Value::Array(v).to_string()),
        prop::collection::vec(prop::collection::btree_map(
            prop::sample::select(vec!["model", "api_key", "base_url", "api_type", "price", "tags", "api_version"]),
            json_value(), 0..5), 0..3)
            .prop_map(|v| json!(v).to_string()),
    ]) {
        match parse_config_list(&text, "the-source-under-test") {
            Ok(entries) => prop_assert!(entries.iter().all(|e| !e.model.is_empty())),
            Err(Error::Config(message)) => prop_assert!(message.contains("the-source-under-test"), "{}", message),
            Err(other) => prop_assert!(false, "not a config error: {:?}", other),
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(|n| {
        let hex = format!("{n:032x}");
        let text = format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        );
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    })
}

fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |f| f.is_finite())
}

fn usage_summary() -> impl Strategy<Value = ModelUsageSummary> {
    (
        prop::option::of(prop::collection::vec(
            (text(), any::<u64>(), any::<u64>(), any::<u64>(), finite()).prop_map(
                |(model, prompt_tokens, completion_tokens, total_tokens, cost)| {
                    ModelUsage::new(model, prompt_tokens, completion_tokens, total_tokens, cost)
                },
            ),
            0..3,
        )),
        prop::option::of(finite()),
    )
        .prop_map(|(usages, total_cost)| {
            let mut summary = ModelUsageSummary::default();
            summary.usages = usages;
            summary.total_cost = total_cost;
            summary
        })
}

fn tool_call() -> impl Strategy<Value = ToolCall> {
    (text(), text(), text(), text()).prop_map(|(id, kind, name, arguments)| {
        let mut call = ToolCall::new(id, FunctionCall::new(name, arguments));
        call.kind = kind;
        call
    })
}

fn any_event() -> impl Strategy<Value = Event> {
    let message = || (uuid(), text(), text(), text());
    prop_oneof![
        (uuid(), prop::collection::vec(text(), 0..4), text(), text()).prop_map(
            |(uuid, objects, sep, end)| {
                let mut print = PrintEvent::new(objects);
                print.uuid = uuid;
                print.sep = sep;
                print.end = end;
                Event::Print(print)
            }
        ),
        (uuid(), text(), prop::option::of(text())).prop_map(|(uuid, content, sender)| {
            // `recipient` is not in the JSON: only what round-trips.
            let mut event = Event::stream(content);
            if let Event::Stream(fragment) = &mut event {
                fragment.uuid = uuid;
                fragment.sender = sender;
            }
            event
        }),
        (message(), any::<bool>()).prop_map(|((uuid, content, sender, recipient), streamed)| {
            let mut text = TextEvent::new(content, sender, recipient);
            text.uuid = uuid;
            text.streamed = streamed;
            Event::Text(text)
        }),
        (
            uuid(),
            prop::option::of(text()),
            text(),
            text(),
            text(),
            prop::collection::vec(tool_call(), 0..3)
        )
            .prop_map(|(uuid, content, sender, recipient, role, tool_calls)| {
                let mut call = ToolCallEvent::new(tool_calls, sender, recipient);
                call.uuid = uuid;
                call.content = content;
                call.role = role;
                Event::ToolCall(call)
            }),
        (
            message(),
            text(),
            prop::collection::vec((text(), text(), text()), 0..3)
        )
            .prop_map(|((uuid, content, sender, recipient), role, responses)| {
                let tool_responses = responses
                    .into_iter()
                    .map(|(tool_call_id, role, content)| {
                        let mut response = ToolResponse::new(tool_call_id, content);
                        response.role = role;
                        response
                    })
                    .collect();
                let mut response = ToolResponseEvent::new(tool_responses, sender, recipient);
                response.uuid = uuid;
                response.content = content;
                response.role = role;
                Event::ToolResponse(response)
            }),
        message().prop_map(|(uuid, human_input_mode, sender, recipient)| {
            let mut auto_reply = UsingAutoReplyEvent::new(human_input_mode, sender, recipient);
            auto_reply.uuid = uuid;
            Event::UsingAutoReply(auto_reply)
        }),
        message().prop_map(|(uuid, no_human_input_msg, sender, recipient)| {
            let mut no_input =
                TerminationAndHumanReplyNoInputEvent::new(no_human_input_msg, sender, recipient);
            no_input.uuid = uuid;
            Event::TerminationAndHumanReplyNoInput(no_input)
        }),
        message().prop_map(|(uuid, termination_reason, sender, recipient)| {
            let mut termination = TerminationEvent::new(termination_reason, sender, recipient);
            termination.uuid = uuid;
            Event::Termination(termination)
        }),
        (
            uuid(),
            text(),
            prop::option::of(text()),
            json_value(),
            text()
        )
            .prop_map(|(uuid, func_name, call_id, arguments, recipient)| {
                let mut execute = ExecuteFunctionEvent::new(func_name, recipient);
                execute.uuid = uuid;
                execute.call_id = call_id;
                execute.arguments = arguments;
                Event::ExecuteFunction(execute)
            }),
        (
            uuid(),
            text(),
            prop::option::of(text()),
            json_value(),
            text(),
            text(),
            any::<bool>()
        )
            .prop_map(
                |(uuid, func_name, call_id, arguments, content, recipient, is_exec_success)| {
                    let mut executed =
                        ExecutedFunctionEvent::new(func_name, content, recipient, is_exec_success);
                    executed.uuid = uuid;
                    executed.call_id = call_id;
                    executed.arguments = arguments;
                    Event::ExecutedFunction(executed)
                }
            ),
        (
            uuid(),
            usage_summary(),
            usage_summary(),
            prop::sample::select(vec![UsageMode::Both, UsageMode::Total, UsageMode::Actual])
        )
            .prop_map(|(uuid, actual, total, mode)| {
                let mut usage = UsageSummaryEvent::new(actual, total);
                usage.uuid = uuid;
                usage.mode = mode;
                Event::UsageSummary(usage)
            }),
        (uuid(), text(), any::<bool>()).prop_map(|(uuid, prompt, password)| {
            let mut request = InputRequestEvent::new(prompt, password);
            request.uuid = uuid;
            Event::InputRequest(request)
        }),
        (uuid(), text()).prop_map(|(uuid, value)| {
            let mut response = InputResponseEvent::new(value);
            response.uuid = uuid;
            Event::InputResponse(response)
        }),
        (uuid(), text()).prop_map(|(uuid, error)| {
            let mut error = ErrorEvent::new(error);
            error.uuid = uuid;
            Event::Error(error)
        }),
        (
            uuid(),
            text(),
            prop::collection::vec(json_value(), 0..3),
            json_value(),
            prop::option::of(text())
        )
            .prop_map(|(uuid, summary, history, cost, last_speaker)| {
                let mut completion = RunCompletionEvent::new(summary);
                completion.uuid = uuid;
                completion.history = history;
                completion.cost = cost;
                completion.last_speaker = last_speaker;
                Event::RunCompletion(completion)
            }),
    ]
}

/// Any JSON a client sends in events mode that is not a valid message gets
/// an `error` event, and the connection goes on: the next answer is taken.
#[test]
fn arbitrary_json_from_a_client_gets_an_error_event_and_the_connection_goes_on() {
    use agentio::io::websockets::ServerConfig;
    use agentio::io::{IOStream, IOWebsockets};
    use common::ws::{connect, send, text};
    use proptest::test_runner::{TestCaseError, TestRunner};

    let server = IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", 0),
        |ws: &IOWebsockets| -> agentio::Result<()> {
            loop {
                let answer = ws.input("", false)?;
                agentio::ioprintln!("echo {answer}")?;
            }
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ws = std::cell::RefCell::new(connect(&format!("{}/ws?format=events", server.uri())));
    let round = std::cell::Cell::new(0u64);
    let next_event = |ws: &mut common::ws::Client| -> Event {
        let frame = text(ws);
        Event::from_json(&frame).unwrap_or_else(|e| panic!("{frame}: {e}"))
    };
    assert_eq!(next_event(&mut ws.borrow_mut()).kind(), "input_request");
    let mut runner = TestRunner::new(config());
    let result = runner.run(&json_value(), |value| {
        let mut ws = ws.borrow_mut();
        let ws = &mut *ws;
        let valid = value["type"] == "cancel"
            || (value["type"] == "input_response" && value["content"]["value"].is_string());
        if valid {
            return Ok(());
        }
        round.set(round.get() + 1);
        send(ws, &value.to_string());
        let answer = format!("ok {}", round.get());
        send(
            ws,
            &json!({"type": "input_response", "content": {"value": answer}}).to_string(),
        );
        let mut complained = false;
        loop {
            match next_event(ws) {
                Event::Error(_) => complained = true,
                Event::Print(p) if p.objects == [format!("echo {answer}")] => break,
                other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
            }
        }
        prop_assert!(complained, "no error event for {}", value);
        prop_assert_eq!(next_event(ws).kind(), "input_request");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(round.get() > 0);
}
