//! `deployer continue`: approve (ContinueServiceDeployment CONTINUE) or reject (ROLLBACK) a
//! deployment paused at a PAUSE lifecycle hook, then wait for the next pause or the end as
//! update-service waits. With `--wait-until paused` before it and a CircleCI approval job
//! between the two, a team gets canary → approve → full traffic from CI.
use std::time::Duration;

use serde::Serialize;

use super::steps::follow_rollout::follow;
use super::steps::rollout_wait::WaitSettings;
use super::steps::service::{check_wait_until, named_service};
use super::steps::service_deployment::newest_first;
use super::steps::service_deployment::Followed;
use super::steps::smoke_test::{self, Pause, SmokeTest};
use crate::adapters::aws::{self, AwsSettings};
use crate::adapters::ecs::Ecs;
use crate::domain::rollout::{same_task_definition, short_task_definition, WaitUntil};
use crate::domain::service_deployment::{short_id, timestamp_text, ServiceDeployment};
use crate::domain::smoke_test::GATE_STAGE;
use crate::error::{Error, Result};
use crate::journal;
use crate::output;

#[derive(Debug, Clone)]
pub struct ContinueSettings {
    pub aws: AwsSettings,
    pub cluster: String,
    pub service: String,
    /// ARN or id; `None`: the service's current deployment.
    pub deployment: Option<String>,
    pub hook_id: Option<String>,
    pub roll_back: bool,
    pub dry_run: bool,
    /// `None` with `--no-wait`.
    pub wait: Option<(WaitSettings, WaitUntil)>,
    /// `--smoke-test`: run first at a pause at test traffic; resume only when it passes.
    pub smoke_test: Option<SmokeTest>,
}

/// What was done, for stdout and `--export-env`.
#[derive(Debug, Clone, Serialize)]
pub struct ContinueOutcome {
    pub cluster: String,
    pub service: String,
    pub service_deployment_arn: String,
    /// The hook that was resumed (or, with `--rollback`, rejected).
    pub continued_hook_id: String,
    /// CONTINUE or ROLLBACK.
    pub action: String,
    pub task_definition_arn: String,
    /// `planned` (`--dry-run`), `continued`/`rolling-back` (`--no-wait`), `rolled-back`, or as
    /// update-service: `completed`, `running`, `paused` (at the next hook), `baking`.
    pub result: String,
    /// With `result` paused: the hook it waits at now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook_id: Option<String>,
}

impl ContinueOutcome {
    pub fn export_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "DEPLOYER_SERVICE_DEPLOYMENT_ARN",
                self.service_deployment_arn.clone(),
            ),
            ("DEPLOYER_HOOK_ID", self.hook_id.clone().unwrap_or_default()),
            (
                "DEPLOYER_TASK_DEFINITION_ARN",
                self.task_definition_arn.clone(),
            ),
            ("DEPLOYER_CLUSTER", self.cluster.clone()),
            ("DEPLOYER_SERVICE", self.service.clone()),
        ]
    }
}

/// How often a rejected smoke test's rollback is polled with `--no-wait`.
const DEFAULT_POLL: Duration = Duration::from_secs(5);

/// How long a rejected deployment's rollback is waited for without `--timeout`.
const ROLLBACK_TIMEOUT: Duration = Duration::from_secs(600);

pub async fn run(settings: ContinueSettings) -> Result<ContinueOutcome> {
    let config = aws::load(&settings.aws).await?;
    let ecs = Ecs::new(&config);
    let state = named_service(&ecs, &settings.cluster, &settings.service, "continue").await?;
    let arn = deployment_arn(
        &ecs,
        &settings,
        state.snapshot.current_service_deployment.as_deref(),
    )
    .await
    .map_err(needs_api)?;
    let deployment = ecs
        .service_deployment(&arn)
        .await
        .map_err(|error| needs_api(error.into()))?
        .ok_or_else(|| {
            Error::usage(format!(
                "service deployment {arn} does not exist (DescribeServiceDeployments answered MISSING)"
            ))
        })?;
    let hook = paused_hook(&deployment, &settings)?;
    let revision = deployment
        .target_service_revision
        .as_ref()
        .map(|target| target.arn.clone())
        .unwrap_or_default();
    let task_definition = ecs
        .revision_task_definition(&revision)
        .await?
        .unwrap_or_default();
    if let Some((_, until)) = &settings.wait {
        if !settings.roll_back {
            check_wait_until(until, state.deployment_configuration(), &settings.service)?;
        }
    }
    let action = if settings.roll_back {
        "ROLLBACK"
    } else {
        "CONTINUE"
    };
    let mut outcome = ContinueOutcome {
        cluster: settings.cluster.clone(),
        service: settings.service.clone(),
        service_deployment_arn: arn.clone(),
        continued_hook_id: hook.clone(),
        action: action.to_string(),
        task_definition_arn: task_definition.clone(),
        result: "planned".to_string(),
        hook_id: None,
    };
    let stage = deployment
        .lifecycle_stage
        .clone()
        .unwrap_or_else(|| "its current stage".to_string());
    let what = if settings.roll_back {
        "roll back"
    } else {
        "resume"
    };
    if settings.smoke_test.is_some() && deployment.lifecycle_stage.as_deref() != Some(GATE_STAGE) {
        return Err(Error::usage(format!(
            "--smoke-test runs once test traffic reaches the new revision, and service deployment {} of {} is paused at {stage}, not {GATE_STAGE}",
            deployment.id(),
            settings.service
        ))
        .with_hint("continue without --smoke-test (or with --rollback)"));
    }
    if settings.dry_run {
        if let Some(smoke) = &settings.smoke_test {
            output::step(format!(
                "would run the smoke test `{}` against the test traffic, then resume service deployment {} of {} ({}) at lifecycle hook {hook}, or roll it back when it fails; nothing changed (--dry-run)",
                smoke.command,
                deployment.id(),
                settings.service,
                short_task_definition(&task_definition)
            ));
            return Ok(outcome);
        }
        output::step(format!(
            "would {what} service deployment {} of {} ({}), paused at lifecycle hook {hook} at {stage}; nothing changed (--dry-run)",
            deployment.id(),
            settings.service,
            short_task_definition(&task_definition)
        ));
        return Ok(outcome);
    }

    let done = if let Some(smoke) = &settings.smoke_test {
        let (rollback_on_cancel, poll_interval) = match &settings.wait {
            Some((wait, _)) => (wait.rollback_on_cancel, wait.poll_interval),
            None => (false, DEFAULT_POLL),
        };
        smoke_test::gate(
            &ecs,
            &settings.service,
            &state.raw,
            &task_definition,
            smoke,
            &Pause {
                service_deployment_arn: arn.clone(),
                hook_id: hook.clone(),
            },
            rollback_on_cancel,
            poll_interval,
        )
        .await?;
        format!(
            "resumed service deployment {} of {} at lifecycle hook {hook} ({stage}) after the smoke test passed",
            deployment.id(),
            settings.service
        )
    } else {
        ecs.continue_service_deployment(&arn, &hook, settings.roll_back)
            .await
            .map_err(|error| refused_continue(error, deployment.id(), &hook))?;
        let done = format!(
            "{} service deployment {} of {} at lifecycle hook {hook} ({stage})",
            if settings.roll_back {
                "asked ECS to roll back"
            } else {
                "resumed"
            },
            deployment.id(),
            settings.service
        );
        journal::record(done.clone());
        done
    };
    output::step(&done);

    let Some((wait, until)) = &settings.wait else {
        outcome.result = if settings.roll_back {
            "rolling-back"
        } else {
            "continued"
        }
        .to_string();
        return Ok(outcome);
    };
    if settings.roll_back {
        let limit = if wait.timeout_explicit {
            wait.timeout
        } else {
            ROLLBACK_TIMEOUT
        };
        outcome.result = wait_for_rollback(&ecs, &arn, limit, wait.poll_interval).await?;
        return Ok(outcome);
    }
    let ours = state
        .snapshot
        .deployments
        .iter()
        .filter(|d| same_task_definition(&d.task_definition, &task_definition))
        .max_by_key(|d| d.status == "PRIMARY")
        .ok_or_else(|| {
            Error::failed(format!(
                "the service lists no deployment of {} to wait for",
                short_task_definition(&task_definition)
            ))
        })?;
    let followed = Followed::new(
        Some(arn.clone()),
        Some((hook.clone(), deployment.lifecycle_stage.clone())),
    );
    let finished = follow(
        &ecs,
        &settings.cluster,
        &settings.service,
        ours,
        until,
        wait,
        &state.snapshot,
        state.deployment_configuration(),
        followed,
    )
    .await?;
    outcome.result = finished.result;
    outcome.hook_id = finished.hook_id;
    Ok(outcome)
}

/// ECS's refusals of ContinueServiceDeployment after the checks passed: the deployment moved
/// on between the look and the call (ConflictException; ClientException, which ECS answers for
/// a hook no longer waiting) is exit 1, saying to look again; InvalidParameterException and
/// the rest keep their usual exit codes.
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContinueServiceDeployment.html
fn refused_continue(error: crate::adapters::aws::ApiError, id: &str, hook: &str) -> Error {
    if error.is_code("ConflictException") || error.is_code("ClientException") {
        return Error::failed(format!(
            "ECS refused to continue service deployment {id} at lifecycle hook {hook}: {error}"
        ))
        .with_hint("the deployment moved on while deployer looked (its hook timed out or someone else acted): see where it stands with deployer wait");
    }
    error.into()
}

/// Says what `continue` needs when ECS (or an emulator of it) lacks the API.
fn needs_api(error: Error) -> Error {
    if error.kind == crate::error::ErrorKind::Usage {
        return error;
    }
    error.with_hint(
        "deployer continue needs ECS's ServiceDeployment API (ListServiceDeployments, DescribeServiceDeployments, ContinueServiceDeployment) and the permissions for it",
    )
}

/// The deployment to act on: `--deployment` (an ARN, or an id of one of the service's
/// unfinished deployments), else the service's current one, else its newest unfinished one.
async fn deployment_arn(
    ecs: &Ecs,
    settings: &ContinueSettings,
    current: Option<&str>,
) -> Result<String> {
    match (&settings.deployment, current) {
        (Some(named), _) if named.starts_with("arn:") => return Ok(named.clone()),
        (None, Some(current)) => return Ok(current.to_string()),
        _ => {}
    }
    let mut unfinished = ecs
        .deployment_history(
            &settings.cluster,
            &settings.service,
            &["PENDING", "IN_PROGRESS"],
        )
        .await?;
    newest_first(&mut unfinished);
    let found = match &settings.deployment {
        Some(named) => unfinished.into_iter().find(|d| short_id(&d.arn) == named),
        None => unfinished.into_iter().next(),
    };
    found.map(|deployment| deployment.arn).ok_or_else(|| {
        Error::usage(match &settings.deployment {
            Some(named) => format!(
                "service {} has no unfinished service deployment {named}",
                settings.service
            ),
            None => format!(
                "service {} in cluster {} has no deployment in progress to continue",
                settings.service, settings.cluster
            ),
        })
    })
}

/// The hook to act on: `--hook-id`, which must be waiting, or the one the deployment waits at.
///
/// ContinueServiceDeployment's documented preconditions are checked first (the deployment
/// IN_PROGRESS, the hook AWAITING_ACTION): an approval job that runs after ECS acted (the hook
/// timed out and ECS rolled back, or the deployment was stopped) is exit 1, saying what ECS did
/// and when, not a usage error.
fn paused_hook(deployment: &ServiceDeployment, settings: &ContinueSettings) -> Result<String> {
    let when = deployment
        .finished_at
        .as_ref()
        .and_then(timestamp_text)
        .map(|time| format!(" (finished {time})"))
        .unwrap_or_default();
    if deployment.is_undone() {
        return Err(Error::failed(format!(
            "{}{when}: there is nothing left to {}",
            deployment.failure(),
            if settings.roll_back {
                "reject"
            } else {
                "approve"
            }
        ))
        .with_hint(
            "a PAUSE hook's timeout applies its action when nobody continues in time \
             (timeoutConfiguration; ROLLBACK unless it says CONTINUE): deploy again, and run the \
             approval within the hook's timeout",
        ));
    }
    if deployment.status == "SUCCESSFUL" {
        let message = format!(
            "service deployment {} of {} already finished SUCCESSFUL{when}",
            deployment.id(),
            settings.service
        );
        return Err(if settings.roll_back {
            Error::failed(format!("{message}: it is too late to reject it"))
                .with_hint("roll the service back with deployer rollback")
        } else {
            Error::usage(format!("{message}: there is nothing to approve"))
        });
    }
    if deployment.status == "PENDING" {
        return Err(Error::usage(format!(
            "service deployment {} of {} has not started yet (PENDING): nothing is paused",
            deployment.id(),
            settings.service
        ))
        .with_hint("wait for the pause first with --wait-until paused"));
    }
    let waiting = match &settings.hook_id {
        Some(id) => deployment
            .lifecycle_hook_details
            .iter()
            .find(|hook| hook.hook_id == *id),
        None => deployment.paused_hook(),
    };
    match waiting {
        Some(hook) if hook.status == "AWAITING_ACTION" => Ok(hook.hook_id.clone()),
        Some(hook) => Err(Error::usage(format!(
            "lifecycle hook {} of service deployment {} is {}, not waiting for approval",
            hook.hook_id,
            deployment.id(),
            hook.status
        ))),
        None => {
            let hooks: Vec<String> = deployment
                .lifecycle_hook_details
                .iter()
                .map(|hook| format!("{} {}", hook.hook_id, hook.status))
                .collect();
            Err(Error::usage(format!(
                "service deployment {} of {} is not paused at a lifecycle hook (status {}, stage {}{})",
                deployment.id(),
                settings.service,
                deployment.status,
                deployment.lifecycle_stage.as_deref().unwrap_or("none"),
                if hooks.is_empty() {
                    String::new()
                } else {
                    format!("; hooks: {}", hooks.join(", "))
                }
            ))
            .with_hint(format!(
                "wait for the pause with deployer wait --cluster {} --service {} --wait-until paused",
                settings.cluster, settings.service
            )))
        }
    }
}

/// Waits for a rejected deployment's rollback: `rolled-back`, or exit 1 when it failed.
async fn wait_for_rollback(
    ecs: &Ecs,
    arn: &str,
    limit: Duration,
    poll_interval: Duration,
) -> Result<String> {
    let mut followed = Followed::new(Some(arn.to_string()), None);
    match followed
        .until_finished(ecs, arn, limit, poll_interval)
        .await?
    {
        Some(deployment) if deployment.status == "ROLLBACK_SUCCESSFUL" => {
            Ok("rolled-back".to_string())
        }
        Some(deployment) => Err(Error::failed(deployment.failure())),
        None => Err(Error::failed(format!(
            "ECS did not finish rolling back service deployment {} within {}",
            short_id(arn),
            crate::domain::duration::format_duration(limit)
        ))
        .with_hint("ECS goes on with the rollback; raise --timeout to wait longer")),
    }
}
