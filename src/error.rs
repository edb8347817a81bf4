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
    /// Reading from or writing to the console (or another OS stream) failed.
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
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's message (from its `error.message`, else the body).
        message: String,
        /// The server's `error.code` (`"insufficient_quota"`, …), if any.
        code: Option<String>,
        /// How long the server asked to wait before retrying, if it said.
        retry_after: Option<std::time::Duration>,
        /// The server's `x-should-retry` verdict, if it gave one.
        should_retry: Option<bool>,
    },
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
    /// The server could not listen on its address.
    Bind {
        /// The address asked for.
        addr: String,
        /// Why the OS refused.
        source: std::io::Error,
    },
    /// The websocket client has gone (closed, reset, or stopped responding).
    ConnectionClosed,
    /// The websocket client cancelled the work (`{"type": "cancel"}`).
    Cancelled,
    /// The client did not answer an input request in time.
    InputTimeout(std::time::Duration),
    /// A write to the client waited longer than the write timeout: it stopped
    /// reading (or its network did). The connection is closed.
    WriteTimeout(std::time::Duration),
    /// The server is shutting down.
    ServerStopping,
    /// The websocket protocol failed.
    WebSocket(Box<tungstenite::Error>),
    /// A thread agentio ran panicked (the string names it).
    Panicked(String),
}

/// `Result` with agentio's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(
                f,
                "console I/O failed: {e} (is standard output or input closed or redirected to a full device?)"
            ),
            Error::InputClosed => f.write_str(
                "no more input: the input stream is at its end (end of file, or no scripted reply left); \
                 end the conversation or give the stream more input",
            ),
            Error::InputTooLong { limit } => write!(
                f,
                "input line longer than {limit} bytes; send a shorter line or raise the stream's input limit"
            ),
            Error::Json(e) => write!(f, "invalid JSON: {e}"),
            Error::Api {
                status,
                message,
                code,
                ..
            } => {
                write!(f, "the model API answered {status}: {message}")?;
                if let Some(code) = code {
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
            Error::Bind { addr, source } => write!(
                f,
                "cannot listen on {addr}: {source} (is another server using the port? use port 0 for any free one)"
            ),
            Error::ConnectionClosed => f.write_str("the websocket client has gone; stop the work for it"),
            Error::Cancelled => f.write_str("the websocket client cancelled the work"),
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
            Error::Io(e) => Some(e),
            Error::Json(e) => Some(e),
            Error::Http(e) => Some(e.as_ref()),
            Error::ResponseRead(e) => Some(e),
            Error::AllAttemptsFailed(errors) => errors
                .last()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            Error::Bind { source, .. } => Some(source),
            Error::Interrupted(cause) => Some(cause.as_ref()),
            Error::WebSocket(e) => Some(e.as_ref()),
            Error::InputClosed
            | Error::ConnectionClosed
            | Error::Cancelled
            | Error::InputTimeout(_)
            | Error::WriteTimeout(_)
            | Error::ServerStopping
            | Error::Panicked(_)
            | Error::InputTooLong { .. }
            | Error::Api { .. }
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
            Error::Api { .. } | Error::Http(_) | Error::ResponseRead(_) | Error::Protocol(_)
        )
    }

    /// An error object (`{"message", "type", "code"}`) found inside a 200 stream.
    pub(crate) fn api_in_stream(error: &serde_json::Value) -> Error {
        let message = error
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| error.to_string());
        Error::Api {
            status: 200,
            message,
            code: error.get("code").and_then(code_text),
            retry_after: None,
            should_retry: None,
        }
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
        let err = Error::from(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "pipe gone",
        ));
        assert!(err.to_string().starts_with("console I/O failed: pipe gone"));
        let source = err.source().map(|s| s.to_string());
        assert_eq!(source.as_deref(), Some("pipe gone"));
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
