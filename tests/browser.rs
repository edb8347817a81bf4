//! The chat page in a real browser: headless Chromium, driven over the
//! DevTools protocol, loads the websocket example's page, sends a message,
//! and the test reads what the page shows.
//!
//! Reported as ignored when Chromium is not installed, unless
//! `AGENTIO_REQUIRE_BROWSER` is set, as `.ci/run` does after installing it
//! (see tests/common/external.rs).

#[path = "common/cdp.rs"]
mod cdp;
#[path = "../examples/websocket_chat/chat.rs"]
#[allow(dead_code)] // main.rs uses the rest
mod chat;
mod common;
#[path = "common/external.rs"]
mod external;

use std::time::Duration;

use agentio::agentchat::HumanInputMode;
use cdp::{Browser, Cdp, open_url};
use serde_json::{Value, json};

fn main() {
    external::run(vec![
        trial!(the_group_chat_page_shows_who_speaks, external::CHROMIUM),
        trial!(
            the_page_shows_the_tool_call_and_the_streamed_poem_once,
            external::CHROMIUM
        ),
        trial!(
            a_reload_mid_chat_shows_the_conversation_once_then_the_rest,
            external::CHROMIUM
        ),
        trial!(
            a_cut_connection_resumes_by_itself_and_new_chat_starts_over,
            external::CHROMIUM
        ),
        trial!(
            an_approved_tool_call_runs_and_its_card_shows_it_resolved,
            external::CHROMIUM
        ),
        trial!(
            a_denied_tool_call_does_not_run_and_the_model_gets_the_reason,
            external::CHROMIUM
        ),
        trial!(
            edited_arguments_run_instead_and_bad_json_is_refused_on_the_page,
            external::CHROMIUM
        ),
        trial!(
            a_reload_shows_a_waiting_request_actionable_and_an_answered_one_resolved,
            external::CHROMIUM
        ),
        trial!(
            a_cut_connection_while_a_request_waits_resumes_and_its_card_still_answers,
            external::CHROMIUM
        ),
        trial!(
            human_input_always_asks_after_every_reply_and_empty_answers_auto_reply,
            external::CHROMIUM
        ),
    ]);
}

/// The browser and a DevTools session on the example's page, served with
/// `setup` (or a plain model).
fn open_page(
    setup: impl Into<chat::Setup>,
) -> (agentio::io::websockets::WebsocketServer, Browser, Cdp) {
    let server = chat::serve("127.0.0.1", 0, setup).unwrap_or_else(|e| panic!("{e}"));
    let url = chat::page_url(&server);
    let (browser, cdp) = open_url(&url);
    (server, browser, cdp)
}

/// Saves the page, 900 × 1100 CSS pixels, as a PNG at `path`.
fn screenshot(cdp: &mut Cdp, path: &std::path::Path) {
    use base64::Engine;
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 900, "height": 1100, "deviceScaleFactor": 1, "mobile": false}),
    );
    let shot = cdp.call("Page.captureScreenshot", json!({"format": "png"}));
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the screenshot is not base64: {e}"));
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// True once the streamed poem has more than 20 words on the page.
const POEM_STREAMING: &str = "[...document.querySelectorAll('.streaming .body')].some(n => n.textContent.split(' ').length > 20)";

/// Waits for the page to ask, then asks for the notebook's weather poem.
fn ask_for_the_poem(cdp: &mut Cdp) {
    cdp.wait_for(
        "the page to ask for input",
        "document.getElementById('reply') && !document.getElementById('reply').disabled",
    );
    cdp.eval(
        "document.getElementById('reply').value = 'Check out the weather in Paris and write a poem about it.'; \
         document.getElementById('composer').requestSubmit(); true",
    );
}

/// What the page shows of the notebook chat: tool calls, tool results, and
/// the bodies holding TERMINATE (the streamed poem).
fn shown(cdp: &mut Cdp) -> (Value, Value, Vec<Value>) {
    let tool_calls = cdp.eval("[...document.querySelectorAll('.msg.tool')].filter(n => n.innerText.includes('calls weather_forecast')).length");
    let results = cdp.eval("[...document.querySelectorAll('.msg.tool')].filter(n => n.innerText.includes('is sunny')).length");
    let poems = cdp.eval("[...document.querySelectorAll('.msg .body')].filter(n => n.textContent.includes('TERMINATE')).map(n => n.textContent)");
    (
        tool_calls,
        results,
        poems.as_array().cloned().unwrap_or_default(),
    )
}

fn the_page_shows_the_tool_call_and_the_streamed_poem_once() {
    let (_server, _browser, mut cdp) = open_page(chat::Model::Replay);
    ask_for_the_poem(&mut cdp);
    cdp.wait_for(
        "the chat to end",
        "document.body.innerText.includes('chat ended')",
    );

    let (tool_calls, results, poems) = shown(&mut cdp);
    assert_eq!(tool_calls, json!(1), "the tool call is shown as such");
    assert_eq!(results, json!(1), "the tool result is shown");
    assert_eq!(poems.len(), 1, "the streamed poem is shown once: {poems:?}");
    let poem = poems[0].as_str().unwrap_or("");
    assert!(poem.starts_with("Beneath the Paris sky"), "{poem}");
    assert_eq!(poem.split_whitespace().count(), 200);
    // The README's picture of the page: `AGENTIO_SCREENSHOT=docs/page.png
    // cargo test --test browser` makes it again.
    if let Some(path) = std::env::var_os("AGENTIO_SCREENSHOT") {
        screenshot(&mut cdp, std::path::Path::new(&path));
    }
    let streaming_left = cdp.eval("document.querySelectorAll('.streaming').length");
    assert_eq!(
        streaming_left,
        json!(0),
        "the streamed bubble was finalised"
    );
}

/// The page keeps its conversation as a session: reloaded while the poem
/// streams, it shows the whole conversation once (the question, the tool
/// call, the poem so far), then the rest of the stream, and the poem whole.
fn a_reload_mid_chat_shows_the_conversation_once_then_the_rest() {
    // 200 words 10 ms apart: two seconds of streaming to reload in.
    let model = chat::Model::ReplayPaced(Duration::from_millis(10));
    let (_server, _browser, mut cdp) = open_page(model);
    ask_for_the_poem(&mut cdp);
    cdp.wait_for("the poem to start streaming", POEM_STREAMING);
    cdp.call("Page.reload", json!({}));
    cdp.wait_for(
        "the chat to end after the reload",
        "document.body.innerText.includes('chat ended')",
    );
    let (tool_calls, results, poems) = shown(&mut cdp);
    assert_eq!(tool_calls, json!(1), "the tool call once, after the reload");
    assert_eq!(results, json!(1), "the tool result once");
    assert_eq!(poems.len(), 1, "the poem once: {poems:?}");
    let poem = poems[0].as_str().unwrap_or("");
    assert!(poem.starts_with("Beneath the Paris sky"), "{poem}");
    assert_eq!(
        poem.split_whitespace().count(),
        200,
        "the whole poem: {poem}"
    );
    let questions = cdp.eval("[...document.querySelectorAll('.msg .body')].filter(n => n.textContent.startsWith('Check out the weather in Paris')).length");
    assert_eq!(questions, json!(1), "the question once");
}

/// A TCP relay to the server that the test can cut, as a network would:
/// every connection through it is shut down at once, without a close frame.
struct Relay {
    port: u16,
    live: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Relay {
    fn to(server: std::net::SocketAddr) -> Relay {
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let live = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (kept, count) = (live.clone(), accepted.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Ok(upstream) = TcpStream::connect(server) else {
                    continue;
                };
                let pipes = [
                    (client.try_clone(), upstream.try_clone()),
                    (upstream.try_clone(), client.try_clone()),
                ];
                if let Ok(mut open) = kept.lock() {
                    open.extend([client, upstream]);
                }
                for pipe in pipes {
                    if let (Ok(mut from), Ok(mut to)) = pipe {
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut from, &mut to);
                            let _ = to.shutdown(std::net::Shutdown::Both);
                        });
                    }
                }
            }
        });
        Relay {
            port,
            live,
            accepted,
        }
    }

    /// Cuts every connection through the relay.
    fn cut(&self) {
        if let Ok(mut open) = self.live.lock() {
            for socket in open.drain(..) {
                let _ = socket.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

/// The page's own recovery: a connection cut mid-poem (no close frame)
/// resumes by itself with `after`, and the poem arrives whole, once; then
/// "New chat" starts a new session on a clean page.
fn a_cut_connection_resumes_by_itself_and_new_chat_starts_over() {
    let model = chat::Model::ReplayPaced(Duration::from_millis(10));
    let server = chat::serve("127.0.0.1", 0, model).unwrap_or_else(|e| panic!("{e}"));
    let relay = Relay::to(server.local_addr());
    let (_browser, mut cdp) = open_url(&format!("http://127.0.0.1:{}/", relay.port));
    ask_for_the_poem(&mut cdp);
    let first_session = cdp.eval("localStorage.getItem('agentio-session')");
    cdp.wait_for("the poem to start streaming", POEM_STREAMING);
    let before_cut = relay.accepted.load(std::sync::atomic::Ordering::SeqCst);
    relay.cut();
    cdp.wait_for(
        "the chat to end after the cut",
        "document.body.innerText.includes('chat ended')",
    );
    let (tool_calls, results, poems) = shown(&mut cdp);
    assert_eq!((tool_calls, results), (json!(1), json!(1)), "once each");
    assert_eq!(poems.len(), 1, "the poem once: {poems:?}");
    let poem = poems[0].as_str().unwrap_or("");
    assert_eq!(
        poem.split_whitespace().count(),
        200,
        "the whole poem: {poem}"
    );

    assert!(
        relay.accepted.load(std::sync::atomic::Ordering::SeqCst) > before_cut,
        "the page connected again by itself"
    );

    cdp.eval("document.getElementById('new').click(); true");
    cdp.wait_for(
        "a clean page asking for the first message",
        "document.querySelectorAll('.msg').length === 0 && !document.getElementById('reply').disabled",
    );
    let second_session = cdp.eval("localStorage.getItem('agentio-session')");
    assert_ne!(first_session, second_session, "a new session");
    assert!(
        second_session.as_str().is_some_and(|id| id.len() >= 22),
        "{second_session}"
    );
}

/// The replay chat with `--approve-tools`: the weather call waits for the
/// page's answer.
fn approving() -> chat::Setup {
    chat::Setup {
        model: chat::Model::Replay,
        approve_tools: true,
        human_input_mode: HumanInputMode::Never,
    }
}

/// True while the page shows a tool approval card that can still be
/// answered: not resolved, its buttons enabled.
const CARD_WAITING: &str = "(() => { const c = document.querySelector('.approval:not(.resolved)'); \
    return !!c && [...c.querySelectorAll('button, textarea, input')].every(b => !b.disabled); })()";

/// True once the chat has ended (the termination notice).
const CHAT_ENDED: &str = "document.body.innerText.includes('chat ended')";

/// Clicks the waiting card's button labelled `label`.
fn click_card_button(cdp: &mut Cdp, label: &str) {
    let clicked = cdp.eval(&format!(
        "(() => {{ const b = [...document.querySelectorAll('.approval:not(.resolved) button')]\
         .find(b => b.textContent === {label} && !b.disabled); if (!b) return false; b.click(); return true; }})()",
        label = json!(label)
    ));
    assert_eq!(
        clicked,
        json!(true),
        "no enabled {label:?} button; page: {}",
        cdp.eval("document.body.innerText")
    );
}

/// Types `value` into the waiting card's field `selector`, as a user does.
fn type_into_card(cdp: &mut Cdp, selector: &str, value: &str) {
    let typed = cdp.eval(&format!(
        "(() => {{ const f = document.querySelector('.approval:not(.resolved) ' + {selector}); \
         if (!f) return false; f.focus(); f.value = {value}; \
         f.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()",
        selector = json!(selector),
        value = json!(value)
    ));
    assert_eq!(typed, json!(true), "no field {selector} on a waiting card");
}

/// What the (first) card says of its state, e.g. "Approved".
fn card_state(cdp: &mut Cdp) -> String {
    let state = cdp.eval("document.querySelector('.approval .state')?.textContent");
    state.as_str().unwrap_or_default().to_owned()
}

/// How many tool bubbles (calls and results) contain `text`.
fn tool_bubbles_with(cdp: &mut Cdp, text: &str) -> Value {
    cdp.eval(&format!(
        "[...document.querySelectorAll('.msg.tool')].filter(n => n.innerText.includes({})).length",
        json!(text)
    ))
}

/// How many notices contain `text`.
fn notices_with(cdp: &mut Cdp, text: &str) -> Value {
    cdp.eval(&format!(
        "[...document.querySelectorAll('.notice')].filter(n => n.textContent.includes({})).length",
        json!(text)
    ))
}

/// The streamed poem was shown once, whole.
fn assert_the_poem_once(cdp: &mut Cdp, city: &str) {
    let (_, _, poems) = shown(cdp);
    assert_eq!(poems.len(), 1, "the poem once: {poems:?}");
    let poem = poems[0].as_str().unwrap_or("");
    assert!(
        poem.starts_with(&format!("Beneath the {city} sky")),
        "{poem}"
    );
    assert_eq!(poem.split_whitespace().count(), 200, "{poem}");
}

/// From now on, keeps every frame the page sends, parsed, in `window.sent`.
fn record_sent(cdp: &mut Cdp) {
    let recording = cdp.eval(
        "(() => { window.sent = []; const original = WebSocket.prototype.send; \
         WebSocket.prototype.send = function (data) { \
           try { window.sent.push(JSON.parse(data)); } catch (_) { window.sent.push(data); } \
           return original.call(this, data); }; return true; })()",
    );
    assert_eq!(recording, json!(true), "cannot record what the page sends");
}

/// The frames of type `kind` the page sent since [`record_sent`].
fn sent(cdp: &mut Cdp, kind: &str) -> Vec<Value> {
    let frames = cdp.eval(&format!(
        "window.sent.filter(f => f.type === {})",
        json!(kind)
    ));
    frames.as_array().cloned().unwrap_or_default()
}

/// The request_id of the card the page shows first.
fn card_request_id(cdp: &mut Cdp) -> Value {
    cdp.eval("document.querySelector('.approval').dataset.requestId")
}

/// The page showed no `error` event, and threw or logged no error.
fn assert_no_errors(cdp: &mut Cdp) {
    let errors =
        cdp.eval("[...document.querySelectorAll('.notice.error')].map(n => n.textContent)");
    assert_eq!(errors, json!([]), "error events shown");
    assert_eq!(cdp.page_errors(), Vec::<String>::new(), "page errors");
}

/// The card's controls are all disabled (or gone): nothing more to answer.
fn assert_card_settled(cdp: &mut Cdp) {
    let live = cdp.eval(
        "[...document.querySelectorAll('.approval button, .approval textarea, .approval input')]\
         .filter(b => !b.disabled).length",
    );
    assert_eq!(live, json!(0), "an answered card has no live controls");
    let waiting = cdp.eval("document.querySelectorAll('.approval:not(.resolved)').length");
    assert_eq!(waiting, json!(0), "no card waits");
}

/// The approval card: who asks, the tool, its arguments as editable JSON,
/// and labelled buttons; Approve runs the call, the poem streams, the card
/// shows "Approved" with its controls disabled.
fn an_approved_tool_call_runs_and_its_card_shows_it_resolved() {
    let (_server, _browser, mut cdp) = open_page(approving());
    ask_for_the_poem(&mut cdp);
    cdp.wait_for("an approval card", CARD_WAITING);
    record_sent(&mut cdp);

    let card = cdp.eval("document.querySelector('.approval').innerText");
    let card = card.as_str().unwrap_or_default();
    assert!(card.contains("chatbot → user_proxy"), "who asks: {card}");
    assert!(card.contains("weather_forecast"), "the tool: {card}");
    let arguments = cdp.eval("JSON.parse(document.querySelector('.approval textarea').value)");
    assert_eq!(arguments, json!({"city": "Paris"}), "the arguments");
    let pretty = cdp.eval("document.querySelector('.approval textarea').value");
    assert_eq!(
        pretty,
        json!("{\n  \"city\": \"Paris\"\n}"),
        "pretty-printed"
    );
    let labels =
        cdp.eval("[...document.querySelectorAll('.approval button')].map(b => b.textContent)");
    assert_eq!(labels, json!(["Approve", "Edit", "Deny"]));
    let unlabelled = cdp.eval(
        "[...document.querySelectorAll('.approval textarea, .approval input')]\
         .filter(f => !f.labels || !f.labels.length).length",
    );
    assert_eq!(unlabelled, json!(0), "every field has a label");
    assert_eq!(
        tool_bubbles_with(&mut cdp, "is sunny"),
        json!(0),
        "not run yet"
    );
    // docs/approval.png: `AGENTIO_APPROVAL_SCREENSHOT=docs/approval.png
    // cargo test --test browser` makes it again.
    if let Some(path) = std::env::var_os("AGENTIO_APPROVAL_SCREENSHOT") {
        screenshot(&mut cdp, std::path::Path::new(&path));
    }

    click_card_button(&mut cdp, "Approve");
    cdp.wait_for("the chat to end", CHAT_ENDED);
    assert_eq!(
        tool_bubbles_with(&mut cdp, "The weather forecast for Paris at "),
        json!(1),
        "the tool ran once"
    );
    assert_eq!(tool_bubbles_with(&mut cdp, "is sunny"), json!(1));
    assert_the_poem_once(&mut cdp, "Paris");
    assert_eq!(card_state(&mut cdp), "Approved");
    assert_card_settled(&mut cdp);
    let id = card_request_id(&mut cdp);
    assert_eq!(
        sent(&mut cdp, "tool_approval_response"),
        vec![json!({"type": "tool_approval_response",
                    "content": {"request_id": id, "decision": "approve", "remember": false}})]
    );
    assert_no_errors(&mut cdp);
}

/// Deny with a reason: the tool does not run, the model is told why (the
/// tool response shows it), and the chat goes on to the poem.
fn a_denied_tool_call_does_not_run_and_the_model_gets_the_reason() {
    let (_server, _browser, mut cdp) = open_page(approving());
    ask_for_the_poem(&mut cdp);
    cdp.wait_for("an approval card", CARD_WAITING);
    record_sent(&mut cdp);
    type_into_card(&mut cdp, "input.reason", "no forecasts today, please");
    click_card_button(&mut cdp, "Deny");
    cdp.wait_for("the chat to end", CHAT_ENDED);

    assert_eq!(
        tool_bubbles_with(
            &mut cdp,
            "The user denied this call of weather_forecast: no forecasts today, please"
        ),
        json!(1),
        "the denial and its reason, as the model got it; page: {}",
        cdp.eval("document.body.innerText")
    );
    assert_eq!(tool_bubbles_with(&mut cdp, "is sunny"), json!(0), "not run");
    assert_eq!(notices_with(&mut cdp, "running weather_forecast"), json!(0));
    assert_the_poem_once(&mut cdp, "Paris");
    assert_eq!(card_state(&mut cdp), "Denied: no forecasts today, please");
    assert_card_settled(&mut cdp);
    let id = card_request_id(&mut cdp);
    assert_eq!(
        sent(&mut cdp, "tool_approval_response"),
        vec![json!({"type": "tool_approval_response",
                    "content": {"request_id": id, "decision": "deny", "remember": false,
                                "reason": "no forecasts today, please"}})]
    );
    assert_no_errors(&mut cdp);
}

/// Edit: arguments that are not JSON, or not an object, are refused on the
/// page (an inline error, nothing sent, the card still waits); edited
/// arguments run in place of the model's.
fn edited_arguments_run_instead_and_bad_json_is_refused_on_the_page() {
    let (_server, _browser, mut cdp) = open_page(approving());
    ask_for_the_poem(&mut cdp);
    cdp.wait_for("an approval card", CARD_WAITING);
    record_sent(&mut cdp);
    let problem = "document.querySelector('.approval .problem').textContent";

    for (bad, complaint) in [
        ("{\"city\": ", "not valid JSON"),
        ("[\"Berlin\"]", "must be a JSON object"),
        ("null", "must be a JSON object"),
    ] {
        type_into_card(&mut cdp, "textarea", bad);
        click_card_button(&mut cdp, "Edit");
        let said = cdp.eval(problem);
        assert!(
            said.as_str().is_some_and(|s| s.contains(complaint)),
            "{bad}: {said}"
        );
        assert_eq!(cdp.eval(CARD_WAITING), json!(true), "{bad}: still waiting");
        assert_eq!(
            cdp.eval("window.sent.length"),
            json!(0),
            "{bad}: nothing sent"
        );
    }

    type_into_card(&mut cdp, "textarea", "{\"city\": \"Berlin\"}");
    click_card_button(&mut cdp, "Edit");
    cdp.wait_for("the chat to end", CHAT_ENDED);
    assert_eq!(cdp.eval(problem), json!(""), "the complaint is gone");
    assert_eq!(
        tool_bubbles_with(&mut cdp, "The weather forecast for Berlin at "),
        json!(1),
        "the edited call ran; page: {}",
        cdp.eval("document.body.innerText")
    );
    assert_eq!(
        tool_bubbles_with(
            &mut cdp,
            "The user edited the arguments to {\"city\":\"Berlin\"}."
        ),
        json!(1),
        "the model is told of the edit"
    );
    assert_eq!(
        tool_bubbles_with(&mut cdp, "The weather forecast for Paris"),
        json!(0),
        "the model's arguments did not run"
    );
    let state = card_state(&mut cdp);
    assert!(state.starts_with("Edited"), "{state}");
    assert!(state.contains("Berlin"), "{state}");
    assert_card_settled(&mut cdp);
    let id = card_request_id(&mut cdp);
    assert_eq!(
        sent(&mut cdp, "tool_approval_response"),
        vec![json!({"type": "tool_approval_response",
                    "content": {"request_id": id, "decision": "edit", "remember": false,
                                "arguments": {"city": "Berlin"}}})],
        "one answer, the valid edit"
    );
    assert_no_errors(&mut cdp);
}

/// Reloads the page and waits until the reloaded one shows `what`.
fn reload_until(cdp: &mut Cdp, what: &str, expression: &str) {
    cdp.eval("window.beforeTheReload = true");
    cdp.call("Page.reload", json!({}));
    cdp.wait_for(
        what,
        &format!("!window.beforeTheReload && document.readyState === 'complete' && ({expression})"),
    );
}

/// A reload while a request waits shows its card again, still actionable
/// (the session replays the request, and no answer to it); approving it
/// then works. Reloaded after that, the card shows resolved.
fn a_reload_shows_a_waiting_request_actionable_and_an_answered_one_resolved() {
    let (_server, _browser, mut cdp) = open_page(approving());
    ask_for_the_poem(&mut cdp);
    cdp.wait_for("an approval card", CARD_WAITING);
    let session = cdp.eval("localStorage.getItem('agentio-session')");

    reload_until(&mut cdp, "the card again after the reload", CARD_WAITING);
    record_sent(&mut cdp);
    assert_eq!(
        cdp.eval("localStorage.getItem('agentio-session')"),
        session,
        "the same session"
    );
    assert_eq!(
        cdp.eval("document.querySelectorAll('.approval').length"),
        json!(1)
    );
    let questions = cdp.eval("[...document.querySelectorAll('.msg .body')].filter(n => n.textContent.startsWith('Check out the weather in Paris')).length");
    assert_eq!(questions, json!(1), "the question once");
    assert_eq!(
        cdp.eval("document.getElementById('reply').disabled"),
        json!(true),
        "the answered first input request is not open again"
    );

    click_card_button(&mut cdp, "Approve");
    cdp.wait_for("the chat to end", CHAT_ENDED);
    assert_eq!(sent(&mut cdp, "tool_approval_response").len(), 1);
    assert_eq!(
        tool_bubbles_with(&mut cdp, "is sunny"),
        json!(1),
        "ran once"
    );
    assert_the_poem_once(&mut cdp, "Paris");
    assert_eq!(card_state(&mut cdp), "Approved");

    reload_until(&mut cdp, "the ended chat after a second reload", CHAT_ENDED);
    assert_eq!(
        cdp.eval("document.querySelectorAll('.approval').length"),
        json!(1)
    );
    assert_eq!(card_state(&mut cdp), "Approved", "replayed resolved");
    assert_card_settled(&mut cdp);
    assert_eq!(tool_bubbles_with(&mut cdp, "is sunny"), json!(1));
    assert_the_poem_once(&mut cdp, "Paris");
    assert_no_errors(&mut cdp);
}

/// A connection cut while a request waits: the page resumes (`after`), the
/// card it has stays, once, and answering it on the new connection works.
fn a_cut_connection_while_a_request_waits_resumes_and_its_card_still_answers() {
    let server = chat::serve("127.0.0.1", 0, approving()).unwrap_or_else(|e| panic!("{e}"));
    let relay = Relay::to(server.local_addr());
    let (_browser, mut cdp) = open_url(&format!("http://127.0.0.1:{}/", relay.port));
    ask_for_the_poem(&mut cdp);
    cdp.wait_for("an approval card", CARD_WAITING);
    let before_cut = relay.accepted.load(std::sync::atomic::Ordering::SeqCst);
    relay.cut();
    cdp.wait_for(
        "the page to notice the cut",
        "document.getElementById('status').className === 'closed'",
    );
    cdp.wait_for(
        "the page to connect again",
        "document.getElementById('status').className === 'open'",
    );
    assert!(relay.accepted.load(std::sync::atomic::Ordering::SeqCst) > before_cut);
    assert_eq!(cdp.eval(CARD_WAITING), json!(true), "the card still waits");
    assert_eq!(
        cdp.eval("document.querySelectorAll('.approval').length"),
        json!(1),
        "once"
    );

    click_card_button(&mut cdp, "Approve");
    cdp.wait_for("the chat to end", CHAT_ENDED);
    assert_eq!(
        tool_bubbles_with(&mut cdp, "is sunny"),
        json!(1),
        "ran once"
    );
    assert_the_poem_once(&mut cdp, "Paris");
    assert_eq!(card_state(&mut cdp), "Approved");
    assert_card_settled(&mut cdp);
    assert_no_errors(&mut cdp);
}

/// True while the page asks for input with a prompt containing `text`.
fn asking(text: &str) -> String {
    format!(
        "!document.getElementById('reply').disabled && \
         document.getElementById('prompt').textContent.includes({})",
        json!(text)
    )
}

/// Answers the open input request with `value` (empty: auto-reply).
fn answer_input(cdp: &mut Cdp, value: &str) {
    cdp.eval(&format!(
        "document.getElementById('reply').value = {}; \
         document.getElementById('composer').requestSubmit(); true",
        json!(value)
    ));
}

/// The seed's question: with `--human-input always` the human may answer
/// every reply, the chatbot's tool call included. The page shows each
/// prompt; an empty answer lets the tool run (auto-reply), another after
/// the poem ends the chat, and the page then asks for the next message.
fn human_input_always_asks_after_every_reply_and_empty_answers_auto_reply() {
    let setup = chat::Setup {
        model: chat::Model::Replay,
        approve_tools: false,
        human_input_mode: HumanInputMode::Always,
    };
    let (_server, _browser, mut cdp) = open_page(setup);
    cdp.wait_for(
        "the page to connect",
        "document.getElementById('status').className === 'open'",
    );
    record_sent(&mut cdp);
    ask_for_the_poem(&mut cdp);
    let feedback = "Provide feedback to chatbot";

    cdp.wait_for("the prompt after the tool call", &asking(feedback));
    assert_eq!(
        tool_bubbles_with(&mut cdp, "calls weather_forecast"),
        json!(1),
        "asked about the tool call"
    );
    assert_eq!(
        tool_bubbles_with(&mut cdp, "is sunny"),
        json!(0),
        "not run yet"
    );
    answer_input(&mut cdp, "");

    cdp.wait_for(
        "the tool to run, the poem, and the prompt after it",
        &format!(
            "[...document.querySelectorAll('.msg.tool')].some(n => n.innerText.includes('is sunny')) && \
             document.querySelectorAll('.streaming').length === 0 && ({})",
            asking(feedback)
        ),
    );
    assert_eq!(tool_bubbles_with(&mut cdp, "is sunny"), json!(1));
    assert_the_poem_once(&mut cdp, "Paris");
    assert_eq!(notices_with(&mut cdp, "chat ended"), json!(0), "not yet");
    answer_input(&mut cdp, "");

    cdp.wait_for("the chat to end", CHAT_ENDED);
    cdp.wait_for(
        "the page to ask for the next message",
        "!document.getElementById('reply').disabled && document.getElementById('prompt').textContent === ''",
    );
    assert_eq!(
        notices_with(&mut cdp, "no human input received"),
        json!(2),
        "both empty answers were taken as such"
    );
    assert_eq!(
        tool_bubbles_with(&mut cdp, "is sunny"),
        json!(1),
        "ran once"
    );
    assert_the_poem_once(&mut cdp, "Paris");
    // Each answer named its request (a wrong one would be an error event).
    let answers = sent(&mut cdp, "input_response");
    assert_eq!(answers.len(), 3, "{answers:?}");
    let ids: Vec<&str> = answers
        .iter()
        .filter_map(|a| a["content"]["request_id"].as_str())
        .collect();
    assert_eq!(ids.len(), 3, "every answer names its request: {answers:?}");
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );
    let values: Vec<&Value> = answers.iter().map(|a| &a["content"]["value"]).collect();
    assert_eq!(values[1..], [&json!(""), &json!("")], "the empty answers");
    assert_no_errors(&mut cdp);
}

/// The group_chat example served (`--serve`): the page names every
/// speaker, announces the next one, and shows each reply once.
fn the_group_chat_page_shows_who_speaks() {
    let example = common::process::Running::command(
        std::process::Command::new(common::process::example_bin("group_chat"))
            .args([
                "--serve",
                "--port",
                "0",
                "--speaker-selection",
                "round_robin",
            ])
            .env_remove("OPENAI_API_KEY")
            .env_remove("OAI_CONFIG_LIST"),
    );
    let url = example.line_after("page:");
    let (_browser, mut cdp) = open_url(&url);
    ask_for_the_poem(&mut cdp);
    cdp.wait_for(
        "the critic's verdict",
        "[...document.querySelectorAll('.msg')].some(n => n.innerText.includes('critic → chat_manager') && n.innerText.includes('TERMINATE'))",
    );
    let headers = cdp.eval("[...document.querySelectorAll('.msg .who')].map(n => n.textContent)");
    let headers: Vec<&str> = headers
        .as_array()
        .map(|h| h.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for speaker in [
        "writer → chat_manager",
        "user_proxy → chat_manager",
        "critic → chat_manager",
    ] {
        assert!(
            headers.contains(&speaker),
            "{speaker} missing from {headers:?}"
        );
    }
    let announced = cdp.eval(
        "[...document.querySelectorAll('.notice')].map(n => n.textContent).filter(t => t.startsWith('next speaker: '))",
    );
    let announced: Vec<&str> = announced
        .as_array()
        .map(|n| n.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        announced,
        [
            "next speaker: writer",
            "next speaker: user_proxy",
            "next speaker: writer",
            "next speaker: critic"
        ],
        "{headers:?}"
    );
    // The poem streamed once, under the writer's name.
    let poems = cdp.eval("[...document.querySelectorAll('.msg')].filter(n => n.innerText.includes('Beneath the Paris sky')).map(n => n.querySelector('.who').textContent)");
    assert_eq!(poems, json!(["writer → chat_manager"]));
    assert_eq!(
        cdp.eval("document.querySelectorAll('.streaming').length"),
        json!(0)
    );
}
