//! The lifecycle of a service deployment: the native BLUE_GREEN, LINEAR and CANARY strategies'
//! phases in order (lifecycle stages, their hooks, traffic weights and bake times), `advance`
//! that moves a deployment through them, starting a deployment and rolling one back. Driven by
//! the runner on the same state the API reads, so every answer tells where a deployment is.

use serde_json::Value;

use crate::config::Settings;
use crate::state::{
    now, rand_id, strategy_of, with_default_strategy, Deployment, HookRun, Rollback, State,
};

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

/// A new PRIMARY deployment of `task_definition` for the service (`configuration` is its
/// deploymentConfiguration; `sources` the revisions of the deployments running before it).
pub fn new_deployment(
    state: &mut State,
    (cluster, service): (&str, &str),
    task_definition: &str,
    desired: i64,
    configuration: &Value,
    sources: Vec<String>,
) -> Deployment {
    let number = rand_id() % 10u128.pow(19);
    let id = format!("ecs-svc/{number}");
    let revision_arn = format!(
        "arn:aws:ecs:{}:{}:service-revision/{cluster}/{service}/{}",
        state.region,
        state.account,
        rand_id() % 10u128.pow(19)
    );
    Deployment {
        arn: state.arn(
            "service-deployment",
            &format!("{cluster}/{service}/{number}"),
        ),
        id: id.clone(),
        status: "PRIMARY".into(),
        task_definition: task_definition.to_string(),
        desired_count: desired,
        rollout_state: "IN_PROGRESS".into(),
        rollout_state_reason: format!("ECS deployment {id} in progress."),
        created_at: now(),
        updated_at: now(),
        revision_arn,
        listed_status: "IN_PROGRESS".into(),
        configuration: with_default_strategy(configuration),
        source_revisions: sources,
        started_at: now(),
        phase_started_at: now(),
        ..Default::default()
    }
}

/// Starts a new PRIMARY deployment of `task_definition` for the service at `index`, driven by
/// `configuration` (the one that ran before is stopped if it was still going); returns its id.
/// UpdateService's, and CodeDeploy's CreateDeployment's.
pub fn start_deployment(
    state: &mut State,
    index: usize,
    (cluster, service_name): (&str, &str),
    task_definition: &str,
    configuration: &Value,
) -> String {
    let desired = state.services[index].desired_count;
    {
        let sources = state.services[index]
            .deployments
            .iter()
            .map(|d| d.revision_arn.clone())
            .collect();
        let mut deployment = new_deployment(
            state,
            (cluster, service_name),
            task_definition,
            desired,
            configuration,
            sources,
        );
        let id = deployment.id.clone();
        let service = &mut state.services[index];
        deployment.load_balancers = service.load_balancers.clone();
        service.current_service_deployment = deployment.arn.clone();
        for old in service
            .deployments
            .iter_mut()
            .filter(|d| d.status == "PRIMARY")
        {
            old.status = "ACTIVE".into();
            old.updated_at = now();
            // A rollout still going when a newer one starts is stopped by it.
            if matches!(old.listed_status.as_str(), "PENDING" | "IN_PROGRESS") {
                old.listed_status = "STOPPED".into();
                old.status_reason = Some(format!("Stopped by deployment {}.", deployment.id));
                old.finished_at = Some(now());
            }
        }
        service.deployments.insert(0, deployment);
        service.task_definition = task_definition.to_string();
        service.steady_reported = false;
        id
    }
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
pub(crate) mod fixtures {
    use serde_json::{json, Value};

    use super::*;
    use crate::state::Service;

    pub fn settings() -> Settings {
        Settings {
            minute_ms: 1000,
            ..Settings::for_tests()
        }
    }

    pub fn native(configuration: Value) -> Deployment {
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

    /// A service running `deployment` (PRIMARY) and the SUCCESSFUL deployment it replaces.
    pub fn service_with(deployment: Deployment) -> Service {
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

    pub const NONE_YET: Tasks = Tasks {
        new_healthy: 0,
        new_live: 0,
        old_live: 2,
    };
    pub const SCALED: Tasks = Tasks {
        new_healthy: 2,
        new_live: 2,
        old_live: 2,
    };
    pub const CLEANED: Tasks = Tasks {
        new_healthy: 2,
        new_live: 2,
        old_live: 0,
    };
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::fixtures::*;
    use super::*;

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
}
