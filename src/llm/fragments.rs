//! Where a reply's fragments go: the output stream, each fragment made once
//! as a `stream` event that names its speaker; for a stream that asks, the
//! reply's start and end and its tool calls' argument fragments too.

use crate::Result;
use crate::io::{
    Event, EventKind, IOStream, ReasoningEvent, ReplyEndEvent, ReplyStartEvent, StreamEvent,
    ToolCallDeltaEvent, Uuid,
};
use crate::llm::ChatRequest;

/// The output stream of one reply, with who speaks in it.
pub struct Fragments<'a> {
    out: &'a dyn IOStream,
    sender: Option<&'a str>,
    recipient: Option<&'a str>,
    sent: bool,
    reasoned: bool,
    /// The reply's id, once it has started, for a stream that asked for
    /// reply starts and ends (`None` otherwise: nothing extra is made).
    protocol: Option<Protocol>,
    /// Fragments are queued ([`IOStream::queue`]), not sent: the caller
    /// flushes before it waits.
    queued: bool,
}

/// The reply's frame for streams that want it.
#[derive(Debug)]
struct Protocol {
    message_id: String,
    started: bool,
    /// The stream also takes the tool calls' argument fragments.
    deltas: bool,
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
            protocol: out.wants(EventKind::ReplyStart).then(|| Protocol {
                message_id: format!("msg_{}", Uuid::new_v4().to_string().replace('-', "")),
                started: false,
                deltas: out.wants(EventKind::ToolCallDelta),
            }),
            queued: false,
        }
    }

    /// Queues the fragments ([`IOStream::queue`]) instead of sending each:
    /// several that arrive together go out in one write. The caller must
    /// [`flush`](IOStream::flush) the stream before it waits on anything.
    pub fn queued(mut self) -> Fragments<'a> {
        self.queued = true;
        self
    }

    /// Sends or queues one fragment's event.
    fn emit(&self, event: &Event) -> Result<()> {
        if self.queued {
            self.out.queue(event)
        } else {
            self.out.send(event)
        }
    }

    /// Sends `reply_start` before the reply's first fragment of any kind.
    fn start(&mut self) -> Result<()> {
        let Some(protocol) = self.protocol.as_mut().filter(|p| !p.started) else {
            return Ok(());
        };
        protocol.started = true;
        self.out.send(&Event::ReplyStart(ReplyStartEvent {
            uuid: Uuid::new_v4(),
            message_id: protocol.message_id.clone(),
            sender: self.sender.map(str::to_owned),
            recipient: self.recipient.map(str::to_owned),
        }))
    }

    /// Sends a fragment of the arguments of call `index` (id `call_id`,
    /// tool `name`), when the stream asked for them.
    pub fn tool_call(
        &mut self,
        index: usize,
        call_id: &str,
        name: &str,
        arguments: &str,
    ) -> Result<()> {
        if !self.protocol.as_ref().is_some_and(|p| p.deltas) {
            return Ok(());
        }
        self.start()?;
        let message_id = self
            .protocol
            .as_ref()
            .map(|p| p.message_id.clone())
            .unwrap_or_default();
        self.emit(&Event::ToolCallDelta(ToolCallDeltaEvent {
            uuid: Uuid::new_v4(),
            message_id,
            index,
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            arguments: arguments.to_owned(),
            sender: self.sender.map(str::to_owned),
        }))
    }

    /// The reply is complete: `reply_end`, when it started.
    pub fn end(&mut self, finish_reason: Option<&str>) -> Result<()> {
        let Some(protocol) = self.protocol.as_ref().filter(|p| p.started) else {
            return Ok(());
        };
        let event = Event::ReplyEnd(ReplyEndEvent {
            uuid: Uuid::new_v4(),
            message_id: protocol.message_id.clone(),
            sender: self.sender.map(str::to_owned),
            finish_reason: finish_reason.map(str::to_owned),
        });
        self.protocol = None; // once
        self.out.send(&event)
    }

    /// Sends one fragment; the first also names the reply's recipient.
    pub fn send(&mut self, piece: &str) -> Result<()> {
        self.start()?;
        let recipient = if self.sent { None } else { self.recipient };
        self.emit(&Event::Stream(StreamEvent {
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
        self.start()?;
        let mut event = ReasoningEvent::new(piece);
        event.sender = self.sender.map(str::to_owned);
        self.emit(&Event::Reasoning(event))?;
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
