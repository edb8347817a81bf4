//! Pages built from the protocols' own client packages, in headless
//! Chromium: `@ag-ui/client`'s `HttpAgent` posting to `/agui`, and the AI
//! SDK's `AbstractChat` with `DefaultChatTransport` posting to `/api/chat`
//! (tests/pages, bundled with esbuild from its lockfile), each served by
//! the example's server at `/` so it is same-origin. The test types the
//! question, sends it, and reads what the page drew from the client's state.
//!
//! Reported as ignored without Chromium or tests/pages' packages (`npm ci
//! --prefix tests/pages`), unless `AGENTIO_REQUIRE_BROWSER` /
//! `AGENTIO_REQUIRE_NODE` are set (see tests/common/external.rs).

#[path = "common/cdp.rs"]
mod cdp;
mod common;
#[path = "common/external.rs"]
mod external;

use std::path::Path;

use agentio::agentchat::HumanInputMode;
use agentio::io::IOWebsockets;
use agentio::io::websockets::{ServerConfig, WebsocketServer};
use cdp::{Browser, Cdp};
use common::Must;
use common::notebook::example;
use serde_json::{Value, json};

fn main() {
    use external::{CHROMIUM, PAGE_BUNDLER};
    external::run(vec![
        trial!(
            the_agui_page_shows_the_tool_call_and_the_poem_once,
            CHROMIUM,
            PAGE_BUNDLER
        ),
        trial!(
            the_ai_sdk_page_shows_the_tool_call_and_the_poem_once,
            CHROMIUM,
            PAGE_BUNDLER
        ),
        trial!(
            the_agui_page_approves_an_interrupt_and_resumes,
            CHROMIUM,
            PAGE_BUNDLER
        ),
        trial!(
            the_ai_sdk_page_approves_a_tool_part_and_sends_on,
            CHROMIUM,
            PAGE_BUNDLER
        ),
        trial!(
            the_agui_page_denies_an_interrupt_and_the_chat_goes_on,
            CHROMIUM,
            PAGE_BUNDLER
        ),
        trial!(
            the_ai_sdk_page_denies_a_tool_part_and_the_chat_goes_on,
            CHROMIUM,
            PAGE_BUNDLER
        ),
        trial!(
            the_agui_page_asks_again_on_the_same_thread,
            CHROMIUM,
            PAGE_BUNDLER
        ),
        trial!(
            the_ai_sdk_page_asks_again_in_the_same_chat,
            CHROMIUM,
            PAGE_BUNDLER
        ),
    ]);
}

/// The two pages: their script in tests/pages and their title.
#[derive(Clone, Copy)]
enum Page {
    Agui,
    AiSdk,
}

impl Page {
    /// The page's HTML: tests/pages/page.html with the script bundled in
    /// by esbuild (a bundle is built afresh each time, in well under a
    /// second, so none is kept).
    fn html(self) -> String {
        let (entry, title) = match self {
            Page::Agui => ("agui.js", "AG-UI HttpAgent"),
            Page::AiSdk => ("ai_sdk.js", "AI SDK chat"),
        };
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pages");
        let built = std::process::Command::new(dir.join("node_modules/.bin/esbuild"))
            .current_dir(&dir)
            .args([entry, "--bundle", "--minify", "--format=iife"])
            .args(["--platform=browser", "--log-level=warning"])
            .output()
            .must("esbuild");
        let script = String::from_utf8(built.stdout).must("the bundle as UTF-8");
        assert!(
            built.status.success(),
            "esbuild {entry}: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        // esbuild escapes `</script` in what it emits; the shell relies on it.
        assert!(!script.contains("</script"), "{entry} would end its tag");
        let shell = std::fs::read_to_string(dir.join("page.html")).must("page.html");
        shell.replace("TITLE", title).replace("SCRIPT", &script)
    }
}

/// The example's server (its chat, its `/agui` and `/api/chat`) with
/// `page` at `/`. Not `serve_with`: that one always serves the example's
/// own page.
fn serve(page: Page, approve_tools: bool) -> WebsocketServer {
    let setup = example::Setup {
        model: example::Model::Replay,
        approve_tools,
        human_input_mode: HumanInputMode::Never,
    };
    let config = ServerConfig::new("127.0.0.1", 0).page(page.html());
    IOWebsockets::run_server_in_thread(config, move |ws: &IOWebsockets| {
        example::on_connect(ws, &setup)
    })
    .must("the server")
}

const QUESTION: &str = "What's the weather in Paris?";

/// The page served, in a browser, the question typed and sent.
fn ask(page: Page, approve_tools: bool) -> (WebsocketServer, Browser, Cdp) {
    let server = serve(page, approve_tools);
    let (browser, mut cdp) = cdp::open_url(&example::page_url(&server));
    cdp.wait_for(
        "the page's composer",
        "document.readyState === 'complete' && !document.getElementById('send').disabled",
    );
    send(&mut cdp, QUESTION);
    (server, browser, cdp)
}

/// Types `text` into the composer and clicks Send, as a user does.
fn send(cdp: &mut Cdp, text: &str) {
    cdp.eval("document.getElementById('question').focus(); true");
    cdp.call("Input.insertText", json!({"text": text}));
    cdp.eval("document.getElementById('send').click(); true");
}

/// Waits until the run is over, and checks it ended as `expected` (done,
/// or waiting for an approval).
fn wait_until(cdp: &mut Cdp, expected: &str) {
    let state = "document.getElementById('status').dataset.state";
    cdp.wait_for(
        "the run to end",
        &format!("['done', 'waiting', 'failed'].includes({state})"),
    );
    let status = cdp.eval("document.getElementById('status').textContent");
    assert_eq!(cdp.eval(state), json!(expected), "{status}");
}

/// What the page shows: its tool cards and its messages by role.
fn shown(cdp: &mut Cdp) -> Value {
    cdp.eval(
        "({cards: [...document.querySelectorAll('.tool-call')].map(c => ({ \
            name: c.querySelector('.name')?.textContent, \
            arguments: c.querySelector('.arguments')?.textContent, \
            result: c.querySelector('.result')?.textContent ?? null, \
            buttons: [...c.querySelectorAll('button:not(:disabled)')].map(b => b.textContent)})), \
          user: [...document.querySelectorAll('.message.user')].map(n => n.textContent), \
          assistant: [...document.querySelectorAll('.message.assistant')].map(n => n.textContent)})",
    )
}

/// The one weather_forecast card, its arguments parsed.
fn the_card(shown: &Value) -> (&Value, Value) {
    let cards = shown["cards"].as_array().must("cards");
    assert_eq!(cards.len(), 1, "one tool card: {shown}");
    let card = &cards[0];
    assert_eq!(card["name"], "weather_forecast", "{shown}");
    let arguments = card["arguments"].as_str().must("the arguments");
    let arguments = serde_json::from_str(arguments).must("the arguments as JSON");
    (card, arguments)
}

/// The finished chat: the question once, one card with its arguments and
/// result, the poem once and whole, and no page error.
fn assert_the_chat(cdp: &mut Cdp) {
    let shown = shown(cdp);
    assert_eq!(shown["user"], json!([QUESTION]), "the question once");
    let (card, arguments) = the_card(&shown);
    assert_eq!(arguments, json!({"city": "Paris"}));
    assert_the_answer(&shown, card, "Paris");
    assert_eq!(cdp.page_errors(), Vec::<String>::new(), "page errors");
}

/// `card` has `city`'s forecast and nothing to answer, and `city`'s poem
/// is shown once, whole.
fn assert_the_answer(shown: &Value, card: &Value, city: &str) {
    let result = card["result"].as_str().unwrap_or_default();
    assert!(
        result.starts_with(&format!("The weather forecast for {city} at ")),
        "{shown}"
    );
    assert_eq!(card["buttons"], json!([]), "nothing left to answer");
    let poems: Vec<&str> = shown["assistant"]
        .as_array()
        .must("assistant texts")
        .iter()
        .filter_map(Value::as_str)
        .filter(|text| text.contains(&format!("{city} sky")))
        .collect();
    assert_eq!(poems.len(), 1, "the {city} poem once: {shown}");
    let beginning = format!("Beneath the {city} sky");
    assert!(poems[0].starts_with(&beginning), "{}", poems[0]);
    assert_eq!(poems[0].split_whitespace().count(), 200, "{}", poems[0]);
}

fn shows_the_tool_call_and_the_poem_once(page: Page) {
    let (_server, _browser, mut cdp) = ask(page, false);
    wait_until(&mut cdp, "done");
    assert_the_chat(&mut cdp);
}

fn the_agui_page_shows_the_tool_call_and_the_poem_once() {
    shows_the_tool_call_and_the_poem_once(Page::Agui);
}

fn the_ai_sdk_page_shows_the_tool_call_and_the_poem_once() {
    shows_the_tool_call_and_the_poem_once(Page::AiSdk);
}

/// With approvals: the run ends waiting, the card asks (no result yet),
/// Approve goes on the protocol's way, and the chat ends as without them.
fn approves_and_goes_on(page: Page) {
    let (_server, _browser, mut cdp) = ask(page, true);
    wait_until(&mut cdp, "waiting");
    let asking = shown(&mut cdp);
    let (card, arguments) = the_card(&asking);
    assert_eq!(arguments, json!({"city": "Paris"}));
    assert_eq!(card["result"], Value::Null, "not run yet: {asking}");
    assert_eq!(card["buttons"], json!(["Approve", "Deny"]), "{asking}");
    assert_eq!(asking["assistant"], json!([]), "no poem yet: {asking}");

    cdp.eval("document.querySelector('.tool-call button.approve').click(); true");
    wait_until(&mut cdp, "done");
    assert_the_chat(&mut cdp);
}

/// Deny: the call does not run, the card says so with the page's reason,
/// and the chat still ends with the poem, once.
fn denies_and_goes_on(page: Page) {
    let (_server, _browser, mut cdp) = ask(page, true);
    wait_until(&mut cdp, "waiting");
    cdp.eval("document.querySelector('.tool-call button.deny').click(); true");
    wait_until(&mut cdp, "done");
    let shown = shown(&mut cdp);
    let (card, _) = the_card(&shown);
    let result = card["result"].as_str().unwrap_or_default();
    assert!(result.contains("denied on the page"), "{shown}");
    assert!(!result.contains("The weather forecast"), "not run: {shown}");
    assert_eq!(card["buttons"], json!([]), "nothing left to answer");
    let poems = shown["assistant"].as_array().must("assistant texts");
    assert_eq!(poems.len(), 1, "one reply, the poem: {shown}");
    let poem = poems[0].as_str().unwrap_or_default();
    assert!(poem.starts_with("Beneath the Paris sky"), "{poem}");
    assert_eq!(cdp.page_errors(), Vec::<String>::new(), "page errors");
}

fn the_agui_page_denies_an_interrupt_and_the_chat_goes_on() {
    denies_and_goes_on(Page::Agui);
}

fn the_ai_sdk_page_denies_a_tool_part_and_the_chat_goes_on() {
    denies_and_goes_on(Page::AiSdk);
}

/// AG-UI: the run finishes with an interrupt (`pendingInterrupts`); the
/// next run carries `resume` from `buildResumeArray`.
fn the_agui_page_approves_an_interrupt_and_resumes() {
    approves_and_goes_on(Page::Agui);
}

/// AI SDK: the tool part is `approval-requested`; Approve answers with
/// `addToolApprovalResponse`, then `sendMessage()`.
fn the_ai_sdk_page_approves_a_tool_part_and_sends_on() {
    approves_and_goes_on(Page::AiSdk);
}

/// A second question goes on the same conversation (the client sends it
/// whole): the page then shows both questions and both answers, each once.
fn asks_again(page: Page) {
    let (_server, _browser, mut cdp) = ask(page, false);
    wait_until(&mut cdp, "done");
    send(&mut cdp, "And in Berlin?");
    // Not the state alone: it reads "done" until the second run starts.
    cdp.wait_for(
        "the second forecast",
        "document.querySelectorAll('.tool-call .result').length === 2",
    );
    wait_until(&mut cdp, "done");
    let shown = shown(&mut cdp);
    assert_eq!(
        shown["user"],
        json!([QUESTION, "And in Berlin?"]),
        "{shown}"
    );
    let cards = shown["cards"].as_array().must("cards");
    assert_eq!(cards.len(), 2, "a card per question: {shown}");
    for (card, city) in cards.iter().zip(["Paris", "Berlin"]) {
        assert_eq!(card["name"], "weather_forecast", "{shown}");
        let arguments = card["arguments"].as_str().must("the arguments");
        let arguments: Value = serde_json::from_str(arguments).must("the arguments as JSON");
        assert_eq!(arguments, json!({"city": city}), "{shown}");
        assert_the_answer(&shown, card, city);
    }
    assert_eq!(cdp.page_errors(), Vec::<String>::new(), "page errors");
}

fn the_agui_page_asks_again_on_the_same_thread() {
    asks_again(Page::Agui);
}

fn the_ai_sdk_page_asks_again_in_the_same_chat() {
    asks_again(Page::AiSdk);
}
