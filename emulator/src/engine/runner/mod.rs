//! Drives rollouts as ECS does: each tick it follows every task's containers on the local
//! Docker engine (each task in its own network namespace, `--network none`), records stopped
//! tasks with ECS's reasons, then steps every service (`scheduler`) and starts the tasks it
//! asks for (`containers`). Part of the engine: imports `state`, `config` and the engine's
//! `deployments`; `main` starts it and the ECS API builds tasks with it.
mod containers;
mod scheduler;

use std::sync::Arc;
use std::time::Duration;

use bollard::models::{ContainerStateStatusEnum, HealthStatusEnum};
use tokio::sync::Mutex;

use crate::config::Settings;
use crate::state::{now, State, Task};
#[cfg(test)]
pub use containers::container_definitions;
use containers::{launch_standalone, read_logs, remove, stop};
pub use containers::{new_task, remove_all};
use scheduler::step_service;
pub use scheduler::threshold;

const TICK: Duration = Duration::from_millis(400);

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
                    state.count_failed_task(service_index, &deployment_id);
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
