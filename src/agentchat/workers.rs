//! Threads for tool calls, kept for the next call: starting and ending a
//! thread per call cost a tenth of a served chat's CPU (`clone`, the stack,
//! and the TLB shootdown of its release). At most [`MAX_IDLE`] threads
//! wait for work, each at most [`KEEP`]; then it ends, so none outlives
//! the last call by more than that.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// How long a thread waits for the next call before it ends.
pub(crate) const KEEP: Duration = Duration::from_secs(2);

/// How many threads wait for calls at most.
const MAX_IDLE: usize = 64;

type Job = Box<dyn FnOnce() + Send>;

/// The waiting threads and the calls not taken yet.
struct Pool {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job.
    idle: usize,
}

static POOL: Pool = Pool {
    state: Mutex::new(State {
        jobs: VecDeque::new(),
        idle: 0,
    }),
    wake: Condvar::new(),
};

impl Pool {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs `job` on a waiting thread, or a new one (on this thread when none
/// can be started).
pub(crate) fn run(job: impl FnOnce() + Send + 'static) {
    let job: Job = Box::new(job);
    let mut state = POOL.lock();
    if state.jobs.len() < state.idle {
        state.jobs.push_back(job);
        drop(state);
        POOL.wake.notify_one();
        return;
    }
    drop(state);
    // The job comes back when the thread cannot be started.
    let slot = std::sync::Arc::new(Mutex::new(Some(job)));
    let taken = slot.clone();
    let started = thread::Builder::new()
        .name("agentio-tool".into())
        .spawn(move || {
            let job = taken.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(job) = job {
                work(job);
            }
        });
    if started.is_err() {
        let job = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(job) = job {
            job();
        }
    }
}

/// A pool thread: `first`, then the calls that come within [`KEEP`].
fn work(first: Job) {
    let mut job = first;
    loop {
        job();
        match next() {
            Some(next) => job = next,
            None => return,
        }
    }
}

/// The next call for a waiting thread, or `None`: it ends.
fn next() -> Option<Job> {
    let mut state = POOL.lock();
    if state.idle >= MAX_IDLE {
        return None;
    }
    state.idle += 1;
    let deadline = Instant::now() + KEEP;
    loop {
        if let Some(job) = state.jobs.pop_front() {
            state.idle -= 1;
            return Some(job);
        }
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            state.idle -= 1;
            return None;
        };
        state = POOL
            .wake
            .wait_timeout(state, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::run;

    #[test]
    fn calls_run_on_reused_threads_and_each_runs_once() {
        let (done, finished) = mpsc::channel();
        // One after another: the second finds the first's thread waiting.
        let mut threads = Vec::new();
        for i in 0..3 {
            let done = done.clone();
            run(move || {
                let _ = done.send((i, std::thread::current().id()));
            });
            let got = finished.recv_timeout(Duration::from_secs(5));
            let (n, id) = got.unwrap_or_else(|e| panic!("call {i} never ran: {e}"));
            assert_eq!(n, i);
            threads.push(id);
            // Let the thread reach its wait before the next call.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while super::POOL.lock().idle == 0 && std::time::Instant::now() < deadline {
                std::thread::yield_now();
            }
        }
        assert!(
            threads.windows(2).any(|w| w[0] == w[1]),
            "a waiting thread took the next call: {threads:?}"
        );
        // Many at once: every one runs exactly once.
        for i in 0..100 {
            let done = done.clone();
            run(move || {
                let _ = done.send((i, std::thread::current().id()));
            });
        }
        let mut seen: Vec<usize> = (0..100)
            .map(|_| {
                let got = finished.recv_timeout(Duration::from_secs(5));
                got.unwrap_or_else(|e| panic!("{e}")).0
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        assert!(
            finished.recv_timeout(Duration::from_millis(50)).is_err(),
            "none twice"
        );
    }
}
