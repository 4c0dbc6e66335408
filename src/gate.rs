//! Admission control for expensive work (password hashing, uploads): at most
//! a fixed number run at once, a bounded number more wait their turn, and the
//! rest are refused at once with 429 and `Retry-After`. Memory then stays
//! bounded whatever a flood sends.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, ApiResult};

pub struct Gate {
    /// Places: running plus waiting.
    places: usize,
    /// What runs here, for the 429 message ("password checks", "uploads").
    what: &'static str,
    running: Arc<Semaphore>,
    counts: Arc<Watched>,
}

/// What a gate has let in, readable at any time and waitable: monitoring
/// reads it, tests wait on it instead of polling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests running or waiting now.
    pub admitted: usize,
    /// Passes granted since start.
    pub passed: u64,
}

/// The counts and a signal raised whenever they change.
#[derive(Default)]
struct Watched {
    counts: Mutex<Counts>,
    changed: Condvar,
}

impl Watched {
    fn get(&self) -> Counts {
        *self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update<R>(&self, f: impl FnOnce(&mut Counts) -> R) -> R {
        let r = f(&mut self.counts.lock().unwrap_or_else(|e| e.into_inner()));
        self.changed.notify_all();
        r
    }
}

/// A place taken in the gate (running or waiting); dropping it frees the
/// place, also when a waiting request is abandoned.
struct Place(Arc<Watched>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.update(|c| c.admitted -= 1);
    }
}

/// The right to run one piece of work; dropping it frees the place. Move it
/// into the work itself so that the place stays taken until the work is done
/// even when the request is abandoned.
pub struct Pass {
    _running: OwnedSemaphorePermit,
    _place: Place,
}

impl Gate {
    /// `running` at once, `waiting` more in the queue.
    pub fn new(what: &'static str, running: usize, waiting: usize) -> Gate {
        Gate {
            places: running + waiting,
            what,
            running: Arc::new(Semaphore::new(running)),
            counts: Arc::default(),
        }
    }

    /// Waits for a place, or refuses at once when the queue is full.
    pub async fn enter(&self) -> ApiResult<Pass> {
        let admitted = self.counts.update(|c| {
            let free = c.admitted < self.places;
            if free {
                c.admitted += 1;
            }
            free
        });
        if !admitted {
            return Err(ApiError::too_many_requests(
                format!(
                    "The server is busy: too many {} are waiting. Try again shortly.",
                    self.what
                ),
                1,
            ));
        }
        let place = Place(self.counts.clone());
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        self.counts.update(|c| c.passed += 1);
        Ok(Pass {
            _running: running,
            _place: place,
        })
    }

    /// Requests running or waiting now.
    pub fn admitted(&self) -> usize {
        self.counts.get().admitted
    }

    /// How many passes were granted since start.
    pub fn passed(&self) -> u64 {
        self.counts.get().passed
    }

    /// Blocks until `pred` holds of the counts or `timeout` passes; returns
    /// the last counts seen.
    pub fn wait_until(&self, timeout: Duration, pred: impl Fn(Counts) -> bool) -> Counts {
        let counts = self.counts.counts.lock().unwrap_or_else(|e| e.into_inner());
        let (counts, _) = self
            .counts
            .changed
            .wait_timeout_while(counts, timeout, |c| !pred(*c))
            .unwrap_or_else(|e| e.into_inner());
        *counts
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads for heavy work. Unlike a blocking pool that grows
/// and shrinks, the same few threads run every job, so the allocator's
/// per-thread arenas, which keep the memory of big freed buffers for reuse,
/// stay as few as the threads.
pub struct Workers {
    jobs: Sender<Job>,
}

impl Workers {
    pub fn new(name: &str, threads: usize) -> Workers {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || loop {
                    let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match job {
                        // A panicking job fails its request, not the thread.
                        Ok(job) => drop(std::panic::catch_unwind(AssertUnwindSafe(job))),
                        // The owner is gone.
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                log::error!("cannot start worker thread {name}-{i}: {e}");
            }
        }
        Workers { jobs }
    }

    /// Runs `f` on one of the threads.
    pub async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .map_err(|_| ApiError::internal("worker threads have stopped"))?;
        rx.await
            .map_err(|_| ApiError::internal("a worker thread failed its job"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn queues_then_refuses_with_retry_after() {
        let g = Gate::new("tests", 1, 1);
        let first = g.enter().await.unwrap();
        // The second is admitted and waits for the running place.
        let mut second = Box::pin(g.enter());
        assert!(futures_util::poll!(&mut second).is_pending());
        // The third finds the queue full.
        let e = g.enter().await.err().unwrap();
        assert_eq!(e.status, actix_web::http::StatusCode::TOO_MANY_REQUESTS);
        drop(first);
        let _second = second.await.unwrap();
        assert_eq!(g.passed(), 2);
    }

    #[actix_web::test]
    async fn counts_can_be_awaited_from_another_thread() {
        let g = Arc::new(Gate::new("tests", 1, 1));
        let watcher = {
            let g = g.clone();
            std::thread::spawn(move || {
                let seen = g.wait_until(Duration::from_secs(10), |c| c.passed == 1);
                let freed = g.wait_until(Duration::from_secs(10), |c| c.admitted == 0);
                (seen, freed)
            })
        };
        let pass = g.enter().await.unwrap();
        // An abandoned waiter gives its place back too.
        let mut waiting = Box::pin(g.enter());
        assert!(futures_util::poll!(&mut waiting).is_pending());
        assert_eq!(g.admitted(), 2);
        drop(waiting);
        drop(pass);
        let (seen, freed) = watcher.join().unwrap();
        assert_eq!(seen.passed, 1);
        assert_eq!(
            freed,
            Counts {
                admitted: 0,
                passed: 1
            }
        );
        // A condition that never holds ends at the timeout.
        let last = g.wait_until(Duration::from_millis(1), |c| c.passed == 9);
        assert_eq!(last.passed, 1);
    }

    #[actix_web::test]
    async fn workers_run_jobs_and_survive_a_panic() {
        let w = Workers::new("test", 1);
        assert_eq!(w.run(|| 2 + 2).await.unwrap(), 4);
        assert!(w.run(|| panic!("job failed")).await.is_err());
        assert_eq!(w.run(|| "still here").await.unwrap(), "still here");
    }
}
