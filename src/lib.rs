//! # agentio
//!
//! Stream LLM agent conversations to the console, to websocket clients and
//! into blocking applications. agentio is the synchronous Rust counterpart of
//! AutoGen's `IOStream`: every line an agent prints, every token a model
//! streams and every request for human input goes through the current
//! thread's *stream*.
//!
//! ## The stream
//!
//! A stream implements [`IOStream`](io::IOStream): `print` with Python's
//! semantics, `input`, and `send` for structured [`Event`](io::Event)s. Each
//! thread has a default stream; without one it uses the global default, the
//! console.
//!
//! ```
//! use agentio::io::{self, Event, IOBuffer, IOStream};
//! use std::sync::Arc;
//!
//! // Send a chat's output to a buffer for the length of a scope.
//! let buffer = Arc::new(IOBuffer::new());
//! {
//!     let _guard = io::set_default(buffer.clone());
//!     agentio::ioprintln!("Hello, {}!", "World")?;
//!     io::get_default().send(&Event::text("Hi", "user_proxy", "chatbot"))?;
//! }
//! // Back on the console here.
//! assert!(buffer.text().starts_with("Hello, World!\nuser_proxy (to chatbot):\n\nHi\n"));
//! # Ok::<(), agentio::Error>(())
//! ```
//!
//! Threads started with [`io::spawn`] keep their parent's stream; plain
//! `std::thread::spawn` threads see the global default, as in AutoGen.
//!
//! Start with [the guide](guide): the stream alone, your own streams,
//! filters and tee, then how agents use it.

#![forbid(unsafe_code)]

pub mod agentchat;
mod error;
pub mod guide;
pub mod io;
pub mod llm;
pub mod unversioned;

pub use error::{ApiError, Error, Result};

/// The README's code, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
