//! Failures explained from the tasks' own logs: after a deployment fails, rolls back or times
//! out, or a run-task fails, the last lines of each stopped task's essential containers are
//! read from CloudWatch Logs and shown below the stopped-task reasons, masked. Logs are an
//! explanation only: when they cannot be read, one line says why, and the verdict and exit
//! code stay what they were.
use std::collections::HashMap;

use serde_json::Value;

use crate::adapters::aws::{ApiErrorKind, AwsConfig};
use crate::adapters::ecs::Ecs;
use crate::adapters::logs::Logs;
use crate::domain::failure_logs::{self, LogSource};
use crate::domain::hidden_values::Masker;
use crate::domain::rollout::describe_stopped_tasks;
use crate::error::Error;

/// The lines that explain the stopped tasks `task_arns` (newest first) of `task_definition` (a
/// DescribeTaskDefinition answer or the task definition) from their essential containers' logs.
/// `overrides` are a run's RunTask overrides, whose environment values are masked too. Nothing
/// with `lines_wanted` 0 (`--failure-log-lines 0`).
pub async fn explain(
    config: &AwsConfig,
    lines_wanted: usize,
    task_definition: &Value,
    task_arns: &[String],
    overrides: Option<&Value>,
) -> Vec<String> {
    if lines_wanted == 0 {
        return Vec::new();
    }
    let masker = Masker::new(task_definition, overrides);
    let mut clients: HashMap<Option<String>, Logs> = HashMap::new();
    let mut lines = Vec::new();
    let mut refused = false;
    let mut shown_before: Vec<(String, String, Vec<String>)> = Vec::new();
    for container in failure_logs::plan(task_definition, task_arns) {
        let LogSource::CloudWatch {
            group,
            region,
            stream,
        } = &container.source
        else {
            lines.extend(
                container
                    .source
                    .elsewhere_line(&container.container, &container.task_id),
            );
            continue;
        };
        if let Some(why) = &container.withheld {
            lines.push(format!(
                "the lines of container {} in task {} are not shown: {why}; read them in CloudWatch Logs ({group} {stream})",
                container.container, container.task_id
            ));
            continue;
        }
        if refused {
            continue;
        }
        let logs = clients
            .entry(region.clone())
            .or_insert_with(|| Logs::in_region(config, region.as_deref()));
        match logs.tail(group, stream, lines_wanted).await {
            Ok(events) => {
                // Tasks of one failing revision mostly fail alike: their lines once.
                let earlier = shown_before
                    .iter()
                    .find(|(name, _, seen)| *name == container.container && *seen == events)
                    .map(|(_, task, _)| task.clone());
                match earlier {
                    Some(task) if !events.is_empty() => lines.push(failure_logs::same_as(
                        &container,
                        events.len(),
                        &task,
                    )),
                    _ => {
                        lines.extend(failure_logs::shown(&container, &events, &masker));
                        shown_before.push((
                            container.container.clone(),
                            container.task_id.clone(),
                            events,
                        ));
                    }
                }
            }
            Err(error) if error.kind == ApiErrorKind::NotFound => lines.push(format!(
                "container {} of task {} has no log stream {stream} in {group} (it never started, or the group does not exist)",
                container.container, container.task_id
            )),
            Err(error) if error.kind == ApiErrorKind::AccessDenied => {
                lines.push(format!(
                    "the tasks' log lines cannot be shown: logs:GetLogEvents was refused ({}); allow it on {group} to see them here",
                    error.message
                ));
                refused = true;
            }
            Err(error) => lines.push(format!(
                "the log lines of container {} in task {} could not be read: {error}",
                container.container, container.task_id
            )),
        }
    }
    lines.extend(failure_logs::more_tasks(task_arns.len()));
    lines
}

/// Adds why recent tasks of `task_definition_arn` in `service` stopped: the detail that says
/// what went wrong, and below it the last lines their essential containers logged.
pub async fn with_stopped_tasks(
    ecs: &Ecs,
    lines_wanted: usize,
    cluster: &str,
    service: &str,
    task_definition_arn: &str,
    mut error: Error,
) -> Error {
    match ecs.stopped_tasks(cluster, service).await {
        Ok(tasks) => {
            let mut ours: Vec<_> = tasks
                .into_iter()
                .filter(|task| task.task_definition_arn == task_definition_arn)
                .collect();
            if ours.is_empty() {
                return error.with_detail("no stopped task of this revision was found");
            }
            // Newest first: ECS lists them in no documented order.
            ours.sort_by(|a, b| b.stopped_at.cmp(&a.stopped_at));
            for line in describe_stopped_tasks(&ours) {
                error = error.with_detail(line);
            }
            let arns: Vec<String> = ours.iter().map(|task| task.task_arn.clone()).collect();
            for line in task_logs(ecs, lines_wanted, task_definition_arn, &arns).await {
                error = error.with_detail(line);
            }
        }
        Err(lookup) => {
            error = error.with_detail(format!(
                "the stopped tasks could not be listed: {}",
                lookup.message
            ));
        }
    }
    error
}

/// The stopped tasks' own last lines (nothing with `--failure-log-lines 0`).
async fn task_logs(
    ecs: &Ecs,
    lines_wanted: usize,
    task_definition_arn: &str,
    task_arns: &[String],
) -> Vec<String> {
    let Some(config) = ecs.config().filter(|_| lines_wanted > 0) else {
        return Vec::new();
    };
    match ecs.describe_task_definition(task_definition_arn).await {
        Ok(described) => explain(config, lines_wanted, &described, task_arns, None).await,
        Err(lookup) => vec![format!(
            "the tasks' log lines cannot be shown: their task definition could not be read: {}",
            lookup.message
        )],
    }
}
