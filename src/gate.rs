//! Admission control for expensive work (password hashing, uploads): at most
//! a fixed number run at once, a bounded number more wait their turn, and the
//! rest are refused at once with 429 and `Retry-After`. Memory then stays
//! bounded whatever a flood sends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
/// into a blocking task so that the place stays taken until the work is done
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

    /// Runs `f` on the blocking pool once admitted; the place is held until
    /// `f` has returned.
    pub async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let pass = self.enter().await?;
        actix_web::web::block(move || {
            let _pass = pass;
            f()
        })
        .await
        .map_err(ApiError::internal)
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
}
