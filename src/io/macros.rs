//! `print!`-style macros that write to the current default stream.

/// Formats like [`print!`] and prints to the current thread's default stream
/// ([`get_default`](crate::io::get_default)), flushing it, since text without a
/// newline would otherwise wait in a line buffer. Returns
/// [`agentio::Result<()>`](crate::Result): a stream whose reader has gone is an
/// error to handle.
///
/// ```
/// # fn main() -> agentio::Result<()> {
/// agentio::ioprint!("{} + {} = ", 1, 2)?;
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! ioprint {
    ($($arg:tt)*) => {
        $crate::io::IOStream::print(
            &$crate::io::get_default(),
            &[&::std::format!($($arg)*)],
            "",
            "",
            true,
        )
    };
}

/// Formats like [`println!`] and prints the line to the current thread's
/// default stream ([`get_default`](crate::io::get_default)). Returns
/// [`agentio::Result<()>`](crate::Result).
///
/// ```
/// # fn main() -> agentio::Result<()> {
/// agentio::ioprintln!()?;
/// agentio::ioprintln!("answer: {}", 42)?;
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! ioprintln {
    () => {
        $crate::io::IOStream::print(&$crate::io::get_default(), &[], "", "\n", false)
    };
    ($($arg:tt)*) => {
        $crate::io::IOStream::print(
            &$crate::io::get_default(),
            &[&::std::format!($($arg)*)],
            "",
            "\n",
            false,
        )
    };
}
