//! Events per second: JSON serialisation and console-text rendering of the
//! notebook chat's events. Run with `cargo bench --bench events`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use agentio::io::Event;

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
}
