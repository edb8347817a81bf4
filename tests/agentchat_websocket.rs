//! The notebook chat served over a real websocket, with a client that drops
//! mid-stream: the server stops reading the model and calls it no more.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use agentio::io::websockets::ServerConfig;
use agentio::io::{IOStream, IOWebsockets};
use common::notebook;
use common::ws::{connect, send, text};
use common::{MockServer, streamed_text};

#[test]
fn a_client_that_drops_mid_stream_stops_the_model_calls() {
    let mock = MockServer::start(notebook::slow_replies(vec![streamed_text(&[
        "never requested",
    ])]));
    let base_url = mock.base_url();
    let server = IOWebsockets::run_server_in_thread(
        ServerConfig::new("127.0.0.1", 0),
        move |ws: &IOWebsockets| {
            let message = ws.input("", false)?;
            notebook::chat_with(notebook::Model::Mock(&base_url), message.into()).map(|_| ())
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let mut ws = connect(server.uri());
    send(
        &mut ws,
        "Check out the weather in Paris and write a poem about it.",
    );
    // Read until the poem has started streaming, then vanish.
    let mut seen = 0;
    while seen < 3 {
        if text(&mut ws).starts_with("word") {
            seen += 1;
        }
    }
    drop(ws);

    let deadline = Instant::now() + Duration::from_secs(5);
    while (server.connections() > 0 || !mock.client_left_early.load(Ordering::SeqCst))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        mock.client_left_early.load(Ordering::SeqCst),
        "the model stream was dropped"
    );
    assert!(
        mock.slow_events_written.load(Ordering::SeqCst) < 100,
        "stopped early"
    );
    assert_eq!(server.connections(), 0, "the chat ended");
    assert_eq!(
        mock.received().len(),
        2,
        "no model call after the client left"
    );
}
