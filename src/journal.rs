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

static CODEDEPLOY: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Records the CodeDeploy deployment this run created for `service` (besides [`record`]'s line),
/// so that a release can stop or undo it after its wait was cancelled.
pub fn record_codedeploy(service: &str, deployment_id: &str) {
    CODEDEPLOY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push((service.to_string(), deployment_id.to_string()));
}

/// The last CodeDeploy deployment this run created for `service`.
pub fn codedeploy_of(service: &str) -> Option<String> {
    CODEDEPLOY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .rev()
        .find(|(name, _)| name == service)
        .map(|(_, id)| id.clone())
}
