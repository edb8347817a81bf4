//! Tee: one chat written to several streams at once.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::io::websockets::Request;
use crate::io::{Event, EventKind, IOStream, ToolApprovalRequestEvent, ToolApprovalResponseEvent};
use crate::{Error, Result};

/// Writes everything to a primary stream and to any number of secondary
/// ones (a transcript file, a log, a second screen).
///
/// The primary decides: its errors end the chat, and it answers input. A
/// secondary that fails is set aside with its error (see
/// [`errors`](Tee::errors)) and the chat goes on without it. Secondaries see
/// input as events: an [`InputRequest`](Event::InputRequest) with the prompt
/// and an [`InputResponse`](Event::InputResponse) with the answer (empty for
/// a password, which is never copied).
///
/// ```
/// use agentio::io::{self, IOBuffer, Tee};
/// use std::sync::Arc;
///
/// let (screen, transcript) = (Arc::new(IOBuffer::new()), Arc::new(IOBuffer::new()));
/// let tee = Tee::new(screen.clone()).with(transcript.clone());
/// io::with_default(Arc::new(tee), || agentio::ioprintln!("to both"))?;
/// assert_eq!(screen.text(), "to both\n");
/// assert_eq!(transcript.text(), "to both\n");
/// # Ok::<(), agentio::Error>(())
/// ```
pub struct Tee {
    primary: Arc<dyn IOStream>,
    secondaries: Vec<Secondary>,
}

struct Secondary {
    stream: Arc<dyn IOStream>,
    /// Set at its first failure; it gets nothing after that.
    error: Mutex<Option<Error>>,
}

impl Tee {
    /// A tee whose primary stream is `primary`.
    pub fn new(primary: Arc<dyn IOStream>) -> Tee {
        Tee {
            primary,
            secondaries: Vec::new(),
        }
    }

    /// Adds a secondary stream.
    pub fn with(mut self, secondary: Arc<dyn IOStream>) -> Tee {
        self.secondaries.push(Secondary {
            stream: secondary,
            error: Mutex::new(None),
        });
        self
    }

    /// The error of each secondary that failed, by its position (0 = the
    /// first added), as text.
    pub fn errors(&self) -> Vec<(usize, String)> {
        self.secondaries
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.error_slot().as_ref().map(|e| (i, e.to_string())))
            .collect()
    }

    /// Runs `write` on every secondary still working; a failure sets it aside.
    fn each(&self, write: impl Fn(&dyn IOStream) -> Result<()>) {
        for secondary in &self.secondaries {
            let mut slot = secondary.error_slot();
            if slot.is_none() {
                if let Err(e) = write(&*secondary.stream) {
                    *slot = Some(e);
                }
            }
        }
    }
}

impl Secondary {
    fn error_slot(&self) -> std::sync::MutexGuard<'_, Option<Error>> {
        self.error.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for Tee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tee")
            .field("secondaries", &self.secondaries.len())
            .field("errors", &self.errors())
            .finish()
    }
}

impl IOStream for Tee {
    fn print(&self, objects: &[&str], sep: &str, end: &str, flush: bool) -> Result<()> {
        self.primary.print(objects, sep, end, flush)?;
        self.each(|s| s.print(objects, sep, end, flush));
        Ok(())
    }

    fn input(&self, prompt: &str, password: bool) -> Result<String> {
        self.each(|s| s.send(&Event::input_request(prompt, password)));
        let answer = self.primary.input(prompt, password)?;
        let copied = if password { "" } else { answer.as_str() };
        self.each(|s| s.send(&Event::input_response(copied)));
        Ok(answer)
    }

    fn send(&self, event: &Event) -> Result<()> {
        self.primary.send(event)?;
        self.each(|s| s.send(event));
        Ok(())
    }

    fn queue(&self, event: &Event) -> Result<()> {
        self.primary.queue(event)?;
        self.each(|s| s.queue(event));
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.primary.flush()?;
        self.each(|s| s.flush());
        Ok(())
    }

    /// The primary stream decides; the others see the requests and the
    /// answers as events.
    fn ask_approval(
        &self,
        requests: &[ToolApprovalRequestEvent],
    ) -> Result<Vec<ToolApprovalResponseEvent>> {
        for request in requests {
            self.each(|s| s.send(&Event::ToolApprovalRequest(request.clone())));
        }
        let answers = self.primary.ask_approval(requests)?;
        for answer in &answers {
            self.each(|s| s.send(&Event::ToolApprovalResponse(answer.clone())));
        }
        Ok(answers)
    }

    fn check(&self) -> Result<()> {
        self.primary.check()
    }

    fn wants(&self, kind: EventKind) -> bool {
        self.primary.wants(kind) || self.secondaries.iter().any(|s| s.stream.wants(kind))
    }

    fn request(&self) -> Option<&Request> {
        self.primary.request()
    }
}
