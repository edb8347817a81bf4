//! What a running tool may know that its model never does: the client's
//! request, whether the work is still wanted, and a way to report progress.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::Result;
use crate::io::websockets::Request;
use crate::io::{Event, IOStream, ToolProgressEvent};

/// What a tool sees besides its arguments (see
/// [`Tool::function_with_context`](crate::agentchat::Tool::function_with_context)):
/// the request that opened the client's connection (its headers, query and
/// address; a user's credentials, say), the session, a cancellation check
/// and a way to report progress through the chat's stream.
///
/// None of it reaches the model unless the tool puts it in its result.
///
/// ```
/// use agentio::agentchat::{Tool, ToolContext};
/// use serde_json::Value;
///
/// let tool = Tool::new("whoami", "The signed-in user").function_with_context(
///     |_: Value, context: &ToolContext| match context.header("authorization") {
///         Some(_) => Ok("signed in".to_owned()),
///         None => Err("not signed in"),
///     },
/// );
/// assert_eq!(tool.call("{}").content, "Error: not signed in");
/// ```
pub struct ToolContext {
    call_id: String,
    name: String,
    agent: String,
    request: Option<Request>,
    cancelled: AtomicBool,
    stream: Option<Arc<dyn IOStream>>,
}

impl fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolContext")
            .field("call_id", &self.call_id)
            .field("name", &self.name)
            .field("agent", &self.agent)
            .field("request", &self.request)
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl ToolContext {
    /// The context of call `call_id` of tool `name`, run by `agent` for a
    /// chat on `stream`.
    pub(crate) fn new(
        call_id: &str,
        name: &str,
        agent: &str,
        stream: Arc<dyn IOStream>,
    ) -> ToolContext {
        ToolContext {
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            agent: agent.to_owned(),
            request: stream.request().cloned(),
            cancelled: AtomicBool::new(false),
            stream: Some(stream),
        }
    }

    /// A context with no connection behind it, for a tool called directly
    /// ([`Tool::call`](crate::agentchat::Tool::call)).
    pub fn detached(name: &str) -> ToolContext {
        ToolContext {
            call_id: String::new(),
            name: name.to_owned(),
            agent: String::new(),
            request: None,
            cancelled: AtomicBool::new(false),
            stream: None,
        }
    }

    /// The model's id for this call.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The tool's name.
    pub fn tool_name(&self) -> &str {
        &self.name
    }

    /// The agent running the tool.
    pub fn agent(&self) -> &str {
        &self.agent
    }

    /// The request that opened the client's connection, when the chat's
    /// stream has one (a websocket's handshake).
    pub fn request(&self) -> Option<&Request> {
        self.request.as_ref()
    }

    /// A header of that request, by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request.as_ref()?.header(name)
    }

    /// A query parameter of that request, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.request.as_ref()?.query_param(name)
    }

    /// The client's address, as the server sees it (behind a trusted proxy,
    /// the one it forwards).
    pub fn client_addr(&self) -> Option<IpAddr> {
        self.request.as_ref()?.client_addr()
    }

    /// The session the client named (`?session=ID`), if any.
    pub fn session_id(&self) -> Option<String> {
        self.query_param("session")
    }

    /// Whether the work is no longer wanted: the chat was cancelled, its
    /// client left for good, the server is stopping, or the tool ran past
    /// its time limit. A long tool checks it and returns early.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Tells the tool to stop.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// Reports progress: a `tool_progress` event on the chat's stream (in
    /// text, `[name] message`). Fails, as the chat's output would, when its
    /// client has gone; does nothing for a detached context.
    pub fn progress(&self, message: impl Into<String>) -> Result<()> {
        match &self.stream {
            Some(stream) => stream.send(&Event::ToolProgress(ToolProgressEvent::new(
                &self.call_id,
                &self.name,
                message,
                &self.agent,
            ))),
            None => Ok(()),
        }
    }
}
