//! Whether an ECS rolling deployment that deployer started is done, failed or still going, and
//! what to print while it goes: the judgement the AWS waiter cannot make.
use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Deserialize;

/// A service as DescribeServices shows it (the AWS CLI's JSON shape deserializes into it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSnapshot {
    #[serde(default)]
    pub service_name: String,
    #[serde(default)]
    pub service_arn: Option<String>,
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
    #[serde(default)]
    pub events: Vec<ServiceEvent>,
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

/// When the wait may end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitUntil {
    /// Our deployment COMPLETED and the old one is gone.
    Stable,
    /// Our revision runs its desired count; old tasks may still drain.
    Running,
}

/// The deployment we started: the PRIMARY deployment id UpdateService answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub deployment_id: String,
    pub task_definition_arn: String,
    pub wait_until: WaitUntil,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    InProgress,
    Succeeded,
    Failed(Failure),
}

/// Why a rollout failed, in terms a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The circuit breaker rolled back: ours failed and the service runs another revision.
    RolledBack {
        reason: Option<String>,
        now_running: String,
    },
    /// Our rollout is FAILED (the circuit breaker without rollback, or a failed hook).
    RolloutFailed { reason: Option<String> },
    /// Our deployment is no longer listed.
    DeploymentGone { now_running: String },
    /// The service points at another revision and no deployment of ours is PRIMARY.
    TaskDefinitionReverted { now_running: String },
    /// Someone else's newer deployment took over.
    Superseded {
        deployment_id: String,
        task_definition: String,
    },
    /// The service is DRAINING or INACTIVE.
    ServiceNotActive { status: String },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::RolledBack {
                reason,
                now_running,
            } => {
                write!(
                    f,
                    "the deployment failed and ECS rolled the service back to {}",
                    short_task_definition(now_running)
                )?;
                if let Some(reason) = reason {
                    write!(f, " ({reason})")?;
                }
                Ok(())
            }
            Failure::RolloutFailed { reason } => match reason {
                Some(reason) => write!(f, "ECS marked the rollout FAILED: {reason}"),
                None => write!(f, "ECS marked the rollout FAILED"),
            },
            Failure::DeploymentGone { now_running } => write!(
                f,
                "our deployment is no longer listed and the service runs {}",
                short_task_definition(now_running)
            ),
            Failure::TaskDefinitionReverted { now_running } => write!(
                f,
                "the service's task definition changed back to {}",
                short_task_definition(now_running)
            ),
            Failure::Superseded {
                deployment_id,
                task_definition,
            } => write!(
                f,
                "another deployment ({deployment_id}, {}) replaced ours before it finished",
                short_task_definition(task_definition)
            ),
            Failure::ServiceNotActive { status } => write!(f, "the service is {status}"),
        }
    }
}

/// `family:revision` of a task-definition ARN (other references are returned as they are).
pub fn short_task_definition(arn: &str) -> &str {
    arn.rsplit_once(":task-definition/")
        .map_or(arn, |(_, short)| short)
}

fn same_revision(left: &str, right: &str) -> bool {
    short_task_definition(left) == short_task_definition(right)
}

/// Decides what the snapshot says about our deployment.
pub fn assess(target: &Target, snapshot: &ServiceSnapshot) -> Verdict {
    if snapshot.status != "ACTIVE" {
        return Verdict::Failed(Failure::ServiceNotActive {
            status: snapshot.status.clone(),
        });
    }
    let ours = snapshot
        .deployments
        .iter()
        .find(|deployment| deployment.id == target.deployment_id);
    let primary = snapshot
        .deployments
        .iter()
        .find(|deployment| deployment.status == "PRIMARY");
    let Some(ours) = ours else {
        return Verdict::Failed(Failure::DeploymentGone {
            now_running: primary.map_or_else(
                || snapshot.task_definition.clone(),
                |p| p.task_definition.clone(),
            ),
        });
    };
    let failed = ours.rollout_state.as_deref() == Some("FAILED");
    if ours.status != "PRIMARY" {
        let primary_definition = primary.map_or_else(
            || snapshot.task_definition.clone(),
            |p| p.task_definition.clone(),
        );
        if failed
            || primary.is_some_and(|p| {
                !same_revision(&p.task_definition, &target.task_definition_arn)
                    && created_after(p, ours)
                    && is_rollback_event(snapshot, &ours.id)
            })
        {
            return Verdict::Failed(Failure::RolledBack {
                reason: ours.rollout_state_reason.clone(),
                now_running: primary_definition,
            });
        }
        return Verdict::Failed(match primary {
            Some(primary) => Failure::Superseded {
                deployment_id: primary.id.clone(),
                task_definition: primary.task_definition.clone(),
            },
            None => Failure::TaskDefinitionReverted {
                now_running: primary_definition,
            },
        });
    }
    if failed {
        return Verdict::Failed(Failure::RolloutFailed {
            reason: ours.rollout_state_reason.clone(),
        });
    }
    if !same_revision(&ours.task_definition, &target.task_definition_arn) {
        return Verdict::Failed(Failure::TaskDefinitionReverted {
            now_running: ours.task_definition.clone(),
        });
    }
    let others_remain = snapshot
        .deployments
        .iter()
        .any(|deployment| deployment.id != ours.id && deployment.status != "INACTIVE");
    let runs_desired = ours.running_count == ours.desired_count && ours.pending_count == 0;
    let done = match target.wait_until {
        WaitUntil::Running => {
            runs_desired && (ours.desired_count > 0 || snapshot.desired_count == 0)
        }
        WaitUntil::Stable => match ours.rollout_state.as_deref() {
            Some(state) => state == "COMPLETED" && !others_remain,
            None => !others_remain && runs_desired,
        },
    };
    if done {
        Verdict::Succeeded
    } else {
        Verdict::InProgress
    }
}

fn created_after(later: &Deployment, earlier: &Deployment) -> bool {
    match (&later.created_at, &earlier.created_at) {
        (Some(later), Some(earlier)) => later > earlier,
        _ => true,
    }
}

/// ECS words a circuit-breaker rollback in an event naming the failed deployment.
fn is_rollback_event(snapshot: &ServiceSnapshot, deployment_id: &str) -> bool {
    snapshot.events.iter().any(|event| {
        event.message.contains(deployment_id)
            && (event.message.contains("rolling back")
                || event.message.contains("deployment failed"))
    })
}

/// ECS events saying tasks cannot be placed (no capacity, no matching instance, bad subnets).
pub fn is_placement_failure(event_message: &str) -> bool {
    event_message.contains("unable to place a task")
        || event_message.contains("was unable to place")
}

/// What to print while waiting: each new event once, each deployment when its line changes.
#[derive(Debug, Default)]
pub struct RolloutLog {
    seen_events: HashSet<String>,
    deployment_lines: HashMap<String, String>,
}

impl RolloutLog {
    /// Events of the service before our deployment are history, not news.
    pub fn new(initial: &ServiceSnapshot) -> Self {
        RolloutLog {
            seen_events: initial
                .events
                .iter()
                .map(|event| event.id.clone())
                .collect(),
            deployment_lines: initial
                .deployments
                .iter()
                .map(|deployment| (deployment.id.clone(), deployment_line(deployment)))
                .collect(),
        }
    }

    /// New lines for this snapshot: events oldest first, then changed deployments.
    pub fn observe(&mut self, snapshot: &ServiceSnapshot) -> Vec<String> {
        let mut lines = Vec::new();
        for event in snapshot.events.iter().rev() {
            if self.seen_events.insert(event.id.clone()) {
                lines.push(event.message.clone());
            }
        }
        let mut listed = HashSet::new();
        for deployment in &snapshot.deployments {
            listed.insert(deployment.id.clone());
            let line = deployment_line(deployment);
            if self.deployment_lines.get(&deployment.id) != Some(&line) {
                lines.push(line.clone());
                self.deployment_lines.insert(deployment.id.clone(), line);
            }
        }
        let mut gone: Vec<String> = self
            .deployment_lines
            .keys()
            .filter(|id| !listed.contains(*id))
            .cloned()
            .collect();
        gone.sort();
        for id in gone {
            self.deployment_lines.remove(&id);
            lines.push(format!("deployment {id} is gone"));
        }
        lines
    }
}

fn deployment_line(deployment: &Deployment) -> String {
    let mut line = format!(
        "deployment {} {} {} running {}/{} pending {}",
        deployment.id,
        deployment.status,
        short_task_definition(&deployment.task_definition),
        deployment.running_count,
        deployment.desired_count,
        deployment.pending_count
    );
    if deployment.failed_tasks > 0 {
        line.push_str(&format!(" failed {}", deployment.failed_tasks));
    }
    if let Some(state) = &deployment.rollout_state {
        line.push(' ');
        line.push_str(state);
    }
    line
}

/// Readable lines on why tasks stopped: the detail no peer shows.
pub fn describe_stopped_tasks(tasks: &[StoppedTask]) -> Vec<String> {
    tasks
        .iter()
        .map(|task| {
            let id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
            let mut line = format!(
                "task {id} ({}) stopped: {}",
                short_task_definition(&task.task_definition_arn),
                task.stopped_reason.as_deref().unwrap_or("no reason given")
            );
            if let Some(code) = &task.stop_code {
                line.push_str(&format!(" ({code})"));
            }
            for container in &task.containers {
                line.push_str(&format!("; container {}", container.name));
                match container.exit_code {
                    Some(code) => line.push_str(&format!(" exited {code}")),
                    None => line.push_str(" did not exit normally"),
                }
                if let Some(reason) = &container.reason {
                    line.push_str(&format!(": {reason}"));
                }
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:2";

    fn fixture(text: &str) -> ServiceSnapshot {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        serde_json::from_value(value["services"][0].clone()).unwrap()
    }

    fn target(until: WaitUntil) -> Target {
        Target {
            deployment_id: "ecs-svc/2222222222222222222".into(),
            task_definition_arn: NEW.into(),
            wait_until: until,
        }
    }

    const IN_PROGRESS: &str = include_str!("../../tests/fixtures/rollout/in-progress.json");
    const COMPLETED: &str = include_str!("../../tests/fixtures/rollout/completed.json");
    const ROLLED_BACK: &str = include_str!("../../tests/fixtures/rollout/rolled-back.json");
    const FAILED: &str = include_str!("../../tests/fixtures/rollout/failed-no-rollback.json");
    const SUPERSEDED: &str = include_str!("../../tests/fixtures/rollout/superseded.json");
    const INACTIVE: &str = include_str!("../../tests/fixtures/rollout/inactive.json");
    const NO_ROLLOUT_STATE: &str =
        include_str!("../../tests/fixtures/rollout/no-rollout-state.json");

    #[test]
    fn completed_only_when_ours_is_primary_completed_and_alone() {
        assert_eq!(
            assess(&target(WaitUntil::Stable), &fixture(COMPLETED)),
            Verdict::Succeeded
        );
        assert_eq!(
            assess(&target(WaitUntil::Stable), &fixture(IN_PROGRESS)),
            Verdict::InProgress
        );
    }

    #[test]
    fn running_ends_while_the_old_deployment_drains() {
        let mut snapshot = fixture(IN_PROGRESS);
        assert_eq!(
            assess(&target(WaitUntil::Running), &snapshot),
            Verdict::InProgress
        );
        snapshot.deployments[0].running_count = 1;
        snapshot.deployments[0].pending_count = 0;
        assert_eq!(
            assess(&target(WaitUntil::Running), &snapshot),
            Verdict::Succeeded
        );
        assert_eq!(
            assess(&target(WaitUntil::Stable), &snapshot),
            Verdict::InProgress
        );
    }

    #[test]
    fn a_circuit_breaker_rollback_is_a_failure_naming_the_revision_now_running() {
        let verdict = assess(&target(WaitUntil::Stable), &fixture(ROLLED_BACK));
        let Verdict::Failed(failure) = verdict else {
            panic!("{verdict:?}")
        };
        assert!(matches!(failure, Failure::RolledBack { .. }), "{failure:?}");
        assert!(
            failure
                .to_string()
                .contains("rolled the service back to tutorial-site-task:1"),
            "{failure}"
        );
    }

    #[test]
    fn a_failed_rollout_fails_even_while_primary() {
        let verdict = assess(&target(WaitUntil::Running), &fixture(FAILED));
        assert!(
            matches!(verdict, Verdict::Failed(Failure::RolloutFailed { .. })),
            "{verdict:?}"
        );
    }

    #[test]
    fn someone_elses_newer_deployment_is_named() {
        let verdict = assess(&target(WaitUntil::Stable), &fixture(SUPERSEDED));
        let Verdict::Failed(failure) = verdict else {
            panic!("{verdict:?}")
        };
        assert!(
            failure.to_string().contains("ecs-svc/3333333333333333333"),
            "{failure}"
        );
        assert!(
            failure.to_string().contains("tutorial-site-task:3"),
            "{failure}"
        );
    }

    #[test]
    fn inactive_services_and_vanished_deployments_fail() {
        assert!(matches!(
            assess(&target(WaitUntil::Stable), &fixture(INACTIVE)),
            Verdict::Failed(Failure::ServiceNotActive { .. })
        ));
        let mut snapshot = fixture(IN_PROGRESS);
        snapshot
            .deployments
            .retain(|deployment| deployment.status != "PRIMARY");
        assert!(matches!(
            assess(&target(WaitUntil::Stable), &snapshot),
            Verdict::Failed(Failure::DeploymentGone { .. })
        ));
    }

    #[test]
    fn without_rollout_state_one_deployment_at_desired_count_is_done() {
        let snapshot = fixture(NO_ROLLOUT_STATE);
        assert_eq!(
            assess(&target(WaitUntil::Stable), &snapshot),
            Verdict::InProgress
        );
        let mut alone = snapshot.clone();
        alone
            .deployments
            .retain(|deployment| deployment.status == "PRIMARY");
        assert_eq!(
            assess(&target(WaitUntil::Stable), &alone),
            Verdict::Succeeded
        );
    }

    #[test]
    fn events_are_printed_once_oldest_first_and_deployments_only_on_change() {
        let mut log = RolloutLog::new(&fixture(COMPLETED).clone_with_events_only_older());
        let first = log.observe(&fixture(IN_PROGRESS));
        assert_eq!(
            first,
            [
                "(service tutorial-site-service) has started 1 tasks: (task 4f5e6d7c8b9a).",
                "deployment ecs-svc/2222222222222222222 PRIMARY tutorial-site-task:2 running 0/1 pending 1 IN_PROGRESS",
                "deployment ecs-svc/1111111111111111111 ACTIVE tutorial-site-task:1 running 1/1 pending 0 COMPLETED",
            ]
        );
        assert!(
            log.observe(&fixture(IN_PROGRESS)).is_empty(),
            "nothing new, nothing printed"
        );
        let last = log.observe(&fixture(COMPLETED));
        assert_eq!(
            last,
            [
                "(service tutorial-site-service) has stopped 1 running tasks: (task 0a1b2c3d4e5f).",
                "(service tutorial-site-service) has reached a steady state.",
                "deployment ecs-svc/2222222222222222222 PRIMARY tutorial-site-task:2 running 1/1 pending 0 COMPLETED",
                "deployment ecs-svc/1111111111111111111 is gone",
            ]
        );
    }

    impl ServiceSnapshot {
        /// The service before our deployment: only the events older than it.
        fn clone_with_events_only_older(&self) -> ServiceSnapshot {
            let mut snapshot = self.clone();
            snapshot.events.retain(|event| event.id == "old-event");
            snapshot.deployments.clear();
            snapshot
        }
    }

    #[test]
    fn placement_failures_are_recognised() {
        assert!(is_placement_failure(
            "(service tutorial-site-service) was unable to place a task because no container instance met all of its requirements."
        ));
        assert!(!is_placement_failure(
            "(service tutorial-site-service) has reached a steady state."
        ));
    }

    #[test]
    fn stopped_tasks_read_well() {
        let task: StoppedTask = serde_json::from_str(include_str!(
            "../../tests/fixtures/rollout/stopped-task.json"
        ))
        .unwrap();
        assert_eq!(
            describe_stopped_tasks(&[task]),
            ["task 0a1b2c3d4e5f (tutorial-site-task:2) stopped: Essential container in task exited (EssentialContainerExited); container tutorial-site-app exited 1: Error: listen EADDRINUSE"]
        );
    }

    #[test]
    fn short_names() {
        assert_eq!(short_task_definition(NEW), "tutorial-site-task:2");
        assert_eq!(
            short_task_definition("tutorial-site-task:2"),
            "tutorial-site-task:2"
        );
    }
}
