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
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Json(e) => Some(e),
            Error::InputClosed | Error::InputTooLong { .. } => None,
        }
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
