//! The stream alone, no agents: redirect output for a scope, keep it in child
//! threads, and see events as console text and as JSON.
//!
//! Run with `cargo run --example stream_basics`.

use std::sync::Arc;

use agentio::io::{self, Event, IOBuffer, IOStream};

fn main() -> agentio::Result<()> {
    agentio::ioprintln!("1. This line goes to the console (the global default).")?;

    // Redirect everything this thread prints into a buffer, for one scope.
    let buffer = Arc::new(IOBuffer::new());
    {
        let _guard = io::set_default(buffer.clone());
        agentio::ioprintln!("captured line")?;
        // A thread started with io::spawn keeps the redirection.
        io::spawn(|| agentio::ioprintln!("captured from a child thread"))
            .join()
            .unwrap_or(Ok(()))?;
        io::get_default().send(&Event::text("Hi there", "user_proxy", "chatbot"))?;
    }
    agentio::ioprintln!("2. Back on the console; the buffer holds:")?;
    for chunk in buffer.chunks() {
        agentio::ioprintln!("   {chunk:?}")?;
    }

    // The same event as a websocket client in events mode would receive it.
    let event = Event::stream("Beneath ");
    agentio::ioprintln!("3. As JSON: {}", event.to_json())?;
    Ok(())
}
