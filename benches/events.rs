//! criterion micro-benchmarks of the hot paths: event JSON serialisation and
//! text rendering (events/s), SSE parsing and chunk assembly of a streamed
//! reply, tool-call assembly (chunks/s). Run with `cargo bench --bench events`;
//! criterion prints each rate as "thrpt" in elements per second.

// criterion_group! defines a public function it cannot document.
#![allow(missing_docs)]

use std::hint::black_box;

use agentio::io::{Event, IOBuffer};
use agentio::llm::{ChatRequest, Message};
use agentio::unversioned::{ChunkAssembler, SseReader, ToolCallAssembler};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

/// The notebook's streamed poem: 200 one-word `stream` events.
fn words() -> Vec<Event> {
    (0..200)
        .map(|i| Event::stream(format!("word{i} ")))
        .collect()
}

fn events(c: &mut Criterion) {
    let words = words();
    let texts: Vec<Event> = (0..20)
        .map(|_| Event::text("Check out the weather in Paris.", "user_proxy", "chatbot"))
        .collect();
    let mut group = c.benchmark_group("events");
    group.throughput(Throughput::Elements(words.len() as u64));
    group.bench_function("stream -> json", |b| {
        b.iter(|| {
            words
                .iter()
                .map(|e| black_box(e).to_json().len())
                .sum::<usize>()
        })
    });
    group.bench_function("stream -> text parts", |b| {
        b.iter(|| {
            words
                .iter()
                .flat_map(|e| black_box(e).text_parts())
                .map(|p| p.text.len())
                .sum::<usize>()
        })
    });
    let json: Vec<String> = words.iter().map(Event::to_json).collect();
    group.bench_function("json -> stream", |b| {
        b.iter(|| {
            json.iter()
                .filter(|j| Event::from_json(black_box(j)).is_ok())
                .count()
        })
    });
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("text -> json", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|e| black_box(e).to_json().len())
                .sum::<usize>()
        })
    });
    group.bench_function("text -> console text", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|e| black_box(e).to_string().len())
                .sum::<usize>()
        })
    });
    group.finish();
}

/// A 200-word streamed reply as an OpenAI server sends it, `[DONE]` included.
fn sse_body() -> Vec<u8> {
    let mut sse = Vec::new();
    for i in 0..200 {
        let chunk = json!({"object": "chat.completion.chunk", "model": "m",
            "choices": [{"index": 0, "delta": {"content": format!("word{i} ")}, "finish_reason": null}]});
        sse.extend_from_slice(format!("data: {chunk}\n\n").as_bytes());
    }
    sse.extend_from_slice(b"data: [DONE]\n\n");
    sse
}

fn streaming(c: &mut Criterion) {
    let sse = sse_body();
    let parsed: Vec<Value> = {
        let mut reader = SseReader::new(&sse[..], 1 << 20);
        let mut all = Vec::new();
        while let Ok(Some(event)) = reader.next_event() {
            if let Ok(value) = serde_json::from_str(&event.data) {
                all.push(value);
            }
        }
        all
    };
    assert_eq!(parsed.len(), 200, "every chunk but [DONE] is JSON");

    let mut group = c.benchmark_group("streaming");
    group.throughput(Throughput::Elements(201));
    group.bench_function("sse -> events", |b| {
        b.iter(|| {
            let mut reader = SseReader::new(black_box(&sse[..]), 1 << 20);
            let mut n = 0;
            while let Ok(Some(event)) = reader.next_event() {
                black_box(&event);
                n += 1;
            }
            n
        })
    });
    group.throughput(Throughput::Elements(parsed.len() as u64));
    let sink = IOBuffer::new();
    let request = ChatRequest::new(vec![Message::user("a poem")])
        .stream(true)
        .speaker("chatbot", "user_proxy");
    group.bench_function("chunk json -> stream event", |b| {
        b.iter(|| {
            let mut assembler = ChunkAssembler::streaming(&request, &sink);
            for chunk in &parsed {
                let _ = assembler.push(black_box(chunk));
            }
            sink.clear();
            assembler.finish()
        })
    });
    group.bench_function("sse bytes -> stream event", |b| {
        b.iter(|| {
            let mut reader = SseReader::new(black_box(&sse[..]), 1 << 20);
            let mut assembler = ChunkAssembler::streaming(&request, &sink);
            while let Ok(Some(event)) = reader.next_event() {
                if let Ok(chunk) = serde_json::from_str::<Value>(&event.data) {
                    let _ = assembler.push(&chunk);
                }
            }
            sink.clear();
            assembler.finish()
        })
    });

    // Five calls, each in twenty fragments.
    let fragments: Vec<Value> = (0..100)
        .map(|i| if i % 20 == 0 {
            json!({"index": i / 20, "id": format!("call_{i}"), "type": "function", "function": {"name": "weather", "arguments": ""}})
        } else {
            json!({"index": i / 20, "function": {"arguments": "{\\\"c\\\""}})
        })
        .collect();
    group.throughput(Throughput::Elements(fragments.len() as u64));
    group.bench_function("tool-call fragments", |b| {
        b.iter(|| {
            let mut assembler = ToolCallAssembler::new();
            for fragment in &fragments {
                assembler.push(black_box(fragment));
            }
            assembler.finish()
        })
    });
    group.finish();
}

criterion_group!(benches, events, streaming);
criterion_main!(benches);
