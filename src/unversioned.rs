//! Internals, public for benchmarks, fuzzing and property tests only: the
//! SSE reader, the chunk and tool-call assemblers and the disk cache.
//!
//! **Not covered by semver**: anything here may change or go in any release,
//! as with ureq's `unversioned`. Build on [`llm`](crate::llm) instead.

pub use crate::llm::cache::DiskCache;
pub use crate::llm::chunks::ChunkAssembler;
pub use crate::llm::fragments::Fragments;
pub use crate::llm::sse::{SseEvent, SseReader};
pub use crate::llm::tool_calls::ToolCallAssembler;
