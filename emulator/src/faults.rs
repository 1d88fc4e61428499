//! Fault injection for tests: throttling, server errors and slow answers, every Nth request.
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Answer ThrottlingException to every Nth request (0: never).
    pub throttle_every: u64,
    /// Answer HTTP 500 to every Nth request (0: never).
    pub fail_every: u64,
    /// Delay every answer by this many milliseconds.
    pub delay_ms: u64,
}

#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

/// What to do with one request.
pub enum Fault {
    None,
    Throttle,
    ServerError,
}

impl Counter {
    pub fn next(&self, faults: &Faults) -> Fault {
        let count = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        if faults.throttle_every > 0 && count.is_multiple_of(faults.throttle_every) {
            Fault::Throttle
        } else if faults.fail_every > 0 && count.is_multiple_of(faults.fail_every) {
            Fault::ServerError
        } else {
            Fault::None
        }
    }
}
