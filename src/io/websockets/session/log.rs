//! A session's frames, numbered from 1, the most recent kept for a resume.

use std::collections::VecDeque;

use tungstenite::Utf8Bytes;

/// The frames a session sent, numbered from 1; the newest kept up to a byte
/// budget (the oldest are evicted first; the newest is always kept).
#[derive(Debug)]
pub(crate) struct FrameLog {
    /// Number of the next frame.
    next: u64,
    /// (number, frame), oldest first.
    kept: VecDeque<(u64, Utf8Bytes)>,
    bytes: usize,
    max_bytes: usize,
}

/// What a client that has the first `after` frames still needs.
#[derive(Debug, PartialEq)]
pub(crate) struct Backlog {
    /// Frames it needs that were evicted: it cannot have them.
    pub missed: u64,
    /// The kept frames after `after`, in order.
    pub frames: Vec<Utf8Bytes>,
}

impl FrameLog {
    /// An empty log keeping at most `max_bytes` of frames.
    pub fn new(max_bytes: usize) -> FrameLog {
        FrameLog {
            next: 1,
            kept: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    /// Adds the next frame; returns its number.
    pub fn push(&mut self, frame: Utf8Bytes) -> u64 {
        let number = self.next;
        self.next += 1;
        self.bytes += frame.len();
        self.kept.push_back((number, frame));
        while self.bytes > self.max_bytes && self.kept.len() > 1 {
            if let Some((_, old)) = self.kept.pop_front() {
                self.bytes -= old.len();
            }
        }
        number
    }

    /// How many frames were sent.
    pub fn sent(&self) -> u64 {
        self.next - 1
    }

    /// What a client holding frames 1..=`after` needs, or `None` when
    /// `after` is beyond what was sent (it claims frames that never were).
    pub fn after(&self, after: u64) -> Option<Backlog> {
        if after > self.sent() {
            return None;
        }
        let first_kept = self.kept.front().map_or(self.next, |(n, _)| *n);
        let missed = first_kept.saturating_sub(after + 1);
        let frames = self
            .kept
            .iter()
            .filter(|(n, _)| *n > after)
            .map(|(_, f)| f.clone())
            .collect();
        Some(Backlog { missed, frames })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(frames: &[&str], max_bytes: usize) -> FrameLog {
        let mut log = FrameLog::new(max_bytes);
        for f in frames {
            log.push(Utf8Bytes::from(f.to_string()));
        }
        log
    }

    fn texts(backlog: &Backlog) -> Vec<&str> {
        backlog.frames.iter().map(|f| f.as_str()).collect()
    }

    #[test]
    fn frames_after_n_are_what_was_sent_after_n() {
        let log = log_of(&["a", "b", "c"], 100);
        assert_eq!(log.sent(), 3);
        let all = log.after(0).unwrap_or_else(|| panic!("after 0"));
        assert_eq!((all.missed, texts(&all)), (0, vec!["a", "b", "c"]));
        let rest = log.after(2).unwrap_or_else(|| panic!("after 2"));
        assert_eq!((rest.missed, texts(&rest)), (0, vec!["c"]));
        let none = log.after(3).unwrap_or_else(|| panic!("after 3"));
        assert_eq!((none.missed, texts(&none)), (0, vec![]));
        assert_eq!(log.after(4), None, "frames that never were");
    }

    #[test]
    fn the_oldest_are_evicted_past_the_budget_and_counted_as_missed() {
        // 3 bytes each, 7 bytes kept: the last two frames.
        let log = log_of(&["aaa", "bbb", "ccc", "ddd"], 7);
        let from_start = log.after(0).unwrap_or_else(|| panic!("after 0"));
        assert_eq!(
            (from_start.missed, texts(&from_start)),
            (2, vec!["ccc", "ddd"])
        );
        let from_one = log.after(1).unwrap_or_else(|| panic!("after 1"));
        assert_eq!(from_one.missed, 1);
        let from_two = log.after(2).unwrap_or_else(|| panic!("after 2"));
        assert_eq!((from_two.missed, texts(&from_two)), (0, vec!["ccc", "ddd"]));
    }

    #[test]
    fn a_frame_bigger_than_the_budget_is_still_kept() {
        let log = log_of(&["a", "a frame larger than the budget"], 4);
        let backlog = log.after(1).unwrap_or_else(|| panic!("after 1"));
        assert_eq!(texts(&backlog), vec!["a frame larger than the budget"]);
    }
}
