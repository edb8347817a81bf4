//! Many instances behind a real HAProxy (Debian's package), each on its own
//! simulated host: network namespaces joined by veth pairs, made and removed
//! by this test, so traffic crosses interfaces between addresses. While
//! clients chat through HAProxy, each instance in turn is drained (SIGTERM)
//! and restarted (one with a grace longer than a chat, one shorter); every
//! chat must complete or be cut with 1001 at the end of a grace period, as
//! many as the drains say they cut, and none may hang. Without the rights to make namespaces
//! (or without `ip`) it says so and uses loopback ports. Reported as ignored
//! without haproxy, unless AGENTIO_REQUIRE_HAPROXY is set (CI installs it and
//! sets it; see tests/common/external.rs).

mod common;
#[path = "common/external.rs"]
mod external;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::process::{Running, example_bin};
use serde_json::Value;

fn main() {
    external::run(vec![trial!(
        rolling_restarts_behind_haproxy_lose_no_chat,
        external::HAPROXY
    )]);
}

/// iproute2's `ip` (only called once [`Hosts::namespaces`] has found it).
fn ip() -> PathBuf {
    external::IP
        .locate()
        .unwrap_or_else(|_| PathBuf::from("ip"))
}

/// Runs a command; true if it succeeded.
fn run(program: impl AsRef<OsStr>, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Where the load balancer and the instances live.
struct Hosts {
    /// The namespaces made (removed on drop); empty on loopback.
    namespaces: Vec<String>,
    /// (namespace or none, address) of the balancer and of each instance.
    lb: (Option<String>, String),
    apps: Vec<(Option<String>, String)>,
}

impl Hosts {
    /// Namespaces `lb`, `app1`, `app2`, the balancer joined to each app by a
    /// veth pair (10.77.N.1 on its side, 10.77.N.2 on the app's).
    fn namespaces(apps: usize) -> Option<Hosts> {
        external::IP.locate().ok()?;
        let ip = ip();
        let pid = std::process::id();
        let name = |what: &str| format!("agentio{pid}{what}");
        let mut hosts = Hosts {
            namespaces: Vec::new(),
            lb: (Some(name("lb")), "127.0.0.1".to_owned()),
            apps: Vec::new(),
        };
        let lb = name("lb");
        if !run(&ip, &["netns", "add", &lb]) {
            return None;
        }
        hosts.namespaces.push(lb.clone());
        if !run(&ip, &["-n", &lb, "link", "set", "lo", "up"]) {
            return None;
        }
        for n in 1..=apps {
            let ns = name(&format!("app{n}"));
            if !run(&ip, &["netns", "add", &ns]) {
                return None;
            }
            hosts.namespaces.push(ns.clone());
            let (lb_end, app_end) = (format!("v{pid}l{n}"), format!("v{pid}a{n}"));
            let (lb_addr, app_addr) = (format!("10.77.{n}.1"), format!("10.77.{n}.2"));
            let steps: [&[&str]; 8] = [
                &[
                    "link", "add", &lb_end, "type", "veth", "peer", "name", &app_end,
                ],
                &["link", "set", &lb_end, "netns", &lb],
                &["link", "set", &app_end, "netns", &ns],
                &[
                    "-n",
                    &lb,
                    "addr",
                    "add",
                    &format!("{lb_addr}/24"),
                    "dev",
                    &lb_end,
                ],
                &[
                    "-n",
                    &ns,
                    "addr",
                    "add",
                    &format!("{app_addr}/24"),
                    "dev",
                    &app_end,
                ],
                &["-n", &lb, "link", "set", &lb_end, "up"],
                &["-n", &ns, "link", "set", &app_end, "up"],
                &["-n", &ns, "link", "set", "lo", "up"],
            ];
            if !steps.iter().all(|args| run(&ip, args)) {
                return None;
            }
            hosts.apps.push((Some(ns), app_addr));
        }
        Some(hosts)
    }

    fn loopback(apps: usize) -> Hosts {
        Hosts {
            namespaces: Vec::new(),
            lb: (None, "127.0.0.1".to_owned()),
            apps: (0..apps).map(|_| (None, "127.0.0.1".to_owned())).collect(),
        }
    }

    /// `program args` on host `ns` (this host when `None`).
    fn command(ns: &Option<String>, program: &std::path::Path, args: &[&str]) -> Command {
        let mut command = match ns {
            Some(ns) => {
                let mut c = Command::new(ip());
                c.args(["netns", "exec", ns]).arg(program);
                c
            }
            None => Command::new(program),
        };
        command.args(args);
        command
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        // Removing a namespace removes its end of each veth pair, and the pair.
        for ns in self.namespaces.iter().rev() {
            run(ip(), &["netns", "del", ns]);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One instance of the example, draining for `grace` seconds on SIGTERM;
/// its replay model streams a chunk every 2 ms, so chats last about half a
/// second.
fn start_app(hosts: &Hosts, n: usize, port: u16, grace: &str) -> Running {
    let (ns, addr) = &hosts.apps[n];
    let port = port.to_string();
    let app = Running::command(&mut Hosts::command(
        ns,
        &example_bin("websocket_chat"),
        &[
            "--host",
            addr,
            "--port",
            &port,
            "--drain-grace",
            grace,
            "--replay-pace",
            "2",
            "--trust-proxy",
            "127.0.0.1",
        ],
    ));
    app.line_after("websocket:");
    app
}

/// The first line of JSON `process` prints (the load tool's counts).
fn report(process: &Running, what: &str) -> Value {
    loop {
        let line = process
            .lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{what} never reported: {e}"));
        if let Ok(value) = serde_json::from_str::<Value>(&line) {
            return value;
        }
    }
}

/// SIGTERM, then the instance's own account of its drain; it must exit 0.
fn drain(mut app: Running) -> String {
    app.signal("TERM");
    let drained = app.line_after("drained:");
    let status = app.child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "a drained instance exits 0: {status}");
    drained
}

fn rolling_restarts_behind_haproxy_lose_no_chat() {
    let hosts = match Hosts::namespaces(2) {
        Some(hosts) => {
            println!("hosts: network namespaces {:?}", hosts.namespaces);
            hosts
        }
        None => {
            let why = external::IP
                .locate()
                .err()
                .unwrap_or_else(|| "cannot make network namespaces here (not root?)".to_owned());
            println!("hosts: {why}; loopback ports");
            Hosts::loopback(2)
        }
    };
    let ports: Vec<u16> = if hosts.namespaces.is_empty() {
        vec![free_port(), free_port()]
    } else {
        vec![8000, 8000]
    };
    // The first instance's drain lets its chats finish; the second's grace
    // (0.1 s) is shorter than a chat, so it cuts some with 1001.
    let graces = ["3", "0.1"];
    let mut apps: Vec<Option<Running>> = (0..2)
        .map(|n| Some(start_app(&hosts, n, ports[n], graces[n])))
        .collect();

    let lb_port = if hosts.namespaces.is_empty() {
        free_port()
    } else {
        8080
    };
    let dir = std::env::temp_dir().join(format!("agentio-haproxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let servers: String = hosts
        .apps
        .iter()
        .zip(&ports)
        .enumerate()
        .map(|(i, ((_, addr), port))| format!("    server app{i} {addr}:{port}\n"))
        .collect();
    let config = format!(
        "global\n    maxconn 1024\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n\
         \x20   timeout tunnel 1h\n    option forwardfor\n    option redispatch\n    retries 3\n\
         \x20   retry-on conn-failure empty-response 503\n\
         frontend chat\n    bind {}:{lb_port}\n    default_backend apps\n\
         backend apps\n    balance url_param session\n    hash-type consistent\n    option httpchk GET /healthz\n\
         \x20   default-server check inter 100ms fall 1 rise 2\n{servers}",
        hosts.lb.1
    );
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(&cfg, config).unwrap_or_else(|e| panic!("{e}"));
    let cfg = cfg.to_string_lossy().into_owned();
    let haproxy = Running::command(&mut Hosts::command(
        &hosts.lb.0,
        &external::HAPROXY.path(),
        &["-db", "-q", "-f", &cfg],
    ));

    // Clients chat through HAProxy for 12 s from the balancer's host.
    let uri = format!("ws://{}:{lb_port}", hosts.lb.1);
    let load = Running::command(&mut Hosts::command(
        &hosts.lb.0,
        &example_bin("load"),
        &["--through", &uri, "--seconds", "12", "--clients", "8"],
    ));
    let mut drains = Vec::new();
    for n in 0..2 {
        std::thread::sleep(Duration::from_secs(3));
        if let Some(app) = apps[n].take() {
            drains.push(drain(app));
        }
        apps[n] = Some(start_app(&hosts, n, ports[n], graces[n]));
    }
    let counts = report(&load, "the load");
    println!("drains: {drains:?}");
    println!("chats through haproxy: {counts}");
    let count = |key: &str| counts[key].as_u64().unwrap_or(u64::MAX);
    assert_eq!(count("hung"), 0, "{counts}");
    assert_eq!(count("failed"), 0, "{counts}");
    assert!(count("completed") > 50, "{counts}");
    let cut_by_drains: u64 = drains
        .iter()
        .filter_map(|d| d.split(", ").nth(1))
        .filter_map(|c| c.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    // A chat counted as cut may still finish (1000) in the instant before
    // the close; never the other way round.
    assert!(
        count("cut_1001") <= cut_by_drains,
        "only chats cut at a drain's end get 1001: {counts} vs {drains:?}"
    );
    // Sessions whose connection is cut midway resume through the balancer,
    // which routes each to the instance holding it (`balance url_param
    // session`; without the parameter, round robin, as above).
    let resumes = Running::command(&mut Hosts::command(
        &hosts.lb.0,
        &example_bin("load"),
        &["--resume-through", &uri, "--chats", "20"],
    ));
    let resumed = report(&resumes, "the resumes");
    println!("session chats cut and resumed through haproxy: {resumed}");
    assert_eq!(resumed["completed"], 20, "{resumed}");
    assert_eq!(resumed["lost_or_repeated"], 0, "{resumed}");
    drop(haproxy);
    drop(apps);
    let _ = std::fs::remove_dir_all(&dir);
}
