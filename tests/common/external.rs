//! External programs some tests need (Chromium, nginx, HAProxy, `script`,
//! `systemd-socket-activate`, `ip`), and the harness that reports those
//! tests as `ignored` with the reason when a program is missing, instead of
//! `ok` for a test that tested nothing.
//!
//! Test files that use it are `harness = false` targets (see Cargo.toml)
//! whose `main` hands its trials to [`run`]. A missing program's test:
//!
//! - is reported `ignored (chromium not installed: ...)` by a plain
//!   `cargo test`;
//! - runs, and fails, when the tool's `AGENTIO_REQUIRE_*` variable is set
//!   (`.ci/run` sets them after installing the tools), or when cargo test is
//!   given `--ignored` or `--include-ignored`.
//!
//! `AGENTIO_TOOL_PATH`, a `:`-separated list of directories, replaces where
//! the tools are looked for (Debian's paths, then `PATH`): with
//! `AGENTIO_TOOL_PATH=/nonexistent` every tool is missing, which is how to
//! see the skipping on a machine that has them.

#![allow(dead_code)] // each test binary needs different tools

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// A program a test needs.
pub struct Tool {
    /// Its file name, as looked for in `PATH`; also what the reasons call it.
    pub name: &'static str,
    /// Where Debian's package puts it, looked at before `PATH`.
    pub paths: &'static [&'static str],
    /// The Debian package that installs it.
    pub package: &'static str,
    /// Set, this variable makes its absence a test failure.
    pub require: &'static str,
    /// A file it needs beside it (relative to the project), and how to
    /// make it: npm packages a test runs, say.
    pub with: Option<(&'static str, &'static str)>,
}

pub const CHROMIUM: Tool = Tool {
    name: "chromium",
    paths: &["/usr/bin/chromium"],
    package: "chromium",
    require: "AGENTIO_REQUIRE_BROWSER",
    with: None,
};

pub const NGINX: Tool = Tool {
    name: "nginx",
    paths: &["/usr/sbin/nginx", "/usr/bin/nginx"],
    package: "nginx",
    require: "AGENTIO_REQUIRE_NGINX",
    with: None,
};

pub const HAPROXY: Tool = Tool {
    name: "haproxy",
    paths: &["/usr/sbin/haproxy"],
    package: "haproxy",
    require: "AGENTIO_REQUIRE_HAPROXY",
    with: None,
};

/// Node.js with the AG-UI client packages of tests/agui (its lockfile).
pub const AGUI_CLIENT: Tool = Tool {
    name: "node",
    paths: &["/usr/bin/node"],
    package: "nodejs",
    require: "AGENTIO_REQUIRE_NODE",
    with: Some((
        "tests/agui/node_modules/@ag-ui/client/package.json",
        "npm ci --prefix tests/agui",
    )),
};

/// Node.js with the Vercel AI SDK's `ai` package of tests/ai_sdk (its
/// lockfile).
pub const AI_SDK_CLIENT: Tool = Tool {
    name: "node",
    paths: &["/usr/bin/node"],
    package: "nodejs",
    require: "AGENTIO_REQUIRE_NODE",
    with: Some((
        "tests/ai_sdk/node_modules/ai/package.json",
        "npm ci --prefix tests/ai_sdk",
    )),
};

/// Node.js with tests/pages' packages (its lockfile): esbuild, and the
/// AG-UI and AI SDK clients it bundles into pages.
pub const PAGE_BUNDLER: Tool = Tool {
    name: "node",
    paths: &["/usr/bin/node"],
    package: "nodejs",
    require: "AGENTIO_REQUIRE_NODE",
    with: Some((
        "tests/pages/node_modules/.bin/esbuild",
        "npm ci --prefix tests/pages",
    )),
};

/// util-linux's `script`: a pseudo-terminal for the console tests.
pub const SCRIPT: Tool = Tool {
    name: "script",
    paths: &["/usr/bin/script"],
    package: "bsdutils",
    require: "AGENTIO_REQUIRE_SCRIPT",
    with: None,
};

pub const SYSTEMD_SOCKET_ACTIVATE: Tool = Tool {
    name: "systemd-socket-activate",
    paths: &["/usr/bin/systemd-socket-activate"],
    package: "systemd",
    require: "AGENTIO_REQUIRE_SYSTEMD",
    with: None,
};

/// iproute2's `ip`, for network namespaces; the HAProxy test falls back to
/// loopback ports without it, so no test is skipped for its absence.
pub const IP: Tool = Tool {
    name: "ip",
    paths: &["/usr/sbin/ip", "/usr/bin/ip", "/sbin/ip", "/bin/ip"],
    package: "iproute2",
    require: "AGENTIO_REQUIRE_IP",
    with: None,
};

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Tool {
    /// A command that runs this tool on `script`, a path in the project
    /// (`tests/agui/verify.js`): for the Node.js tools.
    pub fn script(&self, script: &str) -> std::process::Command {
        let mut command = std::process::Command::new(self.path());
        command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(script));
        command
    }

    /// Where it is, or why it is not there.
    pub fn locate(&self) -> Result<PathBuf, String> {
        let found = match std::env::var_os("AGENTIO_TOOL_PATH") {
            Some(dirs) => std::env::split_paths(&dirs)
                .map(|dir| dir.join(self.name))
                .find(|p| is_executable(p)),
            None => self
                .paths
                .iter()
                .map(PathBuf::from)
                .chain(
                    std::env::var_os("PATH")
                        .iter()
                        .flat_map(std::env::split_paths)
                        .map(|dir| dir.join(self.name)),
                )
                .find(|p| is_executable(p)),
        };
        if let (Some(path), Some((file, how))) = (&found, self.with) {
            let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
            if !beside.exists() {
                return Err(format!(
                    "{} is there ({}) but {file} is not: {how}",
                    self.name,
                    path.display()
                ));
            }
        }
        found.ok_or_else(|| {
            let looked = match std::env::var_os("AGENTIO_TOOL_PATH") {
                Some(dirs) => format!("AGENTIO_TOOL_PATH={}", dirs.to_string_lossy()),
                None => format!("{} and PATH", self.paths.join(", ")),
            };
            format!(
                "{} not installed: not in {looked}; apt-get install {}",
                self.name, self.package
            )
        })
    }

    /// Its path; panics with the reason when it is missing (a test that
    /// runs has been through [`run`]'s check, or means to fail without it).
    pub fn path(&self) -> PathBuf {
        self.locate().unwrap_or_else(|reason| panic!("{reason}"))
    }

    /// Whether its `AGENTIO_REQUIRE_*` variable is set.
    pub fn required(&self) -> bool {
        std::env::var_os(self.require).is_some()
    }
}

/// What a test body may return: nothing (it panics to fail) or a `Result`.
pub trait Verdict {
    fn verdict(self) -> Result<(), Failed>;
}

impl Verdict for () {
    fn verdict(self) -> Result<(), Failed> {
        Ok(())
    }
}

impl<E: std::fmt::Display> Verdict for Result<(), E> {
    fn verdict(self) -> Result<(), Failed> {
        self.map_err(|e| Failed::from(e))
    }
}

/// One test of a file: its name, the tools it needs, its body.
pub struct Test {
    name: &'static str,
    needs: Vec<&'static Tool>,
    body: Box<dyn FnOnce() -> Result<(), Failed> + Send>,
}

impl Test {
    pub fn new<V: Verdict>(
        name: &'static str,
        needs: &[&'static Tool],
        body: impl FnOnce() -> V + Send + 'static,
    ) -> Test {
        Test {
            name,
            needs: needs.to_vec(),
            body: Box::new(move || body().verdict()),
        }
    }
}

/// `trial!(test_fn, TOOL, ...)`: the test named after its function.
#[macro_export]
macro_rules! trial {
    ($test:ident $(, $tool:expr)* $(,)?) => {
        $crate::external::Test::new(stringify!($test), &[$(&$tool),*], $test)
    };
}

/// Runs `tests` as cargo test asked (filters, `--ignored`, `--list`, ...)
/// and exits with its verdict.
pub fn run(tests: Vec<Test>) -> ! {
    let args = Arguments::from_args();
    let forced = args.ignored || args.include_ignored;
    let trials = tests
        .into_iter()
        .map(|test| {
            let missing: Vec<String> = test
                .needs
                .iter()
                .filter_map(|tool| tool.locate().err())
                .collect();
            let required: Vec<&str> = test
                .needs
                .iter()
                .filter(|tool| tool.required() && tool.locate().is_err())
                .map(|tool| tool.require)
                .collect();
            let body = test.body;
            if missing.is_empty() {
                Trial::test(test.name, body)
            } else if !required.is_empty() || forced {
                // Run it to fail: the reason first, not whatever panic the
                // missing program would cause.
                let why = if required.is_empty() {
                    "run with --ignored/--include-ignored".to_owned()
                } else {
                    format!("{} set", required.join(", "))
                };
                let message = format!("{} ({why})", missing.join("; "));
                Trial::test(test.name, move || Err(message.into())).with_ignored_flag(forced)
            } else {
                let reason = missing.join("; ");
                Trial::ignorable_test(test.name, move || Ok(Completion::ignored_with(reason)))
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}

/// Runs `command` with `stdin` as its input; the JSON it prints. A command
/// that fails fails the test, with its standard error and `context`.
pub fn json_of(
    command: &mut std::process::Command,
    stdin: &str,
    context: &str,
) -> serde_json::Value {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.as_bytes())
            .unwrap_or_else(|e| panic!("cannot write to {command:?}: {e}"));
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{command:?} did not finish: {e}"));
    assert!(
        output.status.success(),
        "{context}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{command:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
