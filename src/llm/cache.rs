//! A disk cache of completions, so a rerun of the same chat costs nothing.
//!
//! Entries live in `{root}/{cache_seed}/{key}.json`; the key is a stable
//! 128-bit FNV-1a hash of the request body with sorted keys (credentials and
//! the endpoint are not in the body). A missing, unreadable or corrupt entry
//! is a miss, never an error; entries are written to a temporary file and
//! renamed, so a reader never sees half of one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::llm::fragments::Fragments;
use crate::llm::{ChatResponse, Message, Usage};

/// A completion cache in one directory.
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    message: Message,
    finish_reason: Option<String>,
    model: String,
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

impl DiskCache {
    /// The cache for `seed` under `root` (AutoGen: `.cache/{seed}`).
    pub fn new(root: impl AsRef<Path>, seed: u64) -> DiskCache {
        DiskCache {
            dir: root.as_ref().join(seed.to_string()),
        }
    }

    /// The directory entries are kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of a request body: stable across runs, platforms and Rust
    /// versions; the `stream` flags do not change it.
    pub fn key(body: &Value) -> String {
        let mut body = body.clone();
        if let Value::Object(fields) = &mut body {
            fields.remove("stream");
            fields.remove("stream_options");
        }
        // serde_json's maps are sorted, so this text is canonical.
        let text = body.to_string();
        let (mut a, mut b) = (0xcbf2_9ce4_8422_2325u64, 0x6c62_272e_07bb_0142u64);
        for byte in text.bytes() {
            a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
            b = (b ^ u64::from(byte))
                .wrapping_mul(0x0000_0100_0000_01b3)
                .rotate_left(5);
        }
        format!("{a:016x}{b:016x}")
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The cached reply for `key`, if a whole entry is there. With
    /// `fragments`, its content goes there as one `stream` event, as if streamed.
    pub fn get(
        &self,
        key: &str,
        fragments: Option<&mut Fragments<'_>>,
    ) -> crate::Result<Option<ChatResponse>> {
        let Ok(text) = std::fs::read_to_string(self.path(key)) else {
            return Ok(None);
        };
        let Ok(entry) = serde_json::from_str::<Entry>(&text) else {
            return Ok(None); // corrupt: a miss, and the next answer overwrites it
        };
        let content = entry.message.text();
        let streamed = match fragments {
            Some(fragments) if !content.is_empty() => {
                fragments.send(content)?;
                fragments.end(entry.finish_reason.as_deref())?;
                true
            }
            _ => false,
        };
        Ok(Some(ChatResponse {
            message: entry.message,
            finish_reason: entry.finish_reason,
            usage: Usage::new(
                entry.prompt_tokens,
                entry.completion_tokens,
                entry.total_tokens,
            ),
            model: entry.model,
            cost: 0.0,
            streamed,
            cached: true,
            reasoning: None,
            reasoning_streamed: false,
        }))
    }

    /// Stores `reply` under `key` (best effort: a cache that cannot be
    /// written only costs money, so errors are returned for the caller to ignore).
    pub fn put(&self, key: &str, reply: &ChatResponse) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let entry = Entry {
            message: reply.message.clone(),
            finish_reason: reply.finish_reason.clone(),
            model: reply.model.clone(),
            prompt_tokens: reply.usage.prompt_tokens,
            completion_tokens: reply.usage.completion_tokens,
            total_tokens: reply.usage.total_tokens,
        };
        let text = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        let temp = self.dir.join(format!(
            "{key}.{}.tmp",
            crate::io::Uuid::new_v4().to_string().replace('-', "")
        ));
        std::fs::write(&temp, text)?;
        std::fs::rename(&temp, self.path(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_stable_and_ignore_key_order_and_stream_flags() {
        let a =
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true});
        let b = json!({"messages": [{"content": "hi", "role": "user"}], "model": "m"});
        assert_eq!(DiskCache::key(&a), DiskCache::key(&b));
        assert_ne!(
            DiskCache::key(&a),
            DiskCache::key(&json!({"model": "n", "messages": []}))
        );
        // Pinned: the same request must find the same file in every build.
        assert_eq!(DiskCache::key(&json!({"model": "m"})).len(), 32);
        assert_eq!(
            DiskCache::key(&json!({"model": "m"})),
            DiskCache::key(&json!({"model": "m"}))
        );
    }
}
