//! Where a reply's fragments go: the output stream, each fragment made once
//! as a `stream` event that names its speaker.

use crate::Result;
use crate::io::{Event, IOStream, ReasoningEvent, StreamEvent, Uuid};
use crate::llm::ChatRequest;

/// The output stream of one reply, with who speaks in it.
pub struct Fragments<'a> {
    out: &'a dyn IOStream,
    sender: Option<&'a str>,
    recipient: Option<&'a str>,
    sent: bool,
    reasoned: bool,
}

impl<'a> Fragments<'a> {
    /// Fragments of the reply to `request`, sent to `out`.
    pub fn new(request: &'a ChatRequest, out: &'a dyn IOStream) -> Fragments<'a> {
        Fragments {
            out,
            sender: request.sender.as_deref(),
            recipient: request.recipient.as_deref(),
            sent: false,
            reasoned: false,
        }
    }

    /// Sends one fragment; the first also names the reply's recipient.
    pub fn send(&mut self, piece: &str) -> Result<()> {
        let recipient = if self.sent { None } else { self.recipient };
        self.out.send(&Event::Stream(StreamEvent {
            uuid: Uuid::new_v4(),
            content: piece.to_owned(),
            sender: self.sender.map(str::to_owned),
            recipient: recipient.map(str::to_owned),
        }))?;
        self.sent = true;
        Ok(())
    }

    /// Sends one fragment of the model's reasoning, as a `reasoning` event.
    pub fn reasoning(&mut self, piece: &str) -> Result<()> {
        let mut event = ReasoningEvent::new(piece);
        event.sender = self.sender.map(str::to_owned);
        self.out.send(&Event::Reasoning(event))?;
        self.reasoned = true;
        Ok(())
    }

    /// Whether a fragment of the reply's content has gone out.
    pub fn sent(&self) -> bool {
        self.sent
    }

    /// Whether anything has gone out, content or reasoning: from then on
    /// the request must not be retried, or the user would see it twice.
    pub fn shown(&self) -> bool {
        self.sent || self.reasoned
    }

    /// Whether reasoning fragments have gone out.
    pub fn reasoned(&self) -> bool {
        self.reasoned
    }
}

impl std::fmt::Debug for Fragments<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fragments")
            .field("sender", &self.sender)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}
