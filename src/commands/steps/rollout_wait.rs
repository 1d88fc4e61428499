//! Waiting for a rollout we started: our own poll loop, bounded by a timeout, printing each new
//! service event once and deployment lines only when they change, with a heartbeat for CI.
use std::time::Duration;

use tokio::time::Instant;

use super::deadline::{Deadline, Wake};
use super::failure_logs::with_stopped_tasks;
use super::service_deployment::Followed;
use super::task_readiness::Readiness;
use crate::adapters::ecs::Ecs;
use crate::domain::duration::format_duration;
use crate::domain::rollout::{
    assess_within_grace, placement_failure, short_task_definition, RolloutLog, ServiceSnapshot,
    Target, Verdict, WaitUntil,
};
use crate::domain::service_deployment::{ServiceDeployment, Verdict as DeploymentVerdict};
use crate::error::{Error, ErrorKind, Result};
use crate::output;

/// How to wait, from `--timeout`, `--poll-interval`, `--wait-until`, `--fail-on-placement-errors`
/// and `--settle-time`.
#[derive(Debug, Clone)]
pub struct WaitSettings {
    pub timeout: Duration,
    /// `--timeout` was given: it wins over the time the service's strategy needs.
    pub timeout_explicit: bool,
    /// `--rollback-on-cancel`: on timeout or interruption, roll our deployment back.
    pub rollback_on_cancel: bool,
    /// Not `--no-follow-rollback`: a rollback ECS started is followed to its end before the
    /// wait fails, so the failure says whether the previous revision serves again.
    pub follow_rollback: bool,
    pub poll_interval: Duration,
    pub fail_on_placement_errors: bool,
    /// With `--wait-until running`: how long our tasks must stay running and healthy.
    pub settle: Duration,
    /// `--failure-log-lines`: how many of the stopped tasks' own last lines to show when the
    /// wait fails (0: none).
    pub failure_log_lines: usize,
}

/// How long DescribeServices may leave out the deployment UpdateService just answered
/// (it is eventually consistent) before that counts as the deployment being gone.
const LISTING_GRACE: Duration = Duration::from_secs(30);

/// How a wait ended well.
#[derive(Debug)]
pub struct Finished {
    pub snapshot: ServiceSnapshot,
    /// Our ServiceDeployment as last described, where ECS reports them.
    pub service_deployment: Option<ServiceDeployment>,
    /// `--wait-until paused`: the lifecycle hook ours waits at.
    pub paused_hook: Option<String>,
    /// `--wait-until bake-time`: ours bakes with production traffic on it.
    pub baking: bool,
}

impl Finished {
    fn of(
        snapshot: ServiceSnapshot,
        followed: &mut Followed,
        paused_hook: Option<String>,
        baking: bool,
    ) -> Self {
        Finished {
            snapshot,
            service_deployment: followed.last.take(),
            paused_hook,
            baking,
        }
    }
}

/// The failure of our deployment, with why recent tasks of our revision stopped.
async fn failed(
    ecs: &Ecs,
    failure_log_lines: usize,
    cluster: &str,
    service: &str,
    target: &Target,
    why: impl std::fmt::Display,
) -> Error {
    let error = Error::failed(format!(
        "the deployment of {} to {service} failed: {why}",
        short_task_definition(&target.task_definition_arn)
    ));
    explained(ecs, failure_log_lines, cluster, service, target, error).await
}

/// `error` with why recent tasks of our revision stopped, in their own words below.
async fn explained(
    ecs: &Ecs,
    failure_log_lines: usize,
    cluster: &str,
    service: &str,
    target: &Target,
    error: Error,
) -> Error {
    let revision = &target.task_definition_arn;
    with_stopped_tasks(ecs, failure_log_lines, cluster, service, revision, error).await
}

/// Polls until the rollout of `target` succeeds, fails, or the timeout passes.
pub async fn wait_for_rollout(
    ecs: &Ecs,
    cluster: &str,
    service: &str,
    target: &Target,
    initial: &ServiceSnapshot,
    settings: &WaitSettings,
) -> Result<Finished> {
    let followed = Followed::new(None, None);
    wait_following(ecs, cluster, service, target, initial, settings, followed).await
}

/// [`wait_for_rollout`], with what is already known about our ServiceDeployment.
pub async fn wait_following(
    ecs: &Ecs,
    cluster: &str,
    service: &str,
    target: &Target,
    initial: &ServiceSnapshot,
    settings: &WaitSettings,
    mut followed: Followed,
) -> Result<Finished> {
    let mut deadline = Deadline::start(
        settings.timeout,
        settings.poll_interval,
        settings.rollback_on_cancel.then(output::claim_interrupt),
    );
    let mut log = RolloutLog::new(initial);
    let mut last_error: Option<String> = None;
    let mut missing_since: Option<Instant> = None;
    let mut readiness = Readiness::default();
    // ECS is rolling ours back: why, once said.
    let mut undoing: Option<String> = None;
    output::set_interrupt_hint(format!(
        "deployer stopped waiting; ECS continues deployment {} of {service} on its own (aws ecs describe-services --cluster {cluster} --services {service})",
        target.deployment_id
    ));
    loop {
        match deadline.next_poll().await {
            Wake::Poll => {}
            Wake::TimedOut => {
                if let Some(why) = undoing {
                    let error = failed(
                        ecs,
                        settings.failure_log_lines,
                        cluster,
                        service,
                        target,
                        why,
                    )
                    .await;
                    return Err(error.with_detail(format!(
                        "ECS had not finished the rollback when the --timeout of {} passed; it goes on",
                        format_duration(settings.timeout)
                    )));
                }
                let mut error = timed_out(
                    ecs,
                    settings.failure_log_lines,
                    cluster,
                    service,
                    target,
                    settings.timeout,
                )
                .await;
                if settings.rollback_on_cancel {
                    error = roll_back_on_cancel(ecs, &mut followed, error, "the --timeout passed")
                        .await;
                }
                if let Some(why) = readiness.last_reason() {
                    error = error.with_detail(format!("not ready: {why}"));
                }
                if let Some(last) = last_error {
                    error =
                        error.with_detail(format!("the last poll of the service failed: {last}"));
                }
                return Err(error);
            }
            Wake::Interrupted(signal) => {
                let error = Error::new(ErrorKind::Interrupted, format!("interrupted by {signal}"));
                return Err(roll_back_on_cancel(
                    ecs,
                    &mut followed,
                    error,
                    &format!("deployer was interrupted by {signal}"),
                )
                .await);
            }
        }

        let snapshot = match ecs.poll_service(cluster, service).await {
            Ok(Some(snapshot)) => snapshot,
            Ok(None) => {
                return Err(Error::failed(format!(
                    "service {service} disappeared from cluster {cluster} while deployer waited"
                )))
            }
            Err(error) if deadline.backed_off(&error, "ECS") => {
                last_error = Some(error.to_string());
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        deadline.answered();
        last_error = None;

        let elapsed = format_duration(deadline.elapsed());
        let (lines, fresh_events) = log.observe_events(&snapshot);
        for line in &lines {
            output::step(line);
        }
        if !lines.is_empty() {
            deadline.printed();
        }
        if settings.fail_on_placement_errors {
            // Only events of this deployment: yesterday's placement failure is not today's.
            if let Some(event) = placement_failure(&fresh_events, target.created_at.as_deref()) {
                return Err(Error::failed(format!(
                    "ECS cannot place tasks of {service}: {}",
                    event.message
                ))
                .with_hint(
                    "--fail-on-placement-errors stopped the wait; ECS keeps trying on its own",
                ));
            }
        }
        let ours = followed.poll(ecs, &snapshot, target).await?;
        match &ours {
            Some(DeploymentVerdict::Failed(why)) => {
                return Err(failed(
                    ecs,
                    settings.failure_log_lines,
                    cluster,
                    service,
                    target,
                    why,
                )
                .await)
            }
            Some(DeploymentVerdict::Undoing(why)) if !settings.follow_rollback => {
                return Err(failed(
                    ecs,
                    settings.failure_log_lines,
                    cluster,
                    service,
                    target,
                    why,
                )
                .await)
            }
            Some(DeploymentVerdict::Undoing(why)) => {
                if undoing.is_none() {
                    output::step(format!(
                        "{why}; following the rollback to its end (--no-follow-rollback exits now)"
                    ));
                    deadline.printed();
                }
                undoing = Some(why.clone());
            }
            Some(DeploymentVerdict::Paused { hook_id }) => {
                let hook_id = hook_id.clone();
                return Ok(Finished::of(snapshot, &mut followed, Some(hook_id), false));
            }
            Some(DeploymentVerdict::Baking) => {
                return Ok(Finished::of(snapshot, &mut followed, None, true))
            }
            Some(DeploymentVerdict::Succeeded) if target.wait_until != WaitUntil::Running => {
                return Ok(Finished::of(snapshot, &mut followed, None, false))
            }
            _ => {}
        }
        if matches!(target.wait_until, WaitUntil::Paused | WaitUntil::BakeTime)
            && followed.is_unavailable()
        {
            return Err(Error::environment(format!(
                "--wait-until {} needs ECS's ServiceDeployment API, which does not report {service}'s deployment",
                if target.wait_until == WaitUntil::Paused { "paused" } else { "bake-time" }
            ))
            .with_hint("wait with --wait-until stable instead"));
        }
        // With the ServiceDeployment followed, only SUCCESSFUL ends a stable wait: a blue/green
        // deployment is not done while it bakes, whatever DescribeServices says.
        let followed_in_progress = ours.is_some();
        let in_grace = missing_since.is_none_or(|since| since.elapsed() < LISTING_GRACE);
        // While ECS rolls ours back, its ServiceDeployment says when that is over.
        let verdict = match undoing {
            Some(_) => Verdict::InProgress,
            None => assess_within_grace(target, &snapshot, in_grace),
        };
        match verdict {
            Verdict::Succeeded if target.wait_until == WaitUntil::Running => {
                if readiness
                    .check(ecs, cluster, service, target, &snapshot, settings.settle)
                    .await
                {
                    return Ok(Finished::of(snapshot, &mut followed, None, false));
                }
                deadline.printed();
            }
            Verdict::Succeeded if followed_in_progress => {}
            Verdict::Succeeded => return Ok(Finished::of(snapshot, &mut followed, None, false)),
            Verdict::Failed(failure) => {
                return Err(failed(
                    ecs,
                    settings.failure_log_lines,
                    cluster,
                    service,
                    target,
                    failure,
                )
                .await)
            }
            Verdict::NotListedYet => {
                if missing_since.is_none() {
                    missing_since = Some(Instant::now());
                    output::step(format!(
                        "ECS does not list deployment {} yet; waiting up to {} for DescribeServices to catch up",
                        target.deployment_id,
                        format_duration(LISTING_GRACE)
                    ));
                    deadline.printed();
                }
            }
            Verdict::InProgress => {
                missing_since = None;
                readiness.reset();
            }
        }
        if deadline.heartbeat_due() {
            match followed.summary() {
                Some(summary) => output::step(format!("{elapsed} still waiting: {summary}")),
                None => output::step(format!(
                    "{elapsed} still waiting for deployment {}",
                    target.deployment_id
                )),
            }
        }
    }
}

/// How long `--rollback-on-cancel` waits for ECS's rollback (CircleCI gives a cancelled job
/// little time).
const ROLLBACK_WAIT: Duration = Duration::from_secs(300);

/// `--rollback-on-cancel`: rolls our deployment back and adds what happened to `error`.
async fn roll_back_on_cancel(ecs: &Ecs, followed: &mut Followed, error: Error, why: &str) -> Error {
    match followed.roll_back(ecs, why, ROLLBACK_WAIT).await {
        Ok(done) => {
            output::step(&done);
            error.with_detail(done)
        }
        Err(failed) => error.with_detail(format!(
            "--rollback-on-cancel could not roll the deployment back: {}",
            failed.message
        )),
    }
}

async fn timed_out(
    ecs: &Ecs,
    failure_log_lines: usize,
    cluster: &str,
    service: &str,
    target: &Target,
    timeout: Duration,
) -> Error {
    let error = Error::failed(format!(
        "the deployment of {} to {service} did not finish within {}",
        crate::domain::rollout::short_task_definition(&target.task_definition_arn),
        format_duration(timeout)
    ))
    .with_hint("ECS goes on with the deployment; raise --timeout, or look at the events and stopped tasks above");
    explained(ecs, failure_log_lines, cluster, service, target, error).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
    use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
    use aws_sdk_ecs::types::{
        Container, Deployment, DeploymentRolloutState, Failure, HealthStatus, Service,
        ServiceEvent, Task, TaskStopCode,
    };
    use aws_sdk_ecs::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    const OLD: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:1";
    const NEW: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:2";

    fn deployment(
        id: &str,
        status: &str,
        task_definition: &str,
        running: i32,
        state: DeploymentRolloutState,
    ) -> Deployment {
        Deployment::builder()
            .id(id)
            .status(status)
            .task_definition(task_definition)
            .desired_count(1)
            .running_count(running)
            .pending_count(1 - running)
            .rollout_state(state)
            .build()
    }

    fn service(
        task_definition: &str,
        deployments: Vec<Deployment>,
        events: &[&str],
    ) -> DescribeServicesOutput {
        let mut builder = Service::builder()
            .service_name("tutorial-site-service")
            .status("ACTIVE")
            .task_definition(task_definition)
            .desired_count(1)
            .set_deployments(Some(deployments));
        for (index, message) in events.iter().enumerate().rev() {
            builder = builder.events(
                ServiceEvent::builder()
                    .id(format!("event-{index}"))
                    .message(*message)
                    .build(),
            );
        }
        DescribeServicesOutput::builder()
            .services(builder.build())
            .build()
    }

    /// Ours PRIMARY and IN_PROGRESS with `running` of 1 task, the old one ACTIVE and complete.
    fn ours_in_progress_beside_the_old(running: i32, events: &[&str]) -> DescribeServicesOutput {
        service(
            NEW,
            vec![
                deployment(
                    "ecs-svc/2",
                    "PRIMARY",
                    NEW,
                    running,
                    DeploymentRolloutState::InProgress,
                ),
                deployment(
                    "ecs-svc/1",
                    "ACTIVE",
                    OLD,
                    1,
                    DeploymentRolloutState::Completed,
                ),
            ],
            events,
        )
    }

    fn in_progress() -> DescribeServicesOutput {
        ours_in_progress_beside_the_old(
            0,
            &["(service tutorial-site-service) has started 1 tasks: (task 0a1b)."],
        )
    }

    fn completed() -> DescribeServicesOutput {
        service(
            NEW,
            vec![deployment(
                "ecs-svc/2",
                "PRIMARY",
                NEW,
                1,
                DeploymentRolloutState::Completed,
            )],
            &[
                "(service tutorial-site-service) has started 1 tasks: (task 0a1b).",
                "(service tutorial-site-service) has reached a steady state.",
            ],
        )
    }

    fn rolled_back() -> DescribeServicesOutput {
        service(
            OLD,
            vec![
                deployment("ecs-svc/3", "PRIMARY", OLD, 1, DeploymentRolloutState::Completed),
                deployment("ecs-svc/2", "ACTIVE", NEW, 0, DeploymentRolloutState::Failed),
            ],
            &["(service tutorial-site-service) deployment ecs-svc/2 deployment failed: tasks failed to start."],
        )
    }

    fn target() -> Target {
        Target {
            early_success: None,
            deployment_id: "ecs-svc/2".into(),
            task_definition_arn: NEW.into(),
            wait_until: crate::domain::rollout::WaitUntil::Stable,
            created_at: None,
        }
    }

    fn initial() -> ServiceSnapshot {
        ServiceSnapshot {
            service_name: "tutorial-site-service".into(),
            service_arn: None,
            status: "ACTIVE".into(),
            task_definition: OLD.into(),
            desired_count: 1,
            running_count: 1,
            pending_count: 0,
            deployments: Vec::new(),
            events: Vec::new(),
            load_balancers: Vec::new(),
            current_service_deployment: None,
        }
    }

    /// The waiter on the seed's service, from a service that ran the old revision.
    async fn wait(ecs: &Ecs, target: &Target, settings: &WaitSettings) -> Result<ServiceSnapshot> {
        wait_for_rollout(
            ecs,
            "tutorial-site-cluster",
            "tutorial-site-service",
            target,
            &initial(),
            settings,
        )
        .await
        .map(|finished| finished.snapshot)
    }

    fn settings(timeout: u64) -> WaitSettings {
        WaitSettings {
            timeout: Duration::from_secs(timeout),
            timeout_explicit: true,
            rollback_on_cancel: false,
            follow_rollback: true,
            poll_interval: Duration::from_secs(5),
            fail_on_placement_errors: false,
            settle: Duration::from_secs(15),
            failure_log_lines: 20,
        }
    }

    fn stopped_task_rules() -> (aws_smithy_mocks::Rule, aws_smithy_mocks::Rule) {
        let list = mock!(Client::list_tasks).then_output(|| {
            ListTasksOutput::builder()
                .task_arns("arn:aws:ecs:eu-west-1:123456789012:task/tutorial-site-cluster/0a1b2c3d")
                .build()
        });
        let describe = mock!(Client::describe_tasks).then_output(|| {
            DescribeTasksOutput::builder()
                .tasks(
                    Task::builder()
                        .task_arn("arn:aws:ecs:eu-west-1:123456789012:task/tutorial-site-cluster/0a1b2c3d")
                        .task_definition_arn(NEW)
                        .last_status("STOPPED")
                        .stopped_reason("Essential container in task exited")
                        .stop_code(TaskStopCode::EssentialContainerExited)
                        .containers(Container::builder().name("tutorial-site-app").exit_code(3).build())
                        .build(),
                )
                .build()
        });
        (list, describe)
    }

    #[tokio::test(start_paused = true)]
    async fn succeeds_when_our_deployment_completes() {
        let describe = mock!(Client::describe_services)
            .sequence()
            .output(in_progress)
            .times(3)
            .output(completed)
            .build();
        let ecs = Ecs::from_client(mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&describe]));
        let snapshot = wait(&ecs, &target(), &settings(600)).await.unwrap();
        assert_eq!(snapshot.task_definition, NEW);
        assert_eq!(describe.num_calls(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_circuit_breaker_rollback_is_a_failure_with_the_stopped_reason() {
        let describe = mock!(Client::describe_services)
            .sequence()
            .output(in_progress)
            .output(rolled_back)
            .build();
        let (list, tasks) = stopped_task_rules();
        let ecs = Ecs::from_client(mock_client!(
            aws_sdk_ecs,
            RuleMode::MatchAny,
            [&describe, &list, &tasks]
        ));
        let error = wait(&ecs, &target(), &settings(600)).await.unwrap_err();
        assert_eq!(error.kind, crate::error::ErrorKind::Failed);
        assert!(error.message.contains("tutorial-site-task:2"), "{error}");
        let details = error.details.join("\n");
        assert!(
            details.contains("Essential container in task exited"),
            "{details}"
        );
        assert!(details.contains("exit"), "{details}");
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_with_a_clear_message() {
        let describe = mock!(Client::describe_services)
            .sequence()
            .output(in_progress)
            .times(1000)
            .build();
        let (list, tasks) = stopped_task_rules();
        let ecs = Ecs::from_client(mock_client!(
            aws_sdk_ecs,
            RuleMode::MatchAny,
            [&describe, &list, &tasks]
        ));
        let error = wait(&ecs, &target(), &settings(60)).await.unwrap_err();
        assert!(
            error.message.contains("did not finish within 1m00s"),
            "{error}"
        );
        assert!(
            describe.num_calls() >= 10 && describe.num_calls() <= 14,
            "{}",
            describe.num_calls()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_then_the_wait_goes_on() {
        let describe = mock!(Client::describe_services)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string()),
            )
            .times(6)
            .http_status(503, None)
            .output(completed)
            .build();
        let ecs = Ecs::from_client(mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&describe]));
        wait(&ecs, &target(), &settings(600)).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_newer_deployment_by_someone_else_is_a_failure() {
        let other = "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:3";
        let describe = mock!(Client::describe_services).then_output(move || {
            service(
                other,
                vec![
                    deployment(
                        "ecs-svc/9",
                        "PRIMARY",
                        other,
                        0,
                        DeploymentRolloutState::InProgress,
                    ),
                    deployment(
                        "ecs-svc/2",
                        "ACTIVE",
                        NEW,
                        1,
                        DeploymentRolloutState::InProgress,
                    ),
                ],
                &[],
            )
        });
        let (list, tasks) = stopped_task_rules();
        let ecs = Ecs::from_client(mock_client!(
            aws_sdk_ecs,
            RuleMode::MatchAny,
            [&describe, &list, &tasks]
        ));
        let error = wait(&ecs, &target(), &settings(600)).await.unwrap_err();
        assert!(error.message.contains("ecs-svc/9"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_service_that_disappears_is_a_failure() {
        let describe = mock!(Client::describe_services).then_output(|| {
            DescribeServicesOutput::builder()
                .failures(
                    Failure::builder()
                        .arn("arn:aws:ecs:eu-west-1:123456789012:service/tutorial-site-service")
                        .reason("MISSING")
                        .build(),
                )
                .build()
        });
        let ecs = Ecs::from_client(mock_client!(aws_sdk_ecs, [&describe]));
        let error = wait(&ecs, &target(), &settings(600)).await.unwrap_err();
        assert!(error.message.contains("disappeared"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn placement_failures_stop_the_wait_when_asked() {
        let describe = mock!(Client::describe_services).then_output(|| {
            ours_in_progress_beside_the_old(
                0,
                &["(service tutorial-site-service) was unable to place a task because no container instance met all of its requirements."],
            )
        });
        let ecs = Ecs::from_client(mock_client!(aws_sdk_ecs, [&describe]));
        let mut fail_fast = settings(600);
        fail_fast.fail_on_placement_errors = true;
        let error = wait(&ecs, &target(), &fail_fast).await.unwrap_err();
        assert!(error.message.contains("cannot place tasks"), "{error}");
        assert_eq!(describe.num_calls(), 1);
    }

    fn running_while_old_drains() -> DescribeServicesOutput {
        ours_in_progress_beside_the_old(1, &[])
    }

    /// DescribeTaskDefinition of our revision, whose app container has a health check.
    fn health_checked_revision() -> aws_smithy_mocks::Rule {
        mock!(Client::describe_task_definition).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(200).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    serde_json::json!({"taskDefinition": {
                        "taskDefinitionArn": NEW,
                        "containerDefinitions": [{
                            "name": "tutorial-site-app",
                            "image": "tutorial-site-registry:v2",
                            "healthCheck": {"command": ["CMD-SHELL", "wget -q -O- localhost:3000"]}
                        }]
                    }})
                    .to_string(),
                ),
            )
        })
    }

    fn our_task(health: &'static str) -> DescribeTasksOutput {
        DescribeTasksOutput::builder()
            .tasks(
                Task::builder()
                    .task_arn(
                        "arn:aws:ecs:eu-west-1:123456789012:task/tutorial-site-cluster/0a1b2c3d",
                    )
                    .task_definition_arn(NEW)
                    .started_by("ecs-svc/2")
                    .last_status("RUNNING")
                    .containers(
                        Container::builder()
                            .name("tutorial-site-app")
                            .health_status(HealthStatus::from(health))
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    fn listed_task() -> aws_smithy_mocks::Rule {
        mock!(Client::list_tasks).then_output(|| {
            ListTasksOutput::builder()
                .task_arns("arn:aws:ecs:eu-west-1:123456789012:task/tutorial-site-cluster/0a1b2c3d")
                .build()
        })
    }

    #[tokio::test(start_paused = true)]
    async fn wait_until_running_waits_for_healthy_tasks_to_settle_not_for_the_old_to_drain() {
        let describe = mock!(Client::describe_services).then_output(running_while_old_drains);
        let definition = health_checked_revision();
        let list = listed_task();
        // Not checked yet at the first look, then healthy.
        let tasks = mock!(Client::describe_tasks)
            .sequence()
            .output(|| our_task("UNKNOWN"))
            .output(|| our_task("HEALTHY"))
            .times(20)
            .build();
        let ecs = Ecs::from_client(mock_client!(
            aws_sdk_ecs,
            RuleMode::MatchAny,
            [&describe, &definition, &list, &tasks]
        ));
        let mut running = target();
        running.wait_until = crate::domain::rollout::WaitUntil::Running;
        let started = Instant::now();
        wait(&ecs, &running, &settings(600)).await.unwrap();
        // One poll not ready, one that starts the 15 s settle, and polls until it has passed.
        assert!(
            started.elapsed() >= Duration::from_secs(15),
            "{:?}",
            started.elapsed()
        );
        assert!(describe.num_calls() >= 4, "{}", describe.num_calls());
        assert_eq!(definition.num_calls(), 1, "the health checks are read once");
    }

    #[tokio::test(start_paused = true)]
    async fn wait_until_running_is_never_satisfied_by_an_unhealthy_task() {
        let describe = mock!(Client::describe_services).then_output(running_while_old_drains);
        let definition = health_checked_revision();
        let list = listed_task();
        let tasks = mock!(Client::describe_tasks).then_output(|| our_task("UNHEALTHY"));
        let (stopped_list, stopped) = stopped_task_rules();
        let ecs = Ecs::from_client(mock_client!(
            aws_sdk_ecs,
            RuleMode::MatchAny,
            [
                &describe,
                &definition,
                &list,
                &tasks,
                &stopped_list,
                &stopped
            ]
        ));
        let mut running = target();
        running.wait_until = crate::domain::rollout::WaitUntil::Running;
        let error = wait(&ecs, &running, &settings(60)).await.unwrap_err();
        assert!(error.message.contains("did not finish within"), "{error}");
        let details = error.details.join("\n");
        assert!(details.contains("UNHEALTHY"), "{details}");
    }

    #[tokio::test(start_paused = true)]
    async fn completed_is_not_done_until_ours_runs_its_desired_count() {
        let short = || {
            service(
                NEW,
                vec![deployment(
                    "ecs-svc/2",
                    "PRIMARY",
                    NEW,
                    0,
                    DeploymentRolloutState::Completed,
                )],
                &[],
            )
        };
        let describe = mock!(Client::describe_services)
            .sequence()
            .output(short)
            .times(3)
            .output(completed)
            .build();
        let ecs = Ecs::from_client(mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&describe]));
        wait(&ecs, &target(), &settings(600)).await.unwrap();
        assert_eq!(describe.num_calls(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deployment_not_listed_yet_gets_a_grace_then_is_found() {
        let stale = || {
            service(
                OLD,
                vec![deployment(
                    "ecs-svc/1",
                    "PRIMARY",
                    OLD,
                    1,
                    DeploymentRolloutState::Completed,
                )],
                &[],
            )
        };
        let describe = mock!(Client::describe_services)
            .sequence()
            .output(stale)
            .times(2)
            .output(completed)
            .build();
        let ecs = Ecs::from_client(mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&describe]));
        wait(&ecs, &target(), &settings(600)).await.unwrap();
        assert_eq!(describe.num_calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deployment_never_listed_fails_once_the_grace_is_over() {
        let describe = mock!(Client::describe_services).then_output(|| {
            service(
                OLD,
                vec![deployment(
                    "ecs-svc/1",
                    "PRIMARY",
                    OLD,
                    1,
                    DeploymentRolloutState::Completed,
                )],
                &[],
            )
        });
        let (list, tasks) = stopped_task_rules();
        let ecs = Ecs::from_client(mock_client!(
            aws_sdk_ecs,
            RuleMode::MatchAny,
            [&describe, &list, &tasks]
        ));
        let started = Instant::now();
        let error = wait(&ecs, &target(), &settings(600)).await.unwrap_err();
        assert!(error.message.contains("no longer listed"), "{error}");
        let waited = started.elapsed();
        assert!(
            waited >= LISTING_GRACE && waited < LISTING_GRACE + Duration::from_secs(10),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_real_circuit_breaker_rollback_ends_the_wait_at_once() {
        // As real ECS answers: ours is gone, the old deployment is PRIMARY again under its own id.
        let describe = mock!(Client::describe_services).then_output(|| {
            let mut old = deployment("ecs-svc/1", "PRIMARY", OLD, 0, DeploymentRolloutState::InProgress);
            old.rollout_state_reason =
                Some("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1".into());
            service(
                OLD,
                vec![old],
                &[
                    "(service tutorial-site-service) (deployment ecs-svc/2) deployment failed: tasks failed to start.",
                    "(service tutorial-site-service) rolling back to deployment ecs-svc/1.",
                ],
            )
        });
        let (list, tasks) = stopped_task_rules();
        let ecs = Ecs::from_client(mock_client!(
            aws_sdk_ecs,
            RuleMode::MatchAny,
            [&describe, &list, &tasks]
        ));
        let error = wait(&ecs, &target(), &settings(600)).await.unwrap_err();
        assert_eq!(
            describe.num_calls(),
            1,
            "no grace for a deployment ECS says failed"
        );
        assert!(
            error
                .message
                .contains("rolled the service back to tutorial-site-task:1"),
            "{error}"
        );
        assert!(error.message.contains("tasks failed to start"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn placement_failures_from_before_our_deployment_do_not_stop_the_wait() {
        let with_old_placement_event = || {
            // An event from before our deployment was created.
            let event = ServiceEvent::builder()
                .id("event-old")
                .created_at(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                .message("(service tutorial-site-service) was unable to place a task because no container instance met all of its requirements.")
                .build();
            let service = Service::builder()
                .service_name("tutorial-site-service")
                .status("ACTIVE")
                .task_definition(NEW)
                .desired_count(1)
                .deployments(deployment(
                    "ecs-svc/2",
                    "PRIMARY",
                    NEW,
                    0,
                    DeploymentRolloutState::InProgress,
                ))
                .deployments(deployment(
                    "ecs-svc/1",
                    "ACTIVE",
                    OLD,
                    1,
                    DeploymentRolloutState::Completed,
                ))
                .events(event)
                .build();
            DescribeServicesOutput::builder().services(service).build()
        };
        let describe = mock!(Client::describe_services)
            .sequence()
            .output(with_old_placement_event)
            .times(2)
            .output(completed)
            .build();
        let ecs = Ecs::from_client(mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&describe]));
        let mut fail_fast = settings(600);
        fail_fast.fail_on_placement_errors = true;
        let mut ours = target();
        ours.created_at = Some("2026-11-24T10:00:00Z".into());
        wait(&ecs, &ours, &fail_fast).await.unwrap();
        assert_eq!(describe.num_calls(), 3);
    }
}
