//! Behind a real nginx (Debian's package), configured with the README's own
//! `location` blocks: the page, the notebook chat in text and events mode, a
//! 1 MiB frame intact, and the client's address via X-Forwarded-For.
//! Reported as ignored when nginx is not installed, unless
//! AGENTIO_REQUIRE_NGINX is set (CI installs it and sets it; see
//! tests/common/external.rs).

mod common;
#[path = "common/external.rs"]
mod external;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentio::agentchat::ChatOptions;
use agentio::io::websockets::{ServerConfig, WebsocketServer};
use agentio::io::{Event, IOStream, IOWebsockets};
use common::notebook::{self, POEM};
use common::ws::{connect, connect_with_protocol, send, until_close};

const README: &str = include_str!("../README.md");

/// The README's nginx block.
fn readme_locations() -> &'static str {
    let start = README
        .find("```nginx\n")
        .unwrap_or_else(|| panic!("no nginx block in the README"))
        + "```nginx\n".len();
    let len = README[start..]
        .find("```")
        .unwrap_or_else(|| panic!("unterminated nginx block"));
    &README[start..start + len]
}

fn main() {
    external::run(vec![trial!(
        through_nginx_with_the_readme_config,
        external::NGINX
    )]);
}

struct Nginx {
    child: Child,
    addr: SocketAddr,
    dir: std::path::PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// nginx on a free loopback port, proxying the README's locations to `upstream`.
fn nginx(binary: &std::path::Path, upstream: SocketAddr) -> Nginx {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("agentio-nginx-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let d = dir.display();
    let locations = readme_locations().replace("127.0.0.1:8000", &upstream.to_string());
    let config = format!(
        "worker_processes 1;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         server {{\n    listen 127.0.0.1:{port};\n{locations}\n  }}\n}}\n"
    );
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config).unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(binary)
        .args(["-p", &dir.to_string_lossy(), "-c", &conf.to_string_lossy()])
        .args(["-g", "daemon off; master_process off;"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not start: see {d}/error.log"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Nginx { child, addr, dir }
}

/// The notebook chat, or with "big" a 1 MiB line, or with "who" the
/// client's address as the server sees it.
fn upstream() -> WebsocketServer {
    let config = ServerConfig::new("127.0.0.1", 0)
        .page("<!doctype html><html><body>chat page</body></html>")
        .trusted_proxies(["127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))]);
    IOWebsockets::run_server_in_thread(config, |ws: &IOWebsockets| {
        let message = ws.input("", false)?;
        match message.as_str() {
            "big" => agentio::ioprint!("{}", "0123456789abcdef".repeat(1 << 16)),
            "who" => agentio::ioprint!(
                "{:?} {:?}",
                ws.request().header("x-forwarded-for"),
                ws.request().client_addr()
            ),
            _ => notebook::chat(ChatOptions::new(message)).map(|_| ()),
        }
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut tcp = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut response = String::new();
    let _ = tcp.read_to_string(&mut response);
    response
}

fn through_nginx_with_the_readme_config() {
    let server = upstream();
    let proxy = nginx(&external::NGINX.path(), server.local_addr());
    let base = format!("ws://{}", proxy.addr);

    let page = get(proxy.addr, "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("chat page"), "{page}");
    assert!(get(proxy.addr, "/healthz").starts_with("HTTP/1.1 200"));

    // Text mode, as the notebook's client.
    let mut ws = connect(&format!("{base}/ws"));
    send(&mut ws, "Weather in Paris?");
    let (frames, code) = until_close(&mut ws);
    assert_eq!(code.map(u16::from), Some(1000));
    for token in POEM {
        assert!(frames.iter().any(|f| f == token), "{token:?}");
    }

    // Events mode by subprotocol: nginx passes the header through.
    let mut ws = connect_with_protocol(&format!("{base}/ws"), "agentio.events.v1");
    let request = common::ws::text(&mut ws);
    assert!(Event::from_json(&request).is_ok_and(|e| e.kind() == "input_request"));
    send(
        &mut ws,
        r#"{"type":"input_response","content":{"value":"Weather in Paris?"}}"#,
    );
    let (frames, code) = until_close(&mut ws);
    assert_eq!(code.map(u16::from), Some(1000));
    let streamed: Vec<String> = frames
        .iter()
        .filter_map(|f| match Event::from_json(f) {
            Ok(Event::Stream(s)) => Some(s.content),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, POEM);

    // A 1 MiB frame arrives whole and intact.
    let mut ws = connect(&format!("{base}/ws"));
    send(&mut ws, "big");
    let (frames, _) = until_close(&mut ws);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0], "0123456789abcdef".repeat(1 << 16));

    // The server sees the client's address through the trusted proxy.
    let mut ws = connect(&format!("{base}/ws"));
    send(&mut ws, "who");
    let (frames, _) = until_close(&mut ws);
    assert_eq!(frames, [r#"Some("127.0.0.1") Some(127.0.0.1)"#]);
}
