//! Decides whether the ECS rolling deployment deployer started is done, failed or still going, and
//! what to print while it goes: the judgement the AWS waiter cannot make.
use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Deserialize;

const PRIMARY: &str = "PRIMARY";
const ACTIVE: &str = "ACTIVE";
const COMPLETED: &str = "COMPLETED";
const FAILED: &str = "FAILED";

/// A service as DescribeServices shows it (the AWS CLI's JSON shape deserializes into it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSnapshot {
    #[serde(default)]
    pub service_name: String,
    #[serde(default)]
    pub service_arn: Option<String>,
    /// ACTIVE, DRAINING or INACTIVE.
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
    /// Newest first, as ECS lists them.
    #[serde(default)]
    pub events: Vec<ServiceEvent>,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancer>,
    /// The ARN of the service's current ServiceDeployment; absent where ECS (or an emulator)
    /// does not report service deployments.
    #[serde(default)]
    pub current_service_deployment: Option<String>,
}

/// A load balancer the service registers its tasks with (DescribeServices `loadBalancers`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    /// ALB or NLB target group; `None` for a Classic Load Balancer.
    #[serde(default)]
    pub target_group_arn: Option<String>,
    #[serde(default)]
    pub container_name: String,
    #[serde(default)]
    pub container_port: i32,
}

/// A registered target and its health, as DescribeTargetHealth answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    /// An IP address (awsvpc tasks) or an EC2 instance id (bridge and host network modes).
    pub id: String,
    pub port: Option<i32>,
    /// initial, healthy, unhealthy, unused, draining, unavailable, …
    pub state: String,
    pub reason: Option<String>,
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
    /// RFC 3339.
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

/// A task as DescribeTasks shows it once stopped.
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

/// A task ECS wants running, as DescribeTasks shows it: what `--wait-until running` checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningTask {
    pub task_arn: String,
    pub task_definition_arn: String,
    /// The deployment id for a service's tasks.
    pub started_by: Option<String>,
    /// PROVISIONING, PENDING, ACTIVATING, RUNNING, …
    pub last_status: String,
    /// HEALTHY, UNHEALTHY or UNKNOWN.
    pub health_status: Option<String>,
    /// Each container's name and health status (UNKNOWN without a health check).
    pub containers: Vec<(String, String)>,
    /// The task's ENI address (awsvpc): its load-balancer target id.
    pub private_ip: Option<String>,
    /// Bridge and host network modes: the container instance, and each container's
    /// (name, container port, host port) bindings, which make its target.
    pub container_instance_arn: Option<String>,
    pub host_ports: Vec<(String, i32, i32)>,
}

/// Whether our deployment's tasks are all running and healthy: `Err` says what is not yet.
/// `health_checked` names the containers whose definition has a health check; theirs must be
/// HEALTHY (ECS reports UNKNOWN both before the first check and without one).
pub fn tasks_ready(
    tasks: &[RunningTask],
    target: &Target,
    desired: i32,
    health_checked: &[String],
) -> Result<(), String> {
    let ours = ours(tasks, target);
    if (ours.len() as i32) < desired {
        return Err(format!(
            "{} of {desired} tasks of ours are listed",
            ours.len()
        ));
    }
    for task in ours {
        let id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
        if task.last_status != "RUNNING" {
            return Err(format!("task {id} is {}", task.last_status));
        }
        for (name, health) in &task.containers {
            if health == "UNHEALTHY" || (health_checked.contains(name) && health != "HEALTHY") {
                return Err(format!(
                    "container {name} of task {id} is {}",
                    if health.is_empty() {
                        "not checked yet"
                    } else {
                        health
                    }
                ));
            }
        }
    }
    Ok(())
}

/// The tasks of our deployment (`startedBy` is a service task's deployment id).
pub fn ours<'a>(tasks: &'a [RunningTask], target: &Target) -> Vec<&'a RunningTask> {
    tasks
        .iter()
        .filter(|task| match &task.started_by {
            Some(started_by) if started_by.starts_with("ecs-svc/") => {
                *started_by == target.deployment_id
            }
            _ => same_task_definition(&task.task_definition_arn, &target.task_definition_arn),
        })
        .collect()
}

/// Whether every task of ours is a healthy target of every target group of the service:
/// `Err` says which is not yet. `health` holds DescribeTargetHealth per target group;
/// `instances` maps container instance ARNs to EC2 instance ids (bridge and host modes).
pub fn targets_ready(
    ours: &[&RunningTask],
    load_balancers: &[LoadBalancer],
    health: &BTreeMap<String, Vec<TargetHealth>>,
    instances: &BTreeMap<String, String>,
) -> Result<(), String> {
    for balancer in load_balancers {
        let Some(group) = &balancer.target_group_arn else {
            continue;
        };
        // `…:targetgroup/NAME/ID` reads as NAME.
        let group_name = group
            .split_once("targetgroup/")
            .and_then(|(_, rest)| rest.split('/').next())
            .unwrap_or(group);
        let registered = health.get(group).map(Vec::as_slice).unwrap_or_default();
        for task in ours {
            let id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
            let (target_id, port) = match &task.private_ip {
                Some(ip) => (ip.clone(), balancer.container_port),
                None => {
                    let instance = task
                        .container_instance_arn
                        .as_ref()
                        .and_then(|arn| instances.get(arn))
                        .ok_or_else(|| {
                            format!("task {id} has no address or instance for {group_name} yet")
                        })?;
                    let host_port = task
                        .host_ports
                        .iter()
                        .find(|(name, container_port, _)| {
                            *name == balancer.container_name
                                && *container_port == balancer.container_port
                        })
                        .map(|(_, _, host_port)| *host_port)
                        .ok_or_else(|| {
                            format!(
                                "task {id} has no host port for {}:{} yet",
                                balancer.container_name, balancer.container_port
                            )
                        })?;
                    (instance.clone(), host_port)
                }
            };
            let described = registered
                .iter()
                .find(|health| health.id == target_id && health.port.is_none_or(|p| p == port));
            match described {
                Some(health) if health.state == "healthy" => {}
                Some(health) => {
                    return Err(format!(
                        "target {target_id}:{port} of task {id} in {group_name} is {}{}",
                        health.state,
                        health
                            .reason
                            .as_deref()
                            .map_or(String::new(), |reason| format!(" ({reason})"))
                    ))
                }
                None => {
                    return Err(format!(
                        "task {id} is not registered in {group_name} yet ({target_id}:{port})"
                    ))
                }
            }
        }
    }
    Ok(())
}

/// When the wait may end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitUntil {
    /// Our deployment COMPLETED and the old ones are gone.
    Stable,
    /// Our revision runs its desired count, every task of it RUNNING and healthy, and has for
    /// the settle time; old tasks may still drain.
    Running,
    /// Production traffic is on our revision and it bakes (blue/green, linear and canary
    /// deployments; only the ServiceDeployment API tells).
    BakeTime,
    /// Our deployment waits at a PAUSE lifecycle hook for ContinueServiceDeployment.
    Paused,
}

/// The deployment we started: the PRIMARY deployment id UpdateService answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub deployment_id: String,
    pub task_definition_arn: String,
    pub wait_until: WaitUntil,
    /// Our deployment's `createdAt` as ECS answered it (RFC 3339): events and deployments
    /// older than this are history.
    pub created_at: Option<String>,
    /// The service's early success criteria, when enabled: the healthy percent of the desired
    /// count at which ECS completes the deployment, and whether the old tasks may still run
    /// then (DEFERRED cleanup).
    pub early_success: Option<(u8, bool)>,
}

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

/// `family:revision` of a task-definition ARN (other references are returned as they are).
pub fn short_task_definition(arn: &str) -> &str {
    arn.rsplit_once(":task-definition/")
        .map_or(arn, |(_, short)| short)
}

/// The family a task definition ARN (or `family:revision`) names.
pub fn family_of(task_definition: &str) -> &str {
    let short = short_task_definition(task_definition);
    match short.rsplit_once(':') {
        Some((family, revision)) if revision.chars().all(|c| c.is_ascii_digit()) => family,
        _ => short,
    }
}

/// Checks a task definition as a flag names it: an ARN, `FAMILY:REVISION` or `FAMILY`, the
/// family of letters, digits, `-` and `_` (up to 255), the revision a number from 1.
pub fn check_task_definition_reference(value: &str) -> Result<(), String> {
    let forms = "give an ARN, FAMILY:REVISION or FAMILY";
    let short = short_task_definition(value);
    let (family, revision) = match short.split_once(':') {
        Some((family, revision)) => (family, Some(revision)),
        None => (short, None),
    };
    let family_ok = !family.is_empty()
        && family.len() <= 255
        && family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !family_ok {
        return Err(format!(
            "{value:?} is not a task definition: the family takes letters, digits, '-' and '_' ({forms})"
        ));
    }
    if let Some(revision) = revision {
        if !matches!(revision.parse::<u32>(), Ok(number) if number > 0) {
            return Err(format!(
                "{value:?} is not a task definition: the revision after ':' must be a number from 1 ({forms})"
            ));
        }
    }
    Ok(())
}

/// Full ARNs and `family:revision` (as some emulators answer) compare equal when they name the
/// same revision.
pub fn same_task_definition(left: &str, right: &str) -> bool {
    left == right || short_task_definition(left) == short_task_definition(right)
}

fn family_and_revision(task_definition: &str) -> Option<(&str, u32)> {
    let (family, revision) = short_task_definition(task_definition).rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

fn is_older_revision(candidate: &str, reference: &str) -> bool {
    match (
        family_and_revision(candidate),
        family_and_revision(reference),
    ) {
        (Some((family, revision)), Some((reference_family, reference_revision))) => {
            family == reference_family && revision < reference_revision
        }
        _ => false,
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

/// Some emulators answer an empty rollout state rather than none.
fn rollout_state(deployment: &Deployment) -> Option<&str> {
    deployment
        .rollout_state
        .as_deref()
        .filter(|state| !state.is_empty())
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

/// Seconds since the Unix epoch and nanoseconds of an RFC 3339 time such as
/// `2026-11-24T10:00:05.123456+00:00` or `2026-11-24T10:00:05Z`. Compared as text, times with and
/// without fractions or with other offsets would sort wrongly.
pub fn parse_timestamp(text: &str) -> Option<(i64, u32)> {
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: i64 = date_parts.next()?.parse().ok()?;
    let day: i64 = date_parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, offset_seconds) = match time.strip_suffix(['Z', 'z']) {
        Some(clock) => (clock, 0),
        None => {
            let sign_at = time.rfind(['+', '-'])?;
            let (clock, offset) = time.split_at(sign_at);
            let (hours, minutes) = offset[1..].split_once(':')?;
            let magnitude = hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60;
            (
                clock,
                if offset.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                },
            )
        }
    };
    let (whole, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut clock_parts = whole.splitn(3, ':');
    let hour: i64 = clock_parts.next()?.parse().ok()?;
    let minute: i64 = clock_parts.next()?.parse().ok()?;
    let second: i64 = clock_parts.next()?.parse().ok()?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let nanoseconds = format!("{:0<9}", &fraction[..fraction.len().min(9)])
        .parse()
        .ok()?;
    // Days from the civil date (Howard Hinnant's algorithm), years starting in March.
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some((seconds, nanoseconds))
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

    #[test]
    fn task_definition_references_are_checked_before_ecs_is_asked() {
        for good in [
            "tutorial-site-task",
            "tutorial-site-task:7",
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:7",
        ] {
            assert!(check_task_definition_reference(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            (
                "tutorial-site-task:abc",
                "the revision after ':' must be a number",
            ),
            (
                "tutorial-site-task:0",
                "the revision after ':' must be a number",
            ),
            (
                "tutorial-site-task:",
                "the revision after ':' must be a number",
            ),
            ("tutorial site", "the family takes letters"),
            ("", "the family takes letters"),
        ] {
            let error = check_task_definition_reference(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    const OURS: &str = "ecs-svc/2222222222222222222";
    const NEW: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:2";

    const SLOW_BEFORE: &str = include_str!("../../tests/fixtures/rollout/slow-0-before.json");
    const SLOW_STARTED: &str = include_str!("../../tests/fixtures/rollout/slow-1-started.json");
    const SLOW_HALF_RUNNING: &str =
        include_str!("../../tests/fixtures/rollout/slow-2-half-running.json");
    const SLOW_OLD_DRAINING: &str =
        include_str!("../../tests/fixtures/rollout/slow-3-old-draining.json");
    const SLOW_COMPLETED: &str = include_str!("../../tests/fixtures/rollout/slow-4-completed.json");
    const IN_PROGRESS: &str = include_str!("../../tests/fixtures/rollout/in-progress.json");
    const COMPLETED_ALONE: &str = include_str!("../../tests/fixtures/rollout/completed.json");
    const ROLLED_BACK: &str = include_str!("../../tests/fixtures/rollout/rolled-back.json");
    const FAILED_NO_ROLLBACK: &str =
        include_str!("../../tests/fixtures/rollout/failed-no-rollback.json");
    const SUPERSEDED: &str = include_str!("../../tests/fixtures/rollout/superseded.json");
    const INACTIVE: &str = include_str!("../../tests/fixtures/rollout/inactive.json");
    const NO_ROLLOUT_STATE: &str =
        include_str!("../../tests/fixtures/rollout/no-rollout-state.json");
    const NO_ROLLOUT_STATE_ALONE: &str =
        include_str!("../../tests/fixtures/rollout/no-rollout-state-alone.json");
    const PLACEMENT_FAILURE: &str =
        include_str!("../../tests/fixtures/rollout/placement-failure.json");
    const STOPPED_TASKS: &str = include_str!("../../tests/fixtures/rollout/stopped-tasks.json");

    /// `services[0]` of an `aws ecs describe-services` answer.
    fn service(describe_services: &str) -> ServiceSnapshot {
        let answer: serde_json::Value = serde_json::from_str(describe_services).unwrap();
        serde_json::from_value(answer["services"][0].clone()).unwrap()
    }

    fn target(wait_until: WaitUntil) -> Target {
        Target {
            early_success: None,
            deployment_id: OURS.into(),
            task_definition_arn: NEW.into(),
            wait_until,
            created_at: Some("2026-11-24T10:00:00.000000+00:00".into()),
        }
    }

    fn failure(verdict: Verdict) -> Failure {
        match verdict {
            Verdict::Failed(failure) => failure,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn fixtures_deserialize_with_unknown_keys_ignored() {
        let snapshot = service(SLOW_STARTED);
        assert_eq!(snapshot.service_name, "tutorial-site-service");
        assert_eq!(snapshot.task_definition, NEW);
        assert_eq!((snapshot.desired_count, snapshot.running_count), (2, 2));
        let ours = &snapshot.deployments[0];
        assert_eq!(ours.id, OURS);
        assert_eq!(ours.rollout_state.as_deref(), Some("IN_PROGRESS"));
        assert_eq!(
            ours.created_at.as_deref(),
            Some("2026-11-24T10:00:00.000000+00:00")
        );
        assert_eq!(snapshot.events.len(), 2);
        assert_eq!(
            service(NO_ROLLOUT_STATE_ALONE).deployments[0].rollout_state,
            None
        );
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

    fn task(id: &str, private_ip: Option<&str>) -> RunningTask {
        RunningTask {
            task_arn: format!("arn:aws:ecs:eu-west-1:123456789012:task/tutorial-site-cluster/{id}"),
            task_definition_arn: NEW.into(),
            started_by: Some(OURS.into()),
            last_status: "RUNNING".into(),
            health_status: Some("HEALTHY".into()),
            containers: vec![("tutorial-site-app".into(), "HEALTHY".into())],
            private_ip: private_ip.map(str::to_string),
            container_instance_arn: Some(
                "arn:aws:ecs:eu-west-1:123456789012:container-instance/tutorial-site-cluster/ci-1"
                    .into(),
            ),
            host_ports: vec![("tutorial-site-app".into(), 3000, 32768)],
        }
    }

    const GROUP: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tutorial-site-tg/6d0ecf831eec9f09";

    fn balancers() -> Vec<LoadBalancer> {
        vec![LoadBalancer {
            target_group_arn: Some(GROUP.into()),
            container_name: "tutorial-site-app".into(),
            container_port: 3000,
        }]
    }

    fn health(
        id: &str,
        port: i32,
        state: &str,
        reason: Option<&str>,
    ) -> BTreeMap<String, Vec<TargetHealth>> {
        BTreeMap::from([(
            GROUP.to_string(),
            vec![TargetHealth {
                id: id.into(),
                port: Some(port),
                state: state.into(),
                reason: reason.map(str::to_string),
            }],
        )])
    }

    #[test]
    fn awsvpc_tasks_are_ready_when_their_ip_target_is_healthy() {
        let tasks = [task("0a1b", Some("10.0.1.17"))];
        let ours: Vec<&RunningTask> = tasks.iter().collect();
        let none = BTreeMap::new();
        assert_eq!(
            targets_ready(
                &ours,
                &balancers(),
                &health("10.0.1.17", 3000, "healthy", None),
                &none
            ),
            Ok(())
        );
        assert_eq!(
            targets_ready(
                &ours,
                &balancers(),
                &health("10.0.1.17", 3000, "initial", Some("Elb.RegistrationInProgress")),
                &none
            ),
            Err("target 10.0.1.17:3000 of task 0a1b in tutorial-site-tg is initial (Elb.RegistrationInProgress)".into())
        );
        let elsewhere = targets_ready(
            &ours,
            &balancers(),
            &health("10.0.9.9", 3000, "healthy", None),
            &none,
        );
        assert!(elsewhere.unwrap_err().contains("not registered"));
        // A Classic Load Balancer has no target group to ask.
        let classic = vec![LoadBalancer {
            target_group_arn: None,
            container_name: "tutorial-site-app".into(),
            container_port: 3000,
        }];
        assert_eq!(
            targets_ready(&ours, &classic, &BTreeMap::new(), &none),
            Ok(())
        );
    }

    #[test]
    fn bridge_tasks_are_targets_by_instance_and_host_port() {
        let tasks = [task("0a1b", None)];
        let ours: Vec<&RunningTask> = tasks.iter().collect();
        let instances = BTreeMap::from([(
            "arn:aws:ecs:eu-west-1:123456789012:container-instance/tutorial-site-cluster/ci-1"
                .to_string(),
            "i-0123456789abcdef0".to_string(),
        )]);
        assert_eq!(
            targets_ready(
                &ours,
                &balancers(),
                &health("i-0123456789abcdef0", 32768, "healthy", None),
                &instances
            ),
            Ok(())
        );
        let wrong_port = targets_ready(
            &ours,
            &balancers(),
            &health("i-0123456789abcdef0", 3000, "healthy", None),
            &instances,
        );
        assert!(wrong_port.is_err());
        let unknown_instance = targets_ready(
            &ours,
            &balancers(),
            &health("i-0123456789abcdef0", 32768, "healthy", None),
            &BTreeMap::new(),
        );
        assert!(unknown_instance
            .unwrap_err()
            .contains("no address or instance"));
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

    #[test]
    fn task_definitions_are_shortened_to_family_and_revision() {
        assert_eq!(short_task_definition(NEW), "tutorial-site-task:2");
        assert_eq!(
            short_task_definition("tutorial-site-task:2"),
            "tutorial-site-task:2"
        );
        assert!(same_task_definition(NEW, "tutorial-site-task:2"));
        assert!(!same_task_definition(NEW, "tutorial-site-task:20"));
    }

    #[test]
    fn timestamps_compare_as_times_not_text() {
        let utc = parse_timestamp("2026-11-24T10:00:00Z").unwrap();
        assert_eq!(utc, (1_795_514_400, 0));
        assert_eq!(
            parse_timestamp("2026-11-24T10:00:00.000000+00:00"),
            Some(utc)
        );
        assert_eq!(parse_timestamp("2026-11-24T11:00:00+01:00"), Some(utc));
        assert!(parse_timestamp("2026-11-24T10:00:00.5Z").unwrap() > utc);
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            parse_timestamp("2024-02-29T00:00:00Z"),
            Some((1_709_164_800, 0))
        );
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2026-13-01T00:00:00Z"), None);
    }
}
