//! IOConsole on real standard streams: this test binary runs itself as a child
//! process with its stdin and stdout on pipes.

use std::io::Write;
use std::process::{Command, Stdio};

use agentio::io::{Event, IOConsole, IOStream};

const CHILD_ENV: &str = "AGENTIO_CONSOLE_CHILD";

/// The child's side: only does something when started by the test below.
#[test]
fn console_child_session() -> agentio::Result<()> {
    if std::env::var_os(CHILD_ENV).is_none() {
        return Ok(());
    }
    let console = IOConsole::new();
    console.print(&["<<<Hello,", "World!"], " ", "\n", true)?;
    let name = console.input("Name? ", false)?;
    console.print(&[&format!("got [{name}]")], "", "\n", true)?;
    let password = console.input("", true)?;
    console.print(&[&format!("got [{password}]")], "", "\n", true)?;
    console.send(&Event::text("hi", "a", "b"))?;
    console.print(&[&format!("colour {}", console.color())], "", "\n", true)?;
    match console.input("More? ", false) {
        Err(agentio::Error::InputClosed) => console.print(&["closed>>>"], "", "\n", true),
        other => console.print(&[&format!("unexpected {other:?}>>>")], "", "\n", true),
    }
}

#[test]
fn console_reads_piped_input_and_writes_python_print_text() -> std::io::Result<()> {
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "console_child_session",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(b"Ada Lovelace\r\nsecret\n")?;
    } // dropped: the child sees end of file after two lines
    let output = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let session = stdout
        .split_once("<<<")
        .and_then(|(_, rest)| rest.split_once(">>>"))
        .map(|(session, _)| session);
    let expected = format!(
        "Hello, World!\nName? got [Ada Lovelace]\nPassword: got [secret]\n\
         a (to b):\n\nhi\n\n{}\ncolour false\nMore? closed",
        "-".repeat(80)
    );
    assert_eq!(
        session,
        Some(expected.as_str()),
        "child printed: {stdout:?}"
    );
    assert!(output.status.success());
    Ok(())
}
