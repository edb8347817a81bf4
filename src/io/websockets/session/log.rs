//! A session's frames, numbered from 1, the most recent kept for a resume.

use tungstenite::Utf8Bytes;

use crate::io::websockets::text_log::TextLog;

/// The frames a session sent, numbered from 1; the newest kept up to a byte
/// budget (the oldest are evicted first; the newest is always kept).
#[derive(Debug)]
pub(crate) struct FrameLog {
    /// Number of the next frame.
    next: u64,
    /// The kept frames, oldest first: the last `kept.len()` numbers.
    kept: TextLog,
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
            kept: TextLog::default(),
            max_bytes,
        }
    }

    /// Adds the next frame (a copy of it); returns its number.
    pub fn push(&mut self, frame: &str) -> u64 {
        let number = self.next;
        self.next += 1;
        self.kept.push(frame);
        while self.kept.bytes() > self.max_bytes && self.kept.len() > 1 {
            self.kept.pop_front();
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
        let first_kept = self.next - self.kept.len() as u64;
        let missed = first_kept.saturating_sub(after + 1);
        let skip = (after + 1).saturating_sub(first_kept) as usize;
        let frames = self
            .kept
            .iter_from(skip)
            .map(|f| Utf8Bytes::from(f.to_owned()))
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
            log.push(f);
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
