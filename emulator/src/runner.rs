//! Drives rollouts as ECS does: starts tasks of the PRIMARY deployment as real containers (each
//! in its own network namespace, `--network none`), follows their health, stops old tasks once
//! the new ones are healthy, records stopped tasks with ECS's reasons, trips the circuit breaker
//! and rolls back, and writes the events ECS writes.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::auth::DockerCredentials;
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, HealthConfig, HealthStatusEnum, HostConfig,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, RemoveContainerOptions,
};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::state::{now, State, Task, TaskContainer};
use crate::Settings;

const TICK: Duration = Duration::from_millis(400);
const LABEL: &str = "deployer-emulator";

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
    // 1. Follow every live task's containers.
    type Live = (usize, Vec<String>, f64, bool);
    let live: Vec<Live> = {
        let state = state.lock().await;
        state
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, task)| task.last_status != "STOPPED")
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
/// stops the task, an essential container failing its health check stops it, and it runs (and
/// is healthy) once every essential container is; non-essential containers may come and go.
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
    } else if essential().any(|seen| matches!(seen, Observed::Unhealthy)) {
        stop(
            task,
            "Task failed container health checks",
            "ServiceSchedulerInitiated",
        );
    } else if essential().all(|seen| matches!(seen, Observed::Healthy)) {
        task.last_status = "RUNNING".into();
        task.healthy = true;
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

async fn step_service(
    settings: &Settings,
    state: &Arc<Mutex<State>>,
    docker: &bollard::Docker,
    service_index: usize,
) {
    let start = {
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
            && primary.failed_tasks >= breaker_threshold(primary.desired_count)
        {
            let reason = "ECS deployment circuit breaker: tasks failed to start.".to_string();
            service.deployments[0].rollout_state = "FAILED".into();
            service.deployments[0].rollout_state_reason = reason;
            let previous = service
                .deployments
                .iter()
                .skip(1)
                .find(|d| d.status == "ACTIVE")
                .cloned();
            state.add_event(
                service_index,
                format!(
                    "(deployment {}) deployment failed: tasks failed to start.",
                    primary.id
                ),
            );
            if let (true, Some(previous)) = (rollback, previous) {
                roll_back(&mut state, service_index, &previous.task_definition);
            }
            return;
        }

        let live_primary = counts.get(&primary.id).map_or(0, |(r, p)| r + p);
        let launch = primary.rollout_state != "FAILED" && live_primary < primary.desired_count;
        let complete = primary.running_count == primary.desired_count && primary.pending_count == 0;
        if complete && primary.rollout_state != "FAILED" {
            // The new tasks are healthy: stop the old deployments' tasks, as the rolling update
            // does; the rollout is COMPLETED, and steady, once they are really gone.
            let old: Vec<String> = service
                .deployments
                .iter()
                .skip(1)
                .map(|d| d.id.clone())
                .collect();
            let primary_id = primary.id.clone();
            for task in state.tasks.iter_mut().filter(|t| {
                t.service == service_name
                    && old.contains(&t.deployment_id)
                    && t.desired_status != "STOPPED"
            }) {
                task.desired_status = "STOPPED".into();
                task.stopped_reason = Some(format!(
                    "Scaling activity initiated by (deployment {primary_id})"
                ));
                task.stop_code = Some("ServiceSchedulerInitiated".into());
            }
            let old_tasks_live = state.tasks.iter().any(|t| {
                t.service == service_name
                    && t.deployment_id != primary_id
                    && t.last_status != "STOPPED"
            });
            if !old_tasks_live {
                let service = &mut state.services[service_index];
                let finished: Vec<_> = service.deployments.drain(1..).collect();
                for mut deployment in finished {
                    deployment.status = "INACTIVE".into();
                    let revision = deployment.revision_arn.clone();
                    service.history.insert(0, (deployment, revision));
                }
                let primary = &mut service.deployments[0];
                if primary.rollout_state == "IN_PROGRESS" {
                    primary.rollout_state = "COMPLETED".into();
                    primary.rollout_state_reason =
                        format!("ECS deployment {} completed.", primary.id);
                }
                if !service.steady_reported {
                    service.steady_reported = true;
                    state.add_event(service_index, "has reached a steady state.".into());
                }
            }
            None
        } else if launch {
            let revision = state.find_revision(&primary.task_definition).cloned();
            revision.map(|revision| (revision, primary.id.clone(), service_name))
        } else {
            None
        }
    };
    if let Some((revision, deployment_id, service_name)) = start {
        launch_task(
            settings,
            state,
            docker,
            service_index,
            &revision.definition,
            &revision.arn,
            &deployment_id,
            &service_name,
        )
        .await;
    }
}

fn roll_back(state: &mut State, service_index: usize, task_definition: &str) {
    let id = format!("ecs-svc/{}", crate::protocol::rand_id() % 10u128.pow(19));
    let (cluster, name) = (
        state.services[service_index].cluster.clone(),
        state.services[service_index].name.clone(),
    );
    let revision_arn = format!(
        "arn:aws:ecs:{}:{}:service-revision/{cluster}/{name}/{}",
        state.region,
        state.account,
        crate::protocol::rand_id() % 10u128.pow(19)
    );
    let service = &mut state.services[service_index];
    for deployment in service.deployments.iter_mut() {
        deployment.status = "ACTIVE".into();
    }
    let desired = service.desired_count;
    service.deployments.insert(
        0,
        crate::state::Deployment {
            id: id.clone(),
            status: "PRIMARY".into(),
            task_definition: task_definition.to_string(),
            desired_count: desired,
            running_count: 0,
            pending_count: 0,
            failed_tasks: 0,
            rollout_state: "IN_PROGRESS".into(),
            rollout_state_reason: format!("ECS deployment {id} in progress."),
            created_at: now(),
            updated_at: now(),
            revision_arn,
        },
    );
    service.task_definition = task_definition.to_string();
    service.steady_reported = false;
    state.add_event(service_index, format!("rolling back to deployment {id}."));
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
    definition: &Value,
    task_definition: &str,
    deployment_id: &str,
    service_name: &str,
) {
    let definitions: Vec<Value> = definition["containerDefinitions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let (task_id, task_arn, cluster) = {
        let state = state.lock().await;
        let id = format!("{:032x}", crate::protocol::rand_id());
        let cluster = state.services[service_index].cluster.clone();
        let arn = format!(
            "arn:aws:ecs:{}:{}:task/{cluster}/{id}",
            state.region, state.account
        );
        (id, arn, cluster)
    };
    let mut task = Task {
        arn: task_arn.clone(),
        id: task_id.clone(),
        cluster,
        service: service_name.to_string(),
        deployment_id: deployment_id.to_string(),
        task_definition: task_definition.to_string(),
        containers: definitions
            .iter()
            .map(|container| TaskContainer {
                name: container["name"].as_str().unwrap_or("app").to_string(),
                essential: container["essential"].as_bool().unwrap_or(true),
                id: None,
                last_status: "PENDING".into(),
                exit_code: None,
                reason: None,
                has_health: false,
            })
            .collect(),
        last_status: "PROVISIONING".into(),
        desired_status: "RUNNING".into(),
        healthy: false,
        stopped_reason: None,
        stop_code: None,
        started_at: now(),
        stopped_at: None,
    };
    // The first container gets the task's own network namespace; the others join it, as the
    // containers of an awsvpc task share one network interface.
    let mut namespace: Option<String> = None;
    for (index, container) in definitions.iter().enumerate() {
        let health = container_health_check(container);
        let name = match index {
            0 => format!("deployer-emulator-{task_id}"),
            _ => format!(
                "deployer-emulator-{task_id}-{}",
                task.containers[index].name
            ),
        };
        let network = namespace
            .as_ref()
            .map_or_else(|| "none".to_string(), |first| format!("container:{first}"));
        match start_container(
            settings,
            docker,
            &task_arn,
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
                stop(&mut task, &reason, "TaskFailedToStart");
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
                return Err(format!("pull image {image}: {error}"));
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
        labels: Some(HashMap::from([(LABEL.to_string(), task_arn.to_string())])),
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
    docker
        .start_container(&created.id, None)
        .await
        .map_err(|e| e.to_string())?;
    Ok((created.id, image_health))
}

/// Removes every container the emulator started (on shutdown).
pub async fn remove_all(docker: &bollard::Docker, state: &Arc<Mutex<State>>) {
    let containers: Vec<String> = state
        .lock()
        .await
        .tasks
        .iter()
        .flat_map(|t| t.containers.iter().filter_map(|c| c.id.clone()))
        .collect();
    for container in containers {
        remove(docker, &container).await;
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
}
