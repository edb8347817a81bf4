//! The current thread's default stream, with a process-wide fallback.
//!
//! This mirrors AutoGen's `ContextVar`: each thread has its own scoped default;
//! where a thread has none, the global default applies (the console unless
//! [`set_global_default`] said otherwise).

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock, RwLock};
use std::thread::{self, JoinHandle};

use crate::io::{IOConsole, IOStream};

thread_local! {
    static CURRENT: RefCell<Option<Arc<dyn IOStream>>> = const { RefCell::new(None) };
}

static GLOBAL: RwLock<Option<Arc<dyn IOStream>>> = RwLock::new(None);
static CONSOLE: OnceLock<Arc<dyn IOStream>> = OnceLock::new();

/// The console every thread falls back to until [`set_global_default`] is called.
fn console() -> Arc<dyn IOStream> {
    CONSOLE.get_or_init(|| Arc::new(IOConsole::new())).clone()
}

/// The current thread's default stream: the one set by the innermost live
/// [`set_default`] guard (or [`with_default`]) on this thread, else the global
/// default.
///
/// Everything agentio prints goes here.
pub fn get_default() -> Arc<dyn IOStream> {
    CURRENT
        .try_with(|current| current.borrow().clone())
        .ok()
        .flatten()
        .unwrap_or_else(get_global_default)
}

/// The process-wide default stream: the console unless [`set_global_default`]
/// replaced it.
pub fn get_global_default() -> Arc<dyn IOStream> {
    // A poisoned lock only means a thread panicked while swapping an Arc; the
    // value inside is still a whole Arc, so keep using it.
    let global = GLOBAL
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    global.clone().unwrap_or_else(console)
}

/// Replaces the process-wide default stream, the one threads without a
/// default of their own use. Returns the previous one.
pub fn set_global_default(stream: Arc<dyn IOStream>) -> Arc<dyn IOStream> {
    let mut global = GLOBAL
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    global.replace(stream).unwrap_or_else(console)
}

/// Makes `stream` this thread's default until the returned guard is dropped,
/// which restores the previous default (also when unwinding from a panic).
///
/// Guards nest: drop them in the reverse order of their creation, as scopes do.
///
/// ```
/// use agentio::io::{self, IOBuffer};
/// use std::sync::Arc;
///
/// let buffer = Arc::new(IOBuffer::new());
/// {
///     let _guard = io::set_default(buffer.clone());
///     agentio::ioprintln!("to the buffer")?;
/// }
/// assert_eq!(buffer.text(), "to the buffer\n");
/// # Ok::<(), agentio::Error>(())
/// ```
pub fn set_default(stream: Arc<dyn IOStream>) -> DefaultGuard {
    let previous = CURRENT
        .try_with(|current| current.borrow_mut().replace(stream))
        .ok()
        .flatten();
    DefaultGuard {
        previous,
        _not_send: PhantomData,
    }
}

/// Runs `f` with `stream` as this thread's default, then restores the previous
/// default (also if `f` panics).
///
/// ```
/// use agentio::io::{self, IOBuffer};
/// use std::sync::Arc;
///
/// let buffer = Arc::new(IOBuffer::new());
/// io::with_default(buffer.clone(), || agentio::ioprint!("hi"))?;
/// assert_eq!(buffer.text(), "hi");
/// # Ok::<(), agentio::Error>(())
/// ```
pub fn with_default<R>(stream: Arc<dyn IOStream>, f: impl FnOnce() -> R) -> R {
    let _guard = set_default(stream);
    f()
}

/// Restores the previous default stream of its thread when dropped.
///
/// Returned by [`set_default`]. It cannot move to another thread: the default
/// it restores belongs to the thread that made it.
#[must_use = "the default stream is restored as soon as the guard is dropped"]
pub struct DefaultGuard {
    previous: Option<Arc<dyn IOStream>>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for DefaultGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: during thread exit the thread-local may already be gone.
        // The stream being replaced is dropped only after the borrow ends:
        // its `Drop` may itself use the default stream.
        let replaced = CURRENT
            .try_with(|current| std::mem::replace(&mut *current.borrow_mut(), previous))
            .ok()
            .flatten();
        drop(replaced);
    }
}

impl std::fmt::Debug for DefaultGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultGuard")
            .field("restores_thread_default", &self.previous.is_some())
            .finish()
    }
}

/// Wraps `f` so that, wherever it runs, it runs with the caller's current
/// thread default (if the caller has one; otherwise the global default
/// applies there as it does here).
///
/// Use it with thread pools, `std::thread::scope` or `thread::Builder`;
/// [`spawn`] is the common case.
pub fn inherit<F, T>(f: F) -> impl FnOnce() -> T + Send + 'static
where
    F: FnOnce() -> T + Send + 'static,
{
    let stream = CURRENT
        .try_with(|current| current.borrow().clone())
        .ok()
        .flatten();
    move || match stream {
        Some(stream) => with_default(stream, f),
        None => f(),
    }
}

/// Spawns a thread that inherits the caller's default stream, unlike a plain
/// `std::thread::spawn` (whose thread sees the global default, as in AutoGen).
///
/// Panics if the OS cannot create a thread, as `std::thread::spawn` does; use
/// [`inherit`] with `std::thread::Builder` to handle that error instead.
///
/// ```
/// use agentio::io::{self, IOBuffer};
/// use std::sync::Arc;
///
/// let buffer = Arc::new(IOBuffer::new());
/// let _guard = io::set_default(buffer.clone());
/// io::spawn(|| agentio::ioprintln!("from a child thread")).join().unwrap()?;
/// assert_eq!(buffer.text(), "from a child thread\n");
/// # Ok::<(), agentio::Error>(())
/// ```
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    thread::spawn(inherit(f))
}
