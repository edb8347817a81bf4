//! `IOBuffer`: an in-memory stream for tests and embedding.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use crate::io::{Event, IOStream, joined, send_as_text};
use crate::{Error, Result};

/// An in-memory stream: keeps everything printed and every event sent, and
/// answers `input` from a queue of scripted replies.
///
/// Printed text is kept per `print` call ([`chunks`](IOBuffer::chunks)), the
/// way a text-mode websocket client would receive it in frames; events are kept
/// as they were sent ([`events`](IOBuffer::events)) and also printed as text.
/// An input prompt is recorded and printed as the console would show it.
/// When the replies run out, `input` returns [`Error::InputClosed`], as the
/// console does at end of file.
///
/// ```
/// use agentio::io::{IOBuffer, IOStream};
///
/// let buffer = IOBuffer::new().with_inputs(["yes"]);
/// buffer.print(&["Hello,", "World!"], " ", "\n", false)?;
/// assert_eq!(buffer.input("May I? ", false)?, "yes");
/// assert_eq!(buffer.text(), "Hello, World!\nMay I? ");
/// assert_eq!(buffer.prompts(), ["May I? "]);
/// assert!(buffer.input("Again? ", false).is_err());
/// # Ok::<(), agentio::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct IOBuffer {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    chunks: Vec<String>,
    events: Vec<Event>,
    inputs: VecDeque<String>,
    prompts: Vec<String>,
}

impl IOBuffer {
    /// An empty buffer with no scripted replies.
    pub fn new() -> IOBuffer {
        IOBuffer::default()
    }

    /// Adds scripted replies for `input`, answered in order.
    pub fn with_inputs<I, S>(self, replies: I) -> IOBuffer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.lock()
            .inputs
            .extend(replies.into_iter().map(Into::into));
        self
    }

    /// Queues one more scripted reply.
    pub fn push_input(&self, reply: impl Into<String>) {
        self.lock().inputs.push_back(reply.into());
    }

    /// Everything printed so far, as one string.
    pub fn text(&self) -> String {
        self.lock().chunks.concat()
    }

    /// Everything printed so far, one string per `print` call.
    pub fn chunks(&self) -> Vec<String> {
        self.lock().chunks.clone()
    }

    /// Every event sent so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// Every prompt `input` was called with, in order.
    pub fn prompts(&self) -> Vec<String> {
        self.lock().prompts.clone()
    }

    /// Removes and returns everything printed so far.
    pub fn take_text(&self) -> String {
        std::mem::take(&mut self.lock().chunks).concat()
    }

    /// Forgets all output, events and prompts (scripted replies stay).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.chunks.clear();
        state.events.clear();
        state.prompts.clear();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update below is a single push or pop, so a panic elsewhere
        // cannot leave the state half-changed: a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl IOStream for IOBuffer {
    fn print(&self, objects: &[&str], sep: &str, end: &str, _flush: bool) -> Result<()> {
        let text = joined(objects, sep, end);
        self.lock().chunks.push(text);
        Ok(())
    }

    fn input(&self, prompt: &str, _password: bool) -> Result<String> {
        let mut state = self.lock();
        state.prompts.push(prompt.to_owned());
        if !prompt.is_empty() {
            state.chunks.push(prompt.to_owned());
        }
        state.inputs.pop_front().ok_or(Error::InputClosed)
    }

    fn send(&self, event: &Event) -> Result<()> {
        self.lock().events.push(event.clone());
        send_as_text(self, event)
    }
}
