//! What stopped tasks mean for the pipeline: DescribeTasks' tasks and RunTask's failures read
//! as deployer judges them (the stop code first, then the container's exit code), and the lines
//! that say how each task ended.
use serde::Serialize;
use serde_json::Value;

/// A container of a task, as DescribeTasks reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    pub name: String,
    pub last_status: Option<String>,
    pub exit_code: Option<i64>,
    pub reason: Option<String>,
}

/// A task, as DescribeTasks reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskState {
    pub task_arn: String,
    pub last_status: String,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    pub containers: Vec<ContainerState>,
}

impl TaskState {
    pub fn id(&self) -> &str {
        task_id(&self.task_arn)
    }

    pub fn stopped(&self) -> bool {
        self.last_status == "STOPPED"
    }
}

/// The last part of a task ARN: what ECS names log streams and events by.
pub fn task_id(task_arn: &str) -> &str {
    task_arn.rsplit('/').next().unwrap_or(task_arn)
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

/// The tasks of a RunTask or DescribeTasks answer.
pub fn task_states(answer: &Value) -> Vec<TaskState> {
    answer["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|task| TaskState {
            task_arn: text(&task["taskArn"]).unwrap_or_default(),
            last_status: text(&task["lastStatus"]).unwrap_or_default(),
            stop_code: text(&task["stopCode"]),
            stopped_reason: text(&task["stoppedReason"]),
            containers: task["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|container| ContainerState {
                    name: text(&container["name"]).unwrap_or_default(),
                    last_status: text(&container["lastStatus"]),
                    exit_code: container["exitCode"].as_i64(),
                    reason: text(&container["reason"]),
                })
                .collect(),
        })
        .collect()
}

/// RunTask's `failures[]` in words (placement failures, a missing cluster's capacity, …).
pub fn failures(answer: &Value) -> Vec<String> {
    answer["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|failure| {
            let reason = failure["reason"].as_str().unwrap_or("unknown reason");
            match (failure["arn"].as_str(), failure["detail"].as_str()) {
                (Some(arn), Some(detail)) => format!("{arn}: {reason} ({detail})"),
                (Some(arn), None) => format!("{arn}: {reason}"),
                (None, Some(detail)) => format!("{reason} ({detail})"),
                (None, None) => reason.to_string(),
            }
        })
        .collect()
}

/// What the stopped tasks mean for the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// The container exited 0 in every task.
    Succeeded,
    /// The container exited with this code (the first task's that did not exit 0).
    Exited { task_id: String, code: i64 },
    /// A task never ran the container: ECS's reason.
    Failed(String),
}

/// The outcome of stopped tasks, judged by `container`'s exit code as the orb's
/// `exit_code_from` does. A task that failed to start, or whose container has no exit code (it
/// never started), is a failure with ECS's reason.
pub fn outcome(tasks: &[TaskState], container: &str) -> TaskOutcome {
    for task in tasks {
        let reason = || {
            task.stopped_reason
                .clone()
                .unwrap_or_else(|| "no reason given".into())
        };
        match task.stop_code.as_deref() {
            // The task ended because an essential container exited on its own: the exit code
            // says how the work went.
            Some("EssentialContainerExited") => {}
            Some("TaskFailedToStart") => {
                return TaskOutcome::Failed(format!(
                    "task {} failed to start: {}",
                    task.id(),
                    reason()
                ))
            }
            // Stopped from outside (a Spot interruption, an instance's termination notice, the
            // service scheduler, someone's StopTask), or a code ECS may add later: the
            // containers got SIGTERM, and a container that exits 0 on it did not finish.
            other => {
                return TaskOutcome::Failed(format!(
                    "task {} was stopped from outside ({}: {}), not by its essential container \
                     exiting: whatever {container}'s exit code, its work may not have finished; \
                     run it again",
                    task.id(),
                    other.unwrap_or("no stop code"),
                    reason()
                ))
            }
        }
        let found = task.containers.iter().find(|c| c.name == container);
        match found.and_then(|c| c.exit_code) {
            Some(0) => {}
            Some(code) => {
                return TaskOutcome::Exited {
                    task_id: task.id().to_string(),
                    code,
                }
            }
            None => {
                let why = found.and_then(|c| c.reason.clone()).unwrap_or_else(reason);
                return TaskOutcome::Failed(format!(
                    "container {container} of task {} has no exit code (it never ran to the end): {why}",
                    task.id()
                ));
            }
        }
    }
    TaskOutcome::Succeeded
}

/// The lines that say how a stopped task ended: its reason and code, then each container.
pub fn describe_stopped(task: &TaskState) -> Vec<String> {
    let mut lines = vec![format!(
        "task {} stopped: {} ({})",
        task.id(),
        task.stopped_reason.as_deref().unwrap_or("no reason given"),
        task.stop_code.as_deref().unwrap_or("no stop code")
    )];
    for container in &task.containers {
        let mut line = match container.exit_code {
            Some(code) => format!("  container {} exited {code}", container.name),
            None => format!("  container {} has no exit code", container.name),
        };
        if let Some(reason) = &container.reason {
            line.push_str(&format!(": {reason}"));
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Stopped tasks as DescribeTasks answers them: a migration that exited 3, and a task whose
    /// image could not be pulled (the shape of a real Fargate answer).
    fn stopped() -> Value {
        json!({"tasks": [
            {
                "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/tutorial-site-cluster/0a1b2c3d4e5f",
                "lastStatus": "STOPPED",
                "desiredStatus": "STOPPED",
                "stopCode": "EssentialContainerExited",
                "stoppedReason": "Essential container in task exited",
                "containers": [{"name": "migrate", "lastStatus": "STOPPED", "exitCode": 3}]
            },
            {
                "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/tutorial-site-cluster/6b5a4f3e2d1c",
                "lastStatus": "STOPPED",
                "desiredStatus": "STOPPED",
                "stopCode": "TaskFailedToStart",
                "stoppedReason": "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v9: not found",
                "containers": [{"name": "migrate", "lastStatus": "STOPPED", "reason": "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v9: not found"}]
            }
        ], "failures": []})
    }

    #[test]
    fn the_outcome_is_the_named_containers_exit_code() {
        let tasks = task_states(&stopped());
        assert_eq!(
            outcome(&tasks[..1], "migrate"),
            TaskOutcome::Exited {
                task_id: "0a1b2c3d4e5f".into(),
                code: 3
            }
        );
        let TaskOutcome::Failed(why) = outcome(&tasks[1..], "migrate") else {
            panic!("a task that failed to start is a failure");
        };
        assert!(
            why.starts_with("task 6b5a4f3e2d1c failed to start: CannotPullContainerError"),
            "{why}"
        );
        let mut succeeded = tasks[0].clone();
        succeeded.containers[0].exit_code = Some(0);
        assert_eq!(
            outcome(&[succeeded.clone()], "migrate"),
            TaskOutcome::Succeeded
        );
        let mut never_ran = succeeded;
        never_ran.containers[0].exit_code = None;
        assert!(matches!(
            outcome(&[never_ran], "migrate"),
            TaskOutcome::Failed(_)
        ));
        assert_eq!(
            describe_stopped(&tasks[0]),
            [
                "task 0a1b2c3d4e5f stopped: Essential container in task exited (EssentialContainerExited)",
                "  container migrate exited 3"
            ]
        );
    }

    /// Issue 19: a task stopped from outside is a failure whatever its container's exit code.
    /// The stop codes are those of the Task data type's `stopCode`
    /// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html): only
    /// EssentialContainerExited means the containers ended on their own.
    #[test]
    fn an_interrupted_task_fails_even_when_its_container_exited_0() {
        let mut task = task_states(&stopped()).remove(0);
        task.containers[0].exit_code = Some(0);
        for (code, reason) in [
            ("SpotInterruption", "Your Spot Task was interrupted."),
            (
                "TerminationNotice",
                "Task stopped because the instance is terminating",
            ),
            (
                "ServiceSchedulerInitiated",
                "Scaling activity initiated by (deployment ecs-svc/1)",
            ),
            ("UserInitiated", "Task stopped by the user"),
            ("SomeFutureCode", "a reason"),
        ] {
            task.stop_code = Some(code.to_string());
            task.stopped_reason = Some(reason.to_string());
            let TaskOutcome::Failed(why) = outcome(&[task.clone()], "migrate") else {
                panic!("{code} with exit 0 is not a success");
            };
            assert!(
                why.contains(&format!("was stopped from outside ({code}: {reason})")),
                "{why}"
            );
        }
        task.stop_code = None;
        assert!(matches!(
            outcome(&[task.clone()], "migrate"),
            TaskOutcome::Failed(why) if why.contains("no stop code")
        ));
        // A Spot interruption whose container exited 143 is not "the migration exited 143".
        task.stop_code = Some("SpotInterruption".into());
        task.containers[0].exit_code = Some(143);
        assert!(matches!(
            outcome(&[task], "migrate"),
            TaskOutcome::Failed(_)
        ));
    }

    #[test]
    fn run_task_failures_are_worded() {
        let answer = json!({"tasks": [], "failures": [
            {"arn": "arn:aws:ecs:eu-west-1:123456789012:container-instance/c/1", "reason": "RESOURCE:MEMORY"},
            {"reason": "MISSING", "detail": "no capacity provider"}
        ]});
        assert_eq!(
            failures(&answer),
            [
                "arn:aws:ecs:eu-west-1:123456789012:container-instance/c/1: RESOURCE:MEMORY",
                "MISSING (no capacity provider)"
            ]
        );
    }
}
