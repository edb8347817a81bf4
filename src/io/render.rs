//! Events as AutoGen 0.2's console text, byte for byte, without colour codes.
//!
//! An event renders as a list of [`TextPart`]s, one per `print` call AutoGen
//! makes for it, so a text-mode websocket sends the same frames AutoGen does.
//! Colour is a hint on each part that only the console acts on.

use std::fmt;

use crate::io::event::{
    Event, ModelUsageSummary, ToolCall, ToolResponse, UsageMode, UsageSummaryEvent,
};

/// A terminal colour AutoGen gives to parts of its output (via `termcolor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Color {
    /// `\x1b[31m`
    Red,
    /// `\x1b[32m`
    Green,
    /// `\x1b[33m`
    Yellow,
    /// `\x1b[35m`
    Magenta,
}

impl Color {
    /// The ANSI escape sequence that starts this colour.
    pub fn ansi(self) -> &'static str {
        match self {
            Color::Red => "\x1b[31m",
            Color::Green => "\x1b[32m",
            Color::Yellow => "\x1b[33m",
            Color::Magenta => "\x1b[35m",
        }
    }

    /// The ANSI escape sequence that resets colours.
    pub const RESET: &'static str = "\x1b[0m";
}

/// The text of one AutoGen `print` call for an event, `end` included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextPart {
    /// The text, exactly as AutoGen prints it (no escape codes).
    pub text: String,
    /// The colour AutoGen's console gives the first `color_len` bytes of `text`.
    pub color: Option<Color>,
    /// How many leading bytes of `text` the colour covers (always a char boundary).
    pub color_len: usize,
}

impl TextPart {
    pub(crate) fn plain(text: String) -> TextPart {
        TextPart {
            text,
            color: None,
            color_len: 0,
        }
    }

    /// A part whose text is `colored` in `color`, followed by uncoloured `rest`.
    fn colored(color: Color, colored: &str, rest: &str) -> TextPart {
        TextPart {
            text: format!("{colored}{rest}"),
            color: Some(color),
            color_len: colored.len(),
        }
    }

    /// The text with ANSI colour codes around its coloured bytes.
    pub fn ansi(&self) -> String {
        match self.color {
            Some(color) if self.color_len > 0 => {
                let split = self.color_len.min(self.text.len());
                let (head, tail) = self.text.split_at(split);
                format!("{}{head}{}{tail}", color.ansi(), Color::RESET)
            }
            _ => self.text.clone(),
        }
    }
}

const FOOTER_DASHES: usize = 80;
const USAGE_DASHES: usize = 100;

impl Event {
    /// The event as AutoGen 0.2's console output: one part per `print` call.
    ///
    /// Events AutoGen 0.2 prints nothing for (`termination`, `executed_function`,
    /// `input_response`, `run_completion`) have no parts. Unlike AutoGen, a tool
    /// response's header is printed once, and an empty content of a tool-call
    /// message adds no empty line.
    pub fn text_parts(&self) -> Vec<TextPart> {
        let mut parts = Vec::new();
        match self {
            Event::Print(p) => {
                let objects: Vec<&str> = p.objects.iter().map(String::as_str).collect();
                parts.push(TextPart::plain(crate::io::joined(&objects, &p.sep, &p.end)));
            }
            Event::Stream(s) => parts.push(TextPart::colored(Color::Green, &s.content, "")),
            Event::Text(t) => {
                if t.streamed {
                    // AutoGen ends a stream with a newline (inside its colour
                    // reset), before the message is printed again.
                    parts.push(TextPart::plain("\n".to_owned()));
                }
                parts.push(header(&t.sender, &t.recipient));
                parts.push(TextPart::plain(format!("{}\n", t.content)));
                parts.push(footer());
            }
            Event::ToolCall(t) => {
                if t.streamed {
                    parts.push(TextPart::plain("\n".to_owned()));
                }
                parts.push(header(&t.sender, &t.recipient));
                if let Some(content) = t.content.as_deref().filter(|c| !c.is_empty()) {
                    parts.push(TextPart::plain(format!("{content}\n")));
                }
                for call in &t.tool_calls {
                    suggested_call(call, &mut parts);
                }
                parts.push(footer());
            }
            Event::ToolResponse(t) => {
                parts.push(header(&t.sender, &t.recipient));
                for response in &t.tool_responses {
                    tool_response(response, &mut parts);
                }
                parts.push(footer());
            }
            Event::UsingAutoReply(_) => parts.push(notice(Color::Red, "USING AUTO REPLY...")),
            Event::TerminationAndHumanReplyNoInput(e) => {
                parts.push(notice(Color::Red, &e.no_human_input_msg));
            }
            Event::ExecuteFunction(e) => parts.push(notice(
                Color::Magenta,
                &format!("EXECUTING FUNCTION {}...", e.func_name),
            )),
            Event::UsageSummary(u) => usage_summary(u, &mut parts),
            Event::InputRequest(r) if !r.prompt.is_empty() => {
                parts.push(TextPart::plain(r.prompt.clone()));
            }
            Event::ToolApprovalRequest(r) => parts.push(TextPart::plain(r.prompt())),
            Event::GroupChatRunChat(g) => parts.push(TextPart::colored(
                Color::Green,
                &format!("\nNext speaker: {}\n", g.speaker),
                "\n",
            )),
            Event::SelectSpeaker(s) => {
                // One print per line, as AutoGen prints them.
                parts.push(line(
                    "Please select the next speaker from the following list:".to_owned(),
                ));
                for (i, agent) in s.agents.iter().flatten().enumerate() {
                    parts.push(line(format!("{}: {agent}", i + 1)));
                }
            }
            Event::SelectSpeakerInvalidInput(s) => parts.push(line(format!(
                "Invalid input. Please enter a number between 1 and {}.",
                s.agents.as_ref().map_or(0, Vec::len)
            ))),
            Event::SelectSpeakerTryCountExceeded(s) => parts.push(line(format!(
                "You have tried {} times. The next speaker will be selected automatically.",
                s.try_count
            ))),
            Event::SpeakerAttemptSuccessful(a) => parts.push(TextPart::colored(
                Color::Green,
                &format!(
                    ">>>>>>>> Select speaker attempt {} of {} successfully selected: {}",
                    a.attempt,
                    a.attempt + a.attempts_left,
                    a.mentions.keys().next().map_or("", String::as_str)
                ),
                "\n",
            )),
            Event::SpeakerAttemptFailedMultipleAgents(a) => parts.push(TextPart::colored(
                Color::Red,
                &format!(
                    ">>>>>>>> Select speaker attempt {} of {} failed as it included multiple agent names.",
                    a.attempt,
                    a.attempt + a.attempts_left
                ),
                "\n",
            )),
            Event::SpeakerAttemptFailedNoAgents(a) => parts.push(TextPart::colored(
                Color::Red,
                &format!(
                    ">>>>>>>> Select speaker attempt #{} failed as it did not include any agent names.",
                    a.attempt
                ),
                "\n",
            )),
            Event::ToolProgress(p) => {
                parts.push(TextPart::plain(format!("[{}] {}\n", p.name, p.message)));
            }
            Event::Error(e) => {
                parts.push(TextPart::colored(
                    Color::Red,
                    &format!("Error: {}", e.error),
                    "\n",
                ));
            }
            Event::Termination(_)
            | Event::ExecutedFunction(_)
            | Event::InputRequest(_)
            | Event::InputResponse(_)
            | Event::RunCompletion(_)
            | Event::MissedEvents(_)
            | Event::ToolApprovalResponse(_)
            // AutoGen's text has none of these: they are for structured streams.
            | Event::Reasoning(_)
            | Event::ReplyStart(_)
            | Event::ReplyEnd(_)
            | Event::ToolCallDelta(_) => {}
        }
        parts
    }
}

/// The whole console text of the event, without colour codes.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in self.text_parts() {
            f.write_str(&part.text)?;
        }
        Ok(())
    }
}

/// `"{sender} (to {recipient}):\n\n"`, the sender's name in yellow.
pub(crate) fn header(sender: &str, recipient: &str) -> TextPart {
    TextPart::colored(Color::Yellow, sender, &format!(" (to {recipient}):\n\n"))
}

/// A blank line, 80 dashes, a newline.
pub(crate) fn footer() -> TextPart {
    TextPart::plain(format!("\n{}\n", "-".repeat(FOOTER_DASHES)))
}

/// `"\n>>>>>>>> {message}\n"`, coloured up to the final newline.
fn notice(color: Color, message: &str) -> TextPart {
    TextPart::colored(color, &format!("\n>>>>>>>> {message}"), "\n")
}

/// A boxed line: the title, the body, then a row of `*` as long as the title.
fn boxed(title: String, body: String, parts: &mut Vec<TextPart>) {
    let stars = "*".repeat(title.chars().count());
    parts.push(TextPart::colored(Color::Green, &title, "\n"));
    parts.push(TextPart::plain(body));
    parts.push(TextPart::colored(Color::Green, &stars, "\n"));
}

fn or_default<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.is_empty() { default } else { value }
}

fn suggested_call(call: &ToolCall, parts: &mut Vec<TextPart>) {
    let id = or_default(&call.id, "No tool call id found");
    let name = or_default(&call.function.name, "(No function name found)");
    let arguments = or_default(&call.function.arguments, "(No arguments found)");
    boxed(
        format!("***** Suggested tool call ({id}): {name} *****"),
        format!("Arguments: \n{arguments}\n"),
        parts,
    );
}

fn tool_response(response: &ToolResponse, parts: &mut Vec<TextPart>) {
    let id = or_default(&response.tool_call_id, "No id found");
    boxed(
        format!("***** Response from calling {} ({id}) *****", response.role),
        format!("{}\n", response.content),
        parts,
    );
}

/// One printed line: `text` and a newline.
fn line(text: String) -> TextPart {
    TextPart::plain(format!("{text}\n"))
}

/// AG2's `UsageSummaryEvent.print`, which is AutoGen 0.2's `print_usage_summary`.
fn usage_summary(u: &UsageSummaryEvent, parts: &mut Vec<TextPart>) {
    if u.total.usages.is_none() {
        parts.push(line(
            r#"No usage summary. Please call "create" first."#.to_owned(),
        ));
        return;
    }
    let rule = || line("-".repeat(USAGE_DASHES));
    parts.push(rule());
    match u.mode {
        UsageMode::Both => {
            usage_lines(&u.actual, "excluding", parts);
            parts.push(line(String::new()));
            if u.total != u.actual {
                usage_lines(&u.total, "including", parts);
            } else {
                parts.push(line(
                    "All completions are non-cached: the total cost with cached completions is the same as actual cost."
                        .to_owned(),
                ));
            }
        }
        UsageMode::Total => usage_lines(&u.total, "including", parts),
        UsageMode::Actual => usage_lines(&u.actual, "excluding", parts),
    }
    parts.push(rule());
}

fn usage_lines(summary: &ModelUsageSummary, word: &str, parts: &mut Vec<TextPart>) {
    let usages = match &summary.usages {
        Some(usages) if !usages.is_empty() => usages,
        _ => {
            parts.push(line(
                "No actual cost incurred (all completions are using cache).".to_owned(),
            ));
            return;
        }
    };
    parts.push(line(format!("Usage summary {word} cached usage: ")));
    let total = py_round5(summary.total_cost.unwrap_or(0.0));
    parts.push(line(format!("Total cost: {total}")));
    for u in usages {
        parts.push(line(format!(
            "* Model '{}': cost: {}, prompt_tokens: {}, completion_tokens: {}, total_tokens: {}",
            u.model,
            py_round5(u.cost),
            u.prompt_tokens,
            u.completion_tokens,
            u.total_tokens
        )));
    }
}

/// Python's `str(round(x, 5))` for a float: rounded to 5 decimals, then the
/// shortest text that reads back as the same float (`0.0`, `4e-05`, `1.23457`).
fn py_round5(x: f64) -> String {
    let rounded = format!("{x:.5}").parse::<f64>().unwrap_or(x);
    py_float_repr(rounded)
}

/// Python's `repr(float)`: fixed notation for exponents in `-4..16`,
/// scientific (`1e-05`, `1.5e+16`) outside, always with a `.` or an exponent.
fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // `{:e}` gives the shortest round-trip digits: "4e-5", "-1.5e16".
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..16).contains(&exponent) {
        let fixed = format!("{x}");
        if fixed.contains('.') {
            fixed
        } else {
            format!("{fixed}.0")
        }
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_float_repr() {
        let cases = [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (4e-05, "4e-05"),
            (0.0001, "0.0001"),
            (0.00123, "0.00123"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (-2.5e-7, "-2.5e-07"),
            (123.456, "123.456"),
            (f64::NAN, "nan"),
        ];
        for (x, want) in cases {
            assert_eq!(py_float_repr(x), want, "{x}");
        }
    }

    #[test]
    fn python_round_to_five_places() {
        assert_eq!(py_round5(4.23e-05), "4e-05");
        assert_eq!(py_round5(0.001692), "0.00169");
        assert_eq!(py_round5(1.234567), "1.23457");
        assert_eq!(py_round5(0.0), "0.0");
        assert_eq!(py_round5(3.0), "3.0");
    }

    #[test]
    fn ansi_wraps_only_the_coloured_bytes() {
        let part = header("user_proxy", "chatbot");
        assert_eq!(part.text, "user_proxy (to chatbot):\n\n");
        assert_eq!(part.ansi(), "\x1b[33muser_proxy\x1b[0m (to chatbot):\n\n");
        assert_eq!(footer().ansi(), footer().text);
    }
}
