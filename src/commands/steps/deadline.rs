//! The one poll loop's clock, shared by every waiter (a rollout, run-task's tasks, a CodeDeploy
//! deployment): what is left of `--timeout`, the pause before each poll (jittered, cut short by
//! the deadline or by the interruption the waiter claimed), the back-off after a poll that failed
//! for a reason worth retrying, and the heartbeat that keeps CI from killing a quiet step.
//!
//! Time is tokio's, so tests run it on a paused clock they control.
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::adapters::aws::{ApiError, ApiErrorKind};
use crate::domain::duration::format_duration;
use crate::output;

/// Longest quiet stretch in the log: CircleCI kills a step after 10 minutes without output.
pub const HEARTBEAT: Duration = Duration::from_secs(55);
/// Longest pause between polls once throttling has pushed the interval up.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The interruption a waiter claimed (`output::claim_interrupt`): the signal's name once it came.
pub type Interrupt = watch::Receiver<Option<&'static str>>;

/// What the pause before a poll ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Time to poll.
    Poll,
    /// The timeout has passed: no poll, the waiter gives up.
    TimedOut,
    /// The claimed interruption arrived, with the signal's name.
    Interrupted(&'static str),
}

/// A wait bounded by a timeout, polling every `poll_interval` (longer while backing off).
pub struct Deadline {
    timeout: Duration,
    started: Instant,
    poll_interval: Duration,
    interval: Duration,
    attempt: u64,
    last_output: Instant,
    interrupt: Option<Interrupt>,
}

impl Deadline {
    /// Starts the clock now. With `interrupt`, a signal cuts the pause short and is reported as
    /// [`Wake::Interrupted`]; without, the pause just sleeps (the app ends the command on a signal).
    pub fn start(timeout: Duration, poll_interval: Duration, interrupt: Option<Interrupt>) -> Self {
        let started = Instant::now();
        Deadline {
            timeout,
            started,
            poll_interval,
            interval: poll_interval,
            attempt: 0,
            last_output: started,
            interrupt,
        }
    }

    /// Time since the wait started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Time left before the timeout; zero once it has passed.
    pub fn remaining(&self) -> Duration {
        self.timeout.saturating_sub(self.elapsed())
    }

    /// Waits before the next poll: [`Wake::TimedOut`] at once when no time is left, otherwise a
    /// jittered interval, never past the deadline, or less when the claimed interruption comes.
    pub async fn next_poll(&mut self) -> Wake {
        let remaining = self.remaining();
        if remaining.is_zero() {
            return Wake::TimedOut;
        }
        self.attempt += 1;
        let pause = jittered(self.interval, self.attempt).min(remaining);
        match pause_or_interrupt(&mut self.interrupt, pause).await {
            Some(signal) => Wake::Interrupted(signal),
            None => Wake::Poll,
        }
    }

    /// A poll that failed for a reason worth retrying (throttling, the network, a server error):
    /// doubles the interval up to [`MAX_BACKOFF`] and says so. False for an error that ends the
    /// wait.
    pub fn backed_off(&mut self, error: &ApiError, who: &str) -> bool {
        if !matches!(
            error.kind,
            ApiErrorKind::Throttled | ApiErrorKind::Unreachable | ApiErrorKind::Other
        ) {
            return false;
        }
        self.interval = (self.interval * 2).min(MAX_BACKOFF);
        output::step(format!(
            "{who} did not answer ({error}); retrying in {}",
            format_duration(self.interval)
        ));
        self.printed();
        true
    }

    /// A poll was answered: back to the poll interval.
    pub fn answered(&mut self) {
        self.interval = self.poll_interval;
    }

    /// Something was printed: the heartbeat can wait.
    pub fn printed(&mut self) {
        self.last_output = Instant::now();
    }

    /// Whether nothing was printed for [`HEARTBEAT`]; true restarts the quiet stretch, so the
    /// caller prints its "still waiting" line. Never in a service's lane of a release.
    pub fn heartbeat_due(&mut self) -> bool {
        // In a service's lane the release prints one heartbeat for all.
        if self.last_output.elapsed() < HEARTBEAT || crate::output::in_a_lane() {
            return false;
        }
        self.printed();
        true
    }
}

/// Sleeps for `pause`, or less when the interruption `interrupt` claimed arrives: then the
/// signal's name. Without a claim it just sleeps (the app ends the command on a signal).
async fn pause_or_interrupt(
    interrupt: &mut Option<Interrupt>,
    pause: Duration,
) -> Option<&'static str> {
    let Some(receiver) = interrupt.as_mut() else {
        tokio::time::sleep(pause).await;
        return None;
    };
    tokio::select! {
        _ = tokio::time::sleep(pause) => None,
        changed = receiver.changed() => {
            Some(changed.ok().and_then(|_| *receiver.borrow()).unwrap_or("a signal"))
        }
    }
}

/// Spreads the polls of concurrent deployers: 85% to 95% of the interval, deterministic per
/// attempt. Only ever shorter, so a state change is seen within one interval of happening.
fn jittered(interval: Duration, attempt: u64) -> Duration {
    let spread = (attempt.wrapping_mul(2654435761) % 11) as f64 / 100.0;
    interval.mul_f64(0.85 + spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN: Duration = Duration::from_secs(10);

    fn api_error(kind: ApiErrorKind) -> ApiError {
        ApiError {
            action: "ecs:DescribeServices",
            kind,
            code: None,
            message: "slow down".into(),
        }
    }

    #[test]
    fn jitter_only_shortens_the_interval() {
        let values: Vec<Duration> = (0..100).map(|attempt| jittered(TEN, attempt)).collect();
        assert!(values
            .iter()
            .all(|v| *v >= Duration::from_millis(8500) && *v <= Duration::from_millis(9500)));
        assert!(values.iter().any(|v| *v != values[0]), "the spread varies");
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_timeout_times_out_before_any_poll() {
        let mut deadline = Deadline::start(Duration::ZERO, TEN, None);
        assert_eq!(deadline.remaining(), Duration::ZERO);
        assert_eq!(deadline.next_poll().await, Wake::TimedOut);
        assert_eq!(
            deadline.elapsed(),
            Duration::ZERO,
            "no pause before giving up"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn each_pause_is_the_jittered_interval_and_counts_against_the_timeout() {
        let mut deadline = Deadline::start(Duration::from_secs(3600), TEN, None);
        for attempt in 1..=3 {
            let before = deadline.elapsed();
            assert_eq!(deadline.next_poll().await, Wake::Poll);
            assert_eq!(deadline.elapsed() - before, jittered(TEN, attempt));
        }
        assert_eq!(
            deadline.remaining(),
            Duration::from_secs(3600) - deadline.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_pause_stops_at_the_deadline_then_the_wait_times_out() {
        let mut deadline = Deadline::start(Duration::from_secs(4), TEN, None);
        assert_eq!(deadline.next_poll().await, Wake::Poll);
        assert_eq!(
            deadline.elapsed(),
            Duration::from_secs(4),
            "cut to the deadline"
        );
        assert_eq!(deadline.remaining(), Duration::ZERO);
        assert_eq!(deadline.next_poll().await, Wake::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn a_claimed_interruption_cuts_the_pause_short() {
        let (sender, receiver) = watch::channel(None);
        let mut deadline = Deadline::start(Duration::from_secs(3600), TEN, Some(receiver));
        sender.send(Some("SIGTERM")).unwrap();
        assert_eq!(deadline.next_poll().await, Wake::Interrupted("SIGTERM"));
        assert_eq!(deadline.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_claim_the_pause_just_sleeps() {
        let mut deadline = Deadline::start(Duration::from_secs(3600), TEN, None);
        assert_eq!(deadline.next_poll().await, Wake::Poll);
        assert!(deadline.elapsed() >= Duration::from_millis(8500));
    }

    #[tokio::test(start_paused = true)]
    async fn retryable_failures_double_the_interval_up_to_the_cap_and_an_answer_resets_it() {
        let mut deadline = Deadline::start(Duration::from_secs(3600), TEN, None);
        assert!(deadline.backed_off(&api_error(ApiErrorKind::Throttled), "ECS"));
        assert_eq!(deadline.interval, Duration::from_secs(20));
        assert!(deadline.backed_off(&api_error(ApiErrorKind::Unreachable), "ECS"));
        assert_eq!(deadline.interval, MAX_BACKOFF);
        assert!(deadline.backed_off(&api_error(ApiErrorKind::Other), "ECS"));
        assert_eq!(deadline.interval, MAX_BACKOFF);
        let before = deadline.elapsed();
        assert_eq!(deadline.next_poll().await, Wake::Poll);
        assert_eq!(deadline.elapsed() - before, jittered(MAX_BACKOFF, 1));
        deadline.answered();
        assert_eq!(deadline.interval, TEN);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_that_end_the_wait_do_not_back_off() {
        let mut deadline = Deadline::start(Duration::from_secs(3600), TEN, None);
        for kind in [
            ApiErrorKind::AccessDenied,
            ApiErrorKind::NotFound,
            ApiErrorKind::InvalidCredentials,
            ApiErrorKind::InvalidInput,
        ] {
            assert!(!deadline.backed_off(&api_error(kind), "ECS"));
        }
        assert_eq!(deadline.interval, TEN);
    }

    #[tokio::test(start_paused = true)]
    async fn the_heartbeat_is_due_after_a_quiet_stretch_only() {
        let mut deadline = Deadline::start(Duration::from_secs(3600), TEN, None);
        assert!(!deadline.heartbeat_due());
        tokio::time::advance(HEARTBEAT - Duration::from_secs(1)).await;
        assert!(!deadline.heartbeat_due());
        deadline.printed();
        tokio::time::advance(HEARTBEAT - Duration::from_secs(1)).await;
        assert!(!deadline.heartbeat_due(), "printing restarted the stretch");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(deadline.heartbeat_due());
        assert!(!deadline.heartbeat_due(), "due once, then quiet again");
    }
}
