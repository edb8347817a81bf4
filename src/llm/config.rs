//! Model configuration with AutoGen's semantics: `llm_config`, `config_list`,
//! `config_list_from_json`, filters, and a config from `OPENAI_*` variables.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// One model endpoint of a config list (an entry of AutoGen's `config_list`).
///
/// Fields other than these (`temperature`, `max_tokens`, …) are kept in
/// `extra` and sent with every request to this endpoint.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigEntry {
    /// The model (for Azure: the deployment).
    pub model: String,
    /// The API key; sent as `Authorization: Bearer` (Azure: `api-key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The API's base URL, e.g. `http://localhost:11434/v1`; OpenAI's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// `"openai"` (the default) or `"azure"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_type: Option<String>,
    /// Azure's `api-version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Labels to select entries with a filter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Dollars per 1,000 prompt and completion tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<[f64; 2]>,
    /// Other request parameters for this endpoint.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for ConfigEntry {
    /// Never prints the API key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigEntry")
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("api_type", &self.api_type)
            .field("api_version", &self.api_version)
            .field("tags", &self.tags)
            .field("price", &self.price)
            .field("extra", &self.extra)
            .finish()
    }
}

/// The OpenAI API, when an entry names no `base_url`.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

impl ConfigEntry {
    /// An entry for `model` with no key and OpenAI's URL.
    pub fn new(model: impl Into<String>) -> ConfigEntry {
        ConfigEntry {
            model: model.into(),
            ..ConfigEntry::default()
        }
    }

    /// Sets the API key.
    pub fn api_key(mut self, key: impl Into<String>) -> ConfigEntry {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the base URL.
    pub fn base_url(mut self, url: impl Into<String>) -> ConfigEntry {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the price per 1,000 prompt and completion tokens.
    pub fn price(mut self, prompt: f64, completion: f64) -> ConfigEntry {
        self.price = Some([prompt, completion]);
        self
    }

    /// Whether this is an Azure OpenAI endpoint.
    pub fn is_azure(&self) -> bool {
        self.api_type.as_deref() == Some("azure")
    }

    /// The cost of a completion under this entry's price (0 without one).
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        self.price.map_or(0.0, |[p, c]| {
            (p * prompt_tokens as f64 + c * completion_tokens as f64) / 1000.0
        })
    }

    /// A config from `OPENAI_API_KEY`, with `OPENAI_BASE_URL` and `OPENAI_MODEL`
    /// (default `gpt-4o-mini`) when set; `None` without a key.
    pub fn from_env() -> Option<ConfigEntry> {
        let key = std::env::var("OPENAI_API_KEY")
            .ok()
            .filter(|k| !k.is_empty())?;
        let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".to_owned());
        let mut entry = ConfigEntry::new(model).api_key(key);
        entry.base_url = std::env::var("OPENAI_BASE_URL")
            .ok()
            .filter(|u| !u.is_empty());
        Some(entry)
    }
}

/// AutoGen's `llm_config`: the endpoints to try in order, and request options.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// Endpoints, tried in order until one answers.
    pub config_list: Vec<ConfigEntry>,
    /// Stream replies to the default stream as they are generated.
    pub stream: bool,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// The most tokens to generate.
    pub max_tokens: Option<u32>,
    /// How long to wait for the server: for its response, and between two
    /// pieces of a streamed response (default 60 s).
    pub timeout: Duration,
    /// How long to wait for a connection (default 10 s).
    pub connect_timeout: Duration,
    /// Retries per endpoint for rate limits and server errors (default 2, as
    /// OpenAI's client).
    pub max_retries: u32,
    /// The longest wait between two retries, whatever the server asks (default 30 s).
    pub max_retry_wait: Duration,
    /// The seed of the disk cache (default 41, as AutoGen); `None` disables it.
    pub cache_seed: Option<u64>,
    /// Where cache seeds keep their entries (default `.cache`).
    pub cache_root: std::path::PathBuf,
}

impl LlmConfig {
    /// A config over `config_list` with AutoGen's defaults (no streaming).
    pub fn new(config_list: Vec<ConfigEntry>) -> LlmConfig {
        LlmConfig {
            config_list,
            stream: false,
            temperature: None,
            max_tokens: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 2,
            max_retry_wait: Duration::from_secs(30),
            cache_seed: Some(41),
            cache_root: ".cache".into(),
        }
    }

    /// Turns streaming on or off.
    pub fn stream(mut self, stream: bool) -> LlmConfig {
        self.stream = stream;
        self
    }

    /// Sets the temperature.
    pub fn temperature(mut self, temperature: f64) -> LlmConfig {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the most tokens to generate.
    pub fn max_tokens(mut self, max_tokens: u32) -> LlmConfig {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets the response and between-chunks timeout.
    pub fn timeout(mut self, timeout: Duration) -> LlmConfig {
        self.timeout = timeout;
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> LlmConfig {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the retries per endpoint.
    pub fn max_retries(mut self, retries: u32) -> LlmConfig {
        self.max_retries = retries;
        self
    }

    /// Sets the cache seed; `None` turns the disk cache off.
    pub fn cache_seed(mut self, seed: Option<u64>) -> LlmConfig {
        self.cache_seed = seed;
        self
    }

    /// Sets the directory that holds the cache seeds.
    pub fn cache_root(mut self, root: impl Into<std::path::PathBuf>) -> LlmConfig {
        self.cache_root = root.into();
        self
    }

    /// Sets the longest wait between retries.
    pub fn max_retry_wait(mut self, wait: Duration) -> LlmConfig {
        self.max_retry_wait = wait;
        self
    }
}

/// Which config entries to keep: for every key, the entry's value must be one
/// of the listed values (a list value, such as `tags`, matches on any overlap;
/// a missing key never matches). AutoGen's `filter_dict`.
pub type ConfigFilter = BTreeMap<String, Vec<Value>>;

/// AutoGen's `config_list_from_json`.
///
/// If the environment variable `env_or_file` is set, its value is the path
/// of a JSON file when such a file exists, else JSON text; otherwise the file
/// `file_location/env_or_file` is read. The list is then filtered.
/// Errors name the variable or file and what is wrong with it.
pub fn config_list_from_json(
    env_or_file: &str,
    file_location: &str,
    filter: Option<&ConfigFilter>,
) -> Result<Vec<ConfigEntry>> {
    list_from(
        std::env::var(env_or_file).ok(),
        env_or_file,
        file_location,
        filter,
    )
}

/// [`config_list_from_json`] with the environment variable's value given.
fn list_from(
    env_value: Option<String>,
    env_or_file: &str,
    file_location: &str,
    filter: Option<&ConfigFilter>,
) -> Result<Vec<ConfigEntry>> {
    let (text, source) = match env_value {
        Some(value) if Path::new(&value).is_file() => (
            read_file(Path::new(&value))?,
            format!("file {value} (named by ${env_or_file})"),
        ),
        Some(value) => (value, format!("environment variable {env_or_file}")),
        None => {
            let path = Path::new(file_location).join(env_or_file);
            (read_file(&path)?, format!("file {}", path.display()))
        }
    };
    let list = parse_config_list(&text, &source)?;
    Ok(match filter {
        Some(filter) => filter_config(list, filter),
        None => list,
    })
}

fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
}

/// Parses a config list (a JSON array of entries); errors name `source`.
pub fn parse_config_list(text: &str, source: &str) -> Result<Vec<ConfigEntry>> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::Config(format!("{source} is not valid JSON: {e}")))?;
    let Value::Array(items) = value else {
        return Err(Error::Config(format!(
            "{source} must hold a JSON list of configs, like [{{\"model\": \"gpt-4o-mini\", \"api_key\": \"…\"}}]"
        )));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let entry = serde_json::from_value::<ConfigEntry>(item)
                .map_err(|e| Error::Config(format!("{source}, config {}: {e}", i + 1)))?;
            if entry.model.trim().is_empty() {
                return Err(Error::Config(format!(
                    "{source}, config {}: \"model\" is empty; name the model to call",
                    i + 1
                )));
            }
            Ok(entry)
        })
        .collect()
}

/// Keeps the entries that pass `filter` (see [`ConfigFilter`]).
pub fn filter_config(list: Vec<ConfigEntry>, filter: &ConfigFilter) -> Vec<ConfigEntry> {
    list.into_iter()
        .filter(|entry| {
            let Ok(Value::Object(fields)) = serde_json::to_value(entry) else {
                return false;
            };
            filter.iter().all(|(key, allowed)| match fields.get(key) {
                None | Some(Value::Null) => false,
                Some(Value::Array(values)) => values.iter().any(|v| allowed.contains(v)),
                Some(value) => allowed.contains(value),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIST: &str = r#"[
        {"model": "gpt-4o", "api_key": "k1", "tags": ["fast", "big"]},
        {"model": "llama3", "base_url": "http://localhost:11434/v1", "temperature": 0.2},
        {"model": "gpt-4o-mini", "api_key": "k3", "price": [0.00015, 0.0006]}
    ]"#;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("agentio-config-{name}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    }

    fn models(list: &[ConfigEntry]) -> Vec<&str> {
        list.iter().map(|e| e.model.as_str()).collect()
    }

    #[test]
    fn an_empty_model_is_an_error_naming_the_config() {
        let err = parse_config_list(r#"[{"model": "gpt-4o"}, {"model": " "}]"#, "file x.json");
        assert!(
            matches!(&err, Err(Error::Config(m)) if m.starts_with("file x.json, config 2: \"model\" is empty")),
            "{err:?}"
        );
    }

    #[test]
    fn the_variable_holds_json_text_or_a_path() -> Result<()> {
        let from_text = list_from(Some(LIST.to_owned()), "OAI_CONFIG_LIST", "", None)?;
        assert_eq!(models(&from_text), ["gpt-4o", "llama3", "gpt-4o-mini"]);
        assert_eq!(from_text[1].extra.get("temperature"), Some(&json!(0.2)));
        assert_eq!(from_text[2].price, Some([0.00015, 0.0006]));

        let dir = temp_dir("path");
        let path = dir.join("my_list.json");
        std::fs::write(&path, LIST).map_err(Error::Io)?;
        let from_path = list_from(
            Some(path.display().to_string()),
            "OAI_CONFIG_LIST",
            "",
            None,
        )?;
        assert_eq!(from_text, from_path);

        // No variable: the file `file_location/env_or_file`.
        std::fs::write(dir.join("OAI_CONFIG_LIST"), LIST).map_err(Error::Io)?;
        let from_file = list_from(None, "OAI_CONFIG_LIST", &dir.display().to_string(), None)?;
        assert_eq!(from_text, from_file);
        let _ = std::fs::remove_dir_all(dir);
        Ok(())
    }

    #[test]
    fn filters_match_values_overlap_lists_and_never_missing_keys() -> Result<()> {
        let list = parse_config_list(LIST, "test")?;
        let filter = |pairs: &[(&str, Vec<Value>)]| -> ConfigFilter {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let by_model = filter(&[("model", vec![json!("gpt-4o"), json!("gpt-4o-mini")])]);
        assert_eq!(
            models(&filter_config(list.clone(), &by_model)),
            ["gpt-4o", "gpt-4o-mini"]
        );
        let by_tag = filter(&[("tags", vec![json!("fast")])]);
        assert_eq!(models(&filter_config(list.clone(), &by_tag)), ["gpt-4o"]);
        let missing = filter(&[(
            "base_url",
            vec![json!("http://localhost:11434/v1"), Value::Null],
        )]);
        assert_eq!(models(&filter_config(list.clone(), &missing)), ["llama3"]);
        let both = filter(&[
            ("model", vec![json!("gpt-4o")]),
            ("tags", vec![json!("slow")]),
        ]);
        assert!(filter_config(list, &both).is_empty());
        Ok(())
    }

    #[test]
    fn bad_configs_name_their_source_and_problem() {
        let cases = [
            (
                Some("{not json".to_owned()),
                "environment variable OAI_CONFIG_LIST is not valid JSON",
            ),
            (
                Some(r#"{"model": "x"}"#.to_owned()),
                "environment variable OAI_CONFIG_LIST must hold a JSON list",
            ),
            (
                Some(r#"[{"model": "x"}, {"api_key": "k"}]"#.to_owned()),
                "environment variable OAI_CONFIG_LIST, config 2: missing field `model`",
            ),
            (
                Some(r#"[{"model": 7}]"#.to_owned()),
                "config 1: invalid type",
            ),
            (None, "cannot read /nonexistent-agentio/OAI_CONFIG_LIST"),
        ];
        for (value, want) in cases {
            let err = list_from(
                value.clone(),
                "OAI_CONFIG_LIST",
                "/nonexistent-agentio",
                None,
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
            assert!(err.contains(want), "{value:?}: {err}");
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let entry = ConfigEntry::new("m").api_key("sk-secret");
        assert!(!format!("{entry:?}").contains("sk-secret"));
    }
}
