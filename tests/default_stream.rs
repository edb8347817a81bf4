//! The thread-local default stream: nesting, panics, threads.

use std::sync::Arc;

use agentio::io::{self, IOBuffer, IOStream};

fn is_current(stream: &Arc<dyn IOStream>) -> bool {
    Arc::ptr_eq(&io::get_default(), stream)
}

#[test]
fn nesting_restores_each_previous_default() {
    let console = io::get_global_default();
    let a: Arc<dyn IOStream> = Arc::new(IOBuffer::new());
    assert!(
        is_current(&console),
        "a fresh thread starts on the global console"
    );
    {
        let _outer = io::set_default(a.clone());
        assert!(is_current(&a));
        {
            let _inner = io::set_default(console.clone());
            assert!(is_current(&console));
        }
        assert!(is_current(&a), "leaving the inner scope restores A");
    }
    assert!(
        is_current(&console),
        "leaving the outer scope restores the console"
    );
}

#[test]
fn output_follows_the_innermost_default() -> agentio::Result<()> {
    let outer = Arc::new(IOBuffer::new());
    let inner = Arc::new(IOBuffer::new());
    io::with_default(outer.clone(), || -> agentio::Result<()> {
        agentio::ioprintln!("one")?;
        io::with_default(inner.clone(), || agentio::ioprintln!("two"))?;
        agentio::ioprint!("three")
    })?;
    assert_eq!(outer.chunks(), ["one\n", "three"]);
    assert_eq!(inner.chunks(), ["two\n"]);
    Ok(())
}

#[test]
fn a_panic_inside_a_guard_scope_restores_the_previous_default() {
    let a: Arc<dyn IOStream> = Arc::new(IOBuffer::new());
    let b: Arc<dyn IOStream> = Arc::new(IOBuffer::new());
    let _outer = io::set_default(a.clone());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _inner = io::set_default(b.clone());
        assert!(is_current(&b));
        panic!("boom");
    }));
    assert!(result.is_err());
    assert!(is_current(&a), "the panic unwound the inner guard");

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        io::with_default(b.clone(), || panic!("boom"))
    }));
    assert!(result.is_err());
    assert!(is_current(&a), "with_default restores on panic too");
}

#[test]
fn a_plain_thread_sees_the_global_default_not_its_parents() {
    let parent = Arc::new(IOBuffer::new());
    let _guard = io::set_default(parent.clone());
    let child_on_global =
        std::thread::spawn(|| Arc::ptr_eq(&io::get_default(), &io::get_global_default())).join();
    assert_eq!(child_on_global.ok(), Some(true));
}

#[test]
fn an_inheriting_thread_sees_its_parents_stream() -> agentio::Result<()> {
    let parent = Arc::new(IOBuffer::new());
    let _guard = io::set_default(parent.clone());
    let joined = io::spawn(|| {
        agentio::ioprintln!("child")?;
        // And its own children inherit too.
        io::spawn(|| agentio::ioprintln!("grandchild"))
            .join()
            .unwrap_or(Err(agentio::Error::InputClosed))
    })
    .join();
    assert!(matches!(joined, Ok(Ok(()))), "{joined:?}");
    assert_eq!(parent.chunks(), ["child\n", "grandchild\n"]);
    Ok(())
}

#[test]
fn inherit_works_with_scoped_threads() {
    let parent = Arc::new(IOBuffer::new());
    let _guard = io::set_default(parent.clone());
    std::thread::scope(|scope| {
        scope.spawn(io::inherit(|| agentio::ioprintln!("scoped")));
    });
    assert_eq!(parent.text(), "scoped\n");
}

#[test]
fn threads_with_their_own_defaults_never_see_each_others_output() {
    const THREADS: usize = 16;
    const PRINTS: usize = 1000;
    let buffers: Vec<Arc<IOBuffer>> = (0..THREADS).map(|_| Arc::new(IOBuffer::new())).collect();
    let barrier = Arc::new(std::sync::Barrier::new(THREADS));
    let handles: Vec<_> = buffers
        .iter()
        .enumerate()
        .map(|(t, buffer)| {
            let buffer = buffer.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || -> agentio::Result<()> {
                let _guard = io::set_default(buffer);
                barrier.wait(); // all threads print at the same time
                for i in 0..PRINTS {
                    agentio::ioprintln!("thread {t} line {i}")?;
                }
                Ok(())
            })
        })
        .collect();
    for handle in handles {
        assert!(matches!(handle.join(), Ok(Ok(()))));
    }
    for (t, buffer) in buffers.iter().enumerate() {
        let expected: Vec<String> = (0..PRINTS)
            .map(|i| format!("thread {t} line {i}\n"))
            .collect();
        assert_eq!(buffer.chunks(), expected, "thread {t}'s buffer");
    }
}

/// A stream that, when dropped, writes a farewell to whatever is the default
/// stream then: a guard's drop must not hold the thread-local while the
/// stream it replaces is dropped.
struct SaysGoodbye;

impl IOStream for SaysGoodbye {
    fn print(&self, _: &[&str], _: &str, _: &str, _: bool) -> agentio::Result<()> {
        Ok(())
    }
    fn input(&self, _: &str, _: bool) -> agentio::Result<String> {
        Err(agentio::Error::InputClosed)
    }
}

impl Drop for SaysGoodbye {
    fn drop(&mut self) {
        let _ = agentio::ioprintln!("goodbye");
    }
}

#[test]
fn a_stream_whose_drop_uses_the_default_stream_can_be_the_default() {
    let outer = Arc::new(IOBuffer::new());
    let _outer = io::set_default(outer.clone());
    {
        // The guard holds the only handle on the stream.
        let _inner = io::set_default(Arc::new(SaysGoodbye));
    }
    assert_eq!(outer.text(), "goodbye\n");
}
