//! Tools: Rust functions a model can call, with the JSON schema it sees.
//!
//! A [`Tool`] pairs a schema (name, description, parameters) with a typed
//! function: arguments arrive as the model's JSON text, are deserialised with
//! serde, and the result goes back as text (a string as is, anything else as
//! JSON). Every failure becomes AutoGen's error text for the model, so a chat
//! goes on after a bad call.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// A JSON-schema type for a tool parameter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ParamType {
    /// `"string"`
    String,
    /// `"integer"`
    Integer,
    /// `"number"`
    Number,
    /// `"boolean"`
    Boolean,
    /// `"array"` of items of the given type.
    Array(Box<ParamType>),
    /// `"object"` (any properties).
    Object,
}

impl ParamType {
    fn schema(&self) -> Map<String, Value> {
        let mut schema = Map::new();
        let name = match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
            ParamType::Array(_) => "array",
            ParamType::Object => "object",
        };
        schema.insert("type".into(), name.into());
        if let ParamType::Array(items) = self {
            schema.insert("items".into(), Value::Object(items.schema()));
        }
        schema
    }
}

use crate::agentchat::ToolContext;

type Function = dyn Fn(Value, &ToolContext) -> Result<String, String> + Send + Sync;

/// A predicate on a call's arguments: whether it needs a human's approval.
pub type ApprovalCheck = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// How long a tool may run before the model gets an error instead, unless
/// the tool sets its own ([`Tool::time_limit`]).
pub const DEFAULT_TOOL_TIME_LIMIT: Duration = Duration::from_secs(120);

/// When a tool's call waits for a human's approval before it runs.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Approval {
    /// Never asked (the default).
    #[default]
    Never,
    /// Every call is asked.
    Always,
    /// Asked when the predicate says so for the call's arguments.
    When(ApprovalCheck),
}

impl fmt::Debug for Approval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Approval::Never => "Never",
            Approval::Always => "Always",
            Approval::When(_) => "When(..)",
        })
    }
}

/// A function a model can call: its schema and its implementation.
///
/// ```
/// use agentio::agentchat::{ParamType, Tool};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Args { city: String }
///
/// let tool = Tool::new("weather_forecast", "Weather forecast for a city")
///     .param("city", ParamType::String, "city")
///     .function(|args: Args| Ok::<_, std::convert::Infallible>(format!("Sunny in {}.", args.city)));
///
/// assert_eq!(tool.schema()["function"]["parameters"]["required"][0], "city");
/// let run = tool.call(r#"{"city": "Paris"}"#);
/// assert_eq!(run.content, "Sunny in Paris.");
/// assert!(run.success);
/// ```
#[derive(Clone)]
pub struct Tool {
    name: String,
    description: String,
    properties: Vec<(String, Value)>,
    required: Vec<String>,
    function: Arc<Function>,
    approval: Approval,
    time_limit: Option<Duration>,
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("parameters", &self.properties)
            .field("approval", &self.approval)
            .field("time_limit", &self.time_limit)
            .finish_non_exhaustive()
    }
}

/// What came of a tool call: the text the model sees as the tool's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolRun {
    /// The arguments as parsed (`Value::Null` when they were not valid JSON).
    pub arguments: Value,
    /// The result or AutoGen's error text.
    pub content: String,
    /// Whether the function ran and returned `Ok`.
    pub success: bool,
}

impl Tool {
    /// A tool with no parameters yet; its function (until
    /// [`function`](Tool::function) sets one) answers that it has none.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Tool {
        let name = name.into();
        let missing = format!("tool {name} has no function");
        Tool {
            name,
            description: description.into(),
            properties: Vec::new(),
            required: Vec::new(),
            function: Arc::new(move |_, _| Err(missing.clone())),
            approval: Approval::Never,
            time_limit: Some(DEFAULT_TOOL_TIME_LIMIT),
        }
    }

    /// Every call of this tool waits for a human's approval (see
    /// [`IOStream::ask_approval`](crate::io::IOStream::ask_approval)).
    pub fn needs_approval(self) -> Tool {
        self.approval(Approval::Always)
    }

    /// Calls whose arguments make `check` true wait for a human's approval
    /// (a transfer above a limit, say); the others run at once.
    pub fn needs_approval_when(
        self,
        check: impl Fn(&Value) -> bool + Send + Sync + 'static,
    ) -> Tool {
        self.approval(Approval::When(Arc::new(check)))
    }

    /// Sets when a call waits for a human's approval.
    pub fn approval(mut self, approval: Approval) -> Tool {
        self.approval = approval;
        self
    }

    /// Whether a call with `arguments` waits for a human's approval.
    pub fn needs_approval_for(&self, arguments: &Value) -> bool {
        match &self.approval {
            Approval::Never => false,
            Approval::Always => true,
            Approval::When(check) => catch_unwind(AssertUnwindSafe(|| check(arguments)))
                // A check that panics cannot say the call is safe.
                .unwrap_or(true),
        }
    }

    /// How long a call may run (`None`: no limit; the default is
    /// [`DEFAULT_TOOL_TIME_LIMIT`]). Past it the model gets an error result,
    /// the chat goes on, and the tool's [`ToolContext::is_cancelled`]
    /// turns true; its thread ends when the function returns.
    pub fn time_limit(mut self, limit: Option<Duration>) -> Tool {
        self.time_limit = limit;
        self
    }

    /// The tool's time limit.
    pub fn get_time_limit(&self) -> Option<Duration> {
        self.time_limit
    }

    /// Adds a required parameter.
    pub fn param(self, name: impl Into<String>, kind: ParamType, description: &str) -> Tool {
        self.param_with(name, kind, description, true)
    }

    /// Adds an optional parameter.
    pub fn optional_param(
        self,
        name: impl Into<String>,
        kind: ParamType,
        description: &str,
    ) -> Tool {
        self.param_with(name, kind, description, false)
    }

    /// Adds a parameter with a schema of your own (enums, nested objects, …).
    pub fn param_schema(mut self, name: impl Into<String>, schema: Value, required: bool) -> Tool {
        let name = name.into();
        self.properties.retain(|(n, _)| *n != name);
        self.required.retain(|n| *n != name);
        if required {
            self.required.push(name.clone());
        }
        self.properties.push((name, schema));
        self
    }

    fn param_with(
        self,
        name: impl Into<String>,
        kind: ParamType,
        description: &str,
        required: bool,
    ) -> Tool {
        let mut schema = kind.schema();
        schema.insert("description".into(), description.into());
        self.param_schema(name, Value::Object(schema), required)
    }

    /// Sets the function: its arguments are deserialised from the model's JSON
    /// into `A`; an `Ok` result that serialises to a JSON string is sent as
    /// that string, any other as JSON text; an `Err` is sent as `"Error: {e}"`.
    pub fn function<A, R, E, F>(self, f: F) -> Tool
    where
        A: DeserializeOwned,
        R: Serialize,
        E: fmt::Display,
        F: Fn(A) -> Result<R, E> + Send + Sync + 'static,
    {
        self.function_with_context(move |args: A, _: &ToolContext| f(args))
    }

    /// Sets a function that also takes the call's [`ToolContext`]: the
    /// client's request, a cancellation check, progress reports. What it
    /// reads there reaches the model only if it returns it. Arguments and
    /// results as for [`function`](Tool::function).
    pub fn function_with_context<A, R, E, F>(mut self, f: F) -> Tool
    where
        A: DeserializeOwned,
        R: Serialize,
        E: fmt::Display,
        F: Fn(A, &ToolContext) -> Result<R, E> + Send + Sync + 'static,
    {
        self.function = Arc::new(move |arguments: Value, context: &ToolContext| {
            let args = A::deserialize(arguments).map_err(|e| e.to_string())?;
            let result = f(args, context).map_err(|e| e.to_string())?;
            // A string goes as is; anything else as JSON text, written
            // straight from `R` so struct fields keep their order.
            let json = match serde_json::to_value(&result) {
                Ok(Value::String(text)) => return Ok(text),
                Ok(_) => serde_json::to_string(&result),
                Err(e) => Err(e),
            };
            json.map_err(|e| format!("cannot serialise the result: {e}"))
        });
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tool's description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The schema in OpenAI's `tools` shape, as AutoGen sends it:
    /// `{"type": "function", "function": {"description", "name", "parameters"}}`.
    pub fn schema(&self) -> Value {
        let properties: Map<String, Value> = self.properties.iter().cloned().collect();
        let mut parameters = json!({"type": "object", "properties": properties});
        if !self.required.is_empty() {
            parameters["required"] = json!(self.required);
        }
        json!({
            "type": "function",
            "function": {
                "description": self.description,
                "name": self.name,
                "parameters": parameters,
            }
        })
    }

    /// Runs the tool on the model's argument text.
    ///
    /// Empty arguments mean `{}`; raw newlines and tabs the model put inside
    /// strings are tolerated as AutoGen tolerates them. Invalid JSON gives
    /// `"Error: {e}\n The argument must be in JSON format."`; a failing or
    /// panicking function gives `"Error: {e}"`.
    pub fn call(&self, arguments: &str) -> ToolRun {
        match parse_arguments(arguments) {
            Ok(arguments) => self.run(arguments),
            Err(content) => ToolRun {
                arguments: Value::Null,
                content,
                success: false,
            },
        }
    }

    /// Runs the tool on already parsed arguments, with a detached context
    /// and no time limit; a failing or panicking function gives `"Error: {e}"`.
    pub fn run(&self, arguments: Value) -> ToolRun {
        self.run_with(arguments, &ToolContext::detached(&self.name))
    }

    /// Runs the tool on parsed arguments with `context`, on this thread.
    pub fn run_with(&self, arguments: Value, context: &ToolContext) -> ToolRun {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            (self.function)(arguments.clone(), context)
        }))
        .unwrap_or_else(|panic| {
            Err(format!(
                "the tool panicked: {}",
                crate::error::panic_message(panic.as_ref())
            ))
        });
        match outcome {
            Ok(content) => ToolRun {
                arguments,
                content,
                success: true,
            },
            Err(e) => ToolRun {
                arguments,
                content: format!("Error: {e}"),
                success: false,
            },
        }
    }
}

/// The model's argument text as JSON, or AutoGen's error text for the model.
pub fn parse_arguments(text: &str) -> Result<Value, String> {
    let text = if text.trim().is_empty() {
        "{}".to_owned()
    } else {
        format_json_str(text)
    };
    serde_json::from_str(&text)
        .map_err(|e| format!("Error: {e}\n The argument must be in JSON format."))
}

/// AutoGen's `_format_json_str`: drops newlines outside strings and escapes
/// raw newlines and tabs inside them, which models sometimes write.
fn format_json_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside_quotes = false;
    let mut last = ' ';
    for c in text.chars() {
        if last != '\\' && c == '"' {
            inside_quotes = !inside_quotes;
        }
        last = c;
        match (inside_quotes, c) {
            (false, '\n') => {}
            (true, '\n') => out.push_str("\\n"),
            (true, '\t') => out.push_str("\\t"),
            _ => out.push(c),
        }
    }
    out
}

/// Tools by name: what a caller advertises to its model and an executor runs.
#[derive(Debug, Clone, Default)]
pub struct Toolbox {
    tools: BTreeMap<String, Tool>,
}

impl Toolbox {
    /// An empty toolbox.
    pub fn new() -> Toolbox {
        Toolbox::default()
    }

    /// Adds (or replaces) a tool under its name.
    pub fn insert(&mut self, tool: Tool) {
        self.tools.insert(tool.name.clone(), tool);
    }

    /// The tool with that name.
    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.tools.get(name)
    }

    /// Whether there are no tools.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// Every tool's schema, for a request's `tools` field.
    pub fn schemas(&self) -> Vec<Value> {
        self.tools.values().map(Tool::schema).collect()
    }

    /// Runs the named tool, or answers `"Error: Function {name} not found."`.
    pub fn call(&self, name: &str, arguments: &str) -> ToolRun {
        match self.tools.get(name) {
            Some(tool) => tool.call(arguments),
            None => ToolRun {
                arguments: Value::Null,
                content: format!("Error: Function {name} not found."),
                success: false,
            },
        }
    }
}
