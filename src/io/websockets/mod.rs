//! Websockets: [`IOWebsockets`], a stream to one
//! client, and the server that gives each client a thread with its stream as
//! the default (`IOWebsockets::run_server_in_thread`).
//!
//! Limits ([`ServerConfig`]) have safe defaults; a handshake hook can refuse
//! clients; the same port can serve a page to plain HTTP GETs and health
//! checks; [`WebsocketServer::drain`] stops gracefully for rolling restarts.

mod accept;
mod agui_input;
mod agui_ws;
mod body;
mod chat_transport;
mod config;
mod connection;
pub(crate) mod handshake;
mod link;
mod live_reply;
mod parking;
mod routes;
mod run_link;
mod run_request;
mod serve;
mod server;
mod session;
mod shared;
mod sse;
mod text_log;
mod transport;
mod ui_request;

pub use config::{HandshakeHook, Refusal, ServerConfig, ServerSettings};
pub use connection::IOWebsockets;
pub use handshake::{EVENTS_PROTOCOL, Request};
pub use server::{Drained, WebsocketServer};
pub use transport::{Acceptor, TcpSocket, Transport};
