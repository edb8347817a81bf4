//! Hot paths per second: event JSON serialisation and console-text
//! rendering, SSE parsing and chunk assembly of a streamed reply, tool-call
//! assembly. Run with `cargo bench --bench events`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use agentio::io::{Event, IOBuffer};
use agentio::llm::{ChunkAssembler, SseReader, ToolCallAssembler};
use serde_json::json;

fn rate(name: &str, events: &[Event], f: impl Fn(&Event) -> usize) {
    let mut done = 0u64;
    let mut bytes = 0usize;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(500) {
        for event in events {
            bytes += f(black_box(event));
        }
        done += events.len() as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:<24} {:>12.0} events/s {:>8.1} MB/s",
        done as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}

fn main() {
    let words: Vec<Event> = (0..200)
        .map(|i| Event::stream(format!("word{i} ")))
        .collect();
    let texts: Vec<Event> = (0..20)
        .map(|_| Event::text("Check out the weather in Paris.", "user_proxy", "chatbot"))
        .collect();
    rate("stream -> json", &words, |e| e.to_json().len());
    rate("stream -> text parts", &words, |e| {
        e.text_parts().iter().map(|p| p.text.len()).sum()
    });
    rate("text -> json", &texts, |e| e.to_json().len());
    rate("text -> console text", &texts, |e| e.to_string().len());
    let json: Vec<String> = words.iter().map(Event::to_json).collect();
    let parsed: Vec<Event> = json
        .iter()
        .filter_map(|j| Event::from_json(j).ok())
        .collect();
    assert_eq!(parsed.len(), words.len());
    rate("json -> event (+ to_json)", &words, |e| {
        let json = e.to_json();
        Event::from_json(&json).map_or(0, |_| json.len())
    });

    // A 200-word streamed reply as an OpenAI server sends it.
    let mut sse = Vec::new();
    for i in 0..200 {
        let chunk = json!({"object": "chat.completion.chunk", "model": "m",
            "choices": [{"index": 0, "delta": {"content": format!("word{i} ")}, "finish_reason": null}]});
        sse.extend_from_slice(format!("data: {chunk}\n\n").as_bytes());
    }
    sse.extend_from_slice(b"data: [DONE]\n\n");
    let start = Instant::now();
    let mut chunks = 0u64;
    while start.elapsed() < Duration::from_millis(500) {
        let mut reader = SseReader::new(black_box(&sse[..]), 1 << 20);
        while let Ok(Some(event)) = reader.next_event() {
            black_box(&event);
            chunks += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{:<24} {:>12.0} chunks/s {:>8.1} MB/s",
        "sse -> events",
        chunks as f64 / secs,
        (sse.len() as f64 * chunks as f64 / 201.0) / secs / 1e6
    );

    let parsed: Vec<serde_json::Value> = {
        let mut reader = SseReader::new(&sse[..], 1 << 20);
        let mut all = Vec::new();
        while let Ok(Some(event)) = reader.next_event() {
            if let Ok(value) = serde_json::from_str(&event.data) {
                all.push(value);
            }
        }
        all
    };
    let sink = IOBuffer::new();
    let start = Instant::now();
    let mut chunks = 0u64;
    while start.elapsed() < Duration::from_millis(500) {
        let mut assembler = ChunkAssembler::new();
        for chunk in &parsed {
            let _ = assembler.push(black_box(chunk), Some(&sink));
        }
        black_box(assembler.finish());
        sink.clear();
        chunks += parsed.len() as u64;
    }
    println!(
        "{:<24} {:>12.0} chunks/s",
        "chunk json -> stream",
        chunks as f64 / start.elapsed().as_secs_f64()
    );

    let fragments: Vec<serde_json::Value> = (0..100)
        .map(|i| if i % 20 == 0 {
            json!({"index": i / 20, "id": format!("call_{i}"), "type": "function", "function": {"name": "weather", "arguments": ""}})
        } else {
            json!({"index": i / 20, "function": {"arguments": "{\\\"c\\\""}})
        })
        .collect();
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < Duration::from_millis(500) {
        let mut assembler = ToolCallAssembler::new();
        for fragment in &fragments {
            assembler.push(black_box(fragment));
        }
        black_box(assembler.finish());
        done += fragments.len() as u64;
    }
    println!(
        "{:<24} {:>12.0} fragments/s",
        "tool-call assembly",
        done as f64 / start.elapsed().as_secs_f64()
    );
}
