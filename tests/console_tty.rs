//! IOConsole on a real terminal: this test binary runs itself under `script`
//! (util-linux), which gives the child a pseudo-terminal, so echo and colour
//! behave as they do for a person at a keyboard. Reported as ignored without
//! `script`, unless AGENTIO_REQUIRE_SCRIPT is set (see
//! tests/common/external.rs).

#[path = "common/external.rs"]
mod external;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use agentio::io::{Event, IOConsole, IOStream};

const CHILD_ENV: &str = "AGENTIO_TTY_CHILD";
const WAIT: Duration = Duration::from_secs(20);

fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        if let Err(e) = tty_child_session() {
            eprintln!("{e}");
            std::process::exit(1);
        }
        return;
    }
    external::run(vec![
        trial!(
            password_input_is_not_echoed_and_plain_input_is,
            external::SCRIPT
        ),
        trial!(colour_on_a_terminal_unless_no_color, external::SCRIPT),
    ]);
}

/// The child's side, which this binary runs instead of its tests when the
/// tests below start it on a terminal.
fn tty_child_session() -> agentio::Result<()> {
    let console = IOConsole::new();
    console.print(&["<<<"], "", "", true)?;
    console.send(&Event::text("hi", "alice", "bob"))?;
    let name = console.input("Name? ", false)?;
    let password = console.input("", true)?;
    let report = format!("name={name} password_len={}", password.len());
    console.print(&[&report, ">>>"], " ", "\n", true)
}

/// Runs the child session under `script`, answering its prompts when they
/// appear; returns what the terminal showed.
fn run_on_a_terminal(no_color: bool) -> std::io::Result<String> {
    let command = std::env::current_exe()?.display().to_string();
    let mut script = Command::new(external::SCRIPT.path());
    script
        .args(["-qec", &command, "/dev/null"])
        .env(CHILD_ENV, "1");
    if no_color {
        script.env("NO_COLOR", "1");
    } else {
        script.env_remove("NO_COLOR");
    }
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let screen = converse(&mut child);
    let _ = child.kill();
    let _ = child.wait();
    screen
}

fn converse(child: &mut Child) -> std::io::Result<String> {
    let (Some(mut stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(std::io::Error::other("no pipes to script"));
    };
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut screen = String::new();
    let wait_for = |needle: &str, screen: &mut String| -> std::io::Result<()> {
        while !screen.contains(needle) {
            let chunk = rx.recv_timeout(WAIT).map_err(|_| {
                std::io::Error::other(format!("waited for {needle:?}; screen: {screen:?}"))
            })?;
            screen.push_str(&String::from_utf8_lossy(&chunk));
        }
        Ok(())
    };
    wait_for("Name? ", &mut screen)?;
    stdin.write_all(b"Ada\r")?;
    wait_for("Password: ", &mut screen)?;
    stdin.write_all(b"hunter2\r")?;
    wait_for(">>>", &mut screen)?;
    Ok(screen)
}

fn password_input_is_not_echoed_and_plain_input_is() -> std::io::Result<()> {
    let screen = run_on_a_terminal(false)?;
    assert!(
        screen.contains("Name? Ada"),
        "plain input echoes: {screen:?}"
    );
    assert!(screen.contains("name=Ada password_len=7"), "{screen:?}");
    assert!(
        !screen.contains("hunter2"),
        "the password was echoed: {screen:?}"
    );
    Ok(())
}

fn colour_on_a_terminal_unless_no_color() -> std::io::Result<()> {
    let coloured = run_on_a_terminal(false)?;
    assert!(
        coloured.contains("\x1b[33malice\x1b[0m (to bob):"),
        "{coloured:?}"
    );
    let plain = run_on_a_terminal(true)?;
    assert!(plain.contains("alice (to bob):"), "{plain:?}");
    assert!(
        !plain.contains('\x1b'),
        "NO_COLOR still coloured: {plain:?}"
    );
    Ok(())
}
