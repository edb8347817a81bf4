//! The `IOStream` trait: where an agent's output goes and its input comes from.

use crate::Result;
use crate::io::websockets::Request;
use crate::io::{
    Event, EventKind, ToolApprovalRequestEvent, ToolApprovalResponseEvent, ask_approval_as_text,
};

/// A place agent output goes to and human input comes from: the console, a
/// websocket client, an in-memory buffer, or your own.
///
/// This is AutoGen's `IOStream` protocol. Implement [`print`](IOStream::print) and
/// [`input`](IOStream::input); [`send`](IOStream::send) has a default that renders
/// an [`Event`] as AutoGen 0.2's console text and prints it, one `print` call per
/// line group AutoGen prints. Override `send` when your stream wants the structure
/// of events (a UI, a JSON log) rather than their text.
///
/// Output is fallible: a stream whose reader has gone returns an error, and
/// callers propagate it, so a chat stops instead of spending tokens for nobody.
///
/// Streams are shared between threads (`Send + Sync`), so methods take `&self`;
/// use interior mutability for state.
///
/// ```
/// use agentio::io::{IOStream, joined};
/// use std::sync::Mutex;
///
/// /// A stream that upper-cases everything and never has input.
/// struct Shout(Mutex<String>);
///
/// impl IOStream for Shout {
///     fn print(&self, objects: &[&str], sep: &str, end: &str, _flush: bool) -> agentio::Result<()> {
///         let text = joined(objects, sep, end);
///         self.0.lock().unwrap().push_str(&text.to_uppercase());
///         Ok(())
///     }
///     fn input(&self, _prompt: &str, _password: bool) -> agentio::Result<String> {
///         Err(agentio::Error::InputClosed)
///     }
/// }
///
/// let shout = Shout(Mutex::new(String::new()));
/// shout.print(&["hello", "world"], " ", "!\n", false)?;
/// assert_eq!(*shout.0.lock().unwrap(), "HELLO WORLD!\n");
/// # Ok::<(), agentio::Error>(())
/// ```
pub trait IOStream: Send + Sync {
    /// Prints `objects` joined by `sep`, followed by `end`, as Python's
    /// `print(*objects, sep=sep, end=end, flush=flush)` does.
    ///
    /// `flush` asks that the text reach its reader now (streamed tokens set it).
    fn print(&self, objects: &[&str], sep: &str, end: &str, flush: bool) -> Result<()>;

    /// Shows `prompt` and returns the next line of input, without its line ending.
    ///
    /// With `password`, the reply is not echoed where the stream can prevent it.
    /// Returns [`Error::InputClosed`](crate::Error::InputClosed) when there is no
    /// more input.
    fn input(&self, prompt: &str, password: bool) -> Result<String>;

    /// Sends a structured event.
    ///
    /// The default renders the event as AutoGen 0.2's console text (see
    /// [`Event::text_parts`]) and prints each part with an empty `sep` and `end`;
    /// a [`Print`](Event::Print) event is printed with its own `objects`, `sep`
    /// and `end`.
    fn send(&self, event: &Event) -> Result<()> {
        send_as_text(self, event)
    }

    /// Sends `event` when the stream likes: it may wait in the stream's
    /// buffer until the next [`send`](IOStream::send), `print`, `input` or
    /// [`flush`](IOStream::flush), so that fragments arriving together go
    /// out together (one write for several tokens). Whoever queues calls
    /// `flush` before it waits on anything; the model client does before
    /// each read from the network. The default sends at once.
    fn queue(&self, event: &Event) -> Result<()> {
        self.send(event)
    }

    /// Sends what [`queue`](IOStream::queue) left waiting. The default has
    /// nothing waiting.
    fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// Asks a human to approve tool calls, one request per call, and
    /// returns one answer per request, in the requests' order (a stream
    /// may take them in any order).
    ///
    /// The default asks in text, one prompt at a time, through
    /// [`input`](IOStream::input) (see [`ask_approval_as_text`]). Streams
    /// with structure send the requests as
    /// [`ToolApprovalRequest`](Event::ToolApprovalRequest) events.
    fn ask_approval(
        &self,
        requests: &[ToolApprovalRequestEvent],
    ) -> Result<Vec<ToolApprovalResponseEvent>> {
        ask_approval_as_text(self, requests)
    }

    /// Fails as the next output would when the work for this stream must
    /// stop: its reader has gone for good or asked to cancel. A chat calls
    /// it while a tool runs, so the tool learns that its work is not wanted
    /// any more. The default never fails.
    fn check(&self) -> Result<()> {
        Ok(())
    }

    /// Whether the stream takes events of `kind`: producers skip making
    /// events nobody reads. The default takes every kind but those sent
    /// only on request ([`EventKind::ON_REQUEST`]: reply starts and ends,
    /// tool-call argument fragments); a stream that encodes a frontend
    /// protocol says yes to them.
    fn wants(&self, kind: EventKind) -> bool {
        !kind.is_on_request()
    }

    /// The request that opened this stream's connection (path, query,
    /// headers, client address), for tools that need what the client sent
    /// (see [`ToolContext`](crate::agentchat::ToolContext)); `None` for
    /// streams without one.
    fn request(&self) -> Option<&Request> {
        None
    }
}

/// The default [`IOStream::send`]: prints `event` as AutoGen 0.2's console text,
/// one `print` per [`TextPart`](crate::io::TextPart), or a [`Print`](Event::Print)
/// event with its own `objects`, `sep` and `end`.
///
/// Call it from your own `send` for the events you do not handle yourself.
pub fn send_as_text<S: IOStream + ?Sized>(stream: &S, event: &Event) -> Result<()> {
    if let Event::Print(p) = event {
        let objects: Vec<&str> = p.objects.iter().map(String::as_str).collect();
        return stream.print(&objects, &p.sep, &p.end, true);
    }
    for part in event.text_parts() {
        stream.print(&[&part.text], "", "", true)?;
    }
    Ok(())
}

/// Joins `objects` with `sep` and appends `end`: the text one Python `print`
/// call writes.
///
/// ```
/// assert_eq!(agentio::io::joined(&["a", "b"], ", ", "\n"), "a, b\n");
/// assert_eq!(agentio::io::joined(&[], " ", "\n"), "\n");
/// ```
pub fn joined(objects: &[&str], sep: &str, end: &str) -> String {
    let len = objects.iter().map(|o| o.len()).sum::<usize>()
        + sep.len() * objects.len().saturating_sub(1)
        + end.len();
    let mut text = String::with_capacity(len);
    for (i, object) in objects.iter().enumerate() {
        if i > 0 {
            text.push_str(sep);
        }
        text.push_str(object);
    }
    text.push_str(end);
    text
}

/// A stream behind a pointer is that stream: every method forwards.
macro_rules! forward_stream {
    ($($pointer:ident)::+) => {
        impl<S: IOStream + ?Sized> IOStream for $($pointer)::+<S> {
            fn print(&self, objects: &[&str], sep: &str, end: &str, flush: bool) -> Result<()> {
                (**self).print(objects, sep, end, flush)
            }
            fn input(&self, prompt: &str, password: bool) -> Result<String> {
                (**self).input(prompt, password)
            }
            fn send(&self, event: &Event) -> Result<()> {
                (**self).send(event)
            }
            fn queue(&self, event: &Event) -> Result<()> {
                (**self).queue(event)
            }
            fn flush(&self) -> Result<()> {
                (**self).flush()
            }
            fn ask_approval(
                &self,
                requests: &[ToolApprovalRequestEvent],
            ) -> Result<Vec<ToolApprovalResponseEvent>> {
                (**self).ask_approval(requests)
            }
            fn check(&self) -> Result<()> {
                (**self).check()
            }
            fn wants(&self, kind: EventKind) -> bool {
                (**self).wants(kind)
            }
            fn request(&self) -> Option<&Request> {
                (**self).request()
            }
        }
    };
}

forward_stream!(std::sync::Arc);
forward_stream!(Box);

#[cfg(test)]
mod tests {
    use super::joined;

    #[test]
    fn joined_follows_python_print() {
        assert_eq!(joined(&["Hello,", "World!"], " ", "\n"), "Hello, World!\n");
        assert_eq!(joined(&["a", "b", "c"], "", ""), "abc");
        assert_eq!(joined(&[""], " ", ""), "");
        assert_eq!(joined(&["x"], "--", "END"), "xEND");
    }
}
