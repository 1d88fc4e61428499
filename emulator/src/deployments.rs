//! Service deployments as the ServiceDeployment API reports them (Describe, Stop, Continue), and
//! the native BLUE_GREEN, LINEAR and CANARY strategies: the lifecycle stages in order, their
//! lifecycle hooks, traffic weights and bake times, driven by the runner on the same state the
//! API reads, so every answer tells where a deployment is.
use serde_json::{json, Value};

use crate::protocol::{rand_id, required, Answer, ApiError};
use crate::state::{now, strategy_of, Deployment, HookRun, Rollback, Service, State};
use crate::Settings;

/// Statuses of a deployment ECS still drives.
const ONGOING: &[&str] = &[
    "PENDING",
    "IN_PROGRESS",
    "STOP_REQUESTED",
    "ROLLBACK_REQUESTED",
    "ROLLBACK_IN_PROGRESS",
];

pub fn is_ongoing(status: &str) -> bool {
    ONGOING.contains(&status)
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::client("InvalidParameterException", message)
}

fn number_in(
    value: &Value,
    name: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<(), ApiError> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(()),
        Some(number) => match number.as_f64() {
            Some(n) if range.contains(&n) => Ok(()),
            _ => Err(invalid(format!(
                "{name} must be between {} and {}.",
                range.start(),
                range.end()
            ))),
        },
    }
}

/// Checks a `deploymentConfiguration` against the service's `loadBalancers` as CreateService and
/// UpdateService do: a known strategy, values in their ranges, and for the strategies that shift
/// traffic, each target group's `advancedConfiguration` (the alternate target group, the
/// production listener rule and the role ECS shifts traffic with).
pub fn validate_configuration(
    configuration: &Value,
    load_balancers: &Value,
) -> Result<(), ApiError> {
    let strategy = strategy_of(configuration);
    if !["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"].contains(&strategy) {
        return Err(invalid(format!(
            "Invalid deployment strategy {strategy}. Valid values are ROLLING, BLUE_GREEN, LINEAR and CANARY."
        )));
    }
    number_in(configuration, "bakeTimeInMinutes", 0.0..=1440.0)?;
    let linear = &configuration["linearConfiguration"];
    number_in(linear, "stepPercent", 3.0..=100.0)?;
    number_in(linear, "stepBakeTimeInMinutes", 0.0..=1440.0)?;
    let canary = &configuration["canaryConfiguration"];
    number_in(canary, "canaryPercent", 0.1..=100.0)?;
    number_in(canary, "canaryBakeTimeInMinutes", 0.0..=1440.0)?;
    if !linear.is_null() && strategy != "LINEAR" {
        return Err(invalid(
            "linearConfiguration is only valid with the LINEAR deployment strategy.",
        ));
    }
    if !canary.is_null() && strategy != "CANARY" {
        return Err(invalid(
            "canaryConfiguration is only valid with the CANARY deployment strategy.",
        ));
    }
    for hook in configuration["lifecycleHooks"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let target = hook["targetType"].as_str().unwrap_or("AWS_LAMBDA");
        if !["AWS_LAMBDA", "PAUSE"].contains(&target) {
            return Err(invalid(format!(
                "Invalid lifecycle hook targetType {target}."
            )));
        }
        if target == "AWS_LAMBDA" && hook["hookTargetArn"].as_str().is_none_or(str::is_empty) {
            return Err(invalid(
                "hookTargetArn is required for an AWS_LAMBDA lifecycle hook.",
            ));
        }
        let stages = hook["lifecycleStages"].as_array().filter(|s| !s.is_empty());
        let Some(stages) = stages else {
            return Err(invalid("lifecycleStages must not be empty."));
        };
        if let Some(stage) = stages
            .iter()
            .filter_map(Value::as_str)
            .find(|stage| !HOOK_STAGES.contains(stage))
        {
            return Err(invalid(format!("Invalid lifecycle stage {stage}.")));
        }
        let action = hook["timeoutConfiguration"]["action"]
            .as_str()
            .unwrap_or("ROLLBACK");
        if !["CONTINUE", "ROLLBACK"].contains(&action) {
            return Err(invalid(format!("Invalid timeout action {action}.")));
        }
        // "Valid Range: Minimum value of 1. Maximum value of 20160."
        // (DeploymentLifecycleHookTimeoutConfiguration, ECS API reference)
        number_in(
            &hook["timeoutConfiguration"],
            "timeoutInMinutes",
            1.0..=20160.0,
        )?;
    }
    if strategy == "ROLLING" {
        return Ok(());
    }
    let entries: Vec<&Value> = load_balancers.as_array().into_iter().flatten().collect();
    if entries.is_empty() && strategy != "BLUE_GREEN" {
        return Err(invalid(format!(
            "The {strategy} deployment strategy requires a load balancer or Service Connect."
        )));
    }
    for entry in entries {
        if entry.get("targetGroupArn").is_none() {
            continue;
        }
        let advanced = &entry["advancedConfiguration"];
        for member in [
            "alternateTargetGroupArn",
            "productionListenerRule",
            "roleArn",
        ] {
            if advanced[member].as_str().is_none_or(str::is_empty) {
                return Err(invalid(format!(
                    "advancedConfiguration.{member} is required for the {strategy} deployment strategy."
                )));
            }
        }
    }
    Ok(())
}

/// The stages lifecycle hooks run at.
const HOOK_STAGES: &[&str] = &[
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
];

/// What a phase of a native deployment does before its hooks run.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Nothing,
    /// Start the new revision's tasks; done when all run healthy.
    ScaleUp,
    /// Send all test traffic to the new revision.
    TestTraffic,
    /// The new revision's share of production traffic, in percent.
    Production(f64),
    /// Wait this many minutes (a step's or the deployment's bake time).
    Wait(f64),
    /// Stop the old revision's tasks; done when none is left.
    CleanUp,
}

/// One phase: the lifecycle stage it reports, its action, then the hooks of `hooks` run.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub stage: &'static str,
    pub action: Action,
    pub hooks: Option<&'static str>,
}

fn phase(stage: &'static str, action: Action, hooks: Option<&'static str>) -> Phase {
    Phase {
        stage,
        action,
        hooks,
    }
}

/// The production traffic steps of a strategy: the new revision's weight after each, and the
/// minutes to wait after it.
pub fn traffic_steps(configuration: &Value) -> Vec<(f64, f64)> {
    match strategy_of(configuration) {
        "LINEAR" => {
            let linear = &configuration["linearConfiguration"];
            let step = linear["stepPercent"].as_f64().unwrap_or(10.0);
            let wait = linear["stepBakeTimeInMinutes"].as_f64().unwrap_or(6.0);
            let mut steps = Vec::new();
            let mut weight: f64 = 0.0;
            while weight < 100.0 {
                weight = (weight + step).min(100.0);
                steps.push((weight, if weight < 100.0 { wait } else { 0.0 }));
            }
            steps
        }
        "CANARY" => {
            let canary = &configuration["canaryConfiguration"];
            let percent = canary["canaryPercent"].as_f64().unwrap_or(5.0);
            let wait = canary["canaryBakeTimeInMinutes"].as_f64().unwrap_or(10.0);
            vec![(percent, wait), (100.0, 0.0)]
        }
        _ => vec![(100.0, 0.0)],
    }
}

/// Every phase of a native deployment, in order.
pub fn phases(configuration: &Value) -> Vec<Phase> {
    let mut list = vec![
        phase("PRE_SCALE_UP", Action::Nothing, Some("PRE_SCALE_UP")),
        phase("SCALE_UP", Action::ScaleUp, None),
        phase("POST_SCALE_UP", Action::Nothing, Some("POST_SCALE_UP")),
        phase(
            "TEST_TRAFFIC_SHIFT",
            Action::TestTraffic,
            Some("TEST_TRAFFIC_SHIFT"),
        ),
        phase(
            "POST_TEST_TRAFFIC_SHIFT",
            Action::Nothing,
            Some("POST_TEST_TRAFFIC_SHIFT"),
        ),
    ];
    for (weight, wait) in traffic_steps(configuration) {
        list.push(phase(
            "PRODUCTION_TRAFFIC_SHIFT",
            Action::Nothing,
            Some("PRE_PRODUCTION_TRAFFIC_SHIFT"),
        ));
        list.push(phase(
            "PRODUCTION_TRAFFIC_SHIFT",
            Action::Production(weight),
            Some("PRODUCTION_TRAFFIC_SHIFT"),
        ));
        if wait > 0.0 {
            list.push(phase("PRODUCTION_TRAFFIC_SHIFT", Action::Wait(wait), None));
        }
    }
    let bake = configuration["bakeTimeInMinutes"].as_f64().unwrap_or(0.0);
    list.push(phase(
        "POST_PRODUCTION_TRAFFIC_SHIFT",
        Action::Nothing,
        Some("POST_PRODUCTION_TRAFFIC_SHIFT"),
    ));
    list.push(phase("BAKE_TIME", Action::Wait(bake), None));
    list.push(phase("CLEAN_UP", Action::CleanUp, None));
    list
}

/// Whether the runner drives this deployment through the native phases: a BLUE_GREEN, LINEAR
/// or CANARY deployment with an older revision to shift from, not being rolled back to.
pub fn is_native(deployment: &Deployment) -> bool {
    strategy_of(&deployment.configuration) != "ROLLING"
        && !deployment.source_revisions.is_empty()
        && !deployment.rolling_back
}

/// What the runner is to do for a native deployment after one step.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    /// New-revision tasks to start.
    pub launch: i64,
    /// Stop every task of the older revisions.
    pub clean_up: bool,
    /// Roll back, for this reason.
    pub roll_back: Option<String>,
    /// The deployment ended SUCCESSFUL.
    pub succeeded: bool,
}

/// The live tasks of the new revision and of the older ones, as the runner counts them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tasks {
    pub new_healthy: i64,
    pub new_live: i64,
    pub old_live: i64,
}

/// Moves a native deployment on as far as it can go now: enters phases, does their actions,
/// starts their hooks, times hooks out, and says what the runner must do. Pure: the runner
/// passes the tasks it counted and the time.
pub fn advance(settings: &Settings, deployment: &mut Deployment, tasks: Tasks, at: f64) -> Step {
    let mut step = Step::default();
    if deployment.listed_status == "PENDING" {
        deployment.listed_status = "IN_PROGRESS".into();
    }
    if deployment.listed_status != "IN_PROGRESS" {
        return step;
    }
    let minute = settings.minute_ms as f64 / 1000.0;
    let phases = phases(&deployment.configuration);
    // Hooks left waiting past their time apply their timeout action.
    for hook in deployment
        .hooks
        .iter_mut()
        .filter(|h| h.status == "AWAITING_ACTION")
    {
        if hook.expires_at.is_some_and(|expires| at >= expires) {
            hook.status = "TIMED_OUT".into();
            if hook.timeout_action == "ROLLBACK" {
                step.roll_back = Some(format!(
                    "The lifecycle hook {} at {} timed out; its timeout action is ROLLBACK.",
                    hook.id, hook.stage
                ));
                return step;
            }
        }
    }
    // AWS_LAMBDA hooks answer within a tick: they succeed unless the fault fails their stage.
    for hook in deployment
        .hooks
        .iter_mut()
        .filter(|h| h.status == "IN_PROGRESS")
    {
        if settings.faults.failing_hook_stages.contains(&hook.stage) {
            hook.status = "FAILED".into();
            step.roll_back = Some(format!(
                "The lifecycle hook {} failed at {}.",
                hook.id, hook.stage
            ));
            return step;
        }
        hook.status = "SUCCEEDED".into();
    }
    // New tasks that stopped (a failing health check) are replaced until the clean-up, as the
    // scheduler keeps a revision at its count; the circuit breaker counts the failures.
    if phases
        .get(deployment.phase)
        .is_some_and(|current| current.action != Action::CleanUp)
    {
        step.launch = (deployment.desired_count - tasks.new_live).max(0);
    }
    loop {
        let Some(current) = phases.get(deployment.phase) else {
            deployment.listed_status = "SUCCESSFUL".into();
            deployment.finished_at = Some(at);
            step.succeeded = true;
            return step;
        };
        if deployment.lifecycle_stage.as_deref() != Some(current.stage) {
            deployment.lifecycle_stage = Some(current.stage.to_string());
            deployment.updated_at = at;
        }
        let done = match current.action {
            Action::Nothing => true,
            Action::ScaleUp => tasks.new_healthy >= deployment.desired_count,
            Action::TestTraffic => {
                deployment.test_weight = 100.0;
                true
            }
            Action::Production(weight) => {
                deployment.production_weight = weight;
                true
            }
            Action::Wait(minutes) => {
                if current.stage == "BAKE_TIME" && deployment.triggered_alarms.is_empty() {
                    if let Some(alarm) = bake_alarm(settings, deployment) {
                        // The alarm fault: it goes off a moment into the bake time.
                        if at - deployment.phase_started_at >= (minutes * minute / 2.0).min(1.0) {
                            deployment.triggered_alarms.push(alarm.clone());
                            if deployment.configuration["alarms"]["rollback"].as_bool()
                                == Some(true)
                            {
                                step.roll_back = Some(format!(
                                    "CloudWatch alarm(s) {alarm} went into ALARM state during the deployment."
                                ));
                            } else {
                                deployment.listed_status = "STOPPED".into();
                                deployment.status_reason = Some(format!(
                                    "CloudWatch alarm(s) {alarm} went into ALARM state during the deployment."
                                ));
                                deployment.finished_at = Some(at);
                            }
                            return step;
                        }
                    }
                }
                at - deployment.phase_started_at >= minutes * minute
            }
            Action::CleanUp => {
                step.clean_up = true;
                tasks.old_live == 0
            }
        };
        if !done {
            return step;
        }
        if let Some(stage) = current.hooks {
            let ran: Vec<&HookRun> = deployment
                .hooks
                .iter()
                .filter(|h| h.phase == deployment.phase)
                .collect();
            if ran.is_empty() {
                let started = start_hooks(deployment, stage, at, minute);
                if started > 0 {
                    return step;
                }
            } else if ran
                .iter()
                .any(|h| !matches!(h.status.as_str(), "SUCCEEDED" | "TIMED_OUT"))
            {
                return step;
            }
        }
        deployment.phase += 1;
        deployment.phase_started_at = at;
        deployment.updated_at = at;
    }
}

/// The alarm the `--alarm-during-bake` fault sets off for this deployment: one it monitors.
fn bake_alarm(settings: &Settings, deployment: &Deployment) -> Option<String> {
    let alarms = &deployment.configuration["alarms"];
    if alarms["enable"].as_bool() != Some(true) {
        return None;
    }
    settings
        .faults
        .bake_alarms
        .iter()
        .find(|name| {
            alarms["alarmNames"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|configured| configured == name.as_str())
        })
        .cloned()
}

/// Starts the deployment's hooks for `stage` in the current phase; returns how many.
fn start_hooks(deployment: &mut Deployment, stage: &str, at: f64, minute: f64) -> usize {
    let hooks: Vec<Value> = deployment.configuration["lifecycleHooks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|hook| {
            hook["lifecycleStages"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s == stage)
        })
        .cloned()
        .collect();
    for hook in &hooks {
        let target_type = hook["targetType"].as_str().unwrap_or("AWS_LAMBDA");
        let timeout = &hook["timeoutConfiguration"];
        // "Default: 1440 (24 hours)", the same reference.
        let minutes = timeout["timeoutInMinutes"].as_f64().unwrap_or(1440.0);
        deployment.hooks.push(HookRun {
            id: format!("{:016x}", rand_id() as u64),
            target_type: target_type.to_string(),
            target_arn: hook["hookTargetArn"].as_str().map(str::to_string),
            status: if target_type == "PAUSE" {
                "AWAITING_ACTION"
            } else {
                "IN_PROGRESS"
            }
            .into(),
            expires_at: Some(at + minutes * minute),
            timeout_action: timeout["action"].as_str().unwrap_or("ROLLBACK").to_string(),
            stage: stage.to_string(),
            phase: deployment.phase,
            started_at: at,
        });
    }
    hooks.len()
}

/// A ServiceRevisionSummary of the deployment that rolls out `revision` (counts from it while
/// it is one of the service's deployments, zero once it left).
fn revision_summary(service: &Service, revision: &str, weights: Option<(f64, f64)>) -> Value {
    let live = service
        .deployments
        .iter()
        .find(|d| d.revision_arn == revision);
    let (requested, running, pending) = live.map_or((0, 0, 0), |d| {
        (d.desired_count, d.running_count, d.pending_count)
    });
    let mut summary = json!({
        "arn": revision,
        "requestedTaskCount": requested,
        "runningTaskCount": running,
        "pendingTaskCount": pending,
    });
    if let Some((production, test)) = weights {
        summary["requestedProductionTrafficWeight"] = json!(production);
        summary["requestedTestTrafficWeight"] = json!(test);
    }
    summary
}

/// The ServiceDeployment DescribeServiceDeployments answers for `deployment` of `service`.
pub fn describe(
    settings: &Settings,
    state: &State,
    service: &Service,
    deployment: &Deployment,
) -> Value {
    let ongoing = is_ongoing(&deployment.listed_status);
    let native = strategy_of(&deployment.configuration) != "ROLLING";
    let weights = |new: bool| {
        native.then(|| {
            let (production, test) = (deployment.production_weight, deployment.test_weight);
            if new {
                (production, test)
            } else {
                (100.0 - production, 100.0 - test)
            }
        })
    };
    let configuration = &deployment.configuration;
    let breaker = &configuration["deploymentCircuitBreaker"];
    let breaker_status = if breaker["enable"].as_bool() != Some(true) {
        "DISABLED"
    } else if deployment.breaker_tripped {
        "TRIGGERED"
    } else if ongoing {
        "MONITORING"
    } else {
        "MONITORING_COMPLETE"
    };
    let alarms = &configuration["alarms"];
    let alarm_status = if alarms["enable"].as_bool() != Some(true) {
        "DISABLED"
    } else if !deployment.triggered_alarms.is_empty() {
        "TRIGGERED"
    } else if ongoing {
        "MONITORING"
    } else {
        "MONITORING_COMPLETE"
    };
    let mut answer = json!({
        "serviceDeploymentArn": deployment.arn,
        "serviceArn": service.arn,
        "clusterArn": state.clusters.get(&service.cluster),
        "createdAt": deployment.created_at,
        "startedAt": deployment.started_at,
        "updatedAt": deployment.updated_at,
        "sourceServiceRevisions": deployment.source_revisions.iter()
            .map(|revision| revision_summary(service, revision, weights(false)))
            .collect::<Vec<_>>(),
        "targetServiceRevision": revision_summary(service, &deployment.revision_arn, weights(true)),
        "status": deployment.listed_status,
        "deploymentConfiguration": configuration,
        "deploymentCircuitBreaker": {
            "status": breaker_status,
            "failureCount": deployment.failed_tasks,
            "threshold": crate::runner::threshold(settings, deployment.desired_count),
        },
        "alarms": {
            "status": alarm_status,
            "alarmNames": alarms["alarmNames"].as_array().cloned().unwrap_or_default(),
            "triggeredAlarmNames": deployment.triggered_alarms,
        },
    });
    if let Some(reason) = &deployment.status_reason {
        answer["statusReason"] = json!(reason);
    }
    if let Some(finished) = deployment.finished_at {
        let key = if deployment.listed_status == "STOPPED" {
            "stoppedAt"
        } else {
            "finishedAt"
        };
        answer[key] = json!(finished);
    }
    if let Some(stage) = &deployment.lifecycle_stage {
        answer["lifecycleStage"] = json!(stage);
    }
    if native {
        answer["lifecycleHookDetails"] = deployment
            .hooks
            .iter()
            .map(|hook| {
                let mut detail = json!({
                    "hookId": hook.id,
                    "targetType": hook.target_type,
                    "status": hook.status,
                    "timeoutAction": hook.timeout_action,
                });
                if let Some(arn) = &hook.target_arn {
                    detail["targetArn"] = json!(arn);
                }
                if let Some(expires) = hook.expires_at {
                    detail["expiresAt"] = json!(expires);
                }
                detail
            })
            .collect();
    }
    if let Some(rollback) = &deployment.rollback {
        answer["rollback"] = json!({
            "reason": rollback.reason,
            "startedAt": rollback.started_at,
            "serviceRevisionArn": rollback.revision_arn,
        });
    }
    answer
}

/// Where a service deployment ARN leads: the service's index, and whether the deployment is one
/// of its `deployments` (at this position) or in its history.
enum Found {
    Live(usize, usize),
    History(usize, usize),
}

fn find(state: &State, arn: &str) -> Option<Found> {
    state
        .services
        .iter()
        .enumerate()
        .find_map(|(index, service)| {
            if let Some(position) = service.deployments.iter().position(|d| d.arn == arn) {
                return Some(Found::Live(index, position));
            }
            service
                .history
                .iter()
                .position(|(d, _)| d.arn == arn)
                .map(|position| Found::History(index, position))
        })
}

fn deployment<'a>(state: &'a State, found: &Found) -> (&'a Service, &'a Deployment) {
    match *found {
        Found::Live(service, position) => {
            let service = &state.services[service];
            (service, &service.deployments[position])
        }
        Found::History(service, position) => {
            let service = &state.services[service];
            (service, &service.history[position].0)
        }
    }
}

fn deployment_mut<'a>(state: &'a mut State, found: &Found) -> &'a mut Deployment {
    match *found {
        Found::Live(service, position) => &mut state.services[service].deployments[position],
        Found::History(service, position) => &mut state.services[service].history[position].0,
    }
}

fn not_found(arn: &str) -> ApiError {
    ApiError::client(
        "ServiceDeploymentNotFoundException",
        format!("The service deployment {arn} does not exist."),
    )
}

pub fn describe_service_deployments(settings: &Settings, state: &State, input: &Value) -> Answer {
    let arns: Vec<&str> = input
        .get("serviceDeploymentArns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if arns.is_empty() {
        return Err(invalid("serviceDeploymentArns must not be empty."));
    }
    let mut described = Vec::new();
    let mut failures = Vec::new();
    for arn in arns {
        match find(state, arn) {
            Some(found) => {
                let (service, deployment) = deployment(state, &found);
                described.push(describe(settings, state, service, deployment));
            }
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"serviceDeployments": described, "failures": failures}))
}

/// StopServiceDeployment: ROLLBACK (the only stop type ECS accepts) of an ongoing deployment;
/// the runner rolls it back on its next step.
pub fn stop_service_deployment(state: &mut State, input: &Value) -> Answer {
    let arn = required(input, "serviceDeploymentArn")?.to_string();
    let stop_type = input
        .get("stopType")
        .and_then(Value::as_str)
        .unwrap_or("ROLLBACK");
    if stop_type != "ROLLBACK" {
        return Err(invalid(format!(
            "The stop type {stop_type} is not supported. The valid value is ROLLBACK."
        )));
    }
    let found = find(state, &arn).ok_or_else(|| not_found(&arn))?;
    let (_, current) = deployment(state, &found);
    let status = current.listed_status.clone();
    if !is_ongoing(&status) {
        return Err(ApiError::client(
            "ConflictException",
            format!("The service deployment is {status} and can no longer be stopped."),
        ));
    }
    if current.source_revisions.is_empty() {
        return Err(ApiError::client(
            "ConflictException",
            "The service deployment has no previous service revision to roll back to.",
        ));
    }
    if matches!(status.as_str(), "PENDING" | "IN_PROGRESS") {
        let deployment = deployment_mut(state, &found);
        deployment.listed_status = "ROLLBACK_REQUESTED".into();
        deployment.status_reason =
            Some("Service deployment rolled back because of a stop request.".into());
        deployment.updated_at = now();
    }
    Ok(json!({"serviceDeploymentArn": arn}))
}

/// ContinueServiceDeployment: acts on a PAUSE hook waiting for it.
pub fn continue_service_deployment(state: &mut State, input: &Value) -> Answer {
    let arn = required(input, "serviceDeploymentArn")?.to_string();
    let hook_id = required(input, "hookId")?.to_string();
    let action = required(input, "action")?.to_string();
    if !["CONTINUE", "ROLLBACK"].contains(&action.as_str()) {
        return Err(invalid(format!(
            "The action {action} is not valid. Valid values are CONTINUE and ROLLBACK."
        )));
    }
    let found = find(state, &arn).ok_or_else(|| not_found(&arn))?;
    let deployment = deployment_mut(state, &found);
    let Some(hook) = deployment.hooks.iter_mut().find(|h| h.id == hook_id) else {
        return Err(invalid(format!(
            "The lifecycle hook {hook_id} was not found in the service deployment."
        )));
    };
    if hook.status != "AWAITING_ACTION" || deployment.listed_status != "IN_PROGRESS" {
        return Err(ApiError::client(
            "ClientException",
            format!(
                "The lifecycle hook {hook_id} is {}, not AWAITING_ACTION.",
                hook.status
            ),
        ));
    }
    hook.status = "SUCCEEDED".into();
    let stage = hook.stage.clone();
    deployment.updated_at = now();
    if action == "ROLLBACK" {
        deployment.listed_status = "ROLLBACK_REQUESTED".into();
        deployment.status_reason = Some(format!(
            "Rolled back by ContinueServiceDeployment at the lifecycle hook {hook_id} ({stage})."
        ));
    }
    Ok(json!({"serviceDeploymentArn": arn}))
}

/// Starts the rollback of the service's PRIMARY deployment (the deployment of `service_index`
/// at position 0) for `reason`: it leaves `deployments[]` ROLLBACK_IN_PROGRESS, its traffic goes
/// back to the older revision, and the deployment that ran before is PRIMARY again, its
/// rolloutStateReason saying `who` rolls back to it. Returns false when there is no older
/// deployment to go back to.
pub fn roll_back(state: &mut State, service_index: usize, reason: &str, who: &str) -> bool {
    let service = &mut state.services[service_index];
    let Some(previous) = service
        .deployments
        .iter()
        .skip(1)
        .position(|d| d.status == "ACTIVE")
        .map(|position| position + 1)
    else {
        return false;
    };
    let mut failed = service.deployments.remove(0);
    let mut restored = service.deployments.remove(previous - 1);
    let at = now();
    failed.status = "INACTIVE".into();
    failed.listed_status = "ROLLBACK_IN_PROGRESS".into();
    failed.status_reason = Some(reason.to_string());
    failed.rollout_state = "FAILED".into();
    failed.rollout_state_reason = reason.to_string();
    failed.finished_at = None;
    failed.updated_at = at;
    failed.production_weight = 0.0;
    failed.test_weight = 0.0;
    failed.rolled_back_to = Some(restored.id.clone());
    failed.rollback = Some(Rollback {
        reason: reason.to_string(),
        started_at: at,
        revision_arn: restored.revision_arn.clone(),
    });
    restored.status = "PRIMARY".into();
    restored.desired_count = service.desired_count;
    restored.rollout_state = "IN_PROGRESS".into();
    restored.rollout_state_reason = format!("{who}: rolling back to deploymentId {}", restored.id);
    restored.rolling_back = true;
    restored.failed_tasks = 0;
    restored.updated_at = at;
    let (failed_id, restored_id) = (failed.id.clone(), restored.id.clone());
    service.task_definition = restored.task_definition.clone();
    service.steady_reported = false;
    let revision = failed.revision_arn.clone();
    service.history.insert(0, (failed, revision));
    service.deployments.insert(0, restored);
    let service_name = service.name.clone();
    for task in state.tasks.iter_mut().filter(|t| {
        t.service == service_name && t.deployment_id == failed_id && t.desired_status != "STOPPED"
    }) {
        task.desired_status = "STOPPED".into();
        task.stopped_reason = Some(format!(
            "Scaling activity initiated by (deployment {restored_id})"
        ));
        task.stop_code = Some("ServiceSchedulerInitiated".into());
    }
    state.add_event(
        service_index,
        format!("rolling back to deployment {restored_id}."),
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            minute_ms: 1000,
            ..Settings::for_tests()
        }
    }

    fn native(configuration: Value) -> Deployment {
        Deployment {
            id: "ecs-svc/2".into(),
            arn: "arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/web/2".into(),
            status: "PRIMARY".into(),
            desired_count: 2,
            listed_status: "IN_PROGRESS".into(),
            revision_arn: "arn:aws:ecs:eu-west-1:123456789012:service-revision/c/web/2".into(),
            source_revisions: vec![
                "arn:aws:ecs:eu-west-1:123456789012:service-revision/c/web/1".into(),
            ],
            configuration,
            ..Default::default()
        }
    }

    const NONE_YET: Tasks = Tasks {
        new_healthy: 0,
        new_live: 0,
        old_live: 2,
    };
    const SCALED: Tasks = Tasks {
        new_healthy: 2,
        new_live: 2,
        old_live: 2,
    };
    const CLEANED: Tasks = Tasks {
        new_healthy: 2,
        new_live: 2,
        old_live: 0,
    };

    #[test]
    fn blue_green_goes_through_every_stage_in_order() {
        let settings = settings();
        let mut deployment = native(json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2}));
        let step = advance(&settings, &mut deployment, NONE_YET, 0.0);
        assert_eq!(step.launch, 2);
        assert_eq!(deployment.lifecycle_stage.as_deref(), Some("SCALE_UP"));
        assert_eq!(
            (deployment.production_weight, deployment.test_weight),
            (0.0, 0.0)
        );
        let step = advance(&settings, &mut deployment, SCALED, 1.0);
        assert_eq!(step.launch, 0);
        assert_eq!(deployment.lifecycle_stage.as_deref(), Some("BAKE_TIME"));
        // A new task that stopped while it bakes is replaced.
        let one_left = Tasks {
            new_healthy: 1,
            new_live: 1,
            old_live: 2,
        };
        assert_eq!(advance(&settings, &mut deployment, one_left, 1.2).launch, 1);
        assert_eq!(
            (deployment.production_weight, deployment.test_weight),
            (100.0, 100.0)
        );
        // Two scaled minutes of bake time (a minute is a second here).
        advance(&settings, &mut deployment, SCALED, 2.5);
        assert_eq!(deployment.lifecycle_stage.as_deref(), Some("BAKE_TIME"));
        let step = advance(&settings, &mut deployment, SCALED, 3.0);
        assert!(step.clean_up);
        assert_eq!(deployment.lifecycle_stage.as_deref(), Some("CLEAN_UP"));
        let step = advance(&settings, &mut deployment, CLEANED, 3.5);
        assert!(step.succeeded);
        assert_eq!(deployment.listed_status, "SUCCESSFUL");
        assert_eq!(deployment.finished_at, Some(3.5));
    }

    #[test]
    fn canary_and_linear_shift_production_in_steps() {
        assert_eq!(
            traffic_steps(
                &json!({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3}})
            ),
            [(10.0, 3.0), (100.0, 0.0)]
        );
        assert_eq!(
            traffic_steps(&json!({"strategy": "CANARY"})),
            [(5.0, 10.0), (100.0, 0.0)],
            "ECS's defaults"
        );
        assert_eq!(
            traffic_steps(
                &json!({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 40.0, "stepBakeTimeInMinutes": 1}})
            ),
            [(40.0, 1.0), (80.0, 1.0), (100.0, 0.0)]
        );
        let settings = settings();
        let mut deployment = native(
            json!({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3}}),
        );
        advance(&settings, &mut deployment, SCALED, 0.0);
        assert_eq!(
            deployment.lifecycle_stage.as_deref(),
            Some("PRODUCTION_TRAFFIC_SHIFT")
        );
        assert_eq!(deployment.production_weight, 10.0);
        advance(&settings, &mut deployment, SCALED, 2.9);
        assert_eq!(deployment.production_weight, 10.0);
        advance(&settings, &mut deployment, SCALED, 3.0);
        assert_eq!(deployment.production_weight, 100.0);
    }

    #[test]
    fn a_pause_hook_waits_for_continue_and_times_out_with_its_action() {
        let settings = settings();
        let configuration = json!({"strategy": "BLUE_GREEN", "lifecycleHooks": [{
            "targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
            "timeoutConfiguration": {"timeoutInMinutes": 5, "action": "ROLLBACK"}
        }]});
        let mut deployment = native(configuration.clone());
        advance(&settings, &mut deployment, SCALED, 10.0);
        assert_eq!(
            deployment.lifecycle_stage.as_deref(),
            Some("POST_TEST_TRAFFIC_SHIFT")
        );
        assert_eq!(deployment.hooks.len(), 1);
        let hook = deployment.hooks[0].clone();
        assert_eq!(
            (hook.status.as_str(), hook.target_type.as_str()),
            ("AWAITING_ACTION", "PAUSE")
        );
        assert_eq!(hook.expires_at, Some(15.0));
        assert_eq!(deployment.test_weight, 100.0);
        assert_eq!(
            deployment.production_weight, 0.0,
            "production waits for the hook"
        );
        advance(&settings, &mut deployment, SCALED, 12.0);
        assert_eq!(
            deployment.lifecycle_stage.as_deref(),
            Some("POST_TEST_TRAFFIC_SHIFT")
        );

        // CONTINUE through the API moves it on.
        let mut state = State::new(&settings);
        let mut service = service_with(deployment.clone());
        state.services.push(service.clone());
        let input = json!({"serviceDeploymentArn": deployment.arn, "hookId": hook.id, "action": "CONTINUE"});
        continue_service_deployment(&mut state, &input).unwrap();
        let error = continue_service_deployment(&mut state, &input).unwrap_err();
        assert_eq!(error.code, "ClientException", "the hook no longer waits");
        let mut continued = state.services[0].deployments[0].clone();
        assert_eq!(continued.hooks[0].status, "SUCCEEDED");
        advance(&settings, &mut continued, SCALED, 13.0);
        assert_eq!(continued.production_weight, 100.0);

        // Left alone, the timeout's ROLLBACK applies.
        let step = advance(&settings, &mut deployment, SCALED, 15.0);
        assert_eq!(deployment.hooks[0].status, "TIMED_OUT");
        assert!(step.roll_back.unwrap().contains("timed out"));

        // ROLLBACK through the API asks for a rollback.
        service.deployments[0].hooks[0].status = "AWAITING_ACTION".into();
        state.services[0] = service;
        let input = json!({"serviceDeploymentArn": deployment.arn, "hookId": hook.id, "action": "ROLLBACK"});
        continue_service_deployment(&mut state, &input).unwrap();
        assert_eq!(
            state.services[0].deployments[0].listed_status,
            "ROLLBACK_REQUESTED"
        );
    }

    /// A PAUSE hook without a timeout expires after ECS's documented default, 1440 minutes
    /// (DeploymentLifecycleHookTimeoutConfiguration), and the range goes up to 20160.
    #[test]
    fn a_pause_hook_without_a_timeout_waits_ecs_default() {
        let settings = settings();
        let configuration = json!({"strategy": "BLUE_GREEN", "lifecycleHooks": [{
            "targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]
        }]});
        let mut deployment = native(configuration);
        advance(&settings, &mut deployment, SCALED, 10.0);
        let hook = deployment.hooks[0].clone();
        assert_eq!(hook.status, "AWAITING_ACTION");
        assert_eq!(hook.expires_at, Some(10.0 + 1440.0));
        assert_eq!(hook.timeout_action, "ROLLBACK");
    }

    #[test]
    fn continue_is_refused_for_unknown_deployments_hooks_and_actions() {
        let settings = settings();
        let mut state = State::new(&settings);
        state
            .services
            .push(service_with(native(json!({"strategy": "BLUE_GREEN"}))));
        let arn = state.services[0].deployments[0].arn.clone();
        let cases = [
            (
                json!({"serviceDeploymentArn": "arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/web/9", "hookId": "h", "action": "CONTINUE"}),
                "ServiceDeploymentNotFoundException",
            ),
            (
                json!({"serviceDeploymentArn": arn, "hookId": "nothing", "action": "CONTINUE"}),
                "InvalidParameterException",
            ),
            (
                json!({"serviceDeploymentArn": arn, "hookId": "h", "action": "LATER"}),
                "InvalidParameterException",
            ),
            (
                json!({"serviceDeploymentArn": arn, "action": "CONTINUE"}),
                "InvalidParameterException",
            ),
        ];
        for (input, code) in cases {
            let error = continue_service_deployment(&mut state, &input).unwrap_err();
            assert_eq!(error.code, code, "{input}");
        }
    }

    #[test]
    fn a_failing_lambda_hook_and_a_bake_time_alarm_roll_back() {
        let mut settings = settings();
        settings.faults.failing_hook_stages = vec!["POST_SCALE_UP".into()];
        let mut deployment = native(json!({"strategy": "BLUE_GREEN", "lifecycleHooks": [{
            "targetType": "AWS_LAMBDA", "hookTargetArn": "arn:aws:lambda:eu-west-1:123456789012:function:check",
            "lifecycleStages": ["POST_SCALE_UP"]
        }]}));
        let step = advance(&settings, &mut deployment, SCALED, 0.0);
        assert_eq!(step.roll_back, None);
        assert_eq!(deployment.hooks[0].status, "IN_PROGRESS");
        let step = advance(&settings, &mut deployment, SCALED, 0.5);
        assert_eq!(deployment.hooks[0].status, "FAILED");
        assert!(step.roll_back.unwrap().contains("failed at POST_SCALE_UP"));

        let mut settings = self::settings();
        settings.faults.bake_alarms = vec!["latency".into()];
        let alarms = json!({"alarmNames": ["latency", "errors"], "enable": true, "rollback": true});
        let mut deployment =
            native(json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 10, "alarms": alarms}));
        advance(&settings, &mut deployment, SCALED, 0.0);
        assert_eq!(deployment.lifecycle_stage.as_deref(), Some("BAKE_TIME"));
        let step = advance(&settings, &mut deployment, SCALED, 1.0);
        assert!(step.roll_back.unwrap().contains("latency"));
        assert_eq!(deployment.triggered_alarms, ["latency"]);
        let service = service_with(deployment.clone());
        let state = State::new(&settings);
        let described = describe(&settings, &state, &service, &deployment);
        assert_eq!(described["alarms"]["status"], "TRIGGERED");
        assert_eq!(
            described["alarms"]["triggeredAlarmNames"],
            json!(["latency"])
        );
        assert_eq!(
            described["alarms"]["alarmNames"],
            json!(["latency", "errors"])
        );
    }

    fn service_with(deployment: Deployment) -> Service {
        let mut old = native(json!({}));
        old.id = "ecs-svc/1".into();
        old.arn = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/web/1".into();
        old.listed_status = "SUCCESSFUL".into();
        old.status = "ACTIVE".into();
        old.revision_arn = deployment.source_revisions[0].clone();
        old.running_count = 2;
        Service {
            arn: "arn:aws:ecs:eu-west-1:123456789012:service/c/web".into(),
            name: "web".into(),
            cluster: "c".into(),
            task_definition: String::new(),
            desired_count: 2,
            deployment_configuration: deployment.configuration.clone(),
            current_service_deployment: deployment.arn.clone(),
            deployments: vec![deployment, old],
            history: Vec::new(),
            deployment_controller: "ECS".into(),
            events: Vec::new(),
            status: "ACTIVE".into(),
            created_at: 0.0,
            steady_reported: false,
            health_check_grace_period: 0,
            stale: None,
            load_balancers: json!([]),
            placement_failures_left: 0,
            last_placement_failure: 0.0,
        }
    }

    #[test]
    fn a_described_deployment_has_the_api_shape() {
        let settings = settings();
        let mut deployment = native(
            json!({"strategy": "CANARY", "deploymentCircuitBreaker": {"enable": true, "rollback": true}}),
        );
        advance(&settings, &mut deployment, SCALED, 0.0);
        let service = service_with(deployment.clone());
        let mut state = State::new(&settings);
        state.clusters.insert(
            "c".into(),
            "arn:aws:ecs:eu-west-1:123456789012:cluster/c".into(),
        );
        let described = describe(&settings, &state, &service, &deployment);
        assert_eq!(described["status"], "IN_PROGRESS");
        assert_eq!(described["lifecycleStage"], "PRODUCTION_TRAFFIC_SHIFT");
        assert_eq!(
            described["clusterArn"],
            "arn:aws:ecs:eu-west-1:123456789012:cluster/c"
        );
        assert_eq!(
            described["targetServiceRevision"]["requestedProductionTrafficWeight"],
            5.0
        );
        assert_eq!(
            described["targetServiceRevision"]["requestedTestTrafficWeight"],
            100.0
        );
        assert_eq!(
            described["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"],
            95.0
        );
        assert_eq!(
            described["sourceServiceRevisions"][0]["runningTaskCount"],
            2
        );
        assert_eq!(
            described["deploymentCircuitBreaker"],
            json!({"status": "MONITORING", "failureCount": 0, "threshold": 3})
        );
        assert_eq!(described["alarms"]["status"], "DISABLED");
        assert_eq!(described["lifecycleHookDetails"], json!([]));
        assert!(described.get("finishedAt").is_none());
    }

    #[test]
    fn stop_takes_rollback_only_for_an_ongoing_deployment() {
        let settings = settings();
        let mut state = State::new(&settings);
        state
            .services
            .push(service_with(native(json!({"strategy": "BLUE_GREEN"}))));
        let arn = state.services[0].deployments[0].arn.clone();
        let error = stop_service_deployment(
            &mut state,
            &json!({"serviceDeploymentArn": arn, "stopType": "ABORT"}),
        )
        .unwrap_err();
        assert_eq!(error.code, "InvalidParameterException");
        let error = stop_service_deployment(
            &mut state,
            &json!({"serviceDeploymentArn": "nothing", "stopType": "ROLLBACK"}),
        )
        .unwrap_err();
        assert_eq!(error.code, "ServiceDeploymentNotFoundException");
        stop_service_deployment(
            &mut state,
            &json!({"serviceDeploymentArn": arn, "stopType": "ROLLBACK"}),
        )
        .unwrap();
        assert_eq!(
            state.services[0].deployments[0].listed_status,
            "ROLLBACK_REQUESTED"
        );
        // Asked again while it rolls back: it goes on.
        stop_service_deployment(&mut state, &json!({"serviceDeploymentArn": arn})).unwrap();
        assert!(roll_back(&mut state, 0, "stop", "rolling back"));
        let (failed, _) = &state.services[0].history[0];
        assert_eq!(failed.listed_status, "ROLLBACK_IN_PROGRESS");
        assert_eq!(
            failed.rollback.as_ref().unwrap().revision_arn,
            state.services[0].deployments[0].revision_arn
        );
        state.services[0].history[0].0.listed_status = "ROLLBACK_SUCCESSFUL".into();
        let error =
            stop_service_deployment(&mut state, &json!({"serviceDeploymentArn": arn})).unwrap_err();
        assert_eq!(error.code, "ConflictException");
    }

    #[test]
    fn native_strategies_are_validated_as_ecs_does() {
        let group = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/1";
        let plain =
            json!([{"targetGroupArn": group, "containerName": "app", "containerPort": 3000}]);
        let advanced = json!([{"targetGroupArn": group, "containerName": "app", "containerPort": 3000,
            "advancedConfiguration": {"alternateTargetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/green/2",
                "productionListenerRule": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/site/1/2/3",
                "roleArn": "arn:aws:iam::123456789012:role/ecs-infrastructure"}}]);
        assert!(validate_configuration(&json!({}), &json!([])).is_ok());
        assert!(validate_configuration(&json!({"strategy": "CANARY"}), &advanced).is_ok());
        let refused = |configuration: Value, load_balancers: &Value| {
            validate_configuration(&configuration, load_balancers)
                .unwrap_err()
                .message
        };
        assert!(refused(json!({"strategy": "FAST"}), &advanced)
            .contains("Invalid deployment strategy FAST"));
        assert!(refused(json!({"strategy": "CANARY"}), &plain)
            .contains("advancedConfiguration.alternateTargetGroupArn"));
        assert!(
            refused(json!({"strategy": "LINEAR"}), &json!([])).contains("requires a load balancer")
        );
        assert!(refused(
            json!({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 1.0}}),
            &advanced
        )
        .contains("stepPercent"));
        assert!(refused(
            json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2000}),
            &advanced
        )
        .contains("bakeTimeInMinutes"));
        assert!(refused(
            json!({"strategy": "BLUE_GREEN", "canaryConfiguration": {}}),
            &advanced
        )
        .contains("CANARY"));
        assert!(refused(json!({"strategy": "BLUE_GREEN", "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["SCALE_UP"]}]}), &advanced).contains("SCALE_UP"));
    }
}
