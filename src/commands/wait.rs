//! Waiting for a rollout we started: our own poll loop, bounded by a timeout, printing each new
//! service event once and deployment lines only when they change, with a heartbeat for CI.
use std::time::Duration;

use tokio::time::Instant;

use crate::adapters::aws::ApiErrorKind;
use crate::adapters::ecs::Ecs;
use crate::domain::duration::format_duration;
use crate::domain::rollout::{
    assess, describe_stopped_tasks, is_placement_failure, RolloutLog, ServiceSnapshot, Target,
    Verdict,
};
use crate::error::{Error, Result};
use crate::output;

/// How to wait, from `--timeout`, `--poll-interval`, `--wait-until`, `--fail-on-placement-errors`.
#[derive(Debug, Clone)]
pub struct WaitSettings {
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub fail_on_placement_errors: bool,
}

/// Longest quiet stretch in the log: CircleCI kills a step after 10 minutes without output.
const HEARTBEAT: Duration = Duration::from_secs(55);
/// Longest pause between polls once throttling has pushed the interval up.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Polls until the rollout of `target` succeeds, fails, or the timeout passes.
pub async fn wait_for_rollout(
    ecs: &Ecs,
    cluster: &str,
    service: &str,
    target: &Target,
    initial: &ServiceSnapshot,
    settings: &WaitSettings,
) -> Result<ServiceSnapshot> {
    let started = Instant::now();
    let mut log = RolloutLog::new(initial);
    let mut last_output = started;
    let mut interval = settings.poll_interval;
    let mut attempt: u64 = 0;
    let mut last_error: Option<String> = None;
    output::set_interrupt_hint(format!(
        "deployer stopped waiting; ECS continues deployment {} of {service} on its own (aws ecs describe-services --cluster {cluster} --services {service})",
        target.deployment_id
    ));
    loop {
        let remaining = settings.timeout.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            let mut error = timed_out(ecs, cluster, service, target, settings.timeout).await;
            if let Some(last) = last_error {
                error = error.with_detail(format!("the last poll of the service failed: {last}"));
            }
            return Err(error);
        }
        attempt += 1;
        tokio::time::sleep(jittered(interval, attempt).min(remaining)).await;

        let snapshot = match ecs.poll_service(cluster, service).await {
            Ok(Some(snapshot)) => snapshot,
            Ok(None) => {
                return Err(Error::failed(format!(
                    "service {service} disappeared from cluster {cluster} while deployer waited"
                )))
            }
            Err(error)
                if matches!(
                    error.kind,
                    ApiErrorKind::Throttled | ApiErrorKind::Unreachable | ApiErrorKind::Other
                ) =>
            {
                interval = (interval * 2).min(MAX_BACKOFF);
                output::step(format!(
                    "ECS did not answer ({error}); retrying in {}",
                    format_duration(interval)
                ));
                last_error = Some(error.to_string());
                last_output = Instant::now();
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        interval = settings.poll_interval;
        last_error = None;

        let elapsed = format_duration(started.elapsed());
        let lines = log.observe(&snapshot);
        for line in &lines {
            output::step(line);
        }
        if !lines.is_empty() {
            last_output = Instant::now();
        }
        if settings.fail_on_placement_errors {
            if let Some(event) = snapshot
                .events
                .iter()
                .find(|event| is_placement_failure(&event.message))
            {
                return Err(Error::failed(format!(
                    "ECS cannot place tasks of {service}: {}",
                    event.message
                ))
                .with_hint(
                    "--fail-on-placement-errors stopped the wait; ECS keeps trying on its own",
                ));
            }
        }
        match assess(target, &snapshot) {
            Verdict::Succeeded => return Ok(snapshot),
            Verdict::Failed(failure) => {
                return Err(with_stopped_tasks(
                    ecs,
                    cluster,
                    service,
                    target,
                    Error::failed(format!(
                        "the deployment of {} to {service} failed: {failure}",
                        crate::domain::rollout::short_task_definition(&target.task_definition_arn)
                    )),
                )
                .await)
            }
            Verdict::InProgress => {}
        }
        if last_output.elapsed() >= HEARTBEAT {
            output::step(format!(
                "{elapsed} still waiting for deployment {}",
                target.deployment_id
            ));
            last_output = Instant::now();
        }
    }
}

/// Spreads the polls of concurrent deployers: 85% to 95% of the interval, deterministic per
/// attempt. Only ever shorter, so a state change is seen within one interval of happening.
fn jittered(interval: Duration, attempt: u64) -> Duration {
    let spread = (attempt.wrapping_mul(2654435761) % 11) as f64 / 100.0;
    interval.mul_f64(0.85 + spread)
}

async fn timed_out(
    ecs: &Ecs,
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
    with_stopped_tasks(ecs, cluster, service, target, error).await
}

/// Adds why recent tasks of our revision stopped: the detail that says what went wrong.
async fn with_stopped_tasks(
    ecs: &Ecs,
    cluster: &str,
    service: &str,
    target: &Target,
    mut error: Error,
) -> Error {
    match ecs.stopped_tasks(cluster, service).await {
        Ok(tasks) => {
            let ours: Vec<_> = tasks
                .into_iter()
                .filter(|task| task.task_definition_arn == target.task_definition_arn)
                .collect();
            if ours.is_empty() {
                error = error.with_detail("no stopped task of this revision was found");
            }
            for line in describe_stopped_tasks(&ours) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
    use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
    use aws_sdk_ecs::types::{
        Container, Deployment, DeploymentRolloutState, Failure, Service, ServiceEvent, Task,
        TaskStopCode,
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

    fn in_progress() -> DescribeServicesOutput {
        service(
            NEW,
            vec![
                deployment(
                    "ecs-svc/2",
                    "PRIMARY",
                    NEW,
                    0,
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
            deployment_id: "ecs-svc/2".into(),
            task_definition_arn: NEW.into(),
            wait_until: crate::domain::rollout::WaitUntil::Stable,
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
        }
    }

    fn settings(timeout: u64) -> WaitSettings {
        WaitSettings {
            timeout: Duration::from_secs(timeout),
            poll_interval: Duration::from_secs(5),
            fail_on_placement_errors: false,
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
        let snapshot = wait_for_rollout(
            &ecs,
            "tutorial-site-cluster",
            "tutorial-site-service",
            &target(),
            &initial(),
            &settings(600),
        )
        .await
        .unwrap();
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
        let error = wait_for_rollout(
            &ecs,
            "tutorial-site-cluster",
            "tutorial-site-service",
            &target(),
            &initial(),
            &settings(600),
        )
        .await
        .unwrap_err();
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
        let error = wait_for_rollout(
            &ecs,
            "tutorial-site-cluster",
            "tutorial-site-service",
            &target(),
            &initial(),
            &settings(60),
        )
        .await
        .unwrap_err();
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
        wait_for_rollout(
            &ecs,
            "tutorial-site-cluster",
            "tutorial-site-service",
            &target(),
            &initial(),
            &settings(600),
        )
        .await
        .unwrap();
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
        let error = wait_for_rollout(
            &ecs,
            "tutorial-site-cluster",
            "tutorial-site-service",
            &target(),
            &initial(),
            &settings(600),
        )
        .await
        .unwrap_err();
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
        let error = wait_for_rollout(
            &ecs,
            "tutorial-site-cluster",
            "tutorial-site-service",
            &target(),
            &initial(),
            &settings(600),
        )
        .await
        .unwrap_err();
        assert!(error.message.contains("disappeared"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn placement_failures_stop_the_wait_when_asked() {
        let describe = mock!(Client::describe_services).then_output(|| {
            service(
                NEW,
                vec![
                    deployment("ecs-svc/2", "PRIMARY", NEW, 0, DeploymentRolloutState::InProgress),
                    deployment("ecs-svc/1", "ACTIVE", OLD, 1, DeploymentRolloutState::Completed),
                ],
                &["(service tutorial-site-service) was unable to place a task because no container instance met all of its requirements."],
            )
        });
        let ecs = Ecs::from_client(mock_client!(aws_sdk_ecs, [&describe]));
        let mut fail_fast = settings(600);
        fail_fast.fail_on_placement_errors = true;
        let error = wait_for_rollout(
            &ecs,
            "tutorial-site-cluster",
            "tutorial-site-service",
            &target(),
            &initial(),
            &fail_fast,
        )
        .await
        .unwrap_err();
        assert!(error.message.contains("cannot place tasks"), "{error}");
        assert_eq!(describe.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_until_running_does_not_wait_for_the_old_deployment_to_drain() {
        let describe = mock!(Client::describe_services).then_output(|| {
            service(
                NEW,
                vec![
                    deployment(
                        "ecs-svc/2",
                        "PRIMARY",
                        NEW,
                        1,
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
                &[],
            )
        });
        let ecs = Ecs::from_client(mock_client!(aws_sdk_ecs, [&describe]));
        let mut running = target();
        running.wait_until = crate::domain::rollout::WaitUntil::Running;
        wait_for_rollout(
            &ecs,
            "tutorial-site-cluster",
            "tutorial-site-service",
            &running,
            &initial(),
            &settings(600),
        )
        .await
        .unwrap();
        assert_eq!(describe.num_calls(), 1);
    }

    #[test]
    fn jitter_only_shortens_the_interval() {
        let values: Vec<Duration> = (0..100)
            .map(|attempt| jittered(Duration::from_secs(10), attempt))
            .collect();
        assert!(values
            .iter()
            .all(|v| *v >= Duration::from_millis(8500) && *v <= Duration::from_millis(9500)));
        assert!(values.iter().any(|v| *v != values[0]), "the spread varies");
    }
}
