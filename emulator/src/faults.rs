//! Fault injection for tests: throttling, server errors and slow answers, every Nth request;
//! and ECS's own misbehaviours a waiter must survive: DescribeServices answering the service as
//! it was before an UpdateService (eventual consistency), tasks that cannot be placed,
//! containers slow to start, a load balancer slow to find its targets healthy, lifecycle hooks
//! that fail and alarms that go off while a deployment bakes.
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Answer ThrottlingException to every Nth request (0: never).
    pub throttle_every: u64,
    /// Answer HTTP 500 to every Nth request (0: never).
    pub fail_every: u64,
    /// Delay every answer by this many milliseconds.
    pub delay_ms: u64,
    /// After each UpdateService, answer this many DescribeServices of that service with the
    /// service as it was before the update (`--stale-describe-polls N`).
    pub stale_describe_polls: u64,
    /// Services whose tasks cannot be placed, with how many launch attempts fail
    /// (`--unplaceable-service NAME[:COUNT]`; no count: every attempt).
    pub unplaceable: Vec<(String, u64)>,
    /// Wait this long between creating a task's container and starting it.
    pub launch_delay_ms: u64,
    /// Load-balancer targets stay `initial` this long after their task became healthy (a slow
    /// health check; `--target-health-delay-ms N`).
    pub target_health_delay_ms: u64,
    /// AWS_LAMBDA lifecycle hooks at these stages fail (`--failing-hook-stage STAGE`).
    pub failing_hook_stages: Vec<String>,
    /// These CloudWatch alarms go off during a deployment's bake time when the deployment
    /// monitors them (`--alarm-during-bake NAME`).
    pub bake_alarms: Vec<String>,
    /// Operations answered with ECS's `ServerException` (HTTP 500) the first COUNT times they
    /// are called (`--fail-operation NAME:COUNT`): a server-side failure that outlasts the SDK's
    /// own retries.
    pub failing_operations: Vec<(String, u64)>,
    /// Operations always answered `AccessDeniedException` (`--deny-operation NAME`), as for an
    /// identity whose policy lacks the IAM action.
    pub denied_operations: Vec<String>,
}

impl Faults {
    /// Parses `NAME` or `NAME:COUNT` for `--unplaceable-service`.
    pub fn add_unplaceable(&mut self, value: &str) -> Option<()> {
        let (name, count) = match value.rsplit_once(':') {
            Some((name, count)) => (name, count.parse().ok()?),
            None => (value, u64::MAX),
        };
        self.unplaceable.push((name.to_string(), count));
        Some(())
    }

    /// How many launch attempts of `service` fail to place.
    pub fn placement_failures(&self, service: &str) -> u64 {
        self.unplaceable
            .iter()
            .find(|(name, _)| name == service)
            .map_or(0, |(_, count)| *count)
    }
}

/// How many times each operation named by `--fail-operation` has been called.
#[derive(Debug, Default)]
pub struct OperationCounts(std::sync::Mutex<std::collections::HashMap<String, u64>>);

impl OperationCounts {
    /// The fault for this call of `operation`, by `--fail-operation` and `--deny-operation`.
    pub fn next(&self, faults: &Faults, operation: &str) -> Fault {
        if faults
            .denied_operations
            .iter()
            .any(|denied| denied == operation)
        {
            return Fault::AccessDenied;
        }
        let Some((_, count)) = faults
            .failing_operations
            .iter()
            .find(|(name, _)| name == operation)
        else {
            return Fault::None;
        };
        let mut calls = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let call = calls.entry(operation.to_string()).or_default();
        *call += 1;
        if *call <= *count {
            Fault::ServerError
        } else {
            Fault::None
        }
    }
}

#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

/// What to do with one request.
pub enum Fault {
    None,
    Throttle,
    ServerError,
    AccessDenied,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unplaceable_services_take_an_optional_count() {
        let mut faults = Faults::default();
        faults.add_unplaceable("web").unwrap();
        faults.add_unplaceable("api:2").unwrap();
        assert!(faults.add_unplaceable("api:two").is_none());
        assert_eq!(faults.placement_failures("web"), u64::MAX);
        assert_eq!(faults.placement_failures("api"), 2);
        assert_eq!(faults.placement_failures("other"), 0);
    }
}
