//! `OpenAIWrapper`: the config list tried in order, with retries.

use std::time::Duration;

use crate::io::{IOStream, Uuid};
use crate::llm::cache::DiskCache;
use crate::llm::fragments::Fragments;
use crate::llm::{ChatRequest, ChatResponse, LlmConfig, ModelClient, OpenAIClient};
use crate::{Error, Result};

/// AutoGen's `OpenAIWrapper`: one client per config entry, tried in order.
///
/// Each entry is retried on 408, 409, 429 (not `insufficient_quota`), 5xx and
/// transport errors (or as the server's `x-should-retry` says), waiting what
/// the server asks (`retry-after-ms`, `retry-after` in seconds or as a date) or `min(0.5 · 2ⁿ, 8)` s with jitter, never longer than
/// `max_retry_wait`; then the next entry is tried. A streamed call is never
/// retried once a fragment has reached the user. When every entry fails, the
/// error lists every attempt's.
///
/// With a `cache_seed` (AutoGen's default 41), replies are kept on disk and an
/// identical request is answered from there without calling the model.
#[derive(Debug, Clone)]
pub struct OpenAIWrapper {
    clients: Vec<OpenAIClient>,
    config: LlmConfig,
    cache: Option<DiskCache>,
}

impl OpenAIWrapper {
    /// A wrapper over `config.config_list`; an empty list is an error.
    pub fn new(config: LlmConfig) -> Result<OpenAIWrapper> {
        if config.config_list.is_empty() {
            return Err(Error::Config(
                "the config list is empty: give at least one {\"model\": …} entry".to_owned(),
            ));
        }
        let clients = config
            .config_list
            .iter()
            .map(|entry| OpenAIClient::new(entry.clone(), &config))
            .collect();
        let cache = config
            .cache_seed
            .map(|seed| DiskCache::new(&config.cache_root, seed));
        Ok(OpenAIWrapper {
            clients,
            config,
            cache,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }
}

impl ModelClient for OpenAIWrapper {
    fn create_to(&self, request: &ChatRequest, out: &dyn IOStream) -> Result<ChatResponse> {
        let mut request = request.clone();
        request.stream |= self.config.stream;
        request.temperature = request.temperature.or(self.config.temperature);
        request.max_tokens = request.max_tokens.or(self.config.max_tokens);
        let mut errors = Vec::new();
        for client in &self.clients {
            let key = self
                .cache
                .as_ref()
                .map(|_| DiskCache::key(&client.body(&request)));
            if let (Some(cache), Some(key)) = (&self.cache, &key) {
                let mut fragments = request.stream.then(|| Fragments::new(&request, out));
                if let Some(reply) = cache.get(key, fragments.as_mut())? {
                    return Ok(reply);
                }
            }
            for attempt in 0..=self.config.max_retries {
                let error = match client.create_to(&request, out) {
                    Ok(reply) => {
                        if let (Some(cache), Some(key)) = (&self.cache, &key) {
                            // A cache that cannot be written only costs money.
                            let _ = cache.put(key, &reply);
                        }
                        return Ok(reply);
                    }
                    Err(error) => error,
                };
                // Errors of the stream (its reader is gone) end the call; so
                // does a failure after the user saw part of the reply
                // (`Interrupted`, which is not a model error).
                if !error.is_model_error() {
                    return Err(error);
                }
                let wait = (attempt < self.config.max_retries)
                    .then(|| retry_wait(&error, attempt, self.config.max_retry_wait))
                    .flatten();
                errors.push(error);
                match wait {
                    Some(wait) => std::thread::sleep(wait),
                    None => break,
                }
            }
        }
        Err(Error::AllAttemptsFailed(errors))
    }
}

/// How long to wait before retrying, or `None` when retrying cannot help.
fn retry_wait(error: &Error, attempt: u32, max: Duration) -> Option<Duration> {
    let asked = match error {
        Error::Api(api) => match (api.should_retry, api.code.as_deref(), api.status) {
            (Some(false), _, _) => return None,
            (Some(true), _, _) => api.retry_after,
            (None, Some("insufficient_quota"), _) => return None,
            (None, _, 408 | 409 | 429 | 500..=599) => api.retry_after,
            _ => return None,
        },
        Error::Http(_) | Error::ResponseRead(_) => None,
        _ => return None,
    };
    let wait = asked.unwrap_or_else(|| {
        let base = (0.5 * f64::from(2u32.saturating_pow(attempt))).min(8.0);
        // Up to 25% jitter, so clients do not retry in lockstep.
        let jitter = f64::from(Uuid::new_v4().as_bytes()[0]) / 255.0 * 0.25;
        Duration::from_secs_f64(base * (1.0 + jitter))
    });
    Some(wait.min(max))
}
