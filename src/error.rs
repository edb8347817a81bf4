//! The crate's one error type.

use std::fmt;

/// Everything that can go wrong in agentio.
///
/// Each message says what happened and, where there is one, what to do about it.
/// The underlying cause, when there is one, is kept and returned by
/// [`source`](std::error::Error::source).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading from or writing to the console failed.
    Console(std::io::Error),
    /// Other I/O failed: a file or writer behind a stream (a
    /// [`JsonLines`](crate::io::JsonLines) transcript, your own stream).
    Io(std::io::Error),
    /// The stream has no more input: standard input reached end of file, or an
    /// in-memory stream ran out of scripted replies.
    InputClosed,
    /// An input line was longer than the stream accepts.
    InputTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// JSON could not be read or written.
    Json(serde_json::Error),
    /// The model API answered with an error (an HTTP error status, or an
    /// error object inside a streamed 200 response, then `status` is 200).
    Api(Box<ApiError>),
    /// The model server could not be reached or the exchange failed
    /// (connection refused, TLS, timeout before the response).
    Http(Box<ureq::Error>),
    /// Reading the model's response failed midway (reset, read timeout).
    ResponseRead(std::io::Error),
    /// The model server sent something that is not the OpenAI wire format.
    Protocol(String),
    /// A configuration (a config list, a file, an environment variable) is invalid.
    Config(String),
    /// An event filter (a `?events=` or `?agents=` query, or a list of kinds)
    /// is invalid: an unknown kind, or kinds both kept and dropped.
    Filter(String),
    /// The model's reply broke off after part of it reached the stream; the
    /// cause is inside. Never retried: the user would see the reply twice.
    Interrupted(Box<Error>),
    /// Every configured model failed; one error per attempt, in order.
    AllAttemptsFailed(Vec<Error>),
    /// The server could not serve on the listener it was given (its
    /// address, its mode) or start its accept thread.
    Listen(std::io::Error),
    /// The server could not listen on its address.
    Bind {
        /// The address asked for.
        addr: String,
        /// Why the OS refused.
        source: std::io::Error,
    },
    /// The websocket client has gone (closed, reset, or stopped responding).
    ConnectionClosed,
    /// A [`run`](crate::agentchat::run)'s events are no longer read: its
    /// `RunResponse` was dropped.
    RunDropped,
    /// A [`run`](crate::agentchat::run)'s chat has ended: no input request
    /// is waiting for an answer.
    ChatEnded,
    /// The websocket client cancelled the work (`{"type": "cancel"}`).
    Cancelled,
    /// The run ended to wait for a human (an AG-UI interrupt, an AI SDK
    /// approval request): the chat stops here, and the frontend's next
    /// request, carrying the answer, continues it.
    AwaitingHuman,
    /// The model's reply was cut by its token limit (`finish_reason`
    /// `"length"`) while it was calling these tools: their arguments are
    /// incomplete, so nothing was run and the chat stops.
    TokenLimit(String),
    /// The client did not answer an input request in time.
    InputTimeout(std::time::Duration),
    /// A write to the client waited longer than the write timeout: it stopped
    /// reading (or its network did). The connection is closed.
    WriteTimeout(std::time::Duration),
    /// The server is shutting down.
    ServerStopping,
    /// The websocket protocol failed (the cause is tungstenite's error).
    WebSocket(Box<dyn std::error::Error + Send + Sync>),
    /// A thread agentio ran panicked (the string names it).
    Panicked(String),
}

/// What a model API's error response said ([`Error::Api`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status (200 for an error inside a streamed response).
    pub status: u16,
    /// The server's message (from its `error.message`, else the body).
    pub message: String,
    /// The server's `error.code` (`"insufficient_quota"`, …), if any.
    pub code: Option<String>,
    /// How long the server asked to wait before retrying, if it said.
    pub retry_after: Option<std::time::Duration>,
    /// The server's `x-should-retry` verdict, if it gave one.
    pub should_retry: Option<bool>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

/// `Result` with agentio's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Console(e) => write!(
                f,
                "console I/O failed: {e} (is standard output or input closed or redirected to a full device?)"
            ),
            Error::Io(e) => write!(f, "I/O failed: {e}"),
            Error::InputClosed => f.write_str(
                "no more input: the input stream is at its end (end of file, or no scripted reply left); \
                 end the conversation or give the stream more input",
            ),
            Error::InputTooLong { limit } => write!(
                f,
                "input line longer than {limit} bytes; send a shorter line or raise the stream's input limit"
            ),
            Error::Json(e) => write!(f, "invalid JSON: {e}"),
            Error::Api(api) => {
                write!(f, "the model API answered {}: {}", api.status, api.message)?;
                if let Some(code) = &api.code {
                    write!(f, " (code {code})")?;
                }
                Ok(())
            }
            Error::Http(e) => write!(
                f,
                "cannot reach the model server: {e} (check base_url, the network and the timeouts)"
            ),
            Error::ResponseRead(e) => write!(f, "reading the model's response failed: {e}"),
            Error::Protocol(what) => write!(f, "the model server broke the protocol: {what}"),
            Error::Config(what) => write!(f, "invalid model configuration: {what}"),
            Error::Filter(what) => write!(f, "invalid event filter: {what}"),
            Error::Interrupted(cause) => write!(
                f,
                "the model's reply broke off after part of it was shown: {cause}"
            ),
            Error::Listen(e) => write!(f, "the server cannot serve on its listener: {e}"),
            Error::Bind { addr, source } => write!(
                f,
                "cannot listen on {addr}: {source} (is another server using the port? use port 0 for any free one)"
            ),
            Error::ConnectionClosed => f.write_str("the websocket client has gone; stop the work for it"),
            Error::RunDropped => f.write_str(
                "the run's events are no longer read (its RunResponse was dropped); the chat stops",
            ),
            Error::ChatEnded => f.write_str("the chat has ended: there is no input request to answer"),
            Error::Cancelled => f.write_str("the websocket client cancelled the work"),
            Error::AwaitingHuman => f.write_str(
                "the run ended to wait for a human's answer; the frontend's next request continues it",
            ),
            Error::TokenLimit(tools) => write!(
                f,
                "the model's reply was cut by its token limit (finish_reason \"length\") in the \
                 middle of a call of {tools}; nothing was run. Raise max_tokens in the llm config, \
                 or the server's own limit (llama-server: -n / --n-predict)"
            ),
            Error::InputTimeout(t) => write!(
                f,
                "no input from the client within {t:?}; raise ServerConfig::input_timeout to wait longer"
            ),
            Error::WriteTimeout(t) => write!(
                f,
                "the websocket client read nothing for {t:?} while output waited; it was dropped \
                 (ServerConfig::write_timeout)"
            ),
            Error::ServerStopping => f.write_str("the server is shutting down"),
            Error::WebSocket(e) => write!(f, "websocket error: {e}"),
            Error::Panicked(what) => write!(f, "{what} panicked (a bug: please report it)"),
            Error::AllAttemptsFailed(errors) => {
                write!(f, "every configured model failed ({} attempts)", errors.len())?;
                for (i, e) in errors.iter().enumerate() {
                    write!(f, "; {}: {e}", i + 1)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Console(e) | Error::Io(e) | Error::Listen(e) => Some(e),
            Error::Json(e) => Some(e),
            Error::Http(e) => Some(e.as_ref()),
            Error::ResponseRead(e) => Some(e),
            Error::AllAttemptsFailed(errors) => errors
                .last()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            Error::Bind { source, .. } => Some(source),
            Error::Interrupted(cause) => Some(cause.as_ref()),
            Error::WebSocket(e) => Some(e.as_ref()),
            Error::Api(api) => Some(api.as_ref()),
            Error::InputClosed
            | Error::ConnectionClosed
            | Error::Cancelled
            | Error::AwaitingHuman
            | Error::InputTimeout(_)
            | Error::WriteTimeout(_)
            | Error::ServerStopping
            | Error::Panicked(_)
            | Error::InputTooLong { .. }
            | Error::TokenLimit(_)
            | Error::RunDropped
            | Error::ChatEnded
            | Error::Protocol(_)
            | Error::Config(_)
            | Error::Filter(_) => None,
        }
    }
}

impl Error {
    /// Whether the error came from the model side (so another try or another
    /// endpoint may help), not from the user's stream.
    pub(crate) fn is_model_error(&self) -> bool {
        matches!(
            self,
            Error::Api(_) | Error::Http(_) | Error::ResponseRead(_) | Error::Protocol(_)
        )
    }

    /// An error object (`{"message", "type", "code"}`) found inside a 200 stream.
    pub(crate) fn api_in_stream(error: &serde_json::Value) -> Error {
        let message = error
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| error.to_string());
        Error::Api(Box::new(ApiError {
            status: 200,
            message,
            code: error.get("code").and_then(code_text),
            retry_after: None,
            should_retry: None,
        }))
    }
}

/// The message a panic carried (`panic!("…")`), for reporting it to a peer.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// An error `code`, a string or (llama.cpp) an integer.
pub(crate) fn code_text(code: &serde_json::Value) -> Option<String> {
    match code {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Other I/O, for `?` in streams over files and writers; the console and
/// the server say which context failed ([`Error::Console`], [`Error::Listen`]).
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_errors_keep_their_cause_and_say_what_failed() {
        let err = Error::Console(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "pipe gone",
        ));
        assert!(err.to_string().starts_with("console I/O failed: pipe gone"));
        let source = err.source().map(|s| s.to_string());
        assert_eq!(source.as_deref(), Some("pipe gone"));
    }

    /// Every `Result` in the crate carries an `Error`: keep it small, as
    /// ureq does, by boxing the big variants.
    #[test]
    fn error_is_small() {
        assert!(
            std::mem::size_of::<Error>() <= 40,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn contexts_are_named_in_the_message() {
        let io = || std::io::Error::other("boom");
        assert!(Error::Listen(io()).to_string().contains("listener"));
        assert!(!Error::Listen(io()).to_string().contains("console"));
        assert!(!Error::Io(io()).to_string().contains("console"));
        assert!(!Error::RunDropped.to_string().contains("websocket"));
        assert!(!Error::ChatEnded.to_string().contains("websocket"));
        let filter = Error::Filter("unknown event kind \"x\"".into()).to_string();
        assert!(filter.starts_with("invalid event filter") && !filter.contains("model"));
    }

    #[test]
    fn json_errors_keep_their_cause() {
        let Err(json) = serde_json::from_str::<serde_json::Value>("{") else {
            panic!("'{{' parsed as JSON");
        };
        let err = Error::from(json);
        assert!(err.to_string().starts_with("invalid JSON: "));
        assert!(err.source().is_some());
        assert!(Error::InputClosed.source().is_none());
    }
}
