//! Threads kept for the next job: starting and ending a thread per tool
//! call cost a tenth of a served chat's CPU (`clone`, the stack, the TLB
//! shootdown when it is released). A thread that finishes its job waits at
//! most `keep` for the next, and at most `max_idle` wait; then it ends, so
//! no thread outlives its last job by more than `keep`.
//!
//! (Connection threads are not kept: a kept thread keeps the stack pages a
//! whole chat touched, and at 64 clients that was 2 MiB more at the peak
//! for a few per cent less CPU.)

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// A job for a worker thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// A set of worker threads.
pub(crate) struct Workers {
    name: &'static str,
    keep: Duration,
    max_idle: usize,
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job.
    idle: usize,
}

impl Workers {
    /// Threads named `name`, each waiting at most `keep` for its next job,
    /// at most `max_idle` of them at a time.
    pub(crate) fn new(name: &'static str, keep: Duration, max_idle: usize) -> Arc<Workers> {
        Arc::new(Workers {
            name,
            keep,
            max_idle,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `job` on a waiting thread, or on a new one; gives it back when
    /// no thread can be started.
    pub(crate) fn run(self: &Arc<Self>, job: Job) -> Result<(), Job> {
        let mut state = self.lock();
        if state.jobs.len() < state.idle {
            state.jobs.push_back(job);
            drop(state);
            self.wake.notify_one();
            return Ok(());
        }
        drop(state);
        // The job comes back when the thread cannot be started.
        let first = Arc::new(Mutex::new(Some(job)));
        let (workers, taken) = (self.clone(), first.clone());
        let started = thread::Builder::new()
            .name(self.name.into())
            .spawn(move || {
                let job = taken.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(job) = job {
                    workers.work(job);
                }
            });
        match started {
            Ok(_) => Ok(()),
            Err(_) => {
                let job = first.lock().unwrap_or_else(|e| e.into_inner()).take();
                job.map_or(Ok(()), Err)
            }
        }
    }

    /// A thread's life: `first`, then the jobs that come while it waits.
    fn work(&self, first: Job) {
        let mut job = first;
        loop {
            job();
            match self.next() {
                Some(next) => job = next,
                None => return,
            }
        }
    }

    /// The next job for a thread that finished one, or `None`: it ends.
    fn next(&self) -> Option<Job> {
        let mut state = self.lock();
        if state.idle >= self.max_idle {
            return None;
        }
        state.idle += 1;
        let deadline = Instant::now() + self.keep;
        loop {
            if let Some(job) = state.jobs.pop_front() {
                state.idle -= 1;
                return Some(job);
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                state.idle -= 1;
                return None;
            };
            state = self
                .wake
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::Workers;

    #[test]
    fn jobs_run_once_each_on_reused_threads_that_end_when_idle() {
        let workers = Workers::new("test-worker", Duration::from_millis(500), 8);
        let (done, finished) = mpsc::channel();
        // One after another: the second finds the first's thread waiting.
        let mut threads = Vec::new();
        for i in 0..3 {
            let done = done.clone();
            let job = Box::new(move || {
                let _ = done.send((i, std::thread::current().id()));
            });
            assert!(workers.run(job).is_ok());
            let got = finished.recv_timeout(Duration::from_secs(5));
            let (n, id) = got.unwrap_or_else(|e| panic!("job {i} never ran: {e}"));
            assert_eq!(n, i);
            threads.push(id);
            let deadline = Instant::now() + Duration::from_secs(5);
            while workers.lock().idle == 0 && Instant::now() < deadline {
                std::thread::yield_now();
            }
        }
        assert!(threads.windows(2).all(|w| w[0] == w[1]), "{threads:?}");
        // Many at once: every one runs exactly once.
        for i in 0..100 {
            let done = done.clone();
            let job = Box::new(move || {
                let _ = done.send((i, std::thread::current().id()));
            });
            assert!(workers.run(job).is_ok());
        }
        let mut seen: Vec<usize> = (0..100)
            .map(|_| {
                let got = finished.recv_timeout(Duration::from_secs(5));
                got.unwrap_or_else(|e| panic!("{e}")).0
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        // A waiting thread ends after its keep.
        let deadline = Instant::now() + Duration::from_secs(5);
        while workers.lock().idle > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(workers.lock().idle, 0, "every waiting thread ended");
    }
}
