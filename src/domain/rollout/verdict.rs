//! Whether the rolling deployment deployer started is done, failed or still going, judged from
//! one DescribeServices answer: the judgement the AWS waiter cannot make. Success means our
//! deployment is PRIMARY and runs our revision, never merely that the service is steady.
use std::fmt;

use super::arn::{is_older_revision, same_task_definition, short_task_definition};
use super::snapshot::{rollout_state, ACTIVE, COMPLETED, FAILED, PRIMARY};
use super::snapshot::{Deployment, ServiceEvent, ServiceSnapshot, Target, WaitUntil};
use crate::domain::timestamps::parse_timestamp;

/// The early success criteria a deployment configuration turns on: `(healthyPercent,
/// DEFERRED)` (`deploymentConfiguration.earlySuccessCriteria`, rolling deployments only).
pub fn early_success_of(configuration: Option<&serde_json::Value>) -> Option<(u8, bool)> {
    let criteria = configuration?.get("earlySuccessCriteria")?;
    if criteria.get("enable").and_then(serde_json::Value::as_bool) != Some(true) {
        return None;
    }
    let percent = criteria.get("healthyPercent")?.as_u64()?.min(100) as u8;
    let deferred = criteria
        .get("sourceServiceRevisionCleanup")
        .and_then(serde_json::Value::as_str)
        == Some("DEFERRED");
    Some((percent, deferred))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    InProgress,
    /// DescribeServices does not list our deployment yet (it is eventually consistent), and
    /// nothing says it failed or was replaced.
    NotListedYet,
    Succeeded,
    Failed(Failure),
}

/// Why a rollout failed, in terms a user can act on. Task definitions are full ARNs; messages
/// shorten them to `family:revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The circuit breaker failed our deployment and the service went back to another revision.
    RolledBack {
        deployment_id: String,
        reason: Option<String>,
        now_running: String,
        rollback_deployment_id: Option<String>,
    },
    /// Our deployment is FAILED (the circuit breaker without rollback, or an alarm).
    RolloutFailed {
        deployment_id: String,
        reason: Option<String>,
    },
    /// Our deployment is no longer listed.
    DeploymentGone {
        deployment_id: String,
        now_running: String,
    },
    /// The service went back to an older deployment or another revision, not by a newer deployment.
    TaskDefinitionReverted {
        expected: String,
        now_running: String,
    },
    /// A newer deployment became PRIMARY before ours finished.
    Superseded {
        deployment_id: String,
        task_definition: String,
        newer_deployment_id: String,
        newer_task_definition: String,
    },
    /// The service is DRAINING or INACTIVE: it is being deleted or was.
    ServiceNotActive { status: String },
    /// DescribeServices no longer finds the service; the adapter reports it, a snapshot cannot.
    ServiceMissing { service_name: String },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::RolledBack {
                deployment_id,
                reason,
                now_running,
                rollback_deployment_id,
            } => {
                write!(
                    f,
                    "deployment {deployment_id} failed and the circuit breaker rolled the service back to {}",
                    short_task_definition(now_running)
                )?;
                if let Some(rollback) = rollback_deployment_id {
                    write!(f, " (deployment {rollback})")?;
                }
                match reason {
                    Some(reason) => write!(f, ": {reason}"),
                    None => Ok(()),
                }
            }
            Failure::RolloutFailed {
                deployment_id,
                reason,
            } => match reason {
                Some(reason) => write!(f, "ECS marked deployment {deployment_id} FAILED: {reason}"),
                None => write!(
                    f,
                    "ECS marked deployment {deployment_id} FAILED and gave no reason"
                ),
            },
            Failure::DeploymentGone {
                deployment_id,
                now_running,
            } if now_running.is_empty() => {
                write!(f, "deployment {deployment_id} is no longer listed by ECS")
            }
            Failure::DeploymentGone {
                deployment_id,
                now_running,
            } => write!(
                f,
                "deployment {deployment_id} is no longer listed by ECS and the service runs {}",
                short_task_definition(now_running)
            ),
            Failure::TaskDefinitionReverted {
                expected,
                now_running,
            } => write!(
                f,
                "the service went back to {} instead of {}",
                short_task_definition(now_running),
                short_task_definition(expected)
            ),
            Failure::Superseded {
                deployment_id,
                task_definition,
                newer_deployment_id,
                newer_task_definition,
            } => {
                write!(
                    f,
                    "another deployment, {newer_deployment_id} of {}, became PRIMARY before ours ({deployment_id} of {}) finished",
                    short_task_definition(newer_task_definition),
                    short_task_definition(task_definition)
                )?;
                if is_older_revision(newer_task_definition, task_definition) {
                    write!(f, "; it runs an older revision, so it may be a rollback")?;
                }
                Ok(())
            }
            Failure::ServiceNotActive { status } => match status.as_str() {
                "DRAINING" => write!(f, "the service is DRAINING: it is being deleted"),
                "INACTIVE" => write!(f, "the service is INACTIVE: it was deleted"),
                "" => write!(f, "ECS gave no status for the service, expected ACTIVE"),
                other => write!(f, "the service is {other}, not ACTIVE"),
            },
            Failure::ServiceMissing { service_name } => {
                write!(f, "service {service_name} no longer exists")
            }
        }
    }
}

/// Decides what the snapshot says about our deployment. Success means our deployment is the
/// PRIMARY one and runs our revision, never merely that the service is steady. Our deployment
/// missing from the list is a failure here; the waiter uses [`assess_within_grace`] while
/// DescribeServices may still lag behind UpdateService.
pub fn assess(target: &Target, snapshot: &ServiceSnapshot) -> Verdict {
    assess_within_grace(target, snapshot, false)
}

/// [`assess`], but while `in_grace` a deployment of ours that is not listed, with nothing
/// newer listed and no event or rollback naming it, is [`Verdict::NotListedYet`].
pub fn assess_within_grace(target: &Target, snapshot: &ServiceSnapshot, in_grace: bool) -> Verdict {
    if snapshot.status != ACTIVE {
        return Verdict::Failed(Failure::ServiceNotActive {
            status: snapshot.status.clone(),
        });
    }
    let primary = snapshot
        .deployments
        .iter()
        .find(|deployment| deployment.status == PRIMARY);
    let Some(ours) = snapshot
        .deployments
        .iter()
        .find(|deployment| deployment.id == target.deployment_id)
    else {
        return not_listed(target, snapshot, primary, in_grace);
    };
    if ours.status != PRIMARY {
        return match displaced(target, snapshot, ours, primary) {
            Some(failure) => Verdict::Failed(failure),
            None => Verdict::InProgress,
        };
    }
    if rollout_state(ours) == Some(FAILED) {
        return Verdict::Failed(Failure::RolloutFailed {
            deployment_id: ours.id.clone(),
            reason: ours.rollout_state_reason.clone(),
        });
    }
    // A deployment never changes revision, so this is a target built from the wrong answer.
    if !same_task_definition(&ours.task_definition, &target.task_definition_arn) {
        return Verdict::Failed(Failure::TaskDefinitionReverted {
            expected: target.task_definition_arn.clone(),
            now_running: ours.task_definition.clone(),
        });
    }
    if is_done(target, snapshot, ours) {
        Verdict::Succeeded
    } else {
        Verdict::InProgress
    }
}

/// Our deployment is not in `deployments[]`. Real ECS drops a deployment the circuit breaker
/// failed and makes the previous one PRIMARY again under its own id, saying so in its events
/// and in that deployment's `rolloutStateReason`: that ends the wait at once. So does a newer
/// deployment. Otherwise the answer may predate our UpdateService.
fn not_listed(
    target: &Target,
    snapshot: &ServiceSnapshot,
    primary: Option<&Deployment>,
    in_grace: bool,
) -> Verdict {
    let now_running = primary.map_or_else(
        || snapshot.task_definition.clone(),
        |primary| primary.task_definition.clone(),
    );
    let failed_event = failure_event(snapshot, &target.deployment_id);
    // ECS's wording alone decides nothing: the older deployment must also have changed since
    // ours was created (a reason left from an earlier rollback, in an answer that predates our
    // UpdateService, is not about ours).
    let rolling_back = primary.filter(|primary| {
        primary
            .rollout_state_reason
            .as_deref()
            .is_some_and(|reason| {
                reason.contains("circuit breaker") && reason.contains("rolling back")
            })
            && older_than_ours(primary, target).unwrap_or(true)
            && updated_since_ours(primary, target) == Some(true)
    });
    if failed_event.is_some() || rolling_back.is_some() {
        return Verdict::Failed(Failure::RolledBack {
            deployment_id: target.deployment_id.clone(),
            reason: failed_event
                .or_else(|| rolling_back.and_then(|p| p.rollout_state_reason.clone())),
            now_running,
            rollback_deployment_id: primary.map(|primary| primary.id.clone()),
        });
    }
    let newer = snapshot
        .deployments
        .iter()
        .find(|deployment| newer_than_ours(deployment, target) == Some(true));
    if let Some(newer) = newer {
        return Verdict::Failed(Failure::Superseded {
            deployment_id: target.deployment_id.clone(),
            task_definition: target.task_definition_arn.clone(),
            newer_deployment_id: newer.id.clone(),
            newer_task_definition: newer.task_definition.clone(),
        });
    }
    if in_grace {
        return Verdict::NotListedYet;
    }
    Verdict::Failed(Failure::DeploymentGone {
        deployment_id: target.deployment_id.clone(),
        now_running,
    })
}

/// The reason in ECS's "(service S) (deployment ID) deployment failed: REASON" event naming
/// `deployment_id`, when there is one.
fn failure_event(snapshot: &ServiceSnapshot, deployment_id: &str) -> Option<String> {
    let named = format!("(deployment {deployment_id}) deployment failed");
    snapshot
        .events
        .iter()
        .find(|event| event.message.contains(&named))
        .map(|event| {
            let reason = event
                .message
                .split_once("deployment failed")
                .map_or("", |(_, rest)| rest)
                .trim_start_matches([':', ' '])
                .trim_end_matches('.')
                .trim();
            if reason.is_empty() {
                "the circuit breaker failed it".to_string()
            } else {
                reason.to_string()
            }
        })
}

/// Whether `deployment` was created after our deployment (`None` when a time is missing).
fn newer_than_ours(deployment: &Deployment, target: &Target) -> Option<bool> {
    let ours = parse_timestamp(target.created_at.as_deref()?)?;
    let theirs = parse_timestamp(deployment.created_at.as_deref()?)?;
    Some(theirs > ours)
}

/// Whether `deployment` was created before ours (`None` when a time is missing).
/// Whether `deployment` changed after our deployment was created (`None` when a time is
/// missing).
fn updated_since_ours(deployment: &Deployment, target: &Target) -> Option<bool> {
    let ours = parse_timestamp(target.created_at.as_deref()?)?;
    let changed = parse_timestamp(deployment.updated_at.as_deref()?)?;
    Some(changed >= ours)
}

fn older_than_ours(deployment: &Deployment, target: &Target) -> Option<bool> {
    let ours = parse_timestamp(target.created_at.as_deref()?)?;
    let theirs = parse_timestamp(deployment.created_at.as_deref()?)?;
    Some(theirs < ours)
}

/// The first event among `events` saying ECS cannot place a task, created at or after `since`
/// (RFC 3339; events without a time count). An old placement failure is not today's.
pub fn placement_failure<'a>(
    events: &'a [ServiceEvent],
    since: Option<&str>,
) -> Option<&'a ServiceEvent> {
    let since = since.and_then(parse_timestamp);
    events.iter().find(|event| {
        let recent = match (since, event.created_at.as_deref().and_then(parse_timestamp)) {
            (Some(since), Some(at)) => at >= since,
            _ => true,
        };
        recent && is_placement_failure(&event.message)
    })
}

/// Why our listed deployment is no longer PRIMARY; `None` while ECS lists no PRIMARY and the
/// service still points at our revision.
fn displaced(
    target: &Target,
    snapshot: &ServiceSnapshot,
    ours: &Deployment,
    primary: Option<&Deployment>,
) -> Option<Failure> {
    let failed = rollout_state(ours) == Some(FAILED);
    let Some(primary) = primary else {
        if failed {
            return Some(Failure::RolloutFailed {
                deployment_id: ours.id.clone(),
                reason: ours.rollout_state_reason.clone(),
            });
        }
        if snapshot.task_definition.is_empty()
            || same_task_definition(&snapshot.task_definition, &target.task_definition_arn)
        {
            return None;
        }
        return Some(Failure::TaskDefinitionReverted {
            expected: target.task_definition_arn.clone(),
            now_running: snapshot.task_definition.clone(),
        });
    };
    let primary_runs_ours =
        same_task_definition(&primary.task_definition, &target.task_definition_arn);
    if !primary_runs_ours && (failed || is_rollback_announced(snapshot, ours, primary)) {
        return Some(Failure::RolledBack {
            deployment_id: ours.id.clone(),
            reason: ours.rollout_state_reason.clone().filter(|_| failed),
            now_running: primary.task_definition.clone(),
            rollback_deployment_id: Some(primary.id.clone()),
        });
    }
    if failed {
        return Some(Failure::RolloutFailed {
            deployment_id: ours.id.clone(),
            reason: ours.rollout_state_reason.clone(),
        });
    }
    if !primary_runs_ours && created_before(primary, ours) == Some(true) {
        return Some(Failure::TaskDefinitionReverted {
            expected: target.task_definition_arn.clone(),
            now_running: primary.task_definition.clone(),
        });
    }
    // Someone else's newer deployment, or a rollback ECS did not announce: name both.
    Some(Failure::Superseded {
        deployment_id: ours.id.clone(),
        task_definition: ours.task_definition.clone(),
        newer_deployment_id: primary.id.clone(),
        newer_task_definition: primary.task_definition.clone(),
    })
}

/// The circuit breaker's events: "(deployment ecs-svc/…) deployment failed: …" naming ours, and
/// "rolling back to deployment ecs-svc/…" naming the new PRIMARY.
fn is_rollback_announced(
    snapshot: &ServiceSnapshot,
    ours: &Deployment,
    primary: &Deployment,
) -> bool {
    let rolling_back_to = format!("rolling back to deployment {}", primary.id);
    snapshot.events.iter().any(|event| {
        event.message.contains(&rolling_back_to)
            || (event.message.contains(&ours.id) && event.message.contains("deployment failed"))
    })
}

/// `None` when either time is missing or unreadable.
fn created_before(earlier: &Deployment, later: &Deployment) -> Option<bool> {
    let earlier = parse_timestamp(earlier.created_at.as_deref()?)?;
    let later = parse_timestamp(later.created_at.as_deref()?)?;
    Some(earlier < later)
}

fn is_done(target: &Target, snapshot: &ServiceSnapshot, ours: &Deployment) -> bool {
    let others_remain = snapshot.deployments.iter().any(|deployment| {
        deployment.id != ours.id && (deployment.status == PRIMARY || deployment.status == ACTIVE)
    });
    // A new deployment with desired count 0 has not been scaled yet, unless the service is at 0.
    let at_desired_count = ours.running_count == ours.desired_count
        && ours.pending_count == 0
        && (ours.desired_count > 0 || snapshot.desired_count == 0);
    // COMPLETED alone is not enough: ours must also run its desired count, unless the
    // service's early success criteria ask for less, and ECS said COMPLETED (its verdict; it
    // scales ours to 100% and, with DEFERRED cleanup, removes the old tasks afterwards).
    let early_enough = target.early_success.is_some_and(|(percent, deferred)| {
        let needed = (i64::from(ours.desired_count.max(0)) * i64::from(percent) + 99) / 100;
        i64::from(ours.running_count) >= needed && (deferred || !others_remain)
    });
    let stable = match rollout_state(ours) {
        Some(state) => state == COMPLETED && ((!others_remain && at_desired_count) || early_enough),
        None => !others_remain && at_desired_count,
    };
    match target.wait_until {
        // Baking and pausing are judged on the ServiceDeployment; DescribeServices can only
        // say the whole deployment is done.
        WaitUntil::Stable | WaitUntil::BakeTime | WaitUntil::Paused => stable,
        // Running never waits longer than Stable would.
        WaitUntil::Running => stable || at_desired_count,
    }
}

/// ECS events saying tasks cannot be placed (no capacity, no matching container instance).
pub fn is_placement_failure(event_message: &str) -> bool {
    event_message
        .to_ascii_lowercase()
        .contains("unable to place a task")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rollout::fixtures::*;

    fn failure(verdict: Verdict) -> Failure {
        match verdict {
            Verdict::Failed(failure) => failure,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_completed_deployment_alone_succeeds() {
        assert_eq!(
            assess(&target(WaitUntil::Stable), &service(COMPLETED_ALONE)),
            Verdict::Succeeded
        );
        assert_eq!(
            assess(&target(WaitUntil::Running), &service(COMPLETED_ALONE)),
            Verdict::Succeeded
        );
        assert_eq!(
            assess(&target(WaitUntil::Stable), &service(IN_PROGRESS)),
            Verdict::InProgress
        );
    }

    #[test]
    fn a_slow_rollout_stays_in_progress_until_completed_and_alone() {
        let target = target(WaitUntil::Stable);
        for polled in [
            SLOW_STARTED,
            SLOW_STARTED,
            SLOW_HALF_RUNNING,
            SLOW_HALF_RUNNING,
            SLOW_OLD_DRAINING,
        ] {
            assert_eq!(assess(&target, &service(polled)), Verdict::InProgress);
        }
        assert_eq!(
            assess(&target, &service(SLOW_COMPLETED)),
            Verdict::Succeeded
        );
    }

    #[test]
    fn completed_while_an_old_deployment_is_still_listed_is_not_done() {
        let mut snapshot = service(SLOW_OLD_DRAINING);
        snapshot.deployments[0].rollout_state = Some("COMPLETED".into());
        assert_eq!(
            assess(&target(WaitUntil::Stable), &snapshot),
            Verdict::InProgress
        );
        snapshot.deployments[1].status = "INACTIVE".into();
        assert_eq!(
            assess(&target(WaitUntil::Stable), &snapshot),
            Verdict::Succeeded
        );
    }

    #[test]
    fn running_ends_while_the_old_deployment_drains() {
        let target = target(WaitUntil::Running);
        assert_eq!(assess(&target, &service(SLOW_STARTED)), Verdict::InProgress);
        assert_eq!(
            assess(&target, &service(SLOW_HALF_RUNNING)),
            Verdict::InProgress
        );
        assert_eq!(
            assess(&target, &service(SLOW_OLD_DRAINING)),
            Verdict::Succeeded
        );
    }

    #[test]
    fn running_counts_zero_tasks_only_when_the_service_wants_zero() {
        let mut snapshot = service(SLOW_STARTED);
        snapshot.deployments[0].desired_count = 0;
        snapshot.deployments[0].pending_count = 0;
        assert_eq!(
            assess(&target(WaitUntil::Running), &snapshot),
            Verdict::InProgress,
            "the service wants 2: a deployment at 0 has not been scaled yet"
        );
        snapshot.desired_count = 0;
        assert_eq!(
            assess(&target(WaitUntil::Running), &snapshot),
            Verdict::Succeeded
        );
    }

    #[test]
    fn a_failed_rollout_fails_even_while_primary_and_running() {
        for wait_until in [WaitUntil::Stable, WaitUntil::Running] {
            let failure = failure(assess(&target(wait_until), &service(FAILED_NO_ROLLBACK)));
            assert_eq!(
                failure,
                Failure::RolloutFailed {
                    deployment_id: OURS.into(),
                    reason: Some("ECS deployment circuit breaker: tasks failed to start.".into()),
                }
            );
            assert_eq!(
                failure.to_string(),
                "ECS marked deployment ecs-svc/2222222222222222222 FAILED: ECS deployment circuit breaker: tasks failed to start."
            );
        }
        let mut running = service(SLOW_OLD_DRAINING);
        running.deployments[0].rollout_state = Some("FAILED".into());
        assert!(matches!(
            assess(&target(WaitUntil::Running), &running),
            Verdict::Failed(Failure::RolloutFailed { .. })
        ));
    }

    #[test]
    fn a_circuit_breaker_rollback_is_a_failure_naming_the_revision_now_running() {
        let failure = failure(assess(&target(WaitUntil::Stable), &service(ROLLED_BACK)));
        assert_eq!(
            failure,
            Failure::RolledBack {
                deployment_id: OURS.into(),
                reason: Some("ECS deployment circuit breaker: tasks failed to start.".into()),
                now_running:
                    "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:1".into(),
                rollback_deployment_id: Some("ecs-svc/4444444444444444444".into()),
            }
        );
        assert_eq!(
            failure.to_string(),
            "deployment ecs-svc/2222222222222222222 failed and the circuit breaker rolled the service back to tutorial-site-task:1 (deployment ecs-svc/4444444444444444444): ECS deployment circuit breaker: tasks failed to start."
        );
        assert!(matches!(
            assess(&target(WaitUntil::Running), &service(ROLLED_BACK)),
            Verdict::Failed(Failure::RolledBack { .. })
        ));
    }

    #[test]
    fn a_rollback_is_recognised_by_its_events_when_the_rollout_state_lags() {
        let mut snapshot = service(ROLLED_BACK);
        snapshot.deployments[1].rollout_state = Some("IN_PROGRESS".into());
        assert!(matches!(
            failure(assess(&target(WaitUntil::Stable), &snapshot)),
            Failure::RolledBack { reason: None, .. }
        ));
        snapshot.events.clear();
        assert!(
            matches!(
                failure(assess(&target(WaitUntil::Stable), &snapshot)),
                Failure::Superseded { .. }
            ),
            "without any sign of the circuit breaker, name both deployments"
        );
    }

    #[test]
    fn someone_elses_newer_deployment_names_both_deployments() {
        let failure = failure(assess(&target(WaitUntil::Stable), &service(SUPERSEDED)));
        assert_eq!(
            failure.to_string(),
            "another deployment, ecs-svc/3333333333333333333 of tutorial-site-task:3, became PRIMARY before ours (ecs-svc/2222222222222222222 of tutorial-site-task:2) finished"
        );
    }

    #[test]
    fn a_newer_deployment_of_an_older_revision_may_be_a_rollback() {
        let mut snapshot = service(SUPERSEDED);
        snapshot.deployments[0].task_definition =
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:1".into();
        let message = failure(assess(&target(WaitUntil::Stable), &snapshot)).to_string();
        assert!(
            message.contains("ecs-svc/3333333333333333333 of tutorial-site-task:1"),
            "{message}"
        );
        assert!(
            message.ends_with("it runs an older revision, so it may be a rollback"),
            "{message}"
        );
    }

    #[test]
    fn an_older_deployment_primary_again_is_a_revert() {
        let mut snapshot = service(SLOW_HALF_RUNNING);
        snapshot.deployments[0].status = "ACTIVE".into();
        snapshot.deployments[1].status = "PRIMARY".into();
        let failure = failure(assess(&target(WaitUntil::Stable), &snapshot));
        assert_eq!(
            failure.to_string(),
            "the service went back to tutorial-site-task:1 instead of tutorial-site-task:2"
        );
    }

    #[test]
    fn our_deployment_vanishing_is_a_failure() {
        let mut snapshot = service(SLOW_HALF_RUNNING);
        snapshot.deployments.remove(0);
        snapshot.deployments[0].status = "PRIMARY".into();
        assert_eq!(
            failure(assess(&target(WaitUntil::Stable), &snapshot)).to_string(),
            "deployment ecs-svc/2222222222222222222 is no longer listed by ECS and the service runs tutorial-site-task:1"
        );
    }

    #[test]
    fn a_primary_of_another_revision_with_our_id_never_succeeds() {
        let mut target = target(WaitUntil::Stable);
        target.task_definition_arn =
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:7".into();
        assert!(matches!(
            assess(&target, &service(SLOW_COMPLETED)),
            Verdict::Failed(Failure::TaskDefinitionReverted { .. })
        ));
    }

    #[test]
    fn a_service_that_is_not_active_fails() {
        let failure = failure(assess(&target(WaitUntil::Stable), &service(INACTIVE)));
        assert_eq!(
            failure.to_string(),
            "the service is INACTIVE: it was deleted"
        );
        let mut draining = service(SLOW_HALF_RUNNING);
        draining.status = "DRAINING".into();
        assert_eq!(
            assess(&target(WaitUntil::Running), &draining),
            Verdict::Failed(Failure::ServiceNotActive {
                status: "DRAINING".into()
            })
        );
        assert_eq!(
            Failure::ServiceMissing {
                service_name: "tutorial-site-service".into()
            }
            .to_string(),
            "service tutorial-site-service no longer exists"
        );
    }

    /// Issue 19: with early success criteria (DeploymentEarlySuccessCriteria, ECS API
    /// reference: "After this percentage of tasks is healthy and the bake time elapses, Amazon
    /// ECS completes the deployment. Amazon ECS continues to scale the target service revision
    /// to 100 percent in the background"), ECS's COMPLETED with half of the tasks running is
    /// done when the service asked for 50%, the old tasks still there with DEFERRED cleanup;
    /// IN_PROGRESS is never done, nor COMPLETED below the percent.
    #[test]
    fn early_success_criteria_end_the_wait_at_ecs_completed_with_fewer_tasks() {
        let mut half = service(SLOW_HALF_RUNNING);
        half.deployments[0].rollout_state = Some("COMPLETED".into());
        half.deployments[0].pending_count = 1;
        let mut target = target(WaitUntil::Stable);
        assert_eq!(
            assess(&target, &half),
            Verdict::InProgress,
            "no criteria: 100% and alone"
        );
        target.early_success = Some((50, true));
        assert_eq!(assess(&target, &half), Verdict::Succeeded);
        target.early_success = Some((50, false));
        assert_eq!(
            assess(&target, &half),
            Verdict::InProgress,
            "BLOCKING: the old tasks go first"
        );
        half.deployments.truncate(1);
        assert_eq!(assess(&target, &half), Verdict::Succeeded);
        target.early_success = Some((100, true));
        assert_eq!(assess(&target, &half), Verdict::InProgress);
        let mut in_progress = service(SLOW_HALF_RUNNING);
        in_progress.deployments.truncate(1);
        target.early_success = Some((50, true));
        assert_eq!(assess(&target, &in_progress), Verdict::InProgress);
        assert_eq!(
            early_success_of(Some(
                &serde_json::json!({"earlySuccessCriteria": {"enable": true, "healthyPercent": 50, "sourceServiceRevisionCleanup": "DEFERRED"}})
            )),
            Some((50, true))
        );
        assert_eq!(
            early_success_of(Some(
                &serde_json::json!({"earlySuccessCriteria": {"enable": false, "healthyPercent": 50}})
            )),
            None
        );
    }

    /// Issue 19: ECS's wording never decides alone. An answer from before our UpdateService
    /// (ours not listed yet) whose PRIMARY still carries the reason of an earlier circuit-breaker
    /// rollback is not a rollback of ours: it is waited through. The same PRIMARY changed after
    /// ours was created is.
    #[test]
    fn an_old_rollback_reason_in_a_stale_answer_is_not_ours() {
        let mut stale = service(COMPLETED_ALONE);
        stale.deployments[0].id = "ecs-svc/1111111111111111111".into();
        stale.deployments[0].task_definition =
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:1".into();
        stale.deployments[0].rollout_state_reason =
            Some("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.".into());
        stale.deployments[0].created_at = Some("2026-11-23T08:59:00.000000+00:00".into());
        stale.deployments[0].updated_at = Some("2026-11-23T09:10:00.000000+00:00".into());
        stale.events.clear();
        let target = target(WaitUntil::Stable);
        assert_eq!(
            assess_within_grace(&target, &stale, true),
            Verdict::NotListedYet
        );
        let mut now = stale.clone();
        now.deployments[0].updated_at = Some("2026-11-24T10:01:00.000000+00:00".into());
        assert!(matches!(
            assess_within_grace(&target, &now, true),
            Verdict::Failed(Failure::RolledBack { .. })
        ));
    }

    #[test]
    fn without_rollout_state_one_deployment_at_desired_count_is_done() {
        assert_eq!(
            assess(&target(WaitUntil::Stable), &service(NO_ROLLOUT_STATE_ALONE)),
            Verdict::Succeeded
        );
        assert_eq!(
            assess(&target(WaitUntil::Stable), &service(NO_ROLLOUT_STATE)),
            Verdict::InProgress,
            "the old deployment is still listed"
        );
        let mut pending = service(NO_ROLLOUT_STATE_ALONE);
        pending.deployments[0].running_count = 0;
        pending.deployments[0].pending_count = 1;
        assert_eq!(
            assess(&target(WaitUntil::Stable), &pending),
            Verdict::InProgress
        );
        assert_eq!(
            assess(&target(WaitUntil::Running), &service(NO_ROLLOUT_STATE)),
            Verdict::Succeeded
        );
    }

    #[test]
    fn placement_failures_are_recognised() {
        let snapshot = service(PLACEMENT_FAILURE);
        assert!(snapshot
            .events
            .iter()
            .take(2)
            .all(|event| is_placement_failure(&event.message)));
        assert!(!is_placement_failure(&snapshot.events[2].message));
        assert!(!service(SLOW_COMPLETED)
            .events
            .iter()
            .any(|event| is_placement_failure(&event.message)));
    }
}
