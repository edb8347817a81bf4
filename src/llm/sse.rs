//! A lenient server-sent-events reader: `\n`, `\r\n` or `\r` line endings,
//! comments, multi-line `data`, named events, size limits.

use std::io::Read;

use crate::{Error, Result};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, empty when absent.
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

/// Reads [`SseEvent`]s from a byte stream, one at a time.
///
/// Bytes are taken in as they arrive, so each event is returned as soon as its
/// blank line is read. Invalid UTF-8 is replaced, never an error; an event
/// bigger than the limit is an error.
#[derive(Debug)]
pub struct SseReader<R> {
    source: R,
    /// Read bytes in `buf[start..end]`; the rest is room for the next read,
    /// zeroed once, when the buffer grows (not before every read).
    buf: Vec<u8>,
    /// Where unparsed bytes start in `buf`.
    start: usize,
    /// Where they end.
    end: usize,
    /// A `\r` ended the last line: a `\n` right after it is part of that ending.
    after_cr: bool,
    eof: bool,
    max_event_bytes: usize,
    event: SseEvent,
    has_data: bool,
    event_bytes: usize,
}

impl<R: Read> SseReader<R> {
    /// A reader that refuses events larger than `max_event_bytes`.
    pub fn new(source: R, max_event_bytes: usize) -> SseReader<R> {
        SseReader {
            source,
            buf: Vec::new(),
            start: 0,
            end: 0,
            after_cr: false,
            eof: false,
            max_event_bytes,
            event: SseEvent::default(),
            has_data: false,
            event_bytes: 0,
        }
    }

    /// The next event, or `None` at the end of the stream.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>> {
        self.next_event_with(&mut || Ok(()))
    }

    /// [`next_event`](Self::next_event), calling `before_read` each time
    /// the reader must read from its source, which may wait: what was held
    /// back for more of the events in hand can go out first.
    pub fn next_event_with(
        &mut self,
        before_read: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Option<SseEvent>> {
        loop {
            let Some(line) = self.next_line(before_read)? else {
                // A last event without its blank line still counts.
                return Ok(self.has_data.then(|| self.take_event()));
            };
            if line.is_empty() {
                if self.has_data {
                    return Ok(Some(self.take_event()));
                }
                self.event = SseEvent::default();
                self.event_bytes = 0;
                continue;
            }
            self.event_bytes += line.len();
            if self.event_bytes > self.max_event_bytes {
                return Err(Error::Protocol(format!(
                    "a server-sent event is larger than {} bytes",
                    self.max_event_bytes
                )));
            }
            let (field, value) = match line.find(':') {
                Some(0) => continue, // a comment, e.g. a keep-alive
                Some(i) => {
                    let value = &line[i + 1..];
                    (&line[..i], value.strip_prefix(' ').unwrap_or(value))
                }
                None => (line.as_str(), ""),
            };
            match field {
                "data" => {
                    if self.has_data {
                        self.event.data.push('\n');
                    }
                    self.event.data.push_str(value);
                    self.has_data = true;
                }
                "event" => self.event.event = value.to_owned(),
                _ => {} // id, retry and unknown fields do not matter here
            }
        }
    }

    fn take_event(&mut self) -> SseEvent {
        self.has_data = false;
        self.event_bytes = 0;
        std::mem::take(&mut self.event)
    }

    /// The next line without its ending, or `None` at end of stream.
    fn next_line(&mut self, before_read: &mut dyn FnMut() -> Result<()>) -> Result<Option<String>> {
        loop {
            let pending = &self.buf[self.start..self.end];
            if self.after_cr && !pending.is_empty() {
                self.after_cr = false;
                if pending[0] == b'\n' {
                    self.start += 1;
                    continue;
                }
            }
            if let Some(end) = line_end(pending) {
                let line = text(&pending[..end]);
                self.after_cr = pending[end] == b'\r';
                self.start += end + 1;
                return Ok(Some(line));
            }
            if self.eof {
                if pending.is_empty() {
                    return Ok(None);
                }
                let line = text(pending);
                self.start = self.end;
                return Ok(Some(line));
            }
            if pending.len() > self.max_event_bytes {
                return Err(Error::Protocol(format!(
                    "a server-sent event line is longer than {} bytes",
                    self.max_event_bytes
                )));
            }
            before_read()?;
            self.fill()?;
        }
    }

    /// Reads the rest of the source, at most `max_bytes`, and drops it;
    /// whether the source ended. An HTTP client reuses only a response read
    /// to its end: stopping at the last event would cost a new connection
    /// (and a TLS session) for the next request.
    pub fn drain(mut self, max_bytes: usize) -> bool {
        let mut left = max_bytes;
        while !self.eof {
            // `fill` reads into the buffer it already has, past what is
            // unparsed; dropped bytes count once.
            self.start = self.end;
            if self.fill().is_err() {
                return false;
            }
            let read = self.end - self.start;
            if read > left {
                return false;
            }
            left -= read;
        }
        true
    }

    fn fill(&mut self) -> Result<()> {
        const READ: usize = 8 * 1024;
        if self.buf.len() - self.end < READ {
            // Move the pending bytes to the front; grow only for a line
            // longer than what is left.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() - self.end < READ {
                self.buf.resize(self.end + READ, 0);
            }
        }
        let read = loop {
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::ResponseRead(e)),
            }
        };
        self.end += read;
        self.eof = read == 0;
        Ok(())
    }
}

/// Where the first `\n` or `\r` of `bytes` is: eight bytes at a time (a
/// word holds one when one of its bytes, XORed with the sought byte, is
/// zero), the rest one by one.
fn line_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const LF: u64 = u64::from_ne_bytes([b'\n'; 8]);
    const CR: u64 = u64::from_ne_bytes([b'\r'; 8]);
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS != 0;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in words.by_ref() {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let w = u64::from_ne_bytes(eight);
        if has_zero(w ^ LF) || has_zero(w ^ CR) {
            break;
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|i| at + i)
}

/// A line's text: checked as UTF-8 in one pass (the common case), with
/// broken sequences replaced only when there are some.
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_are_found_wherever_they_are() {
        for len in 0..40 {
            for at in 0..len {
                for end in [b'\n', b'\r'] {
                    let mut bytes = vec![b'x'; len];
                    bytes[at] = end;
                    if at + 1 < len {
                        bytes[at + 1] = b'\n';
                    }
                    assert_eq!(line_end(&bytes), Some(at), "{len} {at}");
                }
            }
            assert_eq!(
                line_end(&vec![0x8a; len]),
                None,
                "high bytes are no line end"
            );
            assert_eq!(line_end(&vec![b'x'; len]), None);
        }
    }

    /// Reads everything, feeding the reader `step` bytes at a time.
    fn events(bytes: &[u8], step: usize) -> Vec<SseEvent> {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.1.min(self.0.len()).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut reader = SseReader::new(Trickle(bytes, step), 1 << 20);
        let mut all = Vec::new();
        while let Ok(Some(event)) = reader.next_event() {
            all.push(event);
        }
        all
    }

    fn data(text: &str) -> SseEvent {
        SseEvent {
            event: String::new(),
            data: text.to_owned(),
        }
    }

    #[test]
    fn every_line_ending_and_any_split_give_the_same_events() {
        let expected = vec![data("one"), data("two\nlines"), data("[DONE]")];
        for ending in ["\n", "\r\n", "\r"] {
            let text = format!(
                ": keep-alive{e}data: one{e}{e}data: two{e}data:lines{e}{e}data: [DONE]{e}{e}",
                e = ending
            );
            for step in [1, 2, 3, 7, 64, 8192] {
                assert_eq!(
                    events(text.as_bytes(), step),
                    expected,
                    "{ending:?} step {step}"
                );
            }
        }
    }

    #[test]
    fn named_events_and_a_last_event_without_blank_line() {
        let got = events(b"event: error\ndata: {\"error\":1}\n\ndata: tail", 5);
        assert_eq!(
            got,
            vec![
                SseEvent {
                    event: "error".into(),
                    data: "{\"error\":1}".into()
                },
                data("tail")
            ]
        );
    }

    #[test]
    fn utf8_split_across_reads_survives() {
        let text = "data: caf\u{e9} \u{1f600}\n\n";
        for step in 1..6 {
            assert_eq!(
                events(text.as_bytes(), step),
                vec![data("caf\u{e9} \u{1f600}")]
            );
        }
    }

    #[test]
    fn oversized_events_are_an_error() {
        let big = format!("data: {}\n\n", "x".repeat(100));
        let mut reader = SseReader::new(big.as_bytes(), 50);
        assert!(matches!(reader.next_event(), Err(Error::Protocol(_))));
        let long = "y".repeat(100);
        let mut no_newline = SseReader::new(long.as_bytes(), 50);
        assert!(matches!(no_newline.next_event(), Err(Error::Protocol(_))));
    }

    #[test]
    fn drain_reads_to_the_end_or_gives_up_past_its_bound() {
        let body = format!("data: a\n\ndata: [DONE]\n\n{}", "z".repeat(20_000));
        let read = |max: usize| {
            let mut events = SseReader::new(body.as_bytes(), 1 << 20);
            let mut datas = Vec::new();
            while let Ok(Some(event)) = events.next_event() {
                let done = event.data == "[DONE]";
                datas.push(event.data);
                if done {
                    break;
                }
            }
            (datas, events.drain(max))
        };
        let (datas, ended) = read(1 << 20);
        assert_eq!(datas, ["a", "[DONE]"]);
        assert!(ended, "20 kB after [DONE] are read to the end");
        assert!(!read(1000).1, "past the bound it stops");
        let mut nothing_after = SseReader::new(&b"data: [DONE]\n\n"[..], 64);
        assert!(matches!(nothing_after.next_event(), Ok(Some(e)) if e.data == "[DONE]"));
        assert!(
            nothing_after.drain(0),
            "nothing after [DONE]: the end, within 0 bytes"
        );
    }
}
