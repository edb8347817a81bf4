//! Texts kept in order in one buffer: a session's frames for a resume, an
//! AI SDK reply's chunks. One allocation that grows, not one per text: a
//! frame costs its bytes and an offset, and the short-lived strings that
//! carried it free whole, not between kept ones.

use std::collections::VecDeque;

/// Texts in order, the oldest droppable first.
#[derive(Debug, Default)]
pub(crate) struct TextLog {
    /// The kept texts, back to back, after `dead` bytes already dropped.
    buf: String,
    /// Where each kept text ends in `buf`, oldest first.
    ends: VecDeque<usize>,
    /// Bytes at the start of `buf` that belong to dropped texts.
    dead: usize,
}

impl TextLog {
    /// Keeps `text` after the others.
    pub fn push(&mut self, text: &str) {
        self.buf.push_str(text);
        self.ends.push_back(self.buf.len());
    }

    /// How many texts are kept.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of the kept texts.
    pub fn bytes(&self) -> usize {
        self.buf.len() - self.dead
    }

    /// The `i`-th kept text, oldest first.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = match i {
            0 => self.dead,
            _ => self.ends[i - 1],
        };
        self.buf.get(start..end)
    }

    /// The kept texts from the `from`-th on, oldest first.
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = &str> {
        (from..self.len()).filter_map(|i| self.get(i))
    }

    /// Drops the oldest text; returns its length.
    pub fn pop_front(&mut self) -> Option<usize> {
        let end = self.ends.pop_front()?;
        let len = end - self.dead;
        self.dead = end;
        // Move the live bytes down once the dead ones are the larger part:
        // each byte moves at most once per halving, so pushes stay O(1).
        if self.dead > self.buf.len() / 2 {
            self.buf.drain(..self.dead);
            for end in &mut self.ends {
                *end -= self.dead;
            }
            self.dead = 0;
        }
        Some(len)
    }

    /// Drops every text and the buffer's memory.
    pub fn clear(&mut self) {
        *self = TextLog::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(log: &TextLog) -> Vec<&str> {
        log.iter_from(0).collect()
    }

    #[test]
    fn texts_come_back_in_order_and_whole() {
        let mut log = TextLog::default();
        for text in ["a", "", "bcd", "é ü"] {
            log.push(text);
        }
        assert_eq!(texts(&log), ["a", "", "bcd", "é ü"]);
        assert_eq!((log.len(), log.bytes()), (4, 1 + 3 + "é ü".len()));
        assert_eq!(log.get(2), Some("bcd"));
        assert_eq!(log.get(4), None);
        assert_eq!(log.iter_from(3).collect::<Vec<_>>(), ["é ü"]);
        assert_eq!(log.iter_from(9).count(), 0);
    }

    #[test]
    fn dropping_the_oldest_keeps_the_rest_through_compaction() {
        let mut log = TextLog::default();
        let mut kept = VecDeque::new();
        // Push and drop in a pattern that compacts many times.
        for i in 0..500 {
            let text = format!("frame {i} {}", "x".repeat(i % 7));
            log.push(&text);
            kept.push_back(text);
            if i % 3 != 0 {
                let len = log.pop_front();
                assert_eq!(len, kept.pop_front().map(|t| t.len()));
            }
            assert_eq!(log.len(), kept.len());
            assert_eq!(log.bytes(), kept.iter().map(String::len).sum::<usize>());
        }
        assert_eq!(
            texts(&log),
            kept.iter().map(String::as_str).collect::<Vec<_>>()
        );
        // The buffer holds little more than what is kept.
        assert!(log.buf.len() <= 2 * log.bytes() + 16, "{}", log.buf.len());
    }

    #[test]
    fn an_emptied_log_takes_texts_again() {
        let mut log = TextLog::default();
        log.push("a");
        assert_eq!(log.pop_front(), Some(1));
        assert_eq!(log.pop_front(), None);
        log.push("b");
        assert_eq!(texts(&log), ["b"]);
        log.clear();
        assert_eq!((log.len(), log.bytes()), (0, 0));
        log.push("c");
        assert_eq!(texts(&log), ["c"]);
    }
}
