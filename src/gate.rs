//! Admission control for expensive work (password hashing, uploads): at most
//! a fixed number run at once, a bounded number more wait their turn, and the
//! rest are refused at once with 429 and `Retry-After`. Memory then stays
//! bounded whatever a flood sends.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, ApiResult};

pub struct Gate {
    /// Places: running plus waiting.
    places: usize,
    /// What runs here, for the 429 message ("password checks", "uploads").
    what: &'static str,
    running: Arc<Semaphore>,
    /// Running plus waiting.
    admitted: Arc<Semaphore>,
    /// How many passes were ever granted.
    passed: AtomicU64,
}

/// The right to run one piece of work; dropping it frees the place. Move it
/// into the work itself so that the place stays taken until the work is done
/// even when the request is abandoned.
pub struct Pass {
    _running: OwnedSemaphorePermit,
    _admitted: OwnedSemaphorePermit,
}

impl Gate {
    /// `running` at once, `waiting` more in the queue.
    pub fn new(what: &'static str, running: usize, waiting: usize) -> Gate {
        Gate {
            places: running + waiting,
            what,
            running: Arc::new(Semaphore::new(running)),
            admitted: Arc::new(Semaphore::new(running + waiting)),
            passed: AtomicU64::new(0),
        }
    }

    /// Waits for a place, or refuses at once when the queue is full.
    pub async fn enter(&self) -> ApiResult<Pass> {
        let admitted = self.admitted.clone().try_acquire_owned().map_err(|_| {
            ApiError::too_many_requests(
                format!(
                    "The server is busy: too many {} are waiting. Try again shortly.",
                    self.what
                ),
                1,
            )
        })?;
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        self.passed.fetch_add(1, Ordering::Relaxed);
        Ok(Pass {
            _running: running,
            _admitted: admitted,
        })
    }

    /// Requests running or waiting now.
    pub fn admitted(&self) -> usize {
        self.places - self.admitted.available_permits()
    }

    /// How many passes were granted since start.
    pub fn passed(&self) -> u64 {
        self.passed.load(Ordering::Relaxed)
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
    async fn workers_run_jobs_and_survive_a_panic() {
        let w = Workers::new("test", 1);
        assert_eq!(w.run(|| 2 + 2).await.unwrap(), 4);
        assert!(w.run(|| panic!("job failed")).await.is_err());
        assert_eq!(w.run(|| "still here").await.unwrap(), "still here");
    }
}
