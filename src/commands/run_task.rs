//! `deployer run-task`: a one-off task such as a migration before a deploy. The task definition
//! and every override are checked before RunTask; with `--wait` the tasks are followed until
//! they stop, their `awslogs` lines shown once each, and the run ends with the exit code of the
//! container that did the work, as the aws-ecs orb's `exit_code_from` does.
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::adapters::aws::{self, ApiErrorKind, AwsSettings};
use crate::adapters::ecs::Ecs;
use crate::adapters::logs::Logs;
use crate::commands::steps::deadline::{Deadline, Wake};
use crate::commands::steps::failure_logs::explain;
use crate::domain::duration::format_duration;
use crate::domain::express::express_service_of_family;
use crate::domain::hidden_values::Masker;
use crate::domain::rollout::short_task_definition;
use crate::domain::run_task::{
    self, describe_stopped, failures, log_stream, pick_container, task_states, ContainerInfo,
    RunTaskError, RunTaskRequest, TaskOutcome, TaskState,
};
use crate::error::{Error, ErrorKind, Result};
use crate::journal;
use crate::output;

/// Which task definition the task runs.
#[derive(Debug, Clone)]
pub enum TaskDefinitionSource {
    /// A family (its latest ACTIVE revision), `family:revision` or an ARN.
    Reference(String),
    /// A rendered RegisterTaskDefinition input (from a file), registered after the plan.
    Rendered(Value),
}

/// How to follow the tasks until they stop (`--wait`).
#[derive(Debug, Clone)]
pub struct RunWait {
    pub timeout: Duration,
    pub poll_interval: Duration,
    /// `--exit-code-from` [default: `--container`, or the single essential container].
    pub exit_code_from: Option<String>,
    /// StopTask on timeout, Ctrl-C or SIGTERM instead of leaving the tasks running.
    pub stop_on_cancel: bool,
    /// Follow the containers' `awslogs` streams.
    pub logs: bool,
    /// `--failure-log-lines`: without `--logs`, how many last lines to show when the run
    /// fails (0: none).
    pub failure_log_lines: usize,
}

#[derive(Debug, Clone)]
pub struct RunTaskSettings {
    pub aws: AwsSettings,
    pub task_definition: TaskDefinitionSource,
    /// Everything RunTask takes but the task definition and the overrides.
    pub request: RunTaskRequest,
    /// `--overrides`, as given.
    pub overrides: Option<String>,
    /// `--container`: the container `--command` and `--env` apply to.
    pub container: Option<String>,
    pub command: Option<Vec<String>>,
    pub environment: Vec<(String, String)>,
    pub wait: Option<RunWait>,
    pub dry_run: bool,
}

/// What happened: the data printed on stdout, and the failure (if any) that decides the exit code
/// once the task ARNs have been printed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTaskOutcome {
    pub task_definition_arn: String,
    pub task_arns: Vec<String>,
    /// With `--wait`: the tasks as they stopped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskState>,
    /// With `--wait`: the exit code of the container named by `--exit-code-from`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// `--dry-run`: the RunTask input that would be sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_task_input: Option<Value>,
    #[serde(skip)]
    pub failure: Option<Error>,
}

impl RunTaskOutcome {
    /// The `--export-env` lines.
    pub fn export_env(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("DEPLOYER_TASK_ARNS", self.task_arns.join(" "))];
        if let Some(code) = self.exit_code {
            pairs.push(("DEPLOYER_TASK_EXIT_CODE", code.to_string()));
        }
        pairs
    }
}

fn usage(error: RunTaskError) -> Error {
    Error::usage(error.to_string())
}

/// The checked plan: what RunTask will be sent and how the tasks will be judged.
struct Plan {
    input: Value,
    /// The task definition the task runs (as described, or the file's input).
    definition: Value,
    /// The RegisterTaskDefinition input to register first, when the task definition is a file.
    register: Option<Value>,
    containers: Vec<ContainerInfo>,
    exit_code_from: Option<String>,
}

pub async fn run(settings: RunTaskSettings) -> Result<RunTaskOutcome> {
    let config = aws::load(&settings.aws).await?;
    let ecs = Ecs::new(&config);
    let plan = plan(&ecs, &settings).await?;
    let task_definition = plan.input["taskDefinition"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if settings.dry_run {
        output::step(format!(
            "dry run: RunTask of {} on {} would start {} task(s); nothing was started",
            short_task_definition(&task_definition),
            settings.request.cluster,
            settings.request.count
        ));
        return Ok(RunTaskOutcome {
            task_definition_arn: task_definition,
            task_arns: Vec::new(),
            tasks: Vec::new(),
            exit_code: None,
            run_task_input: Some(plan.input),
            failure: None,
        });
    }
    let mut input = plan.input.clone();
    if let Some(register) = &plan.register {
        let arn = ecs.register_task_definition(register).await?;
        journal::record(format!("registered {}", short_task_definition(&arn)));
        output::step(format!("registered {}", short_task_definition(&arn)));
        input["taskDefinition"] = Value::from(arn);
    }
    let task_definition = input["taskDefinition"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let answer = ecs.run_task(&input).await?;
    let started = task_states(&answer);
    let refused = failures(&answer);
    for task in &started {
        journal::record(format!("started task {}", task.task_arn));
        output::step(format!(
            "started task {} of {} on {} ({})",
            task.id(),
            short_task_definition(&task_definition),
            settings.request.cluster,
            task.last_status
        ));
    }
    if started.is_empty() {
        let mut error = Error::failed(format!(
            "ECS started no task of {} on {}",
            short_task_definition(&task_definition),
            settings.request.cluster
        ));
        for failure in &refused {
            error = error.with_detail(failure.clone());
        }
        return Err(error.with_hint(
            "RunTask's failures say why (e.g. RESOURCE:MEMORY: no capacity; AGENT: no running agent)",
        ));
    }
    for failure in &refused {
        output::warn(format!("ECS did not start every task: {failure}"));
    }
    let mut outcome = RunTaskOutcome {
        task_definition_arn: task_definition,
        task_arns: started.iter().map(|task| task.task_arn.clone()).collect(),
        tasks: Vec::new(),
        exit_code: None,
        run_task_input: None,
        failure: None,
    };
    if !refused.is_empty() {
        outcome.failure = Some(
            Error::failed(format!(
                "ECS started {} of {} tasks",
                started.len(),
                settings.request.count
            ))
            .with_detail(refused.join("; ")),
        );
    }
    // The plan names the container to judge exactly when there is a wait.
    let (Some(wait), Some(exit_code_from)) = (&settings.wait, plan.exit_code_from.clone()) else {
        return Ok(outcome);
    };
    let follower = TaskFollower {
        ecs: &ecs,
        cluster: &settings.request.cluster,
        wait,
        logs: wait.logs.then(|| {
            LogFollower::new(
                Logs::new(&config),
                &plan.containers,
                Masker::new(&plan.definition, plan.input.get("overrides")),
            )
        }),
    };
    match follower.follow(&started).await {
        Ok(tasks) => {
            let verdict = run_task::outcome(&tasks, &exit_code_from);
            outcome.exit_code = exit_code(&tasks, &exit_code_from);
            outcome.tasks = tasks;
            let failure = match verdict {
                TaskOutcome::Succeeded => None,
                TaskOutcome::Exited { task_id, code } => {
                    Some(container_exited(&exit_code_from, &task_id, code))
                }
                TaskOutcome::Failed(why) => Some(Error::failed(why)),
            };
            if let Some(mut failure) = failure {
                // Without --logs their lines were not shown yet: the last ones explain.
                if !wait.logs {
                    let arns: Vec<String> =
                        outcome.tasks.iter().map(|t| t.task_arn.clone()).collect();
                    for line in explain(
                        &config,
                        wait.failure_log_lines,
                        &plan.definition,
                        &arns,
                        plan.input.get("overrides"),
                    )
                    .await
                    {
                        failure = failure.with_detail(line);
                    }
                }
                outcome.failure = Some(failure);
            } else if outcome.failure.is_none() {
                output::step(format!("container {exit_code_from} exited 0 in every task"));
            }
        }
        Err(error) => outcome.failure = Some(error),
    }
    Ok(outcome)
}

/// The exit code the pipeline gets: the first non-zero one of the container, else 0.
fn exit_code(tasks: &[TaskState], container: &str) -> Option<i64> {
    let codes: Vec<Option<i64>> = tasks
        .iter()
        .map(|task| {
            task.containers
                .iter()
                .find(|c| c.name == container)
                .and_then(|c| c.exit_code)
        })
        .collect();
    if codes.iter().any(Option::is_none) {
        return None;
    }
    codes
        .iter()
        .flatten()
        .copied()
        .find(|code| *code != 0)
        .or(Some(0))
}

/// `--wait`: deployer exits with the container's own code (1 to 255), as the orb's
/// `exit_code_from` does; a code outside that range is exit 1.
fn container_exited(container: &str, task_id: &str, code: i64) -> Error {
    let message = format!("container {container} of task {task_id} exited {code}");
    match u8::try_from(code) {
        Ok(exit) if exit > 0 => Error::new(ErrorKind::ContainerExit(exit), message).with_hint(
            format!("deployer exits {exit}, the container's own exit code (run-task --wait)"),
        ),
        _ => Error::failed(message),
    }
}

async fn plan(ecs: &Ecs, settings: &RunTaskSettings) -> Result<Plan> {
    let (definition, reference, register) = match &settings.task_definition {
        TaskDefinitionSource::Reference(reference) => {
            let described = ecs
                .describe_task_definition(reference)
                .await
                .map_err(|error| {
                    if error.kind == ErrorKind::Usage {
                        error.with_hint("check --task-definition (a family, family:revision or ARN) and the region")
                    } else {
                        error
                    }
                })?;
            let definition = described["taskDefinition"].clone();
            let arn = definition["taskDefinitionArn"]
                .as_str()
                .unwrap_or(reference)
                .to_string();
            output::step(format!(
                "task definition {} ({})",
                short_task_definition(&arn),
                definition["status"].as_str().unwrap_or("status unknown")
            ));
            (definition, arn, None)
        }
        TaskDefinitionSource::Rendered(input) => {
            crate::domain::task_definition_check::validate_for_registration(input).map_err(
                |e| {
                    Error::usage(format!("the task definition would be refused by ECS: {e}"))
                        .with_hint(
                            "nothing was registered or started; fix the task definition file",
                        )
                },
            )?;
            let family = input["family"].as_str().unwrap_or_default().to_string();
            (input.clone(), family, Some(input.clone()))
        }
    };
    let family = definition["family"].as_str().unwrap_or_default();
    refuse_express_family(ecs, &settings.request.cluster, family).await?;
    let containers = run_task::containers(&definition);
    if containers.is_empty() {
        return Err(Error::usage(format!(
            "task definition {reference} has no container definitions"
        )));
    }
    let needs_container = settings.command.is_some() || !settings.environment.is_empty();
    let container = match (&settings.container, needs_container) {
        (Some(name), _) => {
            Some(pick_container(&containers, Some(name), "--container").map_err(usage)?)
        }
        (None, true) => Some(pick_container(&containers, None, "--container").map_err(usage)?),
        (None, false) => None,
    };
    let overrides = run_task::overrides(
        settings.overrides.as_deref(),
        container.as_deref().unwrap_or_default(),
        settings.command.clone(),
        &settings.environment,
        &containers,
    )
    .map_err(usage)?;
    let exit_code_from = match &settings.wait {
        Some(wait) => Some(
            pick_container(
                &containers,
                wait.exit_code_from.as_deref().or(container.as_deref()),
                "--exit-code-from",
            )
            .map_err(usage)?,
        ),
        None => None,
    };
    let request = &settings.request;
    let awsvpc = definition["networkMode"].as_str() == Some("awsvpc");
    if awsvpc && request.subnets.is_empty() {
        return Err(Error::usage(format!(
            "task definition {} uses the awsvpc network mode: RunTask needs --subnets (and usually --security-groups)",
            short_task_definition(&reference)
        )));
    }
    if !awsvpc && !request.subnets.is_empty() {
        return Err(Error::usage(format!(
            "--subnets and --security-groups only apply to awsvpc task definitions; {} uses network mode {}",
            short_task_definition(&reference),
            definition["networkMode"].as_str().unwrap_or("bridge (the default)")
        )));
    }
    let mut request = request.clone();
    request.overrides = overrides;
    Ok(Plan {
        input: request.input(&reference),
        definition,
        register,
        containers,
        exit_code_from,
    })
}

/// Refuses a family an ECS Express Mode service in the cluster runs: ECS registers and manages
/// its revisions (the task definition itself carries no sign of it, so the cluster's services
/// are looked at). Without permission to list them, a warning and the task runs.
async fn refuse_express_family(ecs: &Ecs, cluster: &str, family: &str) -> Result<()> {
    let services = match ecs.cluster_services(cluster).await {
        Ok(services) => services,
        Err(error) => {
            output::warn(format!(
                "not checked whether an ECS Express Mode service runs {family}: {error}"
            ));
            return Ok(());
        }
    };
    match express_service_of_family(&services, family) {
        None => Ok(()),
        Some(service) => Err(Error::usage(format!(
            "task definition family {family} is the one ECS Express Mode manages for service {service}: deployer does not run tasks of it (nothing was registered or started)"
        ))
        .with_hint("run one-off tasks from a task definition family of your own (deployer register --task-definition-file), or change the Express service with deployer update-service")),
    }
}

/// Follows started tasks until every one has stopped.
struct TaskFollower<'a> {
    ecs: &'a Ecs,
    cluster: &'a str,
    wait: &'a RunWait,
    logs: Option<LogFollower>,
}

impl TaskFollower<'_> {
    /// Polls the tasks RunTask started (its answer's states are the first ones printed).
    async fn follow(mut self, tasks_started: &[TaskState]) -> Result<Vec<TaskState>> {
        let task_arns: Vec<String> = tasks_started.iter().map(|t| t.task_arn.clone()).collect();
        let task_arns = task_arns.as_slice();
        let ids: Vec<&str> = task_arns.iter().map(|arn| run_task::task_id(arn)).collect();
        output::set_interrupt_hint(format!(
            "deployer stopped waiting; the task(s) keep running: {} (aws ecs stop-task --cluster {} --task …)",
            task_arns.join(" "),
            self.cluster
        ));
        let mut deadline = Deadline::start(
            self.wait.timeout,
            self.wait.poll_interval,
            self.wait.stop_on_cancel.then(output::claim_interrupt),
        );
        let mut last_status: Vec<Option<String>> = tasks_started
            .iter()
            .map(|task| Some(task.last_status.clone()))
            .collect();
        let labels = task_arns.len() > 1;
        loop {
            match deadline.next_poll().await {
                Wake::Poll => {}
                Wake::TimedOut => {
                    let error = Error::failed(format!(
                        "the task(s) did not stop within {}",
                        format_duration(self.wait.timeout)
                    ));
                    return Err(self.give_up(task_arns, error, "the --timeout passed").await);
                }
                Wake::Interrupted(signal) => {
                    let error =
                        Error::new(ErrorKind::Interrupted, format!("interrupted by {signal}"));
                    return Err(self
                        .give_up(
                            task_arns,
                            error,
                            &format!("deployer was interrupted by {signal}"),
                        )
                        .await);
                }
            }
            let answer = match self.ecs.describe_tasks(self.cluster, task_arns).await {
                Ok(answer) => answer,
                Err(error) if deadline.backed_off(&error, "ECS") => continue,
                Err(error) => return Err(error.into()),
            };
            deadline.answered();
            let tasks = task_states(&answer);
            for (index, arn) in task_arns.iter().enumerate() {
                let Some(task) = tasks.iter().find(|task| &task.task_arn == arn) else {
                    continue;
                };
                if last_status[index].as_deref() != Some(task.last_status.as_str()) {
                    output::step(format!(
                        "task {}: {} ({})",
                        ids[index],
                        task.last_status,
                        format_duration(deadline.elapsed())
                    ));
                    last_status[index] = Some(task.last_status.clone());
                    deadline.printed();
                }
            }
            if let Some(logs) = self.logs.as_mut() {
                if logs.poll(task_arns, labels, false).await {
                    deadline.printed();
                }
            }
            let all_stopped =
                tasks.len() == task_arns.len() && tasks.iter().all(TaskState::stopped);
            if all_stopped {
                if let Some(logs) = self.logs.as_mut() {
                    logs.poll(task_arns, labels, true).await;
                }
                let mut ordered = Vec::new();
                for arn in task_arns {
                    if let Some(task) = tasks.iter().find(|task| &task.task_arn == arn) {
                        for line in describe_stopped(task) {
                            output::step(line);
                        }
                        ordered.push(task.clone());
                    }
                }
                return Ok(ordered);
            }
            if deadline.heartbeat_due() {
                output::step(format!(
                    "{} still waiting for the task(s) to stop",
                    format_duration(deadline.elapsed())
                ));
            }
        }
    }

    /// On timeout or interruption: stop the tasks with `--stop-on-cancel`, else say they run on.
    async fn give_up(&self, task_arns: &[String], error: Error, why: &str) -> Error {
        if !self.wait.stop_on_cancel {
            return error.with_hint(format!(
                "the task(s) keep running: {} (stop them with aws ecs stop-task --cluster {} --task ARN, or pass --stop-on-cancel)",
                task_arns.join(" "),
                self.cluster
            ));
        }
        let reason = format!("Stopped by deployer run-task --stop-on-cancel: {why}");
        let mut error = error;
        for arn in task_arns {
            match self.ecs.stop_task(self.cluster, arn, &reason).await {
                Ok(()) => {
                    journal::record(format!("stopped task {arn}"));
                    output::step(format!("stopped task {} ({why})", run_task::task_id(arn)));
                }
                Err(stop) => {
                    error = error.with_detail(format!(
                        "task {arn} could not be stopped and keeps running: {}",
                        stop.message
                    ));
                }
            }
        }
        error
    }
}

/// One `awslogs` stream being read forward.
struct Stream {
    group: String,
    name: String,
    container: String,
    task_arn: String,
    token: Option<String>,
}

/// Prints the containers' `awslogs` lines, each once and in order. Logs are optional: a stream
/// not created yet is waited for, and no permission to read them is one warning, then no logs.
struct LogFollower {
    logs: Logs,
    containers: Vec<ContainerInfo>,
    /// The task definition's and the overrides' environment values, masked in every line.
    masker: Masker,
    streams: Vec<Stream>,
    disabled: bool,
}

/// Bounds one drain of a stream: 100 pages of up to 10,000 events.
const MAX_PAGES: usize = 100;

impl LogFollower {
    fn new(logs: Logs, containers: &[ContainerInfo], masker: Masker) -> Self {
        for container in containers {
            if container
                .awslogs
                .as_ref()
                .is_some_and(|awslogs| awslogs.stream_prefix.is_none())
            {
                output::warn(format!(
                    "container {} logs with awslogs without awslogs-stream-prefix: ECS names its stream after the Docker container, which no API tells, so its lines are not shown",
                    container.name
                ));
            }
        }
        LogFollower {
            logs,
            containers: containers.to_vec(),
            masker,
            streams: Vec::new(),
            disabled: false,
        }
    }

    /// Reads what is new in every stream; `to_the_end` keeps reading pages until a stream has
    /// nothing more (after the tasks stopped). Whether anything was printed.
    async fn poll(&mut self, task_arns: &[String], labels: bool, to_the_end: bool) -> bool {
        if self.disabled {
            return false;
        }
        if self.streams.is_empty() {
            for arn in task_arns {
                for container in &self.containers {
                    let Some(awslogs) = &container.awslogs else {
                        continue;
                    };
                    if let Some(name) = log_stream(awslogs, &container.name, arn) {
                        self.streams.push(Stream {
                            group: awslogs.group.clone(),
                            name,
                            container: container.name.clone(),
                            task_arn: arn.clone(),
                            token: None,
                        });
                    }
                }
            }
        }
        let mut printed = false;
        for index in 0..self.streams.len() {
            for _ in 0..MAX_PAGES {
                let stream = &self.streams[index];
                let page = match self
                    .logs
                    .events(&stream.group, &stream.name, stream.token.as_deref())
                    .await
                {
                    Ok(page) => page,
                    // Not created yet (the container has not started, or never will).
                    Err(error) if error.kind == ApiErrorKind::NotFound => break,
                    Err(error) if error.kind == ApiErrorKind::AccessDenied => {
                        output::warn(format!(
                            "the tasks' logs cannot be read ({error}); going on without them"
                        ));
                        self.disabled = true;
                        return printed;
                    }
                    Err(error) => {
                        tracing::debug!("reading log stream {}: {error}", stream.name);
                        break;
                    }
                };
                let label = if labels {
                    format!(
                        "{} {}",
                        stream.container,
                        run_task::task_id(&stream.task_arn)
                    )
                } else {
                    stream.container.clone()
                };
                for (_, message) in &page.events {
                    output::passthrough(&format!(
                        "{label}: {}",
                        self.masker.mask(message.trim_end())
                    ));
                    printed = true;
                }
                let stream = &mut self.streams[index];
                let caught_up = page.events.is_empty()
                    || page.next_forward_token.is_none()
                    || page.next_forward_token == stream.token;
                if page.next_forward_token.is_some() {
                    stream.token = page.next_forward_token;
                }
                if caught_up || !to_the_end {
                    break;
                }
            }
        }
        printed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::run_task::ContainerState;
    use tokio::time::Instant;

    fn stopped(code: Option<i64>) -> TaskState {
        TaskState {
            task_arn: "arn:aws:ecs:eu-west-1:123456789012:task/c/0a1b".into(),
            last_status: "STOPPED".into(),
            stop_code: Some("EssentialContainerExited".into()),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: vec![ContainerState {
                name: "migrate".into(),
                last_status: Some("STOPPED".into()),
                exit_code: code,
                reason: None,
            }],
        }
    }

    use aws_sdk_ecs::operation::stop_task::StopTaskOutput;
    use aws_sdk_ecs::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    const TASK: &str = "arn:aws:ecs:eu-west-1:123456789012:task/tutorial-site-cluster/0a1b2c3d";

    /// DescribeTasks of the task in `status` (the container's exit code 0 once STOPPED).
    fn described(status: &'static str) -> aws_smithy_mocks::Rule {
        mock!(Client::describe_tasks).then_http_response(move || {
            let container = if status == "STOPPED" {
                serde_json::json!({"name": "migrate", "lastStatus": "STOPPED", "exitCode": 0})
            } else {
                serde_json::json!({"name": "migrate", "lastStatus": status})
            };
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(200).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    serde_json::json!({"tasks": [{
                        "taskArn": TASK, "lastStatus": status, "desiredStatus": "RUNNING",
                        "containers": [container]
                    }], "failures": []})
                    .to_string(),
                ),
            )
        })
    }

    fn wait(stop_on_cancel: bool) -> RunWait {
        RunWait {
            timeout: Duration::from_secs(60),
            poll_interval: Duration::from_secs(5),
            exit_code_from: None,
            stop_on_cancel,
            logs: false,
            failure_log_lines: 20,
        }
    }

    fn provisioning() -> Vec<TaskState> {
        vec![TaskState {
            task_arn: TASK.into(),
            last_status: "PROVISIONING".into(),
            stop_code: None,
            stopped_reason: None,
            containers: Vec::new(),
        }]
    }

    /// Follows the tasks of the seed's cluster without logs.
    fn seed_follower<'a>(ecs: &'a Ecs, wait: &'a RunWait) -> TaskFollower<'a> {
        TaskFollower {
            ecs,
            cluster: "tutorial-site-cluster",
            wait,
            logs: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_ends_when_every_task_has_stopped() {
        let running = described("RUNNING");
        let stopped = described("STOPPED");
        let ecs = Ecs::from_client(mock_client!(
            aws_sdk_ecs,
            RuleMode::Sequential,
            [&running, &stopped]
        ));
        let settings = wait(false);
        let follower = seed_follower(&ecs, &settings);
        let tasks = follower.follow(&provisioning()).await.unwrap();
        assert_eq!(tasks[0].last_status, "STOPPED");
        assert_eq!(tasks[0].containers[0].exit_code, Some(0));
        assert_eq!((running.num_calls(), stopped.num_calls()), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn at_the_timeout_the_task_keeps_running_unless_asked_to_stop_it() {
        let running = described("RUNNING");
        let stop = mock!(Client::stop_task).then_output(|| StopTaskOutput::builder().build());
        let ecs = Ecs::from_client(mock_client!(
            aws_sdk_ecs,
            RuleMode::MatchAny,
            [&running, &stop]
        ));
        let settings = wait(false);
        let follower = seed_follower(&ecs, &settings);
        let error = follower.follow(&provisioning()).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Failed);
        assert!(
            error.message.contains("did not stop within 1m00s"),
            "{error}"
        );
        assert!(error.hint.as_deref().unwrap().contains(TASK), "{error}");
        assert_eq!(stop.num_calls(), 0);

        let settings = wait(true);
        let follower = seed_follower(&ecs, &settings);
        let error = follower.follow(&provisioning()).await.unwrap_err();
        assert!(error.message.contains("did not stop within"), "{error}");
        assert_eq!(stop.num_calls(), 1, "--stop-on-cancel stops the task");
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_polls_back_off_and_the_wait_goes_on() {
        let throttled = mock!(Client::describe_tasks)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string()),
            )
            .times(3)
            .build();
        let stopped = described("STOPPED");
        let ecs = Ecs::from_client(mock_client!(
            aws_sdk_ecs,
            RuleMode::Sequential,
            [&throttled, &stopped]
        ));
        let settings = wait(false);
        let follower = seed_follower(&ecs, &settings);
        let started = Instant::now();
        follower.follow(&provisioning()).await.unwrap();
        // The SDK retries the throttled call itself (three attempts); when that gives up, the
        // next poll comes after twice the interval (both jittered down by at most 15%).
        assert_eq!(throttled.num_calls(), 3);
        assert!(
            started.elapsed() >= Duration::from_millis(12_700),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_exit_code_is_the_first_non_zero_one() {
        assert_eq!(
            exit_code(&[stopped(Some(0)), stopped(Some(3))], "migrate"),
            Some(3)
        );
        assert_eq!(exit_code(&[stopped(Some(0))], "migrate"), Some(0));
        assert_eq!(exit_code(&[stopped(None)], "migrate"), None);
    }

    #[test]
    fn a_container_exit_code_becomes_deployers_own() {
        let error = container_exited("migrate", "0a1b", 3);
        assert_eq!(error.kind, ErrorKind::ContainerExit(3));
        assert_eq!(error.kind.exit_code(), 3);
        assert_eq!(
            container_exited("migrate", "0a1b", 300).kind,
            ErrorKind::Failed
        );
        assert_eq!(
            container_exited("migrate", "0a1b", -1).kind,
            ErrorKind::Failed
        );
    }
}
