//! `IOConsole`: standard output and standard input.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::io::render::{TextPart, footer, header};
use crate::io::{Event, IOStream, joined};
use crate::{Error, Result};

/// The default input line limit: 1 MiB.
pub const DEFAULT_MAX_INPUT_LEN: usize = 1 << 20;

/// The console: prints to standard output, reads input from standard input.
///
/// Events are printed as AutoGen 0.2's console text, in colour only when
/// standard output is a terminal and `NO_COLOR` is unset (or empty); see
/// [`with_color`](IOConsole::with_color) to choose yourself.
///
/// A streamed reply is shown once: its header as the first token arrives,
/// the tokens, then the separator (AutoGen prints the whole message again
/// under its header once it is complete; a websocket's text mode still
/// does, for AutoGen's clients).
///
/// `input(prompt, true)` reads without echo when standard input is a terminal
/// (on Unix, through `stty`), and an empty password prompt becomes
/// `"Password: "`, as Python's `getpass` does.
#[derive(Debug, Clone)]
pub struct IOConsole {
    color: bool,
    max_input_len: usize,
    /// A streamed reply's header is on screen and its message not yet.
    reply_open: Arc<AtomicBool>,
}

impl Default for IOConsole {
    fn default() -> Self {
        IOConsole::new()
    }
}

impl IOConsole {
    /// A console that colours its output if standard output is a terminal and
    /// `NO_COLOR` is unset or empty.
    pub fn new() -> IOConsole {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        IOConsole {
            color: std::io::stdout().is_terminal() && !no_color,
            max_input_len: DEFAULT_MAX_INPUT_LEN,
            reply_open: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Turns ANSI colour on or off, whatever standard output is.
    pub fn with_color(mut self, color: bool) -> IOConsole {
        self.color = color;
        self
    }

    /// Whether events are printed with ANSI colour.
    pub fn color(&self) -> bool {
        self.color
    }

    /// Sets the longest input line accepted, in bytes (default 1 MiB); a longer
    /// line is an [`Error::InputTooLong`].
    pub fn with_max_input_len(mut self, bytes: usize) -> IOConsole {
        self.max_input_len = bytes;
        self
    }
}

impl IOStream for IOConsole {
    fn print(&self, objects: &[&str], sep: &str, end: &str, flush: bool) -> Result<()> {
        write_text(
            &mut std::io::stdout().lock(),
            &joined(objects, sep, end),
            flush,
        )
    }

    fn input(&self, prompt: &str, password: bool) -> Result<String> {
        let prompt = if password && prompt.is_empty() {
            "Password: "
        } else {
            prompt
        };
        let stdin = std::io::stdin();
        if password && stdin.is_terminal() {
            let reply = {
                // Echo goes off before the prompt shows, so nothing typed
                // after the prompt can be echoed.
                let _echo_off = EchoOff::new();
                write_text(&mut std::io::stdout().lock(), prompt, true)?;
                read_reply(&mut stdin.lock(), self.max_input_len)
            };
            // The user's Enter was not echoed either.
            write_text(&mut std::io::stdout().lock(), "\n", true)?;
            return reply;
        }
        write_text(&mut std::io::stdout().lock(), prompt, true)?;
        read_reply(&mut stdin.lock(), self.max_input_len)
    }

    fn send(&self, event: &Event) -> Result<()> {
        let mut out = std::io::stdout().lock();
        for part in console_parts(event, &self.reply_open) {
            let text = if self.color { part.ansi() } else { part.text };
            write_text(&mut out, &text, true)?;
        }
        Ok(())
    }
}

/// How the console shows `event`: as AutoGen 0.2's text, except that a
/// streamed reply is shown once (its header before the first token, the
/// separator after the last) instead of again whole.
fn console_parts(event: &Event, reply_open: &AtomicBool) -> Vec<TextPart> {
    match event {
        Event::Stream(fragment) => {
            let mut parts = Vec::with_capacity(2);
            if let (Some(sender), Some(recipient)) = (&fragment.sender, &fragment.recipient) {
                if !reply_open.swap(true, Ordering::Relaxed) {
                    parts.push(header(sender, recipient));
                }
            }
            parts.extend(event.text_parts());
            parts
        }
        Event::Text(message) if message.streamed && reply_open.swap(false, Ordering::Relaxed) => {
            // The tokens were the content: end its line, then the separator.
            vec![TextPart::plain("\n".to_owned()), footer()]
        }
        Event::ToolCall(call) if call.streamed && reply_open.swap(false, Ordering::Relaxed) => {
            // The tokens were the text: end its line, then the calls and
            // the separator, as AutoGen shows them after the header.
            let mut rest = call.clone();
            rest.content = None;
            rest.streamed = false;
            let mut parts = vec![TextPart::plain("\n".to_owned())];
            parts.extend(Event::ToolCall(rest).text_parts().into_iter().skip(1));
            parts
        }
        _ => {
            reply_open.store(false, Ordering::Relaxed);
            event.text_parts()
        }
    }
}

fn write_text(out: &mut impl Write, text: &str, flush: bool) -> Result<()> {
    out.write_all(text.as_bytes()).map_err(Error::Console)?;
    if flush {
        out.flush().map_err(Error::Console)?;
    }
    Ok(())
}

/// Reads one line, without its `\n` or `\r\n`; invalid UTF-8 is replaced,
/// never an error. End of input before any byte is [`Error::InputClosed`].
pub(crate) fn read_reply<R: BufRead>(reader: &mut R, limit: usize) -> Result<String> {
    let mut line = Vec::new();
    // One byte over the limit tells a line of exactly `limit` bytes from a longer one.
    let read = std::io::Read::take(reader, limit as u64 + 1)
        .read_until(b'\n', &mut line)
        .map_err(Error::Console)?;
    if read == 0 {
        return Err(Error::InputClosed);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    if line.len() > limit {
        return Err(Error::InputTooLong { limit });
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// Turns terminal echo off for its lifetime (Unix, via `stty`, so no `unsafe`
/// is needed); restores it when dropped, also on panic.
struct EchoOff {
    active: bool,
}

impl EchoOff {
    fn new() -> EchoOff {
        EchoOff {
            active: stty("-echo"),
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if self.active {
            stty("echo");
        }
    }
}

#[cfg(unix)]
fn stty(setting: &str) -> bool {
    std::process::Command::new("stty")
        .arg(setting)
        .stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(not(unix))]
fn stty(_setting: &str) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A streamed reply reads as the same message shown whole, printed once.
    #[test]
    fn a_streamed_reply_is_shown_once_header_tokens_separator() {
        let whole = Event::text("Sun over Paris.", "chatbot", "user_proxy");
        let mut fragments: Vec<Event> = ["Sun ", "over ", "Paris."].map(Event::stream).into();
        for (i, fragment) in fragments.iter_mut().enumerate() {
            if let Event::Stream(f) = fragment {
                f.sender = Some("chatbot".into());
                f.recipient = (i == 0).then(|| "user_proxy".into());
            }
        }
        let mut streamed = whole.clone();
        if let Event::Text(t) = &mut streamed {
            t.streamed = true;
        }
        let open = AtomicBool::new(false);
        let shown: String = fragments
            .iter()
            .chain([&streamed, &Event::error("next")])
            .flat_map(|e| console_parts(e, &open))
            .map(|p| p.text)
            .collect();
        assert_eq!(shown, format!("{whole}{}", Event::error("next")));
        // Fragments that say nothing of their reply (a stream of your own)
        // and a streamed message with no header shown print as AutoGen does.
        let bare = Event::stream("x");
        let plain: String = [&bare, &streamed]
            .into_iter()
            .flat_map(|e| console_parts(e, &open))
            .map(|p| p.text)
            .collect();
        assert_eq!(plain, format!("{bare}{streamed}"));
    }
    use std::io::Cursor;

    #[test]
    fn replies_lose_their_line_ending_only() {
        let mut input = Cursor::new(b"first\nsecond\r\n  third  \nlast".to_vec());
        let replies: Vec<String> = (0..4)
            .map(|_| read_reply(&mut input, 100))
            .collect::<Result<_>>()
            .unwrap_or_default();
        assert_eq!(replies, ["first", "second", "  third  ", "last"]);
        assert!(matches!(
            read_reply(&mut input, 100),
            Err(Error::InputClosed)
        ));
    }

    #[test]
    fn an_empty_line_is_an_empty_reply_not_the_end() {
        let mut input = Cursor::new(b"\n".to_vec());
        assert_eq!(read_reply(&mut input, 10).ok().as_deref(), Some(""));
        assert!(matches!(
            read_reply(&mut input, 10),
            Err(Error::InputClosed)
        ));
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut input = Cursor::new(b"caf\xe9\n".to_vec());
        assert_eq!(
            read_reply(&mut input, 10).ok().as_deref(),
            Some("caf\u{fffd}")
        );
    }

    #[test]
    fn lines_over_the_limit_are_refused() {
        let mut exact = Cursor::new(b"12345\n".to_vec());
        assert_eq!(read_reply(&mut exact, 5).ok().as_deref(), Some("12345"));
        let mut long = Cursor::new(b"123456\n".to_vec());
        assert!(matches!(
            read_reply(&mut long, 5),
            Err(Error::InputTooLong { limit: 5 })
        ));
    }

    #[test]
    fn colour_can_be_forced_either_way() {
        assert!(IOConsole::new().with_color(true).color());
        assert!(!IOConsole::new().with_color(false).color());
    }
}
