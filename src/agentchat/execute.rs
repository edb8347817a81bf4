//! Running one tool call: on a thread of its own (from a pool), so the
//! chat can watch its stream and the clock while the tool works, and stop
//! waiting when the work is no longer wanted.

use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Result;
use crate::agentchat::{Tool, ToolContext, ToolRun};
use crate::io::workers::Workers;
use crate::io::{self, IOStream};

/// How often a chat waiting on a tool looks at its stream (a cancel, a
/// client gone for good).
const TICK: Duration = Duration::from_millis(50);

/// The threads tool calls run on: one waits at most 2 s for the next call,
/// at most 16 wait; a call costs no thread start.
static TOOL_THREADS: LazyLock<Arc<Workers>> =
    LazyLock::new(|| Workers::new("agentio-tool", Duration::from_secs(2), 16));

/// Runs `tool` on `arguments` with `context`, watching `stream`.
///
/// - The tool returns: its run.
/// - It passes its time limit: its context is cancelled and the model gets
///   an error result; the chat goes on without it (its thread ends when
///   the function returns).
/// - The stream fails its [`check`](IOStream::check) (cancelled, client
///   gone, server stopping): the context is cancelled, the tool gets the
///   rest of its time limit to return, and the chat ends with that error.
pub(crate) fn execute(
    tool: &Tool,
    arguments: Value,
    context: ToolContext,
    stream: &dyn IOStream,
) -> Result<ToolRun> {
    let context = Arc::new(context);
    let slot = Arc::new(Slot::default());
    {
        let (tool, arguments, context) = (tool.clone(), arguments.clone(), context.clone());
        let filler = Filler(Some(slot.clone()));
        // The tool's own prints go where the chat's do.
        let call = Box::new(io::inherit(move || {
            filler.put(tool.run_with(arguments, &context))
        }));
        // No thread to be had: the call runs here (unwatched, but it runs).
        if let Err(call) = TOOL_THREADS.run(call) {
            call();
        }
    }
    let deadline = tool.get_time_limit().map(|limit| Instant::now() + limit);
    let mut stopping = None;
    loop {
        let wait = deadline.map_or(TICK, |d| {
            d.saturating_duration_since(Instant::now()).min(TICK)
        });
        match slot.take(wait) {
            Outcome::Ran(run) => {
                return match stopping {
                    Some(error) => Err(error),
                    None => Ok(run),
                };
            }
            // Only a panic outside the function (it catches its own) ends
            // the call without a result.
            Outcome::Lost => {
                return match stopping {
                    Some(error) => Err(error),
                    None => Ok(failed(arguments, format!("Error: {} stopped", tool.name()))),
                };
            }
            Outcome::Running => {}
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            context.cancel();
            if let Some(error) = stopping {
                return Err(error);
            }
            let limit = tool.get_time_limit().unwrap_or_default();
            return Ok(failed(
                arguments,
                format!(
                    "Error: {} did not finish within {} s and was asked to stop.",
                    tool.name(),
                    limit.as_secs_f64()
                ),
            ));
        }
        if stopping.is_none() {
            if let Err(error) = stream.check() {
                context.cancel();
                if deadline.is_none() {
                    // No limit to wait for: the tool ends on its own time.
                    return Err(error);
                }
                stopping = Some(error);
            }
        }
    }
}

/// Where the tool's thread leaves its run. A condition variable, not a
/// channel: the chat's wait sleeps at once, without a channel's spinning
/// and yielding first (a `sched_yield` or more per call).
#[derive(Default)]
struct Slot {
    run: Mutex<Outcome>,
    ready: Condvar,
}

/// Where a call is.
#[derive(Default)]
enum Outcome {
    #[default]
    Running,
    Ran(ToolRun),
    /// It ended without a run (a panic outside the tool's function).
    Lost,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Outcome> {
        self.run.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn settle(&self, outcome: Outcome) {
        *self.lock() = outcome;
        self.ready.notify_one();
    }

    /// How the call ended, waiting at most `wait` for it to.
    fn take(&self, wait: Duration) -> Outcome {
        let run = self.lock();
        let (mut run, _) = self
            .ready
            .wait_timeout_while(run, wait, |run| matches!(run, Outcome::Running))
            .unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *run)
    }
}

/// The call's side of its slot: it puts the run, or, dropped without one
/// (unwinding), says the run is lost.
struct Filler(Option<Arc<Slot>>);

impl Filler {
    fn put(mut self, run: ToolRun) {
        if let Some(slot) = self.0.take() {
            slot.settle(Outcome::Ran(run));
        }
    }
}

impl Drop for Filler {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            slot.settle(Outcome::Lost);
        }
    }
}

fn failed(arguments: Value, content: String) -> ToolRun {
    ToolRun {
        arguments,
        content,
        success: false,
    }
}
