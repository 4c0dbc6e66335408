//! The one source of "now". Everything that reads the time asks the
//! server's clock, so tests move time by advancing a [`ManualClock`] instead
//! of sleeping or ageing rows by hand.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::sdk::Micros;

pub trait Clock: Send + Sync + 'static {
    /// Microseconds since the Unix epoch, UTC.
    fn now(&self) -> Micros;
}

pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Micros {
        chrono::Utc::now().timestamp_micros()
    }
}

/// A clock that moves only when told to — and by one microsecond per
/// reading, so that events read from it stay strictly ordered, as they are
/// on the wall clock.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    pub fn new(start: Micros) -> ManualClock {
        ManualClock {
            now: AtomicI64::new(start),
        }
    }

    /// Starts at the current wall-clock time.
    pub fn starting_now() -> ManualClock {
        ManualClock::new(SystemClock.now())
    }

    pub fn advance(&self, by: Duration) {
        let us = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.now.fetch_add(us, Ordering::AcqRel);
    }

    /// The current reading, without moving the clock.
    pub fn now_peek(&self) -> Micros {
        self.now.load(Ordering::Acquire)
    }

    pub fn set(&self, to: Micros) {
        self.now.store(to, Ordering::Release);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Micros {
        self.now.fetch_add(1, Ordering::AcqRel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let c = ManualClock::new(1_000);
        assert_eq!(c.now(), 1_000);
        assert_eq!(c.now(), 1_001);
        c.advance(Duration::from_millis(2));
        assert_eq!(c.now(), 3_002);
        c.set(5);
        assert_eq!(c.now(), 5);
    }
}
