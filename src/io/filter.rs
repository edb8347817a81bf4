//! Output filters: which events a stream lets through, by kind and by agent,
//! as an adapter any stream can be wrapped in.

use std::fmt;
use std::sync::Arc;

use crate::io::websockets::Request;
use crate::io::websockets::handshake::percent_decode;
use crate::io::{Event, EventKind, IOStream, ToolApprovalRequestEvent, ToolApprovalResponseEvent};
use crate::{Error, Result};

/// Which events pass: a set of [`EventKind`]s and optionally a set of agents.
///
/// An [`InputRequest`](Event::InputRequest) and a
/// [`ToolApprovalRequest`](Event::ToolApprovalRequest) always pass, whatever
/// the agent rule: a chat must not wait on a question its reader never saw. An event passes the agent rule
/// when it is not attributed to any agent (see [`Event::agent`]: errors,
/// prints, usage) or its agent is one of those named.
///
/// ```
/// use agentio::io::{Event, EventKind, Filter};
///
/// let filter = Filter::all()
///     .without_kinds([EventKind::UsingAutoReply, EventKind::ExecuteFunction])
///     .agents(["chatbot"]);
/// assert!(filter.allows(&Event::text("Sunny.", "chatbot", "user_proxy")));
/// assert!(!filter.allows(&Event::text("Weather?", "user_proxy", "chatbot")));
/// assert!(Filter::none().allows(&Event::input_request("Your name? ", false)));
///
/// let from_query = Filter::from_query("events=text,stream,input_request&agents=chatbot")?;
/// assert!(!from_query.allows(&Event::error("not asked for")));
/// assert!(Filter::from_query("events=txet").is_err());
/// # Ok::<(), agentio::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Filter {
    /// Bit `k as u64` set: events of kind `k` pass.
    kinds: u64,
    agents: Option<Arc<[String]>>,
}

/// The bit of `kind` in a filter's set.
const fn bit(kind: EventKind) -> u64 {
    1 << kind as u64
}

const _: () = assert!(
    EventKind::ALL.len() <= 64,
    "a filter holds at most 64 kinds"
);

/// Requests for a human pass every filter: a chat must not wait for an
/// answer to a question nobody was shown.
const ALWAYS: u64 = bit(EventKind::InputRequest) | bit(EventKind::ToolApprovalRequest);

impl Filter {
    /// Every event passes, but the kinds sent only on request
    /// ([`EventKind::ON_REQUEST`]), which pass when named ([`kinds`](Filter::kinds)).
    pub fn all() -> Filter {
        Filter {
            kinds: !mask(EventKind::ON_REQUEST.iter().copied()),
            agents: None,
        }
    }

    /// Every event passes, the kinds sent only on request included.
    pub fn everything() -> Filter {
        Filter {
            kinds: u64::MAX,
            agents: None,
        }
    }

    /// Nothing passes but input requests: a silent chat's stream.
    pub fn none() -> Filter {
        Filter {
            kinds: ALWAYS,
            agents: None,
        }
    }

    /// Only these kinds pass (and input requests, always).
    pub fn kinds(mut self, kinds: impl IntoIterator<Item = EventKind>) -> Filter {
        self.kinds = mask(kinds) | ALWAYS;
        self
    }

    /// Every kind passes but these (input requests pass regardless).
    pub fn without_kinds(mut self, kinds: impl IntoIterator<Item = EventKind>) -> Filter {
        self.kinds &= !mask(kinds);
        self.kinds |= ALWAYS;
        self
    }

    /// Only events of these agents pass (and events of no agent).
    pub fn agents<I, S>(mut self, agents: I) -> Filter
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.agents = Some(agents.into_iter().map(Into::into).collect());
        self
    }

    /// A filter from a URL query such as
    /// `events=text,stream,input_request&agents=chatbot` (comma-separated;
    /// `events=-using_auto_reply` drops kinds instead). Absent parameters
    /// leave everything through; other parameters are ignored. An unknown
    /// kind, or a list that both keeps and drops, is an [`Error::Filter`].
    pub fn from_query(query: &str) -> Result<Filter> {
        let mut filter = Filter::all();
        for (name, value) in query.split('&').filter_map(|p| p.split_once('=')) {
            // Browsers' URLSearchParams send the commas as %2C.
            let value = percent_decode(value);
            let list = || value.split(',').map(str::trim).filter(|s| !s.is_empty());
            if list().next().is_none() {
                continue; // `?events=` says nothing: leave everything through
            }
            match percent_decode(name).as_str() {
                "events" => {
                    let dropped = list().filter(|k| k.starts_with('-')).count();
                    let parse = |k: &str| {
                        k.trim_start_matches('-')
                            .parse::<EventKind>()
                            .map_err(|e| Error::Filter(e.to_string()))
                    };
                    let kinds = list().map(parse).collect::<Result<Vec<_>>>()?;
                    filter = if dropped == 0 {
                        filter.kinds(kinds)
                    } else if dropped == kinds.len() {
                        filter.without_kinds(kinds)
                    } else {
                        return Err(Error::Filter(format!(
                            "events={value}: list kinds to keep or, each with '-', kinds to drop, not both"
                        )));
                    };
                }
                "agents" => filter = filter.agents(list()),
                _ => {}
            }
        }
        Ok(filter)
    }

    /// Whether `event` passes.
    pub fn allows(&self, event: &Event) -> bool {
        if ALWAYS & bit(event.kind()) != 0 {
            return true; // whoever it is from
        }
        self.allows_kind(event.kind()) && self.allows_agent(event)
    }

    /// Whether `event`'s agent passes (whatever its kind).
    pub(crate) fn allows_agent(&self, event: &Event) -> bool {
        match (&self.agents, event.agent()) {
            (Some(agents), Some(agent)) => agents.iter().any(|a| a == agent),
            _ => true,
        }
    }

    /// Whether events of this kind pass (before the agent rule).
    pub fn allows_kind(&self, kind: EventKind) -> bool {
        self.kinds & bit(kind) != 0
    }

    /// Whether everything passes that [`Filter::all`] lets through.
    pub fn is_all(&self) -> bool {
        self.kinds | mask(EventKind::ON_REQUEST.iter().copied()) == u64::MAX
            && self.agents.is_none()
    }
}

impl Default for Filter {
    fn default() -> Filter {
        Filter::all()
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<&str> = EventKind::ALL
            .iter()
            .filter(|k| self.allows_kind(**k))
            .map(|k| k.as_str())
            .collect();
        f.debug_struct("Filter")
            .field("kinds", &kinds)
            .field("agents", &self.agents)
            .finish()
    }
}

fn mask(kinds: impl IntoIterator<Item = EventKind>) -> u64 {
    kinds.into_iter().fold(0, |mask, kind| mask | bit(kind))
}

/// A stream that passes on only what its [`Filter`] allows; input always
/// reaches the inner stream. `print` calls count as `print` events.
///
/// ```
/// use agentio::io::{self, Event, EventKind, Filter, Filtered, IOBuffer, IOStream};
/// use std::sync::Arc;
///
/// let buffer = Arc::new(IOBuffer::new());
/// let quiet = Filtered::new(buffer.clone(), Filter::all().without_kinds([EventKind::Print]));
/// io::with_default(Arc::new(quiet), || -> agentio::Result<()> {
///     agentio::ioprintln!("not shown")?;
///     io::get_default().send(&Event::text("shown", "a", "b"))
/// })?;
/// assert_eq!(buffer.events().len(), 1);
/// # Ok::<(), agentio::Error>(())
/// ```
#[derive(Debug)]
pub struct Filtered<S> {
    inner: S,
    filter: Filter,
}

impl<S: IOStream> Filtered<S> {
    /// `inner`, letting through what `filter` allows.
    pub fn new(inner: S, filter: Filter) -> Filtered<S> {
        Filtered { inner, filter }
    }

    /// The filter.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// The inner stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner stream, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: IOStream> IOStream for Filtered<S> {
    fn print(&self, objects: &[&str], sep: &str, end: &str, flush: bool) -> Result<()> {
        if self.filter.allows_kind(EventKind::Print) {
            self.inner.print(objects, sep, end, flush)
        } else {
            Ok(())
        }
    }

    fn input(&self, prompt: &str, password: bool) -> Result<String> {
        self.inner.input(prompt, password)
    }

    fn send(&self, event: &Event) -> Result<()> {
        if self.filter.allows(event) {
            self.inner.send(event)
        } else {
            Ok(())
        }
    }

    fn queue(&self, event: &Event) -> Result<()> {
        if self.filter.allows(event) {
            self.inner.queue(event)
        } else {
            Ok(())
        }
    }

    fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    fn ask_approval(
        &self,
        requests: &[ToolApprovalRequestEvent],
    ) -> Result<Vec<ToolApprovalResponseEvent>> {
        self.inner.ask_approval(requests)
    }

    fn check(&self) -> Result<()> {
        self.inner.check()
    }

    fn wants(&self, kind: EventKind) -> bool {
        self.filter.allows_kind(kind) && self.inner.wants(kind)
    }

    fn request(&self) -> Option<&Request> {
        self.inner.request()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_keep_drop_or_say_nothing() -> Result<()> {
        let text = Event::text("hi", "chatbot", "user");
        let notice = Event::error("boom");
        assert!(Filter::from_query("")?.is_all());
        assert!(Filter::from_query("events=&agents=")?.is_all());
        assert!(Filter::from_query("format=events&x=1")?.is_all());
        let keep = Filter::from_query("events=text")?;
        assert!(keep.allows(&text) && !keep.allows(&notice));
        let drop = Filter::from_query("events=-text")?;
        assert!(!drop.allows(&text) && drop.allows(&notice));
        assert!(Filter::from_query("events=text,-error").is_err());
        let other_agent = Filter::from_query("agents=someone")?;
        assert!(!other_agent.allows(&text) && other_agent.allows(&notice));
        Ok(())
    }
}
