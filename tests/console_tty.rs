//! IOConsole on a real terminal: this test binary runs itself under `script`
//! (util-linux), which gives the child a pseudo-terminal, so echo and colour
//! behave as they do for a person at a keyboard.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use agentio::io::{Event, IOConsole, IOStream};

const CHILD_ENV: &str = "AGENTIO_TTY_CHILD";
const WAIT: Duration = Duration::from_secs(20);

/// The child's side: only does something when started by the tests below.
#[test]
fn tty_child_session() -> agentio::Result<()> {
    if std::env::var_os(CHILD_ENV).is_none() {
        return Ok(());
    }
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
fn run_on_a_terminal(no_color: bool) -> std::io::Result<Option<String>> {
    let command = format!(
        "{} tty_child_session --exact --nocapture --test-threads=1",
        std::env::current_exe()?.display()
    );
    let mut script = Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .env(CHILD_ENV, "1");
    if no_color {
        script.env("NO_COLOR", "1");
    } else {
        script.env_remove("NO_COLOR");
    }
    let Ok(mut child) = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        eprintln!("`script` (util-linux) is not installed: terminal behaviour not tested");
        return Ok(None);
    };
    let screen = converse(&mut child);
    let _ = child.kill();
    let _ = child.wait();
    screen.map(Some)
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

#[test]
fn password_input_is_not_echoed_and_plain_input_is() -> std::io::Result<()> {
    let Some(screen) = run_on_a_terminal(false)? else {
        return Ok(());
    };
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

#[test]
fn colour_on_a_terminal_unless_no_color() -> std::io::Result<()> {
    let Some(coloured) = run_on_a_terminal(false)? else {
        return Ok(());
    };
    assert!(
        coloured.contains("\x1b[33malice\x1b[0m (to bob):"),
        "{coloured:?}"
    );
    let Some(plain) = run_on_a_terminal(true)? else {
        return Ok(());
    };
    assert!(plain.contains("alice (to bob):"), "{plain:?}");
    assert!(
        !plain.contains('\x1b'),
        "NO_COLOR still coloured: {plain:?}"
    );
    Ok(())
}
