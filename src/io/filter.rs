//! Output filters: which events a stream lets through, by kind and by agent,
//! as an adapter any stream can be wrapped in.

use std::fmt;
use std::sync::Arc;

use crate::io::websockets::handshake::percent_decode;
use crate::io::{Event, IOStream};
use crate::{Error, Result};

/// Which events pass: a set of kinds (AG2's `type` names, see
/// [`Event::KINDS`]) and optionally a set of agents.
///
/// An [`InputRequest`](Event::InputRequest) always passes: a chat must not
/// wait on a question its reader never saw. An event passes the agent rule
/// when it is not attributed to any agent (see [`Event::agent`]: errors,
/// prints, usage) or its agent is one of those named.
///
/// ```
/// use agentio::io::{Event, Filter};
///
/// let filter = Filter::all().without_kinds(["using_auto_reply", "execute_function"])?
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
    /// Bit i set: `Event::KINDS[i]` passes.
    kinds: u32,
    agents: Option<Arc<[String]>>,
}

impl Filter {
    /// Every event passes.
    pub fn all() -> Filter {
        Filter {
            kinds: u32::MAX,
            agents: None,
        }
    }

    /// Nothing passes but input requests: a silent chat's stream.
    pub fn none() -> Filter {
        Filter {
            kinds: 0,
            agents: None,
        }
    }

    /// Only these kinds pass (and `input_request`, always). An unknown kind
    /// is an [`Error::Config`] naming it.
    pub fn kinds<I, S>(mut self, kinds: I) -> Result<Filter>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.kinds = mask(kinds)?;
        Ok(self)
    }

    /// Every kind passes but these (`input_request` passes regardless).
    pub fn without_kinds<I, S>(mut self, kinds: I) -> Result<Filter>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.kinds &= !mask(kinds)?;
        Ok(self)
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
    /// leave everything through; other parameters are ignored.
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
                    let dropped: Vec<&str> = list().filter_map(|k| k.strip_prefix('-')).collect();
                    filter = if dropped.is_empty() {
                        filter.kinds(list())?
                    } else if dropped.len() == list().count() {
                        filter.without_kinds(dropped)?
                    } else {
                        return Err(Error::Config(format!(
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
        // Every websocket event passes here: skip the kind lookup when
        // nothing is filtered, the usual case.
        if self.is_all() || matches!(event, Event::InputRequest(_)) {
            return true;
        }
        self.allows_kind(event.kind())
            && match (&self.agents, event.agent()) {
                (Some(agents), Some(agent)) => agents.iter().any(|a| a == agent),
                _ => true,
            }
    }

    /// Whether events of this kind pass (before the agent rule).
    pub fn allows_kind(&self, kind: &str) -> bool {
        kind == "input_request"
            || Event::KINDS
                .iter()
                .position(|k| *k == kind)
                .is_some_and(|i| self.kinds & (1 << i) != 0)
    }

    /// Whether everything passes.
    pub fn is_all(&self) -> bool {
        self.kinds == u32::MAX && self.agents.is_none()
    }
}

impl Default for Filter {
    fn default() -> Filter {
        Filter::all()
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<&str> = Event::KINDS
            .iter()
            .copied()
            .filter(|k| self.allows_kind(k))
            .collect();
        f.debug_struct("Filter")
            .field("kinds", &kinds)
            .field("agents", &self.agents)
            .finish()
    }
}

fn mask<I, S>(kinds: I) -> Result<u32>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut mask = 0;
    for kind in kinds {
        let kind = kind.as_ref();
        let Some(i) = Event::KINDS.iter().position(|k| *k == kind) else {
            return Err(Error::Config(format!(
                "unknown event kind {kind:?}; the kinds are {}",
                Event::KINDS.join(", ")
            )));
        };
        mask |= 1 << i;
    }
    Ok(mask)
}

/// A stream that passes on only what its [`Filter`] allows; input always
/// reaches the inner stream. `print` calls count as `print` events.
///
/// ```
/// use agentio::io::{self, Event, Filter, Filtered, IOBuffer, IOStream};
/// use std::sync::Arc;
///
/// let buffer = Arc::new(IOBuffer::new());
/// let quiet = Filtered::new(buffer.clone(), Filter::all().without_kinds(["print"])?);
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
        if self.filter.allows_kind("print") {
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
