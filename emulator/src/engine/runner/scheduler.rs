//! What each service should run now, as ECS schedules it: rolling updates within
//! maximumPercent and minimumHealthyPercent, the circuit breaker and its rollback to the
//! deployment that ran before, native deployments stepped through their phases, completed
//! rollouts, and the events ECS writes.
use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::containers::launch_task;
use crate::config::Settings;
use crate::engine::deployments;
use crate::state::{now, State};

/// The failed-task count that trips ECS's circuit breaker: half the desired count, 3 to 200.
fn breaker_threshold(desired: i64) -> i64 {
    ((desired + 1) / 2).clamp(3, 200)
}

/// The threshold this emulator uses: its `--breaker-threshold`, or ECS's.
pub fn threshold(settings: &Settings, desired: i64) -> i64 {
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

pub(super) async fn step_service(
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
        let settings = crate::config::Settings::for_tests();
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
