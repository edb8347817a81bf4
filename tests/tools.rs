//! Tools: AutoGen's schema for the notebook's tool, typed arguments, and
//! AutoGen's error texts for every way a call can go wrong.

#[path = "../examples/websocket_chat/chat.rs"]
#[allow(dead_code)] // only the notebook's tool is tested here
mod chat;

use agentio::agentchat::{ParamType, Tool, Toolbox};
use chat::weather_forecast;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Deserialize)]
struct CityArgs {
    city: String,
}

#[test]
fn the_notebook_tool_has_autogens_exact_schema() -> serde_json::Result<()> {
    let autogen: Value = serde_json::from_str(
        r#"{"type":"function","function":{"description":"Weather forecast for a city","name":"weather_forecast","parameters":{"type":"object","properties":{"city":{"type":"string","description":"city"}},"required":["city"]}}}"#,
    )?;
    assert_eq!(weather_forecast().schema(), autogen);
    Ok(())
}

#[test]
fn good_arguments_run_the_function() {
    let run = weather_forecast().call(r#"{"city": "Paris"}"#);
    assert!(run.success);
    assert!(
        run.content
            .starts_with("The weather forecast for Paris at ")
            && run.content.ends_with(" is sunny."),
        "{}",
        run.content
    );
    assert_eq!(run.arguments, json!({"city": "Paris"}));
}

#[test]
fn invalid_json_gets_autogens_error_text() {
    let run = weather_forecast().call(r#"{"city": "Par"#);
    assert!(!run.success);
    assert!(run.content.starts_with("Error: "), "{}", run.content);
    assert!(
        run.content
            .ends_with("\n The argument must be in JSON format."),
        "{}",
        run.content
    );
    assert_eq!(run.arguments, Value::Null);
}

#[test]
fn failing_functions_and_wrong_arguments_get_error_text() {
    let failed = Tool::new("forecast", "Fails without a city")
        .param("city", ParamType::String, "city")
        .function(|args: CityArgs| {
            if args.city.is_empty() {
                Err("no city given")
            } else {
                Ok(args.city)
            }
        })
        .call(r#"{"city": ""}"#);
    assert_eq!(failed.content, "Error: no city given");
    assert!(!failed.success);

    let wrong = weather_forecast().call(r#"{"town": "Paris"}"#);
    assert!(!wrong.success);
    assert!(
        wrong.content.starts_with("Error: missing field `city`"),
        "{}",
        wrong.content
    );
}

#[test]
fn a_panicking_tool_is_an_error_for_the_model_not_a_crash() {
    let tool = Tool::new("explode", "Panics")
        .function(|_: Value| -> Result<String, String> { panic!("kaboom") });
    let run = tool.call("{}");
    assert!(!run.success);
    assert_eq!(run.content, "Error: the tool panicked: kaboom");
}

#[test]
fn unknown_tools_get_autogens_error_text() {
    let mut tools = Toolbox::new();
    tools.insert(weather_forecast());
    let run = tools.call("stock_price", r#"{"ticker": "X"}"#);
    assert_eq!(run.content, "Error: Function stock_price not found.");
    assert!(!run.success);
    assert!(tools.call("weather_forecast", r#"{"city":"Oslo"}"#).success);
    assert_eq!(tools.schemas(), vec![weather_forecast().schema()]);
}

#[test]
fn non_string_results_are_sent_as_json() {
    #[derive(Serialize)]
    struct Forecast {
        city: String,
        celsius: i32,
    }
    let tool = Tool::new("forecast", "Structured forecast")
        .param("city", ParamType::String, "city")
        .function(|args: CityArgs| {
            Ok::<_, String>(Forecast {
                city: args.city,
                celsius: 21,
            })
        });
    let run = tool.call(r#"{"city":"Rome"}"#);
    assert_eq!(run.content, r#"{"city":"Rome","celsius":21}"#);
    let numbers = Tool::new("three", "Three").function(|_: Value| Ok::<_, String>(3));
    assert_eq!(numbers.call("").content, "3");
}

#[test]
fn empty_arguments_mean_no_arguments() {
    let tool = Tool::new("now", "The time").function(|args: Value| Ok::<_, String>(args));
    for empty in ["", "  ", "{}"] {
        let run = tool.call(empty);
        assert!(run.success, "{empty:?}");
        assert_eq!(run.content, "{}");
    }
    let schema = tool.schema();
    assert_eq!(
        schema["function"]["parameters"],
        json!({"type": "object", "properties": {}})
    );
}

#[test]
fn raw_newlines_and_tabs_inside_strings_are_tolerated_as_autogen_does() {
    let tool =
        Tool::new("echo", "Echo").function(|args: Value| Ok::<_, String>(args["text"].clone()));
    let run = tool.call("{\n  \"text\": \"line one\nline\ttwo\"\n}");
    assert!(run.success, "{}", run.content);
    assert_eq!(run.content, "line one\nline\ttwo");
}

#[test]
fn optional_parameters_and_arrays_shape_the_schema() {
    let tool = Tool::new("search", "Search")
        .param("query", ParamType::String, "what to find")
        .optional_param(
            "tags",
            ParamType::Array(Box::new(ParamType::String)),
            "filters",
        )
        .optional_param("limit", ParamType::Integer, "at most");
    let parameters = &tool.schema()["function"]["parameters"];
    assert_eq!(parameters["required"], json!(["query"]));
    assert_eq!(
        parameters["properties"]["tags"],
        json!({"type": "array", "items": {"type": "string"}, "description": "filters"})
    );
    assert_eq!(parameters["properties"]["limit"]["type"], "integer");
}
