//! A task's containers on the Docker engine: what a task definition's containers become
//! (image pulled with the registry's credentials, health check, `awslogs` stream), starting and
//! removing them, and reading what they wrote.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::auth::DockerCredentials;
use bollard::models::{ContainerCreateBody, HealthConfig, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, ListContainersOptions, RemoveContainerOptions,
};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::Settings;
use crate::state::{now, Revision, State, Task, TaskContainer};

/// Every container the emulator starts carries this label (the task's ARN as its value), and
/// `INSTANCE_LABEL` naming the emulator process that started it, so `scripts/stack.sh stop` can
/// remove whatever a killed emulator left, and one emulator's shutdown touches no other's.
pub(super) const LABEL: &str = "deployer-emulator";
pub(super) const INSTANCE_LABEL: &str = "deployer-emulator.instance";

pub(super) fn stop(task: &mut Task, reason: &str, code: &str) {
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

pub(super) async fn remove(docker: &bollard::Docker, container: &str) {
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
pub(super) async fn launch_task(
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
        state.count_failed_task(service_index, deployment_id);
    }
    state.add_event(
        service_index,
        format!("has started 1 tasks: (task {task_id})."),
    );
}

/// A task of `revision` on `cluster`, PROVISIONING, its containers not started yet: a new ID,
/// ARN and network interface, and each container's `awslogs` stream.
pub fn new_task(state: &mut State, cluster: &str, revision: &Revision) -> Task {
    let id = format!("{:032x}", crate::state::rand_id());
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
pub(super) async fn launch_standalone(
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
pub(super) async fn read_logs(
    docker: &bollard::Docker,
    container: &str,
) -> Option<Vec<(i64, String)>> {
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
                Some((rfc3339_millis(time)?, message.to_string()))
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

/// Milliseconds since the epoch of an RFC 3339 time in UTC as Docker writes it
/// (`2026-11-26T09:30:00.123456789Z`).
pub fn rfc3339_millis(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.splitn(3, '-').map(|part| part.parse::<i64>().ok());
    let (year, month, day) = (
        date_parts.next()??,
        date_parts.next()??,
        date_parts.next()??,
    );
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut clock_parts = clock.splitn(3, ':').map(|part| part.parse::<i64>().ok());
    let (hour, minute, second) = (
        clock_parts.next()??,
        clock_parts.next()??,
        clock_parts.next()??,
    );
    let millis = format!("{fraction:0<3}")[..3].parse::<i64>().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_timestamps_are_read_to_the_millisecond() {
        assert_eq!(rfc3339_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_millis("2026-11-26T09:30:00.123456789Z"),
            Some(1_795_685_400_123)
        );
        assert_eq!(
            rfc3339_millis("2000-02-29T12:00:01.5Z"),
            Some(951_825_601_500)
        );
        assert_eq!(rfc3339_millis("not a time"), None);
    }
}
