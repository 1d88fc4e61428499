//! What to print while waiting: each new service event once, each deployment's line only when
//! it changes; and readable lines on why tasks stopped.
use std::collections::{BTreeMap, HashSet};

use super::arn::short_task_definition;
use super::snapshot::{
    rollout_state, Deployment, ServiceEvent, ServiceSnapshot, StoppedTask, FAILED,
};
use crate::domain::timestamps::parse_timestamp;

/// What to print while waiting: each new event once, each deployment when its line changes.
#[derive(Debug, Default)]
pub struct RolloutLog {
    seen_events: HashSet<String>,
    deployments: BTreeMap<String, TrackedDeployment>,
}

#[derive(Debug)]
struct TrackedDeployment {
    task_definition: String,
    /// `None` until this log prints the deployment.
    printed_line: Option<String>,
}

impl RolloutLog {
    /// Events of the service before our deployment are history, not news; its deployments are
    /// printed at the first observation.
    pub fn new(initial: &ServiceSnapshot) -> Self {
        RolloutLog {
            seen_events: initial.events.iter().map(event_key).collect(),
            deployments: initial
                .deployments
                .iter()
                .map(|deployment| {
                    (
                        deployment.id.clone(),
                        TrackedDeployment {
                            task_definition: deployment.task_definition.clone(),
                            printed_line: None,
                        },
                    )
                })
                .collect(),
        }
    }

    /// New lines for this snapshot: events oldest first, then changed deployments in the order
    /// ECS lists them, then deployments no longer listed.
    pub fn observe(&mut self, snapshot: &ServiceSnapshot) -> Vec<String> {
        self.observe_events(snapshot).0
    }

    /// [`RolloutLog::observe`], and the events not seen before, oldest first.
    pub fn observe_events(
        &mut self,
        snapshot: &ServiceSnapshot,
    ) -> (Vec<String>, Vec<ServiceEvent>) {
        let mut new_events: Vec<&ServiceEvent> = snapshot
            .events
            .iter()
            .rev()
            .filter(|event| self.seen_events.insert(event_key(event)))
            .collect();
        let times: Option<Vec<_>> = new_events
            .iter()
            .map(|event| event.created_at.as_deref().and_then(parse_timestamp))
            .collect();
        if let Some(times) = times {
            // Stable, so events of the same instant keep ECS's order.
            let mut timed: Vec<_> = times.into_iter().zip(new_events).collect();
            timed.sort_by_key(|(time, _)| *time);
            new_events = timed.into_iter().map(|(_, event)| event).collect();
        }
        let fresh: Vec<ServiceEvent> = new_events.iter().map(|event| (*event).clone()).collect();
        let mut lines: Vec<String> = new_events.into_iter().map(event_line).collect();

        for deployment in &snapshot.deployments {
            let line = deployment_line(deployment);
            let tracked = self
                .deployments
                .entry(deployment.id.clone())
                .or_insert_with(|| TrackedDeployment {
                    task_definition: deployment.task_definition.clone(),
                    printed_line: None,
                });
            if tracked.printed_line.as_ref() != Some(&line) {
                tracked.printed_line = Some(line.clone());
                lines.push(line);
            }
        }
        let listed: HashSet<&str> = snapshot
            .deployments
            .iter()
            .map(|deployment| deployment.id.as_str())
            .collect();
        let gone: Vec<String> = self
            .deployments
            .keys()
            .filter(|id| !listed.contains(id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            if let Some(tracked) = self.deployments.remove(&id) {
                lines.push(format!(
                    "deployment {id} {} is no longer listed",
                    short_task_definition(&tracked.task_definition)
                ));
            }
        }
        (lines, fresh)
    }
}

/// Some emulators give events no id; their time and text identify them then.
fn event_key(event: &ServiceEvent) -> String {
    if event.id.is_empty() {
        format!(
            "{} {}",
            event.created_at.as_deref().unwrap_or_default(),
            event.message
        )
    } else {
        event.id.clone()
    }
}

fn event_line(event: &ServiceEvent) -> String {
    match event.created_at.as_deref().and_then(parse_timestamp) {
        Some((seconds, _)) => {
            let of_day = seconds.rem_euclid(86_400);
            format!(
                "{:02}:{:02}:{:02} UTC {}",
                of_day / 3600,
                of_day % 3600 / 60,
                of_day % 60,
                event.message
            )
        }
        None => event.message.clone(),
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
    if let Some(state) = rollout_state(deployment) {
        line.push(' ');
        line.push_str(state);
        if state == FAILED {
            if let Some(reason) = &deployment.rollout_state_reason {
                line.push_str(&format!(" ({reason})"));
            }
        }
    }
    line
}

/// Readable lines on why tasks stopped: the detail that says what went wrong.
pub fn describe_stopped_tasks(tasks: &[StoppedTask]) -> Vec<String> {
    tasks
        .iter()
        .map(|task| {
            let id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
            let mut line = format!("task {id} stopped");
            if let Some(reason) = &task.stopped_reason {
                line.push_str(&format!(": {reason}"));
            }
            if let Some(code) = &task.stop_code {
                line.push_str(&format!(" ({code})"));
            }
            for container in &task.containers {
                match (container.exit_code, &container.reason) {
                    (Some(code), Some(reason)) => line.push_str(&format!(
                        "; container {} exited {code}: {reason}",
                        container.name
                    )),
                    (Some(code), None) => {
                        line.push_str(&format!("; container {} exited {code}", container.name))
                    }
                    (None, Some(reason)) => line.push_str(&format!(
                        "; container {} did not exit by itself: {reason}",
                        container.name
                    )),
                    // Never started (e.g. the image could not be pulled): the task's reason says why.
                    (None, None) => {}
                }
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rollout::fixtures::*;

    #[test]
    fn the_log_prints_each_event_once_oldest_first_and_deployments_only_on_change() {
        let mut log = RolloutLog::new(&service(SLOW_BEFORE));
        assert_eq!(
            log.observe(&service(SLOW_STARTED)),
            [
                "10:00:05 UTC (service tutorial-site-service) has started 2 tasks: (task 4f5e6d7c8b9a4f5e6d7c8b9a4f5e6d7c) (task 9b8a7c6d5e4f9b8a7c6d5e4f9b8a7c6d).",
                "deployment ecs-svc/2222222222222222222 PRIMARY tutorial-site-task:2 running 0/2 pending 2 IN_PROGRESS",
                "deployment ecs-svc/1111111111111111111 ACTIVE tutorial-site-task:1 running 2/2 pending 0 COMPLETED",
            ]
        );
        assert!(log.observe(&service(SLOW_STARTED)).is_empty());
        assert_eq!(
            log.observe(&service(SLOW_HALF_RUNNING)),
            [
                "10:01:10 UTC (service tutorial-site-service) registered 1 targets in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tutorial-site-target-group/abc)",
                "deployment ecs-svc/2222222222222222222 PRIMARY tutorial-site-task:2 running 1/2 pending 1 IN_PROGRESS",
            ]
        );
        assert!(log.observe(&service(SLOW_HALF_RUNNING)).is_empty());
        assert_eq!(
            log.observe(&service(SLOW_OLD_DRAINING)),
            [
                "10:01:40 UTC (service tutorial-site-service) registered 1 targets in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tutorial-site-target-group/abc)",
                "10:01:41 UTC (service tutorial-site-service) has begun draining connections on 2 tasks.",
                "10:01:42 UTC (service tutorial-site-service) deregistered 2 targets in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tutorial-site-target-group/abc)",
                "deployment ecs-svc/2222222222222222222 PRIMARY tutorial-site-task:2 running 2/2 pending 0 IN_PROGRESS",
                "deployment ecs-svc/1111111111111111111 ACTIVE tutorial-site-task:1 running 2/0 pending 0 COMPLETED",
            ]
        );
        assert_eq!(
            log.observe(&service(SLOW_COMPLETED)),
            [
                "10:02:45 UTC (service tutorial-site-service) has stopped 2 running tasks: (task 0a1b2c3d4e5f0a1b2c3d4e5f0a1b2c3d) (task 1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e).",
                "10:03:00 UTC (service tutorial-site-service) (deployment ecs-svc/2222222222222222222) deployment completed.",
                "10:03:01 UTC (service tutorial-site-service) has reached a steady state.",
                "deployment ecs-svc/2222222222222222222 PRIMARY tutorial-site-task:2 running 2/2 pending 0 COMPLETED",
                "deployment ecs-svc/1111111111111111111 tutorial-site-task:1 is no longer listed",
            ]
        );
        assert!(log.observe(&service(SLOW_COMPLETED)).is_empty());
    }

    #[test]
    fn the_log_orders_events_by_time_and_prints_those_without_one_as_they_are() {
        let mut log = RolloutLog::new(&service(SLOW_BEFORE));
        let mut snapshot = service(SLOW_OLD_DRAINING);
        snapshot.deployments.clear();
        snapshot.events.swap(0, 2);
        let lines = log.observe(&snapshot);
        assert!(lines[0].contains("has started 2 tasks"), "{lines:?}");
        assert!(lines[3].contains("has begun draining"), "{lines:?}");
        assert!(lines[4].contains("deregistered 2 targets"), "{lines:?}");

        let mut log = RolloutLog::default();
        let event = ServiceEvent {
            id: String::new(),
            created_at: None,
            message: "(service tutorial-site-service) has reached a steady state.".into(),
        };
        snapshot.events = vec![event.clone()];
        assert_eq!(log.observe(&snapshot), [event.message.as_str()]);
        assert!(log.observe(&snapshot).is_empty());
    }

    #[test]
    fn a_failed_deployment_line_carries_the_reason() {
        let mut log = RolloutLog::default();
        let lines = log.observe(&service(ROLLED_BACK));
        assert!(
            lines.contains(&"deployment ecs-svc/2222222222222222222 ACTIVE tutorial-site-task:2 running 0/1 pending 0 failed 3 FAILED (ECS deployment circuit breaker: tasks failed to start.)".to_string()),
            "{lines:#?}"
        );
    }

    #[test]
    fn stopped_tasks_read_well() {
        let answer: serde_json::Value = serde_json::from_str(STOPPED_TASKS).unwrap();
        let tasks: Vec<StoppedTask> = serde_json::from_value(answer["tasks"].clone()).unwrap();
        assert_eq!(
            describe_stopped_tasks(&tasks),
            [
                "task 0a1b2c3d4e5f0a1b2c3d4e5f0a1b2c3d stopped: Essential container in task exited (EssentialContainerExited); container tutorial-site-app exited 1: Error: listen EADDRINUSE: address already in use :::3000",
                "task 6b5a4f3e2d1c6b5a4f3e2d1c6b5a4f3e stopped: CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2: not found (TaskFailedToStart)",
            ]
        );
    }
}
