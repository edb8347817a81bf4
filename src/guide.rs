//! # The guide: streams, your own streams, filters and tee, agents, and approvals
//!
//! Every snippet here is a test that runs offline (`cargo test --doc`).
//!
//! ## 1. The stream alone
//!
//! There is no agent in this section. Code that shows something prints it
//! through the current thread's default stream; without one set, that is the
//! global default, the console ([`IOConsole`](crate::io::IOConsole)).
//!
//! ```
//! // Prints to the console, like Python's print(); returns an error if the
//! // stream's reader is gone, so long work can stop.
//! agentio::ioprintln!("Hello, {}!", "World")?;
//! # Ok::<(), agentio::Error>(())
//! ```
//!
//! **Redirect output for a scope** with a guard: everything this thread
//! prints goes to the new stream until the guard drops (also on panic). Here
//! a buffer, for a test or to post-process:
//!
//! ```
//! use agentio::io::{self, IOBuffer};
//! use std::sync::Arc;
//!
//! let buffer = Arc::new(IOBuffer::new());
//! {
//!     let _guard = io::set_default(buffer.clone());
//!     agentio::ioprintln!("captured")?;
//! }
//! agentio::ioprintln!("back on the console")?;
//! assert_eq!(buffer.text(), "captured\n");
//! # Ok::<(), agentio::Error>(())
//! ```
//!
//! **A file for a scope**: [`JsonLines`](crate::io::JsonLines) writes one
//! event per line; [`with_default`](crate::io::with_default) is the guard as a
//! closure.
//!
//! ```
//! use agentio::io::{self, JsonLines};
//! use std::sync::Arc;
//!
//! let path = std::env::temp_dir().join(format!("guide-{}.jsonl", std::process::id()));
//! let file = std::fs::File::create(&path)?;
//! io::with_default(Arc::new(JsonLines::new(file)), || agentio::ioprintln!("to the file"))?;
//! let line = std::fs::read_to_string(&path)?;
//! assert!(line.starts_with(r#"{"type":"print","content":{"#));
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), agentio::Error>(())
//! ```
//!
//! **Nest**: each guard restores the stream that was current when it was
//! made, so redirections nest like scopes.
//!
//! ```
//! use agentio::io::{self, IOBuffer};
//! use std::sync::Arc;
//!
//! let (outer, inner) = (Arc::new(IOBuffer::new()), Arc::new(IOBuffer::new()));
//! let _a = io::set_default(outer.clone());
//! {
//!     let _b = io::set_default(inner.clone());
//!     agentio::ioprintln!("inner")?;
//! }
//! agentio::ioprintln!("outer")?;
//! assert_eq!((inner.text().as_str(), outer.text().as_str()), ("inner\n", "outer\n"));
//! # Ok::<(), agentio::Error>(())
//! ```
//!
//! **Threads**: a thread started with [`io::spawn`](crate::io::spawn) keeps
//! its parent's stream (a websocket handler's worker threads print to that
//! client); `std::thread::spawn` threads get the global default.
//!
//! ```
//! use agentio::io::{self, IOBuffer};
//! use std::sync::Arc;
//!
//! let buffer = Arc::new(IOBuffer::new());
//! io::with_default(buffer.clone(), || {
//!     io::spawn(|| agentio::ioprintln!("from a worker")).join().unwrap()
//! })?;
//! assert_eq!(buffer.text(), "from a worker\n");
//! # Ok::<(), agentio::Error>(())
//! ```
//!
//! ## 2. Writing your own `IOStream`
//!
//! Implement [`print`](crate::io::IOStream::print) and
//! [`input`](crate::io::IOStream::input).
//! [`send`](crate::io::IOStream::send) defaults to printing an event as
//! AutoGen's console text; override it to keep the structure. Streams are
//! shared between threads, so methods take `&self`: use a `Mutex` for state.
//!
//! **A file stream**, text only, that has no input to give:
//!
//! ```
//! use agentio::io::{self, IOStream, joined};
//! use std::io::Write;
//! use std::sync::{Arc, Mutex};
//!
//! struct FileStream(Mutex<std::fs::File>);
//!
//! impl IOStream for FileStream {
//!     fn print(&self, objects: &[&str], sep: &str, end: &str, _flush: bool) -> agentio::Result<()> {
//!         let mut file = self.0.lock().unwrap_or_else(|p| p.into_inner());
//!         Ok(file.write_all(joined(objects, sep, end).as_bytes())?)
//!     }
//!     fn input(&self, _prompt: &str, _password: bool) -> agentio::Result<String> {
//!         Err(agentio::Error::InputClosed)
//!     }
//! }
//!
//! let path = std::env::temp_dir().join(format!("guide-file-{}.txt", std::process::id()));
//! let stream = Arc::new(FileStream(Mutex::new(std::fs::File::create(&path)?)));
//! io::with_default(stream, || io::get_default().print(&["a", "b"], " ", "\n", false))?;
//! assert_eq!(std::fs::read_to_string(&path)?, "a b\n");
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), agentio::Error>(())
//! ```
//!
//! (`print(&["a", "b"], " ", "\n", false)` is Python's `print("a", "b")`;
//! `ioprintln!` formats like `println!` and prints the result.)
//!
//! **A channel stream** that hands events to another thread (a GUI, an HTTP
//! handler) and takes input from it. A bounded channel makes a slow consumer
//! slow the chat down instead of growing memory; a gone consumer makes the
//! next output fail, which ends the chat.
//!
//! ```
//! use agentio::io::{self, Event, IOStream};
//! use crossbeam_channel::{Receiver, Sender, bounded};
//! use std::sync::Arc;
//!
//! struct ChannelStream {
//!     events: Sender<Event>,
//!     answers: Receiver<String>,
//! }
//!
//! impl IOStream for ChannelStream {
//!     fn print(&self, objects: &[&str], sep: &str, end: &str, _flush: bool) -> agentio::Result<()> {
//!         self.send(&Event::print(objects.iter().copied(), sep, end))
//!     }
//!     fn input(&self, prompt: &str, password: bool) -> agentio::Result<String> {
//!         self.send(&Event::input_request(prompt, password))?;
//!         self.answers.recv().map_err(|_| agentio::Error::InputClosed)
//!     }
//!     fn send(&self, event: &Event) -> agentio::Result<()> {
//!         self.events.send(event.clone()).map_err(|_| agentio::Error::ConnectionClosed)
//!     }
//! }
//!
//! let (events, from_chat) = bounded(64);
//! let (to_chat, answers) = bounded(1);
//! let worker = std::thread::spawn(move || {
//!     io::with_default(Arc::new(ChannelStream { events, answers }), || {
//!         let name = io::get_default().input("Name? ", false)?;
//!         agentio::ioprintln!("Hello, {name}!")
//!     })
//! });
//! assert!(matches!(from_chat.recv(), Ok(Event::InputRequest(r)) if r.prompt == "Name? "));
//! to_chat.send("Ada".to_owned()).unwrap();
//! assert!(matches!(from_chat.recv(), Ok(Event::Print(p)) if p.objects == ["Hello, Ada!"]));
//! worker.join().unwrap()?;
//! # Ok::<(), agentio::Error>(())
//! ```
//!
//! ## 3. Filters and tee
//!
//! [`Filtered`](crate::io::Filtered) wraps any stream and passes only what its
//! [`Filter`](crate::io::Filter) allows, by event kind and by agent. Input
//! requests always pass: a chat must not wait on a question nobody saw.
//! Websocket clients choose the same filter in the URL (`?events=…`,
//! `?agents=…`, see [`IOWebsockets`](crate::io::IOWebsockets)).
//!
//! ```
//! use agentio::io::{self, Event, EventKind, Filter, Filtered, IOBuffer, IOStream};
//! use std::sync::Arc;
//!
//! let buffer = Arc::new(IOBuffer::new());
//! let filter = Filter::all().without_kinds([EventKind::UsingAutoReply]).agents(["chatbot"]);
//! let stream = Filtered::new(buffer.clone(), filter);
//! stream.send(&Event::text("Weather?", "user_proxy", "chatbot"))?; // other agent: dropped
//! stream.send(&Event::text("Sunny.", "chatbot", "user_proxy"))?; // kept
//! assert_eq!(buffer.events().len(), 1);
//! # Ok::<(), agentio::Error>(())
//! ```
//!
//! [`Tee`](crate::io::Tee) writes one chat to several streams. The primary
//! (the console, a websocket) answers input and its failure ends the chat; a
//! secondary (a transcript file, a log) that fails is set aside.
//!
//! ```
//! use agentio::io::{self, IOBuffer, JsonLines, Tee};
//! use std::sync::Arc;
//!
//! let screen = Arc::new(IOBuffer::new());
//! let full_disk = std::fs::OpenOptions::new().write(true).open("/dev/full")?;
//! let tee = Arc::new(Tee::new(screen.clone()).with(Arc::new(JsonLines::new(full_disk))));
//! io::with_default(tee.clone(), || agentio::ioprintln!("still shown"))?;
//! assert_eq!(screen.text(), "still shown\n");
//! assert_eq!(tee.errors().len(), 1, "the transcript failed, the chat did not");
//! # Ok::<(), agentio::Error>(())
//! ```
//!
//! ## 4. How agents and the model client use the stream
//!
//! An agent never prints to a place of its own: every message, tool call,
//! tool result and notice is an [`Event`](crate::io::Event) sent to the
//! chat's stream. A chat reads the thread's default stream once, where it
//! starts, and hands it down: the model client is given it
//! ([`ModelClient::create_to`](crate::llm::ModelClient::create_to)) and
//! sends each token there as a `stream` event, made once with the agent
//! whose reply it is (the request names the speaker). So whatever stream is
//! current when [`initiate_chat`](crate::agentchat::ConversableAgent::initiate_chat)
//! starts gets the whole chat; a websocket handler's stream is its client.
//! A token's route is the SSE reader, the chunk assembly, the stream, one
//! frame; `create` (AutoGen's name) is `create_to` the current default.
//!
//! ```
//! use agentio::agentchat::{ChatOptions, ConversableAgent, HumanInputMode, Streaming, UserProxyAgent};
//! use agentio::io::{self, Event, IOBuffer};
//! use agentio::llm::ReplayClient;
//! use std::sync::Arc;
//!
//! let model = ReplayClient::new().text(["Sunny ", "in ", "Paris. ", "TERMINATE"]);
//! let mut chatbot = ConversableAgent::new("chatbot").model_client(Arc::new(model)).stream(true);
//! let mut user = UserProxyAgent::new("user").human_input_mode(HumanInputMode::Never);
//! let buffer = Arc::new(IOBuffer::new());
//! io::with_default(buffer.clone(), || {
//!     user.initiate_chat(&mut chatbot, ChatOptions::new("Weather?").max_turns(1))
//! })?;
//! let tokens: Vec<(String, Option<String>)> = buffer.events().into_iter().filter_map(|e| match e {
//!     Event::Stream(s) => Some((s.content, s.sender)),
//!     _ => None,
//! }).collect();
//! assert_eq!(tokens[0], ("Sunny ".to_owned(), Some("chatbot".to_owned())));
//! # Ok::<(), agentio::Error>(())
//! ```
//!
//! A chat can keep some output back: `ChatOptions::silent(true)` sends
//! nothing but input requests, and
//! [`ChatOptions::streaming`](crate::agentchat::ChatOptions::streaming) with
//! [`Streaming::Agents`](crate::agentchat::Streaming) streams only the named
//! agents' replies; the others arrive whole, once, as `text` events.
//!
//! ## 5. Asking before a tool acts
//!
//! A tool that needs approval asks through the same stream: the executing
//! agent sends the calls of a message as
//! [`ToolApprovalRequest`](crate::io::Event::ToolApprovalRequest)s through
//! [`IOStream::ask_approval`](crate::io::IOStream::ask_approval); a text
//! stream shows a prompt, a websocket client in events mode or a
//! [`run`](crate::agentchat::run) answers each request, in any order.
//!
//! ```
//! use agentio::agentchat::{ConversableAgent, HumanInputMode, ParamType, Tool, register_function, run};
//! use agentio::io::Event;
//! use agentio::llm::ReplayClient;
//! use std::sync::Arc;
//!
//! let model = ReplayClient::new()
//!     .tool_call("delete_file", serde_json::json!({"path": "/etc/passwd"}))
//!     .text(["Understood. ", "TERMINATE"]);
//! let mut bot = ConversableAgent::new("bot")
//!     .human_input_mode(HumanInputMode::Never)
//!     .model_client(Arc::new(model));
//! let mut user = ConversableAgent::new("user")
//!     .human_input_mode(HumanInputMode::Never)
//!     .is_termination_msg(|m| m.text().contains("TERMINATE"));
//! let delete = Tool::new("delete_file", "Deletes a file")
//!     .param("path", ParamType::String, "the file")
//!     .needs_approval()
//!     .function(|_: serde_json::Value| Ok::<_, String>("deleted".to_owned()));
//! register_function(delete, &mut bot, &mut user);
//!
//! let response = run(user, bot, "Tidy up.");
//! for event in response.events() {
//!     if let Event::ToolApprovalRequest(request) = event {
//!         request.deny(Some("not that file"))?;
//!     }
//! }
//! let history = response.wait()?.chat_history;
//! let tool_result = history.iter().find(|m| m.tool_call_id.is_some()).and_then(|m| m.content.clone());
//! assert_eq!(tool_result.as_deref(), Some("The user denied this call of delete_file: not that file"));
//! # Ok::<(), agentio::Error>(())
//! ```
