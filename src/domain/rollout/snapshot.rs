//! What DescribeServices and DescribeTasks say about a service, its deployments, events, load
//! balancers and tasks, in the shapes the AWS CLI prints (unknown keys ignored); and what the
//! wait looks for: our deployment ([`Target`]) and when the wait may end ([`WaitUntil`]).
use serde::Deserialize;

pub(super) const PRIMARY: &str = "PRIMARY";
pub(super) const ACTIVE: &str = "ACTIVE";
pub(super) const COMPLETED: &str = "COMPLETED";
pub(super) const FAILED: &str = "FAILED";

/// A service as DescribeServices shows it (the AWS CLI's JSON shape deserializes into it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSnapshot {
    #[serde(default)]
    pub service_name: String,
    #[serde(default)]
    pub service_arn: Option<String>,
    /// ACTIVE, DRAINING or INACTIVE.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub task_definition: String,
    #[serde(default)]
    pub desired_count: i32,
    #[serde(default)]
    pub running_count: i32,
    #[serde(default)]
    pub pending_count: i32,
    #[serde(default)]
    pub deployments: Vec<Deployment>,
    /// Newest first, as ECS lists them.
    #[serde(default)]
    pub events: Vec<ServiceEvent>,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancer>,
    /// The ARN of the service's current ServiceDeployment; absent where ECS (or an emulator)
    /// does not report service deployments.
    #[serde(default)]
    pub current_service_deployment: Option<String>,
}

/// A load balancer the service registers its tasks with (DescribeServices `loadBalancers`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    /// ALB or NLB target group; `None` for a Classic Load Balancer.
    #[serde(default)]
    pub target_group_arn: Option<String>,
    #[serde(default)]
    pub container_name: String,
    #[serde(default)]
    pub container_port: i32,
}

/// A registered target and its health, as DescribeTargetHealth answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    /// An IP address (awsvpc tasks) or an EC2 instance id (bridge and host network modes).
    pub id: String,
    pub port: Option<i32>,
    /// initial, healthy, unhealthy, unused, draining, unavailable, …
    pub state: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: String,
    pub task_definition: String,
    #[serde(default)]
    pub desired_count: i32,
    #[serde(default)]
    pub running_count: i32,
    #[serde(default)]
    pub pending_count: i32,
    #[serde(default)]
    pub failed_tasks: i32,
    /// IN_PROGRESS, COMPLETED or FAILED; absent on old APIs and some emulators.
    #[serde(default)]
    pub rollout_state: Option<String>,
    #[serde(default)]
    pub rollout_state_reason: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    pub id: String,
    #[serde(default)]
    pub created_at: Option<String>,
    pub message: String,
}

/// A task as DescribeTasks shows it once stopped.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoppedTask {
    pub task_arn: String,
    pub task_definition_arn: String,
    #[serde(default)]
    pub last_status: String,
    #[serde(default)]
    pub stopped_reason: Option<String>,
    #[serde(default)]
    pub stop_code: Option<String>,
    #[serde(default)]
    pub stopped_at: Option<String>,
    #[serde(default)]
    pub containers: Vec<StoppedContainer>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoppedContainer {
    pub name: String,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub last_status: Option<String>,
}

/// A task ECS wants running, as DescribeTasks shows it: what `--wait-until running` checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningTask {
    pub task_arn: String,
    pub task_definition_arn: String,
    /// The deployment id for a service's tasks.
    pub started_by: Option<String>,
    /// PROVISIONING, PENDING, ACTIVATING, RUNNING, …
    pub last_status: String,
    /// HEALTHY, UNHEALTHY or UNKNOWN.
    pub health_status: Option<String>,
    /// Each container's name and health status (UNKNOWN without a health check).
    pub containers: Vec<(String, String)>,
    /// The task's ENI address (awsvpc): its load-balancer target id.
    pub private_ip: Option<String>,
    /// Bridge and host network modes: the container instance, and each container's
    /// (name, container port, host port) bindings, which make its target.
    pub container_instance_arn: Option<String>,
    pub host_ports: Vec<(String, i32, i32)>,
}

/// When the wait may end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitUntil {
    /// Our deployment COMPLETED and the old ones are gone.
    Stable,
    /// Our revision runs its desired count, every task of it RUNNING and healthy, and has for
    /// the settle time; old tasks may still drain.
    Running,
    /// Production traffic is on our revision and it bakes (blue/green, linear and canary
    /// deployments; only the ServiceDeployment API tells).
    BakeTime,
    /// Our deployment waits at a PAUSE lifecycle hook for ContinueServiceDeployment.
    Paused,
}

/// The deployment we started: the PRIMARY deployment id UpdateService answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub deployment_id: String,
    pub task_definition_arn: String,
    pub wait_until: WaitUntil,
    /// Our deployment's `createdAt` as ECS answered it (RFC 3339): events and deployments
    /// older than this are history.
    pub created_at: Option<String>,
    /// The service's early success criteria, when enabled: the healthy percent of the desired
    /// count at which ECS completes the deployment, and whether the old tasks may still run
    /// then (DEFERRED cleanup).
    pub early_success: Option<(u8, bool)>,
}

/// Some emulators answer an empty rollout state rather than none.
pub(super) fn rollout_state(deployment: &Deployment) -> Option<&str> {
    deployment
        .rollout_state
        .as_deref()
        .filter(|state| !state.is_empty())
}

#[cfg(test)]
mod tests {
    use crate::domain::rollout::fixtures::*;

    #[test]
    fn fixtures_deserialize_with_unknown_keys_ignored() {
        let snapshot = service(SLOW_STARTED);
        assert_eq!(snapshot.service_name, "tutorial-site-service");
        assert_eq!(snapshot.task_definition, NEW);
        assert_eq!((snapshot.desired_count, snapshot.running_count), (2, 2));
        let ours = &snapshot.deployments[0];
        assert_eq!(ours.id, OURS);
        assert_eq!(ours.rollout_state.as_deref(), Some("IN_PROGRESS"));
        assert_eq!(
            ours.created_at.as_deref(),
            Some("2026-11-24T10:00:00.000000+00:00")
        );
        assert_eq!(snapshot.events.len(), 2);
        assert_eq!(
            service(NO_ROLLOUT_STATE_ALONE).deployments[0].rollout_state,
            None
        );
    }
}
