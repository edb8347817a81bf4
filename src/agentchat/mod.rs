//! The agent layer: conversable agents whose every output is an event on the
//! current thread's stream.
//!
//! - [`Tool`] and [`Toolbox`]: Rust functions a model can call, with their
//!   JSON schema and AutoGen's error texts for bad calls.

mod tools;

pub use tools::{ParamType, Tool, ToolRun, Toolbox, parse_arguments};
