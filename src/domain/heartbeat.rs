//! Signs of life of the background workers (the provisioner and the
//! lifecycle executor), read by `/readyz` and diagnostics. A worker beats
//! as it loops; a thread that ended or stopped beating is not alive.
//! Measured in real time (a monotonic clock), not the server's clock:
//! a hung thread is a fact of the process, whatever time tests pretend.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Heartbeat {
    origin: Instant,
    /// Milliseconds after `origin` of the last beat.
    last: AtomicU64,
}

impl Default for Heartbeat {
    fn default() -> Heartbeat {
        Heartbeat {
            origin: Instant::now(),
            last: AtomicU64::new(0),
        }
    }
}

impl Heartbeat {
    pub fn beat(&self) {
        let ms = self.origin.elapsed().as_millis() as u64;
        self.last.store(ms, Ordering::Relaxed);
    }

    /// Time since the last beat.
    pub fn silent_for(&self) -> Duration {
        let now = self.origin.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last.load(Ordering::Relaxed)))
    }
}

/// A worker as readiness sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Liveness {
    /// Its thread is running.
    pub running: bool,
    /// Time since it last showed it makes progress.
    pub silent_for: Duration,
    /// Longer silence than this means it hangs.
    pub limit: Duration,
}

impl Liveness {
    /// `None` when alive, else why not.
    pub fn problem(&self) -> Option<String> {
        if !self.running {
            Some("is not running".into())
        } else if self.silent_for > self.limit {
            Some(format!(
                "has not made progress for {}s (limit {}s)",
                self.silent_for.as_secs(),
                self.limit.as_secs()
            ))
        } else {
            None
        }
    }
}
