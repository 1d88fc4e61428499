//! Drives rollouts as ECS does: starts tasks of the PRIMARY deployment as real containers (each
//! in its own network namespace, `--network none`), follows their health, scales the PRIMARY up
//! and older deployments down within maximumPercent and minimumHealthyPercent, records stopped
//! tasks with ECS's reasons, trips the circuit breaker and rolls back to the deployment that
//! ran before, and writes the events ECS writes.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::auth::DockerCredentials;
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, HealthConfig, HealthStatusEnum, HostConfig,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, ListContainersOptions, RemoveContainerOptions,
};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::deployments;
use crate::state::{now, Revision, State, Task, TaskContainer};
use crate::Settings;

const TICK: Duration = Duration::from_millis(400);
/// Every container the emulator starts carries this label (the task's ARN as its value), and
/// `INSTANCE_LABEL` naming the emulator process that started it, so `scripts/stack.sh stop` can
/// remove whatever a killed emulator left, and one emulator's shutdown touches no other's.
const LABEL: &str = "deployer-emulator";
const INSTANCE_LABEL: &str = "deployer-emulator.instance";

pub async fn run(settings: Settings, state: Arc<Mutex<State>>, docker: bollard::Docker) {
    loop {
        reconcile(&settings, &state, &docker).await;
        tokio::time::sleep(TICK).await;
    }
}

/// What a container looks like now.
enum Observed {
    Starting,
    Healthy,
    Unhealthy,
    Exited(i64),
    Gone,
}

async fn observe(
    docker: &bollard::Docker,
    container: &str,
    started_at: f64,
    has_health: bool,
) -> Observed {
    let Ok(inspect) = docker.inspect_container(container, None).await else {
        return Observed::Gone;
    };
    let Some(state) = inspect.state else {
        return Observed::Gone;
    };
    match state.status {
        Some(ContainerStateStatusEnum::RUNNING) => {}
        Some(ContainerStateStatusEnum::EXITED) | Some(ContainerStateStatusEnum::DEAD) => {
            return Observed::Exited(state.exit_code.unwrap_or(-1))
        }
        _ => return Observed::Starting,
    }
    match state.health.and_then(|health| health.status) {
        Some(HealthStatusEnum::HEALTHY) => Observed::Healthy,
        Some(HealthStatusEnum::UNHEALTHY) => Observed::Unhealthy,
        Some(HealthStatusEnum::STARTING) => Observed::Starting,
        // No health check anywhere: running for a second counts as healthy, as ECS does for
        // containers without one.
        _ if !has_health && now() - started_at >= 1.0 => Observed::Healthy,
        _ => Observed::Starting,
    }
}

async fn reconcile(settings: &Settings, state: &Arc<Mutex<State>>, docker: &bollard::Docker) {
    // 0. Start what RunTask asked for.
    launch_standalone(settings, state, docker).await;
    // 1. Follow every live task's containers.
    type Live = (usize, Vec<String>, f64, bool);
    let live: Vec<Live> = {
        let state = state.lock().await;
        state
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, task)| task.last_status != "STOPPED" && !task.awaiting_launch)
            .map(|(index, task)| {
                (
                    index,
                    task.containers
                        .iter()
                        .filter_map(|c| c.id.clone())
                        .collect(),
                    task.started_at,
                    task.desired_status == "STOPPED",
                )
            })
            .collect()
    };
    for (index, ids, started_at, stop_requested) in live {
        let mut observed = Vec::new();
        if !stop_requested {
            let has_health: Vec<bool> = {
                let state = state.lock().await;
                state.tasks[index]
                    .containers
                    .iter()
                    .map(|c| c.has_health)
                    .collect()
            };
            for (id, health) in ids.iter().zip(has_health) {
                observed.push(observe(docker, id, started_at, health).await);
            }
        }
        // After the look at the containers and before any is removed: what they wrote, for the
        // CloudWatch Logs API.
        let logging: Vec<(usize, String)> = {
            let state = state.lock().await;
            state.tasks[index]
                .containers
                .iter()
                .enumerate()
                .filter(|(_, c)| c.log_stream.is_some())
                .filter_map(|(position, c)| Some((position, c.id.clone()?)))
                .collect()
        };
        for (position, id) in logging {
            if let Some(lines) = read_logs(docker, &id).await {
                let mut state = state.lock().await;
                let container = &mut state.tasks[index].containers[position];
                if lines.len() > container.log_lines.len() {
                    container.log_lines = lines;
                }
            }
        }
        let mut state = state.lock().await;
        let task = &mut state.tasks[index];
        if stop_requested || observed.len() != task.containers.len() {
            gone(task);
        } else {
            follow(task, &observed);
        }
        if task.last_status == "STOPPED" {
            let never_healthy = !task.healthy;
            let (deployment_id, service, task_id) = (
                task.deployment_id.clone(),
                task.service.clone(),
                task.id.clone(),
            );
            for id in &ids {
                remove(docker, id).await;
            }
            if let Some(service_index) = state
                .services
                .iter()
                .position(|s| s.name == service && s.status == "ACTIVE")
            {
                if never_healthy {
                    if let Some(deployment) = state.services[service_index]
                        .deployments
                        .iter_mut()
                        .find(|d| d.id == deployment_id)
                    {
                        deployment.failed_tasks += 1;
                    }
                }
                state.add_event(
                    service_index,
                    format!("has stopped 1 running tasks: (task {task_id})."),
                );
            }
        }
    }

    // 2. Bring each service's deployments towards what they should run.
    let service_count = state.lock().await.services.len();
    for service_index in 0..service_count {
        step_service(settings, state, docker, service_index).await;
    }
}

/// The task as its containers are now, as ECS judges it: an essential container that exits
/// stops the task, an essential container failing its health check stops it once the service's
/// health-check grace period is over, and it runs (and is healthy) once every essential
/// container is; non-essential containers may come and go.
fn follow(task: &mut Task, observed: &[Observed]) {
    for (container, seen) in task.containers.iter_mut().zip(observed) {
        match seen {
            Observed::Starting => container.last_status = "PENDING".into(),
            Observed::Healthy | Observed::Unhealthy => container.last_status = "RUNNING".into(),
            Observed::Exited(code) => {
                container.last_status = "STOPPED".into();
                container.exit_code = Some(*code);
            }
            Observed::Gone => container.last_status = "STOPPED".into(),
        }
    }
    let essential = || {
        task.containers
            .iter()
            .zip(observed)
            .filter(|(c, _)| c.essential)
            .map(|(_, seen)| seen)
    };
    if essential().any(|seen| matches!(seen, Observed::Gone)) {
        gone(task);
    } else if essential().any(|seen| matches!(seen, Observed::Exited(_))) {
        stop(
            task,
            "Essential container in task exited",
            "EssentialContainerExited",
        );
    } else if essential().any(|seen| matches!(seen, Observed::Unhealthy))
        && now() >= task.grace_until
    {
        stop(
            task,
            "Task failed container health checks",
            "ServiceSchedulerInitiated",
        );
    } else if essential().all(|seen| matches!(seen, Observed::Healthy)) {
        task.last_status = "RUNNING".into();
        task.healthy = true;
        task.healthy_at.get_or_insert_with(now);
    } else {
        task.last_status = "PENDING".into();
    }
}

/// Stopped from outside (StopTask, the scheduler) or its containers vanished.
fn gone(task: &mut Task) {
    let reason = task
        .stopped_reason
        .clone()
        .unwrap_or_else(|| "Task stopped".into());
    let code = task
        .stop_code
        .clone()
        .unwrap_or_else(|| "UserInitiated".into());
    stop(task, &reason, &code);
}

fn stop(task: &mut Task, reason: &str, code: &str) {
    task.last_status = "STOPPED".into();
    task.desired_status = "STOPPED".into();
    task.stopped_reason
        .get_or_insert_with(|| reason.to_string());
    task.stop_code.get_or_insert_with(|| code.to_string());
    task.stopped_at = Some(now());
    for container in &mut task.containers {
        container.last_status = "STOPPED".into();
    }
}

async fn remove(docker: &bollard::Docker, container: &str) {
    let _ = docker
        .remove_container(
            container,
            Some(RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await;
}

/// The failed-task count that trips ECS's circuit breaker: half the desired count, 3 to 200.
fn breaker_threshold(desired: i64) -> i64 {
    ((desired + 1) / 2).clamp(3, 200)
}

/// The threshold this emulator uses: its `--breaker-threshold`, or ECS's.
pub(crate) fn threshold(settings: &Settings, desired: i64) -> i64 {
    match settings.breaker_threshold {
        0 => breaker_threshold(desired),
        configured => configured,
    }
}

/// The most tasks a rolling update may run and the fewest healthy ones it must keep for
/// `desired`: maximumPercent rounded down, minimumHealthyPercent rounded up, as ECS rounds them
/// (and never a ceiling of zero for a service that wants tasks).
fn rolling_limits(desired: i64, maximum_percent: i64, minimum_healthy_percent: i64) -> (i64, i64) {
    let maximum = (desired * maximum_percent / 100).max(desired.min(1));
    let minimum = (desired * minimum_healthy_percent + 99) / 100;
    (maximum, minimum)
}

/// A task the service still wants, as the rolling update sees it.
#[derive(Debug, Clone, Copy)]
struct Kept {
    index: usize,
    primary: bool,
    healthy: bool,
}

/// One step of a rolling update: which tasks to stop now and how many to start. Old tasks go
/// only when their room is needed or the new ones replace them, and never below the healthy
/// minimum; new tasks start only up to the maximum, counting tasks still stopping.
fn plan_rolling(
    desired: i64,
    (maximum, minimum): (i64, i64),
    kept: &[Kept],
    stopping: i64,
) -> (Vec<usize>, i64) {
    let total = kept.len() as i64 + stopping;
    let mut healthy = kept.iter().filter(|t| t.healthy).count() as i64;
    let mut primary_live = kept.iter().filter(|t| t.primary).count() as i64;
    let mut stop = Vec::new();
    // The PRIMARY scaled down (the desired count went down): unhealthy ones first.
    let mut primaries: Vec<&Kept> = kept.iter().filter(|t| t.primary).collect();
    primaries.sort_by_key(|t| t.healthy);
    for task in primaries {
        if primary_live <= desired {
            break;
        }
        stop.push(task.index);
        primary_live -= 1;
        healthy -= i64::from(task.healthy);
    }
    let mut old: Vec<&Kept> = kept.iter().filter(|t| !t.primary).collect();
    old.sort_by_key(|t| t.healthy);
    let mut old_live = old.len() as i64;
    for task in old {
        let replaced = old_live + primary_live > desired;
        let room_needed = total >= maximum && primary_live < desired;
        if !(replaced || room_needed) || (task.healthy && healthy - 1 < minimum) {
            break;
        }
        stop.push(task.index);
        old_live -= 1;
        healthy -= i64::from(task.healthy);
    }
    let launch = (desired - primary_live).min(maximum - total).max(0);
    (stop, launch)
}

async fn step_service(
    settings: &Settings,
    state: &Arc<Mutex<State>>,
    docker: &bollard::Docker,
    service_index: usize,
) {
    let start = 'plan: {
        let mut state = state.lock().await;
        if state.services[service_index].status != "ACTIVE" {
            return;
        }
        let service_name = state.services[service_index].name.clone();
        // Counts per deployment from its live tasks.
        let mut counts: HashMap<String, (i64, i64)> = HashMap::new();
        for task in state
            .tasks
            .iter()
            .filter(|t| t.service == service_name && t.last_status != "STOPPED")
        {
            let entry = counts.entry(task.deployment_id.clone()).or_default();
            if task.healthy {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        let service = &mut state.services[service_index];
        for deployment in service.deployments.iter_mut() {
            let (running, pending) = counts.get(&deployment.id).copied().unwrap_or_default();
            if (running, pending) != (deployment.running_count, deployment.pending_count) {
                deployment.running_count = running;
                deployment.pending_count = pending;
                deployment.updated_at = now();
            }
        }
        let (breaker, rollback) = service.circuit_breaker();
        let primary = service.deployments[0].clone();

        if breaker
            && primary.rollout_state == "IN_PROGRESS"
            && primary.failed_tasks >= threshold(settings, primary.desired_count)
        {
            trip_breaker(&mut state, service_index, rollback);
            return;
        }
        if primary.rollout_state == "FAILED" {
            // The breaker without rollback: the deployment stays PRIMARY and launches no more.
            return;
        }
        if primary.listed_status == "ROLLBACK_REQUESTED" {
            // StopServiceDeployment or a hook asked for it.
            let reason = primary.status_reason.clone().unwrap_or_default();
            if !deployments::roll_back(
                &mut state,
                service_index,
                &reason,
                "ECS service deployment rollback",
            ) {
                let failed = &mut state.services[service_index].deployments[0];
                failed.listed_status = "ROLLBACK_FAILED".into();
                failed.finished_at = Some(now());
            }
            return;
        }
        if deployments::is_native(&primary)
            && matches!(primary.listed_status.as_str(), "PENDING" | "IN_PROGRESS")
        {
            let launch = step_native(settings, &mut state, service_index);
            if launch == 0 {
                break 'plan None;
            }
            let revision = state.find_revision(&primary.task_definition).cloned();
            let grace = state.services[service_index].health_check_grace_period;
            break 'plan revision
                .map(|revision| (revision, primary.id.clone(), service_name, launch, grace));
        }

        let primary_id = primary.id.clone();
        let kept: Vec<Kept> = state
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                t.service == service_name
                    && t.last_status != "STOPPED"
                    && t.desired_status == "RUNNING"
            })
            .map(|(index, t)| Kept {
                index,
                primary: t.deployment_id == primary_id,
                healthy: t.healthy,
            })
            .collect();
        let stopping = state
            .tasks
            .iter()
            .filter(|t| {
                t.service == service_name
                    && t.last_status != "STOPPED"
                    && t.desired_status == "STOPPED"
            })
            .count() as i64;
        let (maximum_percent, minimum_percent) = state.services[service_index].percents();
        let limits = rolling_limits(primary.desired_count, maximum_percent, minimum_percent);
        let (stop, mut launch) = plan_rolling(primary.desired_count, limits, &kept, stopping);
        for index in stop {
            let task = &mut state.tasks[index];
            task.desired_status = "STOPPED".into();
            task.stopped_reason = Some(format!(
                "Scaling activity initiated by (deployment {primary_id})"
            ));
            task.stop_code = Some("ServiceSchedulerInitiated".into());
        }
        // ACTIVE deployments' desired counts follow their scale-down, as ECS reports them.
        let mut wanted: HashMap<String, i64> = HashMap::new();
        for task in state.tasks.iter().filter(|t| {
            t.service == service_name && t.last_status != "STOPPED" && t.desired_status == "RUNNING"
        }) {
            *wanted.entry(task.deployment_id.clone()).or_default() += 1;
        }
        for deployment in state.services[service_index].deployments.iter_mut().skip(1) {
            deployment.desired_count = wanted.get(&deployment.id).copied().unwrap_or(0);
        }

        let service = &mut state.services[service_index];
        if launch > 0 && service.placement_failures_left > 0 {
            // The placement fault: nothing is started; ECS says why, every few seconds.
            launch = 0;
            if now() - service.last_placement_failure >= 2.0 {
                service.last_placement_failure = now();
                if service.placement_failures_left != u64::MAX {
                    service.placement_failures_left -= 1;
                }
                state.add_event(
                    service_index,
                    "was unable to place a task because no container instance met all of its requirements.".into(),
                );
            }
        }

        let complete = primary.running_count == primary.desired_count && primary.pending_count == 0;
        let old_tasks_live = state.tasks.iter().any(|t| {
            t.service == service_name && t.deployment_id != primary_id && t.last_status != "STOPPED"
        });
        if complete && !old_tasks_live {
            complete_rollout(
                &mut state,
                service_index,
                &settings.faults.failing_hook_stages,
            );
        } else if let Some((percent, deferred)) = state.services[service_index].early_success() {
            // Early success criteria: ECS completes the deployment once this share of the
            // desired count is healthy (the old tasks gone first unless cleanup is DEFERRED),
            // then goes on scaling in the background.
            let healthy = kept.iter().filter(|k| k.primary && k.healthy).count() as i64;
            let needed = (primary.desired_count * percent + 99) / 100;
            if healthy >= needed && (deferred || !old_tasks_live) {
                succeed_early(&mut state, service_index);
            }
        }
        if launch > 0 {
            let revision = state.find_revision(&primary.task_definition).cloned();
            let grace = state.services[service_index].health_check_grace_period;
            revision.map(|revision| (revision, primary_id, service_name, launch, grace))
        } else {
            None
        }
    };
    if let Some((revision, deployment_id, service_name, launch, grace)) = start {
        for _ in 0..launch {
            launch_task(
                settings,
                state,
                docker,
                service_index,
                &revision,
                &deployment_id,
                &service_name,
                grace,
            )
            .await;
        }
    }
}

/// Early success criteria met: the PRIMARY's rollout is COMPLETED and its ServiceDeployment
/// SUCCESSFUL while tasks still start (or, DEFERRED, old ones still stop); the older deployments
/// stay listed until they are gone.
fn succeed_early(state: &mut State, service_index: usize) {
    let primary = &mut state.services[service_index].deployments[0];
    if primary.rollout_state != "IN_PROGRESS" || primary.rolling_back {
        return;
    }
    primary.rollout_state = "COMPLETED".into();
    primary.updated_at = now();
    primary.rollout_state_reason = format!("ECS deployment {} completed.", primary.id);
    if primary.listed_status == "IN_PROGRESS" {
        primary.listed_status = "SUCCESSFUL".into();
        primary.finished_at = Some(now());
    }
}

/// The PRIMARY runs what it should and no older task is left: the rollout is COMPLETED, the
/// older deployments leave `deployments[]`, and a rollback that led here succeeded, unless a
/// lifecycle hook of the rolled-back deployment failed again: ECS runs a deployment's hooks
/// again while it rolls back, and a hook that fails there fails the rollback (ROLLBACK_FAILED).
fn complete_rollout(state: &mut State, service_index: usize, failing_hook_stages: &[String]) {
    let service = &mut state.services[service_index];
    let finished: Vec<_> = service.deployments.drain(1..).collect();
    for mut deployment in finished {
        deployment.status = "INACTIVE".into();
        deployment.finished_at.get_or_insert(now());
        let revision = deployment.revision_arn.clone();
        service.history.insert(0, (deployment, revision));
    }
    let primary = &mut service.deployments[0];
    if primary.rollout_state == "IN_PROGRESS" {
        primary.rollout_state = "COMPLETED".into();
        primary.updated_at = now();
        // A rollback's PRIMARY keeps saying it rolled back; ECS's reason stays.
        if !primary.rolling_back {
            primary.rollout_state_reason = format!("ECS deployment {} completed.", primary.id);
        }
        if primary.listed_status == "IN_PROGRESS" {
            primary.listed_status = "SUCCESSFUL".into();
            primary.finished_at = Some(now());
        }
        let primary_id = primary.id.clone();
        for (deployment, _) in service.history.iter_mut().filter(|(d, _)| {
            d.rolled_back_to.as_deref() == Some(primary_id.as_str())
                && d.listed_status == "ROLLBACK_IN_PROGRESS"
        }) {
            let failing_hook = deployment.configuration["lifecycleHooks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|hook| hook["targetType"] != "PAUSE")
                .flat_map(|hook| {
                    hook["lifecycleStages"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .filter_map(|stage| stage.as_str().map(str::to_string))
                .find(|stage| failing_hook_stages.contains(stage));
            match failing_hook {
                Some(stage) => {
                    deployment.listed_status = "ROLLBACK_FAILED".into();
                    deployment.status_reason = Some(format!(
                        "Service deployment rollback failed: the lifecycle hook at {stage} failed again during the rollback."
                    ));
                }
                None => deployment.listed_status = "ROLLBACK_SUCCESSFUL".into(),
            }
            deployment.finished_at = Some(now());
        }
    }
    if !service.steady_reported {
        service.steady_reported = true;
        state.add_event(service_index, "has reached a steady state.".into());
    }
}

/// The circuit breaker trips on the PRIMARY deployment. With rollback and an older deployment
/// to go back to, ECS creates no new deployment: the failed one leaves `deployments[]` and the
/// one that was ACTIVE becomes PRIMARY again under its own ID, rolling out its own revision.
/// Without either, the failed deployment stays PRIMARY with rolloutState FAILED.
fn trip_breaker(state: &mut State, service_index: usize, rollback: bool) {
    let reason = "ECS deployment circuit breaker: tasks failed to start.";
    let service = &mut state.services[service_index];
    let failed_id = service.deployments[0].id.clone();
    {
        let failed = &mut service.deployments[0];
        failed.rollout_state = "FAILED".into();
        failed.rollout_state_reason = reason.into();
        failed.updated_at = now();
        failed.status_reason = Some(reason.into());
        failed.finished_at = Some(now());
        failed.listed_status = "STOPPED".into();
    }
    state.add_event(
        service_index,
        format!("(deployment {failed_id}) deployment failed: tasks failed to start."),
    );
    state.services[service_index].deployments[0].breaker_tripped = true;
    if rollback {
        deployments::roll_back(
            state,
            service_index,
            reason,
            "ECS deployment circuit breaker",
        );
    }
}

/// One step of a native deployment of the service's PRIMARY: moves it through its phases and
/// stops the older revision's tasks at CLEAN_UP; returns how many new tasks to start.
fn step_native(settings: &Settings, state: &mut State, service_index: usize) -> i64 {
    let service = &state.services[service_index];
    let primary_id = service.deployments[0].id.clone();
    let mut tasks = deployments::Tasks::default();
    for task in state
        .tasks
        .iter()
        .filter(|t| t.service == service.name && t.last_status != "STOPPED")
    {
        if task.deployment_id == primary_id {
            if task.desired_status == "RUNNING" {
                tasks.new_live += 1;
                tasks.new_healthy += i64::from(task.healthy);
            }
        } else {
            tasks.old_live += 1;
        }
    }
    let service_name = service.name.clone();
    let step = deployments::advance(
        settings,
        &mut state.services[service_index].deployments[0],
        tasks,
        now(),
    );
    if let Some(reason) = step.roll_back {
        deployments::roll_back(
            state,
            service_index,
            &reason,
            "ECS service deployment rollback",
        );
        return 0;
    }
    if step.clean_up {
        for task in state.tasks.iter_mut().filter(|t| {
            t.service == service_name
                && t.deployment_id != primary_id
                && t.desired_status == "RUNNING"
        }) {
            task.desired_status = "STOPPED".into();
            task.stopped_reason = Some(format!(
                "Scaling activity initiated by (deployment {primary_id})"
            ));
            task.stop_code = Some("ServiceSchedulerInitiated".into());
        }
    }
    if step.succeeded {
        complete_rollout(state, service_index, &settings.faults.failing_hook_stages);
    }
    step.launch
}

/// A container definition's own health check, in Docker's terms.
fn container_health_check(container: &Value) -> Option<HealthConfig> {
    let check = container.get("healthCheck")?;
    let command: Vec<String> = check["command"]
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let seconds =
        |name: &str, default: i64| check[name].as_i64().unwrap_or(default) * 1_000_000_000;
    Some(HealthConfig {
        test: Some(command),
        interval: Some(seconds("interval", 30)),
        timeout: Some(seconds("timeout", 5)),
        retries: Some(check["retries"].as_i64().unwrap_or(3)),
        start_period: Some(seconds("startPeriod", 0)),
        ..Default::default()
    })
}

#[allow(clippy::too_many_arguments)]
async fn launch_task(
    settings: &Settings,
    state: &Arc<Mutex<State>>,
    docker: &bollard::Docker,
    service_index: usize,
    revision: &Revision,
    deployment_id: &str,
    service_name: &str,
    grace_period: i64,
) {
    let (mut task, definitions) = {
        let mut state = state.lock().await;
        let cluster = state.services[service_index].cluster.clone();
        let mut task = new_task(&mut state, &cluster, revision);
        task.service = service_name.to_string();
        task.deployment_id = deployment_id.to_string();
        task.started_by = Some(deployment_id.to_string());
        task.group = format!("service:{service_name}");
        task.grace_until = now() + grace_period as f64;
        (task, container_definitions(revision, &Value::Null))
    };
    start_task(settings, docker, &mut task, &definitions).await;
    let task_id = task.id.clone();
    let mut state = state.lock().await;
    let failed = task.last_status == "STOPPED";
    state.tasks.push(task);
    if failed {
        if let Some(deployment) = state.services[service_index]
            .deployments
            .iter_mut()
            .find(|d| d.id == deployment_id)
        {
            deployment.failed_tasks += 1;
        }
    }
    state.add_event(
        service_index,
        format!("has started 1 tasks: (task {task_id})."),
    );
}

/// A task of `revision` on `cluster`, PROVISIONING, its containers not started yet: a new ID,
/// ARN and network interface, and each container's `awslogs` stream.
pub fn new_task(state: &mut State, cluster: &str, revision: &Revision) -> Task {
    let id = format!("{:032x}", crate::protocol::rand_id());
    let arn = format!(
        "arn:aws:ecs:{}:{}:task/{cluster}/{id}",
        state.region, state.account
    );
    let required = revision.definition["requiresCompatibilities"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let launch_type = if required.iter().any(|c| c == "FARGATE") {
        "FARGATE"
    } else if required.iter().any(|c| c == "MANAGED_INSTANCES") {
        "MANAGED_INSTANCES"
    } else {
        "EC2"
    };
    let containers = revision.definition["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|container| {
            let name = container["name"].as_str().unwrap_or("app").to_string();
            TaskContainer {
                log_stream: awslogs_stream(container, &name, &id),
                name,
                essential: container["essential"].as_bool().unwrap_or(true),
                last_status: "PENDING".into(),
                ..Default::default()
            }
        })
        .collect();
    Task {
        arn,
        id,
        cluster: cluster.to_string(),
        task_definition: revision.arn.clone(),
        containers,
        last_status: "PROVISIONING".into(),
        desired_status: "RUNNING".into(),
        started_at: now(),
        network_interface: state.next_network_interface(),
        launch_type: launch_type.into(),
        overrides: serde_json::json!({"containerOverrides": [], "inferenceAcceleratorOverrides": []}),
        tags: serde_json::json!([]),
        ..Default::default()
    }
}

/// The log group and stream the `awslogs` driver writes `container`'s output to in task
/// `task_id`: `prefix/container/task-id` (none without a prefix: ECS then names the stream after
/// the Docker container, which no API tells).
fn awslogs_stream(container: &Value, name: &str, task_id: &str) -> Option<(String, String)> {
    let log = &container["logConfiguration"];
    if log["logDriver"] != "awslogs" {
        return None;
    }
    let group = log["options"]["awslogs-group"].as_str()?;
    let prefix = log["options"]["awslogs-stream-prefix"]
        .as_str()
        .filter(|prefix| !prefix.is_empty())?;
    Some((group.to_string(), format!("{prefix}/{name}/{task_id}")))
}

/// The revision's container definitions with RunTask's `containerOverrides` applied: `command`
/// replaces the definition's, `environment` is merged into its by name.
pub fn container_definitions(revision: &Revision, overrides: &Value) -> Vec<Value> {
    let mut definitions: Vec<Value> = revision.definition["containerDefinitions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for entry in overrides["containerOverrides"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(definition) = definitions
            .iter_mut()
            .find(|definition| definition["name"] == entry["name"])
        else {
            continue;
        };
        if let Some(command) = entry.get("command").filter(|c| c.is_array()) {
            definition["command"] = command.clone();
        }
        if let Some(extra) = entry["environment"].as_array() {
            let mut environment = definition["environment"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for variable in extra {
                environment.retain(|existing| existing["name"] != variable["name"]);
                environment.push(variable.clone());
            }
            definition["environment"] = Value::Array(environment);
        }
    }
    definitions
}

/// Starts the task's containers in order; the first gets the task's own network namespace and
/// the others join it, as the containers of an awsvpc task share one network interface. An
/// image that cannot be pulled stops the task as ECS does: TaskFailedToStart.
async fn start_task(
    settings: &Settings,
    docker: &bollard::Docker,
    task: &mut Task,
    definitions: &[Value],
) {
    let mut namespace: Option<String> = None;
    for (index, container) in definitions.iter().enumerate() {
        let health = container_health_check(container);
        let name = match index {
            0 => format!("deployer-emulator-{}", task.id),
            _ => format!(
                "deployer-emulator-{}-{}",
                task.id, task.containers[index].name
            ),
        };
        let network = namespace
            .as_ref()
            .map_or_else(|| "none".to_string(), |first| format!("container:{first}"));
        match start_container(
            settings,
            docker,
            &task.arn,
            container,
            health.clone(),
            &name,
            &network,
        )
        .await
        {
            Ok((id, image_health)) => {
                namespace.get_or_insert_with(|| id.clone());
                task.containers[index].id = Some(id);
                task.containers[index].has_health = health.is_some() || image_health;
            }
            Err(message) => {
                let reason = format!("CannotPullContainerError: {message}");
                task.containers[index].reason = Some(reason.clone());
                stop(task, &reason, "TaskFailedToStart");
                for id in task.containers.iter().filter_map(|c| c.id.as_deref()) {
                    remove(docker, id).await;
                }
                break;
            }
        }
    }
    if task.last_status != "STOPPED" {
        task.last_status = "PENDING".into();
    }
}

/// Starts the containers of RunTask's tasks (one at a time, as the engine pulls); a task
/// stopped before it was started never starts.
async fn launch_standalone(
    settings: &Settings,
    state: &Arc<Mutex<State>>,
    docker: &bollard::Docker,
) {
    loop {
        let next = {
            let mut state = state.lock().await;
            let Some(index) = state.tasks.iter().position(|t| t.awaiting_launch) else {
                return;
            };
            let task = &mut state.tasks[index];
            if task.desired_status == "STOPPED" {
                task.awaiting_launch = false;
                let reason = task
                    .stopped_reason
                    .clone()
                    .unwrap_or_else(|| "Task stopped by user".into());
                let code = task
                    .stop_code
                    .clone()
                    .unwrap_or_else(|| "UserInitiated".into());
                stop(task, &reason, &code);
                continue;
            }
            let task = task.clone();
            let definitions = state
                .find_revision(&task.task_definition)
                .map(|revision| container_definitions(revision, &task.overrides))
                .unwrap_or_default();
            (task, definitions)
        };
        let (mut task, definitions) = next;
        start_task(settings, docker, &mut task, &definitions).await;
        let mut state = state.lock().await;
        if let Some(stored) = state.tasks.iter_mut().find(|t| t.arn == task.arn) {
            let stop_requested = stored.desired_status == "STOPPED";
            let (reason, code) = (stored.stopped_reason.clone(), stored.stop_code.clone());
            task.awaiting_launch = false;
            if stop_requested {
                task.desired_status = "STOPPED".into();
                task.stopped_reason = task.stopped_reason.clone().or(reason);
                task.stop_code = task.stop_code.clone().or(code);
            }
            *stored = task;
        }
    }
}

/// What each started container has written so far, with Docker's timestamps, for the CloudWatch
/// Logs API (only containers that log with `awslogs`).
async fn read_logs(docker: &bollard::Docker, container: &str) -> Option<Vec<(i64, String)>> {
    let options = bollard::query_parameters::LogsOptions {
        stdout: true,
        stderr: true,
        timestamps: true,
        ..Default::default()
    };
    let mut stream = docker.logs(container, Some(options));
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(chunk.ok()?.as_ref());
    }
    Some(
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| {
                let (time, message) = line.split_once(' ').unwrap_or((line, ""));
                Some((crate::logs::rfc3339_millis(time)?, message.to_string()))
            })
            .collect(),
    )
}

/// Pulls (with the registry's credentials) and starts the container; returns its ID and whether
/// its image has a health check of its own.
async fn start_container(
    settings: &Settings,
    docker: &bollard::Docker,
    task_arn: &str,
    container: &Value,
    health: Option<HealthConfig>,
    name: &str,
    network: &str,
) -> Result<(String, bool), String> {
    let image = container["image"].as_str().unwrap_or_default();
    let credentials = image
        .starts_with(&format!("{}/", settings.registry))
        .then(|| DockerCredentials {
            username: Some(settings.registry_user.clone()),
            password: Some(settings.registry_password.clone()),
            serveraddress: Some(settings.registry.clone()),
            ..Default::default()
        });
    let mut pull = docker.create_image(
        Some(CreateImageOptions {
            from_image: Some(image.to_string()),
            ..Default::default()
        }),
        None,
        credentials,
    );
    while let Some(progress) = pull.next().await {
        if let Err(error) = progress {
            // A local image (not from a registry) may still be there.
            if docker.inspect_image(image).await.is_err() {
                return Err(format!(
                    "pull image manifest has been retried 1 time(s): failed to resolve ref {image}: {error}"
                ));
            }
            break;
        }
    }
    let image_health = docker
        .inspect_image(image)
        .await
        .ok()
        .and_then(|inspect| inspect.config)
        .and_then(|config| config.healthcheck)
        .and_then(|check| check.test)
        .is_some_and(|test| test.first().is_some_and(|kind| kind != "NONE"));
    let environment: Vec<String> = container["environment"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|pair| {
            Some(format!(
                "{}={}",
                pair["name"].as_str()?,
                pair["value"].as_str().unwrap_or("")
            ))
        })
        .collect();
    let as_strings = |value: &Value| -> Option<Vec<String>> {
        value.as_array().map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
    };
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        env: Some(environment),
        cmd: as_strings(&container["command"]),
        entrypoint: as_strings(&container["entryPoint"]),
        healthcheck: health,
        labels: Some(HashMap::from([
            (LABEL.to_string(), task_arn.to_string()),
            (INSTANCE_LABEL.to_string(), settings.instance.clone()),
        ])),
        host_config: Some(HostConfig {
            // Every task in its own network namespace: nothing on Docker's bridge.
            network_mode: Some(network.to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(name.to_string()),
                ..Default::default()
            }),
            body,
        )
        .await
        .map_err(|e| e.to_string())?;
    if settings.faults.launch_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(settings.faults.launch_delay_ms)).await;
    }
    docker
        .start_container(&created.id, None)
        .await
        .map_err(|e| e.to_string())?;
    Ok((created.id, image_health))
}

/// Removes every container this emulator started (on shutdown), found by its instance label
/// rather than from the state: a task being started when the runner was stopped has a container
/// the state does not know yet. Looked for twice, as a creation the engine was still finishing
/// can show up after the first look.
pub async fn remove_all(settings: &Settings, docker: &bollard::Docker) {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("{INSTANCE_LABEL}={}", settings.instance)],
    )]);
    for pass in 0..2 {
        if pass > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters.clone()),
            ..Default::default()
        };
        for container in docker
            .list_containers(Some(options))
            .await
            .unwrap_or_default()
        {
            if let Some(id) = container.id {
                remove(docker, &id).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_threshold_follows_ecs() {
        assert_eq!(breaker_threshold(1), 3);
        assert_eq!(breaker_threshold(10), 5);
        assert_eq!(breaker_threshold(1000), 200);
    }

    fn kept(primary: bool, healthy: &[bool], first_index: usize) -> Vec<Kept> {
        healthy
            .iter()
            .enumerate()
            .map(|(offset, healthy)| Kept {
                index: first_index + offset,
                primary,
                healthy: *healthy,
            })
            .collect()
    }

    #[test]
    fn limits_round_as_ecs_does() {
        assert_eq!(rolling_limits(1, 200, 100), (2, 1));
        assert_eq!(rolling_limits(1, 200, 50), (2, 1));
        assert_eq!(rolling_limits(4, 150, 50), (6, 2));
        assert_eq!(rolling_limits(3, 100, 50), (3, 2));
        assert_eq!(rolling_limits(1, 50, 0), (1, 0));
        assert_eq!(rolling_limits(0, 200, 100), (0, 0));
    }

    #[test]
    fn the_default_limits_start_every_new_task_then_stop_the_old_ones() {
        let limits = rolling_limits(2, 200, 100);
        let old = kept(false, &[true, true], 0);
        assert_eq!(plan_rolling(2, limits, &old, 0), (vec![], 2));
        // New tasks pending: the old ones stay, nothing more starts.
        let mut tasks = old.clone();
        tasks.extend(kept(true, &[false, false], 2));
        assert_eq!(plan_rolling(2, limits, &tasks, 0), (vec![], 0));
        // One new task healthy: one old task goes.
        let mut tasks = old.clone();
        tasks.extend(kept(true, &[true, false], 2));
        assert_eq!(plan_rolling(2, limits, &tasks, 0), (vec![0], 0));
    }

    #[test]
    fn a_maximum_of_100_percent_makes_room_down_to_the_healthy_minimum() {
        let limits = rolling_limits(2, 100, 50);
        let old = kept(false, &[true, true], 0);
        // One old task stops to make room; the new one waits for it to be gone.
        assert_eq!(plan_rolling(2, limits, &old, 0), (vec![0], 0));
        assert_eq!(plan_rolling(2, limits, &old[1..], 1), (vec![], 0));
        assert_eq!(plan_rolling(2, limits, &old[1..], 0), (vec![], 1));
        // The new task is pending: the last old one keeps the minimum.
        let mut tasks = old[1..].to_vec();
        tasks.extend(kept(true, &[false], 2));
        assert_eq!(plan_rolling(2, limits, &tasks, 0), (vec![], 0));
        // Healthy: the last old one goes, then the second new one starts.
        let mut tasks = old[1..].to_vec();
        tasks.extend(kept(true, &[true], 2));
        assert_eq!(plan_rolling(2, limits, &tasks, 0), (vec![1], 0));
        assert_eq!(plan_rolling(2, limits, &tasks[1..], 0), (vec![], 1));
    }

    #[test]
    fn a_failing_release_never_takes_the_old_task_below_the_minimum() {
        let limits = rolling_limits(1, 200, 50);
        let mut tasks = kept(false, &[true], 0);
        tasks.extend(kept(true, &[false], 1));
        assert_eq!(plan_rolling(1, limits, &tasks, 0), (vec![], 0));
    }

    #[test]
    fn a_lower_desired_count_stops_primary_tasks_unhealthy_first() {
        let limits = rolling_limits(1, 200, 100);
        let tasks = kept(true, &[true, false, true], 0);
        assert_eq!(plan_rolling(1, limits, &tasks, 0), (vec![1, 0], 0));
    }

    fn deployment(id: &str, status: &str, task_definition: &str) -> crate::state::Deployment {
        crate::state::Deployment {
            id: id.into(),
            status: status.into(),
            task_definition: task_definition.into(),
            desired_count: 1,
            running_count: 0,
            pending_count: 0,
            failed_tasks: 3,
            rollout_state: "IN_PROGRESS".into(),
            rollout_state_reason: format!("ECS deployment {id} in progress."),
            created_at: 0.0,
            updated_at: 0.0,
            revision_arn: format!("revision-{id}"),
            listed_status: "IN_PROGRESS".into(),
            status_reason: None,
            finished_at: None,
            rolled_back_to: None,
            rolling_back: false,
            ..Default::default()
        }
    }

    fn service_with(deployments: Vec<crate::state::Deployment>, rollback: bool) -> State {
        let settings = crate::Settings::for_tests();
        let mut state = State::new(&settings);
        state.services.push(crate::state::Service {
            arn: "arn:aws:ecs:eu-west-1:123456789012:service/c/web".into(),
            name: "web".into(),
            cluster: "c".into(),
            task_definition: deployments[0].task_definition.clone(),
            desired_count: 1,
            deployment_configuration: serde_json::json!({
                "deploymentCircuitBreaker": {"enable": true, "rollback": rollback}
            }),
            deployments,
            history: Vec::new(),
            deployment_controller: "ECS".into(),
            events: Vec::new(),
            status: "ACTIVE".into(),
            created_at: 0.0,
            steady_reported: true,
            health_check_grace_period: 0,
            stale: None,
            load_balancers: serde_json::json!([]),
            placement_failures_left: 0,
            last_placement_failure: 0.0,
            current_service_deployment: String::new(),
        });
        state
    }

    #[test]
    fn a_rollback_makes_the_previous_deployment_primary_under_its_own_id() {
        let mut state = service_with(
            vec![
                deployment("ecs-svc/2", "PRIMARY", "web:2"),
                deployment("ecs-svc/1", "ACTIVE", "web:1"),
            ],
            true,
        );
        trip_breaker(&mut state, 0, true);
        let service = &state.services[0];
        assert_eq!(service.deployments.len(), 1, "the failed deployment left");
        let primary = &service.deployments[0];
        assert_eq!(
            (primary.id.as_str(), primary.status.as_str()),
            ("ecs-svc/1", "PRIMARY")
        );
        assert_eq!(primary.rollout_state, "IN_PROGRESS");
        assert_eq!(
            primary.rollout_state_reason,
            "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1"
        );
        assert_eq!(service.task_definition, "web:1");
        let messages: Vec<&str> = service.events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "(service web) rolling back to deployment ecs-svc/1.",
                "(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start.",
            ]
        );
        let (failed, _) = &service.history[0];
        assert_eq!(failed.listed_status, "ROLLBACK_IN_PROGRESS");
        assert_eq!(failed.rollout_state, "FAILED");

        complete_rollout(&mut state, 0, &[]);
        let service = &state.services[0];
        assert_eq!(service.deployments[0].rollout_state, "COMPLETED");
        assert_eq!(
            service.deployments[0].rollout_state_reason,
            "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1"
        );
        assert_eq!(service.history[0].0.listed_status, "ROLLBACK_SUCCESSFUL");
    }

    #[test]
    fn without_rollback_the_failed_deployment_stays_primary() {
        let mut state = service_with(
            vec![
                deployment("ecs-svc/2", "PRIMARY", "web:2"),
                deployment("ecs-svc/1", "ACTIVE", "web:1"),
            ],
            false,
        );
        trip_breaker(&mut state, 0, false);
        let service = &state.services[0];
        assert_eq!(service.deployments.len(), 2);
        assert_eq!(service.deployments[0].id, "ecs-svc/2");
        assert_eq!(service.deployments[0].status, "PRIMARY");
        assert_eq!(service.deployments[0].rollout_state, "FAILED");
        assert_eq!(service.task_definition, "web:2");
        assert_eq!(service.events.len(), 1);
    }
}
