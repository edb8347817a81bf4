//! A transcript stream: one event per line, the JSON of events mode.

use std::fmt;
use std::io::Write;
use std::sync::Mutex;

use crate::io::{Event, IOStream};
use crate::{Error, Result};

/// Writes every event as one line of JSON (the same JSON a websocket client
/// gets in events mode), `print` calls as `print` events; each line is
/// flushed as it is written. It is not an input source: `input` fails with
/// [`Error::InputClosed`], so use it as a [`Tee`](crate::io::Tee)'s
/// secondary, or for chats that never ask.
///
/// ```
/// use agentio::io::{Event, EventKind, IOStream, JsonLines};
///
/// let transcript = JsonLines::new(Vec::new());
/// transcript.send(&Event::text("Sunny.", "chatbot", "user_proxy"))?;
/// transcript.print(&["done"], " ", "\n", false)?;
/// let text = String::from_utf8(transcript.into_inner()).unwrap();
/// let kinds: Vec<EventKind> = text
///     .lines()
///     .map(|line| Event::from_json(line).map(|e| e.kind()))
///     .collect::<agentio::Result<_>>()?;
/// assert_eq!(kinds, [EventKind::Text, EventKind::Print]);
/// # Ok::<(), agentio::Error>(())
/// ```
pub struct JsonLines<W> {
    out: Mutex<W>,
}

impl<W: Write + Send> JsonLines<W> {
    /// A transcript written to `out` (a file, a socket, a `Vec<u8>`).
    pub fn new(out: W) -> JsonLines<W> {
        JsonLines {
            out: Mutex::new(out),
        }
    }

    /// The writer, unwrapped.
    pub fn into_inner(self) -> W {
        self.out.into_inner().unwrap_or_else(|p| p.into_inner())
    }

    fn line(&self, event: &Event) -> Result<()> {
        let mut line = event.to_json();
        line.push('\n');
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.write_all(line.as_bytes())?;
        out.flush()?;
        Ok(())
    }
}

impl<W> fmt::Debug for JsonLines<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonLines").finish_non_exhaustive()
    }
}

impl<W: Write + Send> IOStream for JsonLines<W> {
    fn print(&self, objects: &[&str], sep: &str, end: &str, _flush: bool) -> Result<()> {
        self.line(&Event::print(objects.iter().copied(), sep, end))
    }

    fn input(&self, _prompt: &str, _password: bool) -> Result<String> {
        Err(Error::InputClosed)
    }

    fn send(&self, event: &Event) -> Result<()> {
        self.line(event)
    }
}
