//! Failures explained from the tasks' own logs: which log lines of a failed deployment's or
//! run's stopped tasks to show (their essential containers', newest tasks first), where each
//! container's logs go when they cannot be read from here. Lines are masked with
//! [`Masker`]: the task definition's environment values never show.
use serde_json::Value;

use super::hidden_values::Masker;
use super::task_outcome::task_id;

/// `--failure-log-lines`' default: the last lines of each stopped task's essential containers.
pub const DEFAULT_LINES: usize = 20;

/// How many stopped tasks get their lines shown: tasks of one failing revision mostly fail
/// alike, and a circuit breaker can leave dozens; the rest are counted in one line.
pub const MAX_TASKS: usize = 3;

/// Where a container's log lines go, from its `logConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    /// The `awslogs` driver with a stream prefix: ECS names the stream
    /// `prefix/container/task-id` in the group ("Using the awslogs log driver", ECS developer
    /// guide), so it can be read here.
    CloudWatch {
        group: String,
        /// `awslogs-region`, when it is given.
        region: Option<String>,
        stream: String,
    },
    /// `awslogs` without `awslogs-stream-prefix`: the stream is named after the Docker
    /// container ID, which no ECS API answers.
    UnnamedStream { group: String },
    /// Another driver (`awsfirelens`, `splunk`, `fluentd`, `none`, …), or none configured.
    Elsewhere { driver: Option<String> },
}

impl LogSource {
    /// The one line said for a container whose lines cannot be shown from here.
    pub fn elsewhere_line(&self, container: &str, task: &str) -> Option<String> {
        match self {
            LogSource::CloudWatch { .. } => None,
            LogSource::UnnamedStream { group } => Some(format!(
                "container {container} of task {task} logs to CloudWatch Logs group {group} without awslogs-stream-prefix: its stream is named after the Docker container ID, which ECS does not answer; read it in the group, or set awslogs-stream-prefix"
            )),
            LogSource::Elsewhere { driver: Some(driver) } if driver == "none" => Some(format!(
                "container {container} of task {task} keeps no logs (log driver none)"
            )),
            LogSource::Elsewhere { driver: Some(driver) } if driver == "awsfirelens" => Some(format!(
                "container {container} of task {task} logs through FireLens (awsfirelens): its lines are where the task's log router sends them"
            )),
            LogSource::Elsewhere { driver: Some(driver) } => Some(format!(
                "container {container} of task {task} logs with the {driver} driver: its lines are where that driver sends them"
            )),
            LogSource::Elsewhere { driver: None } => Some(format!(
                "container {container} of task {task} has no logConfiguration: its lines stay in the Docker daemon of the instance it ran on (on Fargate they are gone)"
            )),
        }
    }
}

/// One essential container of one stopped task, and what can be shown of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLogs {
    pub task_id: String,
    pub container: String,
    pub source: LogSource,
    /// Why its lines are not shown although they could be read: values deployer does not know
    /// (`secrets`, `environmentFiles`) reach the container's environment, so a line could hold
    /// one unmasked.
    pub withheld: Option<String>,
}

/// Where the logs of `container` (a container definition) go, for the task `task_arn`.
pub fn log_source(container: &Value, task_arn: &str) -> LogSource {
    let log = &container["logConfiguration"];
    let driver = log["logDriver"].as_str();
    let options = &log["options"];
    match (driver, options["awslogs-group"].as_str()) {
        (Some("awslogs"), Some(group)) => {
            let name = container["name"].as_str().unwrap_or_default();
            match options["awslogs-stream-prefix"]
                .as_str()
                .filter(|prefix| !prefix.is_empty())
            {
                Some(prefix) => LogSource::CloudWatch {
                    group: group.to_string(),
                    region: options["awslogs-region"].as_str().map(str::to_string),
                    stream: format!("{prefix}/{name}/{}", task_id(task_arn)),
                },
                None => LogSource::UnnamedStream {
                    group: group.to_string(),
                },
            }
        }
        (driver, _) => LogSource::Elsewhere {
            driver: driver.map(str::to_string),
        },
    }
}

/// Why a container's lines are withheld: its environment holds values deployer cannot mask.
fn unknown_values(container: &Value) -> Option<String> {
    let secrets = container["secrets"].as_array().map_or(0, Vec::len);
    let files = container["environmentFiles"].as_array().map_or(0, Vec::len);
    let mut parts = Vec::new();
    if secrets > 0 {
        parts.push(format!(
            "{secrets} secret{}",
            if secrets == 1 { "" } else { "s" }
        ));
    }
    if files > 0 {
        parts.push(format!(
            "{files} environment file{}",
            if files == 1 { "" } else { "s" }
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// The essential containers of `task_definition` (a task definition or a DescribeTaskDefinition
/// answer) in each of the stopped tasks `task_arns` (newest first), up to [`MAX_TASKS`] tasks.
pub fn plan(task_definition: &Value, task_arns: &[String]) -> Vec<ContainerLogs> {
    let definition = task_definition
        .get("taskDefinition")
        .unwrap_or(task_definition);
    let essential: Vec<&Value> = definition["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        // ECS's default: a container is essential unless it says otherwise.
        .filter(|container| container["essential"].as_bool().unwrap_or(true))
        .collect();
    task_arns
        .iter()
        .take(MAX_TASKS)
        .flat_map(|arn| {
            essential.iter().map(move |container| ContainerLogs {
                task_id: task_id(arn).to_string(),
                container: container["name"].as_str().unwrap_or_default().to_string(),
                source: log_source(container, arn),
                withheld: unknown_values(container).map(|what| {
                    format!(
                        "its environment gets {what} whose values deployer does not know, so a line could show one unmasked"
                    )
                }),
            })
        })
        .collect()
}

/// The lines shown for one container: a heading, then its last lines, masked.
pub fn shown(logs: &ContainerLogs, events: &[String], masker: &Masker) -> Vec<String> {
    let LogSource::CloudWatch { group, stream, .. } = &logs.source else {
        return Vec::new();
    };
    if events.is_empty() {
        return vec![format!(
            "container {} of task {} wrote nothing to {group} {stream}",
            logs.container, logs.task_id
        )];
    }
    let mut lines = vec![format!(
        "last {} line{} of container {} in task {} ({group} {stream}):",
        events.len(),
        if events.len() == 1 { "" } else { "s" },
        logs.container,
        logs.task_id
    )];
    lines.extend(
        events
            .iter()
            .map(|event| format!("  | {}", masker.mask(event.trim_end()))),
    );
    lines
}

/// The line for a container whose last lines are those an earlier task's same container wrote.
pub fn same_as(logs: &ContainerLogs, count: usize, earlier_task: &str) -> String {
    format!(
        "container {} in task {} wrote the same last {count} line{} as in task {earlier_task}",
        logs.container,
        logs.task_id,
        if count == 1 { "" } else { "s" }
    )
}

/// The line for stopped tasks past [`MAX_TASKS`].
pub fn more_tasks(total: usize) -> Option<String> {
    (total > MAX_TASKS).then(|| {
        format!(
            "the logs of {} more stopped task{} are not shown (the {MAX_TASKS} newest are)",
            total - MAX_TASKS,
            if total - MAX_TASKS == 1 { "" } else { "s" }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TASK: &str = "arn:aws:ecs:eu-west-1:123456789012:task/tutorial-cluster/0a1b2c3d4e5f";

    /// The tutorial's task definition as DescribeTaskDefinition answers it, with a sidecar that
    /// is not essential, a FireLens router and a secret.
    fn described() -> Value {
        json!({"taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:7",
            "family": "tutorial-site-task",
            "containerDefinitions": [
                {
                    "name": "tutorial-site-app",
                    "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site:v2",
                    "essential": true,
                    "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
                    "environment": [
                        {"name": "DATABASE_URL", "value": "postgres://site:hunter22@db.internal/site"},
                        {"name": "API_TOKEN", "value": "tok-5f2a9"},
                        {"name": "DEBUG", "value": "on"}
                    ],
                    "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": "/ecs/tutorial-site-task",
                        "awslogs-region": "eu-west-1",
                        "awslogs-stream-prefix": "ecs"
                    }}
                },
                {
                    "name": "metrics",
                    "essential": false,
                    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/metrics", "awslogs-stream-prefix": "m"}}
                },
                {
                    "name": "log_router",
                    "firelensConfiguration": {"type": "fluentbit"},
                    "logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "cloudwatch"}},
                    "secrets": [{"name": "SPLUNK_TOKEN", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/splunk"}]
                }
            ]
        }})
    }

    #[test]
    fn the_stream_is_named_as_ecs_names_it() {
        let plan = plan(&described(), &[TASK.to_string()]);
        assert_eq!(
            plan[0],
            ContainerLogs {
                task_id: "0a1b2c3d4e5f".into(),
                container: "tutorial-site-app".into(),
                source: LogSource::CloudWatch {
                    group: "/ecs/tutorial-site-task".into(),
                    region: Some("eu-west-1".into()),
                    stream: "ecs/tutorial-site-app/0a1b2c3d4e5f".into(),
                },
                withheld: None,
            }
        );
    }

    #[test]
    fn only_essential_containers_and_the_newest_tasks_are_shown() {
        let tasks: Vec<String> = (0..5).map(|n| format!("{TASK}{n}")).collect();
        let plan = plan(&described(), &tasks);
        // Two essential containers (the router defaults to essential), three newest tasks.
        assert_eq!(plan.len(), 6);
        assert!(plan.iter().all(|c| c.container != "metrics"));
        assert_eq!(plan[0].task_id, "0a1b2c3d4e5f0");
        assert_eq!(plan[5].task_id, "0a1b2c3d4e5f2");
        assert_eq!(
            more_tasks(5).unwrap(),
            "the logs of 2 more stopped tasks are not shown (the 3 newest are)"
        );
        assert_eq!(more_tasks(3), None);
    }

    #[test]
    fn a_container_with_secrets_is_withheld_and_other_drivers_get_one_line() {
        let plan = plan(&described(), &[TASK.to_string()]);
        let router = &plan[1];
        assert_eq!(router.container, "log_router");
        assert!(router.withheld.as_deref().unwrap().contains("1 secret "));
        assert_eq!(
            router.source.elsewhere_line(&router.container, &router.task_id).unwrap(),
            "container log_router of task 0a1b2c3d4e5f logs through FireLens (awsfirelens): its lines are where the task's log router sends them"
        );
        let none = json!({"name": "app", "logConfiguration": {"logDriver": "none"}});
        assert_eq!(
            log_source(&none, TASK).elsewhere_line("app", "t1").unwrap(),
            "container app of task t1 keeps no logs (log driver none)"
        );
        let splunk = json!({"name": "app", "logConfiguration": {"logDriver": "splunk", "options": {"splunk-url": "https://splunk.example.com"}}});
        assert!(log_source(&splunk, TASK)
            .elsewhere_line("app", "t1")
            .unwrap()
            .contains("the splunk driver"));
        let unconfigured = json!({"name": "app"});
        assert_eq!(
            log_source(&unconfigured, TASK),
            LogSource::Elsewhere { driver: None }
        );
        let no_prefix = json!({"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}}});
        assert_eq!(
            log_source(&no_prefix, TASK),
            LogSource::UnnamedStream { group: "g".into() }
        );
        let files = json!({"name": "app", "environmentFiles": [{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}]});
        assert_eq!(unknown_values(&files).unwrap(), "1 environment file");
    }

    #[test]
    fn shown_lines_have_a_heading_and_are_masked() {
        let plan = plan(&described(), &[TASK.to_string()]);
        let masker = Masker::new(&described(), None);
        let lines = shown(
            &plan[0],
            &[
                "listening on 3000\n".to_string(),
                "Error: cannot connect to postgres://site:hunter22@db.internal/site".to_string(),
            ],
            &masker,
        );
        assert_eq!(
            lines,
            vec![
                "last 2 lines of container tutorial-site-app in task 0a1b2c3d4e5f (/ecs/tutorial-site-task ecs/tutorial-site-app/0a1b2c3d4e5f):",
                "  | listening on 3000",
                "  | Error: cannot connect to [redacted]",
            ]
        );
        assert_eq!(
            same_as(&plan[0], 2, "9f8e7d6c"),
            "container tutorial-site-app in task 0a1b2c3d4e5f wrote the same last 2 lines as in task 9f8e7d6c"
        );
        assert_eq!(
            shown(&plan[0], &[], &masker),
            vec!["container tutorial-site-app of task 0a1b2c3d4e5f wrote nothing to /ecs/tutorial-site-task ecs/tutorial-site-app/0a1b2c3d4e5f"]
        );
    }
}
