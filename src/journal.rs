//! What this run has changed so far. Every side effect outside the process (a repository
//! created, a tag pushed, a revision registered, a service updated, a file written) is recorded
//! as it happens, so a failure after it says what was already done and exits 4 instead of
//! claiming, with 2 or 3, that nothing changed.
use std::sync::Mutex;

static DONE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records a change that has happened, in the words the error will print.
pub fn record(change: impl Into<String>) {
    DONE.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(change.into());
}

/// Every change recorded so far, in order.
pub fn done() -> Vec<String> {
    DONE.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}
